// noisetrail-cli compare end to end: the real binary on the ring of Gaussians (--quick),
// its files, its cache and its argument errors.
#include "test_util.hpp"

#include "noisetrail/npy.hpp"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>

namespace {

using Result = noisetrail::test::CliResult;

Result cli(const QStringList& args)
{
    return noisetrail::test::run_cli(args);
}

QString ring()
{
    return QString::fromStdString(noisetrail::test::source_path("models/ring8.json"));
}

QStringList read_lines(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
}

} // namespace

class TestCompare : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void quick_grid_writes_tables_plots_and_reuses_cache();
    void image_model_is_measured_on_classifier_features();
    void classify_reports_fd_to_heldout_images();
    void equal_nfe_pairs_heun_with_ddim();
    void bad_arguments_exit_2_data();
    void bad_arguments_exit_2();
};

void TestCompare::quick_grid_writes_tables_plots_and_reuses_cache()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString out = dir.filePath("cmp");
    const QStringList args{"compare", "--model", ring(), "--quick", "--samples", "120", "--out", out, "--threads", "1"};
    const Result r = cli(args);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    for (const char* f : {"compare.csv", "compare.md", "compare-cache.json", "compare-log_likelihood.png",
                          "compare-mmd2.png", "compare-vendi.png", "compare-components_covered.png",
                          "compare-occupancy_entropy.png", "compare-straightness.png"})
        QVERIFY2(QFile::exists(out + "/" + f), f);

    // CSV: header, 5 samplers x 2 step counts, and the reference row (exact draws).
    const QStringList lines = read_lines(out + "/compare.csv");
    QCOMPARE(lines.size(), 1 + 10 + 1);
    const QStringList head = lines[0].split(',');
    const int col_s = head.indexOf("steps"), col_cov = head.indexOf("components_covered"),
              col_str = head.indexOf("straightness"), col_var = head.indexOf("variant");
    QVERIFY(col_s >= 0 && col_cov >= 0 && col_str >= 0 && col_var == 0);
    QVERIFY(head.contains("log_likelihood") && head.contains("mmd2") && head.contains("vendi") &&
            head.contains("occupancy_entropy"));
    int seen = 0;
    for (const QString& line : lines.mid(1)) {
        const QStringList c = line.split(',');
        QCOMPARE(c.size(), head.size());
        if (c[0] == "reference") { // exact draws of the true mixture
            QCOMPARE(c[col_cov].toDouble(), 8.0); // exact draws cover the ring
            continue;
        }
        ++seen;
        QVERIFY(c[col_s] == "10" || c[col_s] == "20"); // compare::kQuickSteps
        const double straight = c[col_str].toDouble();
        QVERIFY(straight > 0 && straight <= 1 + 1e-9);
        // The exact denoiser with 20 DDIM steps finds every mode of the ring.
        if (c[0] == "eta0" && c[col_s] == "20")
            QCOMPARE(c[col_cov].toDouble(), 8.0);
    }
    QCOMPARE(seen, 10);
    const QStringList md = read_lines(out + "/compare.md");
    QVERIFY(md.join('\n').contains("| DDPM sigma-hat |"));

    // Second run: every cell comes from the cache; adding S = 50 computes only the new cells.
    const Result again = cli(args);
    QCOMPARE(again.code, 0);
    QCOMPARE(again.err.count(": cached"), 10);
    QVERIFY(again.err.contains("(0 computed, 10 cached)"));
    QStringList more = args;
    more << "--steps" << "10,20,50";
    const Result wider = cli(more);
    QCOMPARE(wider.code, 0);
    QVERIFY2(wider.err.contains("(5 computed, 10 cached)"), qPrintable(wider.err));
}

