// noisetrail-cli train on a points file into a folder (issue 23, point 5): the MLP by default,
// DIR/model.json, a loadable card per checkpoint, quality.csv, byte-identical for a seed.
#include "test_util.hpp"

#include "noisetrail/npy.hpp"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <cmath>
#include <numbers>

using namespace noisetrail;

namespace {

QByteArray bytes(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QJsonObject json(const QString& path)
{
    return QJsonDocument::fromJson(bytes(path)).object();
}

} // namespace

class TestTrainCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pointsIntoFolder()
    {
        QTemporaryDir dir;
        std::vector<float> ring;
        const int m = 40;
        for (int i = 0; i < m; ++i) {
            ring.push_back(float(std::cos(2 * std::numbers::pi * i / m)));
            ring.push_back(float(std::sin(2 * std::numbers::pi * i / m)));
        }
        const QString data = dir.filePath("ring.npy");
        write_npy(data.toStdString(), {m, 2}, ring.data());
        const auto train = [&](const QString& out) {
            return test::run_cli({"train", "--data", data, "--steps", "60", "--seed", "4", "--every", "25",
                                  "--batch", "64", "--architecture", R"({"hidden": 32, "blocks": 1})",
                                  "--samples", "16", "--quality-samples", "64", "--threads", "1", "--out", out});
        };
        const QString a = dir.filePath("a"), b = dir.filePath("b");
        const test::CliResult ra = train(a);
        QVERIFY2(ra.code == 0, qPrintable(ra.err));
        QVERIFY2(ra.err.contains("checkpoint card"), qPrintable(ra.err));
        // No --kind: points train the MLP, epsilon prediction on the linear schedule.
        const QJsonObject card = json(a + "/model.json");
        QCOMPARE(card["kind"].toString(), QString("noisetrail-mlp"));
        QCOMPARE(card["prediction"].toString(), QString("epsilon"));
        QCOMPARE(card["schedule"].toObject()["kind"].toString(), QString("linear"));
        // Cards at 25, 50 and the last step 60, each sampled by the CLI like any model.
        for (int n : {25, 50, 60}) {
            const QString c = a + QString("/checkpoints/step-%1.json").arg(n);
            QVERIFY2(QFile::exists(c), qPrintable(c));
            QCOMPARE(json(c)["training"].toObject()["steps"].toInt(), n);
            const test::CliResult s = test::run_cli({"sample", "--model", c, "--sampler", "ddim", "--steps", "10",
                                                     "--batch", "8", "--out", dir.filePath(QString("s%1").arg(n))});
            QVERIFY2(s.code == 0, qPrintable(s.err));
        }
        QVERIFY(!QFile::exists(a + "/checkpoints/step-75.json"));
        QCOMPARE(bytes(a + "/checkpoints/step-60.pt"), bytes(a + "/model.pt"));
        // quality.csv: the header, one row per card, then the exact card's row (no step).
        const QStringList rows = QString::fromUtf8(bytes(a + "/quality.csv")).trimmed().split('\n');
        QCOMPARE(rows.size(), 5);
        QCOMPARE(rows[0], QString("step,kde_log_likelihood,mean_nearest_distance,data_nearest_distance,card"));
        QVERIFY(rows[1].startsWith("25,") && rows[1].endsWith(",checkpoints/step-25.json"));
        QVERIFY(rows[3].startsWith("60,"));
        QVERIFY(rows[4].startsWith(",") && rows[4].endsWith(",exact.json"));
        // The exact card memorises: its samples sit on the data (40 points 0.157 apart).
        const QStringList exact = rows[4].split(',');
        QVERIFY2(exact[2].toDouble() < 0.01 && std::abs(exact[3].toDouble() - 2 * std::sin(std::numbers::pi / m)) < 1e-4,
                 qPrintable(rows[4]));
        QCOMPARE(json(a + "/exact.json")["kind"].toString(), QString("empirical"));

        // The same command again (another folder): byte-identical weights. A card an earlier
        // run left there at another step is not this run's: not measured.
        QVERIFY(QDir().mkpath(b + "/checkpoints"));
        QVERIFY(QFile::copy(a + "/checkpoints/step-25.json", b + "/checkpoints/step-75.json"));
        const test::CliResult rb = train(b);
        QVERIFY2(rb.code == 0, qPrintable(rb.err));
        QCOMPARE(QString::fromUtf8(bytes(b + "/quality.csv")).trimmed().split('\n').size(), 5);
        QVERIFY(!bytes(a + "/model.pt").isEmpty());
        QCOMPARE(bytes(b + "/model.pt"), bytes(a + "/model.pt"));
        QCOMPARE(bytes(b + "/checkpoints/step-25.pt"), bytes(a + "/checkpoints/step-25.pt"));

        // Quality flags without checkpoint cards, or a mixture that is not one: exit 2, named.
        const test::CliResult q = test::run_cli({"train", "--data", data, "--steps", "5", "--quality-samples", "8",
                                                 "--out", dir.filePath("c")});
        QCOMPARE(q.code, 2);
        QVERIFY2(q.err.contains("--every"), qPrintable(q.err));
        const test::CliResult mx = test::run_cli({"train", "--data", data, "--steps", "5", "--every", "5",
                                                  "--mixture", a + "/exact.json", "--out", dir.filePath("d")});
        QCOMPARE(mx.code, 2);
        QVERIFY2(mx.err.contains("--mixture") && mx.err.contains("gaussian-mixture"), qPrintable(mx.err));
    }
};

QTEST_GUILESS_MAIN(TestTrainCli)
#include "tst_train_cli.moc"