void TestCompare::image_model_is_measured_on_classifier_features()
{
    // The exact denoiser of 500 held-out digits (it reproduces them) judged by the
    // project's classifier; skipped where the classifier or the digits are absent.
    const std::string clf = noisetrail::test::source_path("models/mnist-classifier.json");
    const std::string digits = noisetrail::test::source_path("models/data/mnist-heldout-500_images.npy");
    if (!QFile::exists(QString::fromStdString(clf)) || !QFile::exists(QString::fromStdString(digits)))
        QSKIP("models/mnist-classifier.json or the held-out digits are not there");
    QTemporaryDir dir;
    const std::string card = noisetrail::test::write_file(
        dir, "digits.json",
        QByteArray(R"({"format": "noisetrail-model/1", "name": "held-out digits", "kind": "empirical",
            "data_shape": [1, 28, 28], "data_range": [-1, 1], "prediction": "epsilon",
            "schedule": {"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "train_steps": 1000},
            "data": ")") + QByteArray::fromStdString(digits) + "\"}");
    const QString out = dir.filePath("cmp");
    const Result r = cli({"compare", "--model", QString::fromStdString(card), "--classifier", QString::fromStdString(clf),
                          "--samples", "32", "--steps", "10", "--etas", "0", "--out", out, "--threads", "1"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList lines = read_lines(out + "/compare.csv");
    QCOMPARE(lines.size(), 1 + 2 + 1); // eta 0 and sigma-hat at S = 10, plus the held-out row
    const QStringList head = lines[0].split(',');
    for (const char* col : {"fd_classifier", "precision", "recall", "vendi", "classes_covered", "class_entropy"})
        QVERIFY2(head.contains(col), col);
    const QStringList row = lines[1].split(',');
    const double fd = row[head.indexOf("fd_classifier")].toDouble();
    QVERIFY(std::isfinite(fd) && fd > 0);
    const double vendi = row[head.indexOf("vendi")].toDouble();
    QVERIFY(vendi >= 1 && vendi <= 32);
    QVERIFY(lines[3].startsWith("reference,"));
    QFile md(out + "/compare.md");
    QVERIFY(md.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(md.readAll());
    QVERIFY(text.contains("FD (our classifier)") && text.contains("not the Inception FID"));
}

// classify's FD to the held-out images (issue 24's measure): real held-out digits
// score low, the same digits under heavy noise far higher; the JSON names it.
void TestCompare::classify_reports_fd_to_heldout_images()
{
    const std::string clf = noisetrail::test::source_path("models/mnist-classifier.json");
    const std::string digits = noisetrail::test::source_path("models/data/mnist-heldout-500_images.npy");
    if (!QFile::exists(QString::fromStdString(clf)) || !QFile::exists(QString::fromStdString(digits)))
        QSKIP("models/mnist-classifier.json or the held-out digits are not there");
    const auto fd_of = [&](const std::string& file) {
        const Result r = cli({"classify", "--classifier", QString::fromStdString(clf), "--samples",
                              QString::fromStdString(file), "--json"});
        if (r.code != 0)
            qWarning("%s", qPrintable(r.err));
        const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
        return j.contains("frechet_distance") ? j["frechet_distance"].toDouble() : -1.0;
    };
    const double real = fd_of(digits);
    QVERIFY2(real >= 0 && real < 40, qPrintable(QString::number(real)));

    noisetrail::NpyArray a = noisetrail::read_npy(digits);
    std::mt19937 gen(5);
    std::normal_distribution<float> n01;
    for (float& v : a.f32)
        v = std::clamp(v + 0.8f * n01(gen), -1.f, 1.f);
    QTemporaryDir dir;
    const std::string noisy = dir.filePath("noisy.npy").toStdString();
    noisetrail::write_npy(noisy, a.shape, a.f32.data());
    const double corrupted = fd_of(noisy);
    QVERIFY2(corrupted > 3 * real, qPrintable(QString("%1 vs %2").arg(corrupted).arg(real)));

    // Memorisation (--train): images that are training images sit at 0; the noisy copies
    // sit where the added noise puts them (RMS per pixel of the clamped noise, < 0.8).
    const auto nearest = [&](const std::string& samples, const std::string& train) {
        const Result r = cli({"classify", "--classifier", QString::fromStdString(clf), "--samples",
                              QString::fromStdString(samples), "--train", QString::fromStdString(train), "--json"});
        if (r.code != 0)
            qWarning("%s", qPrintable(r.err));
        return QJsonDocument::fromJson(r.out.toUtf8()).object()["nearest_train_distance"].toObject();
    };
    const auto copies = nearest(digits, digits);
    QCOMPARE(copies["mean"].toDouble(-1), 0.0);
    QCOMPARE(copies["median"].toDouble(-1), 0.0);
    const auto apart = nearest(noisy, digits);
    QVERIFY2(apart["mean"].toDouble() > 0.2 && apart["mean"].toDouble() < 0.8,
             qPrintable(QString::number(apart["mean"].toDouble())));
    // A training set of another image size is one clear error naming the flag.
    const std::vector<float> small(2 * 4 * 4, 0.f);
    const std::string wrong = dir.filePath("wrong.npy").toStdString();
    noisetrail::write_npy(wrong, {2, 1, 4, 4}, small.data());
    const Result bad = cli({"classify", "--classifier", QString::fromStdString(clf), "--samples",
                            QString::fromStdString(digits), "--train", QString::fromStdString(wrong)});
    QCOMPARE(bad.code, 2);
    QVERIFY2(bad.err.contains("--train") && bad.err.contains("wrong.npy"), qPrintable(bad.err));
}

void TestCompare::equal_nfe_pairs_heun_with_ddim()
{
    // Equal cost (issue 22): columns are model-call budgets; Heun's S steps cost 2S - 1 calls
    // (two a step, one on the last), so under NFE 19 Heun takes 10 steps and DDIM 19.
    QTemporaryDir dir;
    const QString out = dir.filePath("nfe");
    const Result r = cli({"compare", "--model", ring(), "--equal-nfe", "--steps", "7,19", "--etas", "0", "--samples",
                          "40", "--out", out, "--threads", "1"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList lines = read_lines(out + "/compare.csv");
    QCOMPARE(lines.size(), 1 + 3 * 2 + 1); // DDIM eta 0, DDPM sigma-hat, Heun; the reference row
    const QStringList head = lines[0].split(',');
    const int col_s = head.indexOf("steps");
    QStringList pairs;
    for (const QString& line : lines.mid(1, 6))
        pairs << line.split(',')[0] + ":" + line.split(',')[col_s];
    QCOMPARE(pairs, (QStringList{"eta0:7", "eta0:19", "sigma_hat:7", "sigma_hat:19", "heun:4", "heun:10"}));
    const QString md = read_lines(out + "/compare.md").join('\n');
    QVERIFY(md.contains("| NFE = 7 | NFE = 19 |"));
    QVERIFY(md.contains("| Heun |"));
    // The same cells at equal steps are the same runs: a plain grid over S = 7, 19 reuses them.
    const Result plain = cli({"compare", "--model", ring(), "--steps", "7,19", "--etas", "0", "--samples", "40",
                              "--out", out, "--threads", "1"});
    QCOMPARE(plain.code, 0);
    QVERIFY2(plain.err.contains("(0 computed, 4 cached)"), qPrintable(plain.err));
}

void TestCompare::bad_arguments_exit_2_data()
{
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("no --out") << QStringList{} << "--out";
    QTest::newRow("S = 0") << QStringList{"--out", "X", "--steps", "0,10"} << "--steps";
    QTest::newRow("S > T") << QStringList{"--out", "X", "--steps", "2000"} << "--steps";
    QTest::newRow("negative eta") << QStringList{"--out", "X", "--etas", "0,-1"} << "--etas";
    QTest::newRow("unknown flag") << QStringList{"--out", "X", "--bogus", "1"} << "--bogus";
}

void TestCompare::bad_arguments_exit_2()
{
    QFETCH(QStringList, extra);
    QFETCH(QString, mentions);
    QTemporaryDir dir;
    for (QString& e : extra)
        if (e == "X")
            e = dir.filePath("o");
    const Result r = cli(QStringList{"compare", "--model", ring()} + extra);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(mentions), qPrintable(r.err));
    QCOMPARE(r.err.count('\n'), 1); // one clear line
}

QTEST_GUILESS_MAIN(TestCompare)
#include "tst_compare.moc"
