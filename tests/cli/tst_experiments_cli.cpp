// The experiment commands end to end: invert (contract section 7), interpolate,
// consistency, decision and the decision files of 'sample --dump'.
#include "test_util.hpp"

#include "noisetrail/npy.hpp"

#include <QFile>
#include <QTextStream>
#include <QtTest>

#include <cmath>
#include <set>

using namespace noisetrail;

namespace {

using Result = noisetrail::test::CliResult;

Result cli(const QStringList& args)
{
    return noisetrail::test::run_cli(args);
}

QString card(const char* name)
{
    return QString::fromStdString(test::source_path(name));
}

QStringList read_lines(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return {};
    QStringList lines = QString::fromUtf8(f.readAll()).split('\n');
    while (!lines.isEmpty() && lines.back().isEmpty())
        lines.pop_back();
    return lines;
}

/// 8 points of the single Gaussian's data, at several distances from its mean (1, -0.5).
QString write_gaussian_data(const QTemporaryDir& dir)
{
    std::vector<float> x;
    for (int i = 0; i < 8; ++i) {
        x.push_back(float(1.0 + 0.3 * i * std::cos(i)));
        x.push_back(float(-0.5 + 0.3 * i * std::sin(i)));
    }
    const QString path = dir.filePath("x0.npy");
    write_npy(path.toStdString(), {8, 2}, x.data());
    return path;
}

} // namespace

class TestExperimentsCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void help_for_each_command();
    void invert_writes_contract_files();
    void invert_reconstruction_is_sample_from_xT();
    void invert_index_and_table();
    void interpolate_files();
    void consistency_files_and_numbers();
    void decision_files_and_sample_dump();
    void bad_input_exits_2_data();
    void bad_input_exits_2();
    void failed_run_exits_3();
};

void TestExperimentsCli::help_for_each_command()
{
    for (const char* cmd : {"invert", "interpolate", "consistency", "decision"}) {
        const Result r = cli({cmd, "--help"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.startsWith("usage: noisetrail-cli " + QString(cmd)), qPrintable(r.out));
    }
    const Result all = cli({"--help"});
    for (const char* cmd : {"invert", "interpolate", "consistency", "decision"})
        QVERIFY(all.out.contains(QString("  ") + cmd + " "));
}

void TestExperimentsCli::invert_writes_contract_files()
{
    QTemporaryDir dir;
    const QString data = write_gaussian_data(dir);
    const Result r = cli({"invert", "--model", card("models/gaussian-2d.json"), "--data", data, "--steps", "100",
                          "--out", dir.filePath("o")});
    QCOMPARE(r.code, 0);
    const NpyArray x0 = read_npy(data.toStdString());
    const NpyArray xT = read_npy(dir.filePath("o/xT.npy").toStdString());
    const NpyArray rec = read_npy(dir.filePath("o/reconstruction.npy").toStdString());
    QCOMPARE(xT.dtype, NpyArray::DType::Float32);
    QCOMPARE(rec.dtype, NpyArray::DType::Float32);
    QCOMPARE(xT.shape, x0.shape);
    QCOMPARE(rec.shape, x0.shape);
    const QStringList lines = read_lines(dir.filePath("o/mse.csv"));
    QCOMPARE(lines.size(), 9);
    QCOMPARE(lines[0], QString("index,mse"));
    for (int i = 0; i < 8; ++i) {
        const QStringList f = lines[i + 1].split(',');
        QCOMPARE(f.size(), 2);
        QCOMPARE(f[0].toInt(), i);
        // Per-example mean squared error per dimension, from the files themselves.
        const double dx = rec.f32[2 * i] - x0.f32[2 * i], dy = rec.f32[2 * i + 1] - x0.f32[2 * i + 1];
        const double want = (dx * dx + dy * dy) / 2;
        QVERIFY2(std::abs(f[1].toDouble() - want) <= 1e-6 * want + 1e-12, qPrintable(lines[i + 1]));
        QVERIFY(want < 1e-2); // 100 steps reconstruct this Gaussian's points closely
    }
    // x_T is the encoding of the data, of unit scale (not the data itself).
    double norm = 0;
    for (float v : xT.f32)
        norm += v * v;
    QVERIFY(std::sqrt(norm / 8) > 0.5);
    QFile png(dir.filePath("o/reconstruction.png"));
    QVERIFY(png.open(QIODevice::ReadOnly));
    QVERIFY(png.read(8) == QByteArray("\x89PNG\r\n\x1a\n", 8));
}

void TestExperimentsCli::invert_reconstruction_is_sample_from_xT()
{
    QTemporaryDir dir;
    const QString data = write_gaussian_data(dir);
    QCOMPARE(cli({"invert", "--model", card("models/ring8.json"), "--data", data, "--steps", "20", "--spacing",
                  "trailing", "--out", dir.filePath("o")})
                 .code,
             0);
    const Result s = cli({"sample", "--model", card("models/ring8.json"), "--sampler", "ddim", "--eta", "0", "--steps",
                          "20", "--spacing", "trailing", "--clip-x0", "off", "--init-noise", dir.filePath("o/xT.npy"),
                          "--out", dir.filePath("s")});
    QCOMPARE(s.code, 0);
    QCOMPARE(read_npy(dir.filePath("s/samples.npy").toStdString()).f32,
             read_npy(dir.filePath("o/reconstruction.npy").toStdString()).f32);
}

void TestExperimentsCli::invert_index_and_table()
{
    QTemporaryDir dir;
    const QString data = write_gaussian_data(dir);
    const Result r = cli({"invert", "--model", card("models/gaussian-2d.json"), "--data", data, "--steps", "10",
                          "--index", "5,2", "--ddpm", "--table", "10,100,1000", "--out", dir.filePath("o")});
    QCOMPARE(r.code, 0);
    QCOMPARE(read_npy(dir.filePath("o/reconstruction.npy").toStdString()).shape, (std::vector<std::int64_t>{2, 2}));
    QCOMPARE(read_npy(dir.filePath("o/ddpm_reconstruction.npy").toStdString()).shape, (std::vector<std::int64_t>{2, 2}));
    const QStringList mse = read_lines(dir.filePath("o/mse.csv"));
    QCOMPARE(mse[0], QString("index,mse,ddpm_mse"));
    QVERIFY(mse[1].startsWith("5,"));
    QVERIFY(mse[2].startsWith("2,"));
    const QStringList table = read_lines(dir.filePath("o/table.csv"));
    QCOMPARE(table.size(), 4);
    QCOMPARE(table[0], QString("steps,examples,ddim_mse,ddpm_mse"));
    double prev = 1e9;
    for (int i = 1; i < 4; ++i) {
        const QStringList f = table[i].split(',');
        QCOMPARE(f[1].toInt(), 2);
        const double ddim = f[2].toDouble(), ddpm = f[3].toDouble();
        QVERIFY2(ddim < prev, qPrintable(table[i]));
        QVERIFY2(ddim < ddpm, qPrintable(table[i]));
        prev = ddim;
    }
    QVERIFY(QFile::exists(dir.filePath("o/table.md")));
}

void TestExperimentsCli::interpolate_files()
{
    QTemporaryDir dir;
    const Result r = cli({"interpolate", "--model", card("models/ring8.json"), "--points", "7", "--samplers",
                          "ddim:20,ddpm:100", "--seed", "4", "--out", dir.filePath("o")});
    QCOMPARE(r.code, 0);
    QCOMPARE(read_npy(dir.filePath("o/xT.npy").toStdString()).shape, (std::vector<std::int64_t>{7, 2}));
    QCOMPARE(read_npy(dir.filePath("o/samples.npy").toStdString()).shape, (std::vector<std::int64_t>{2, 7, 2}));
    const QStringList lines = read_lines(dir.filePath("o/interpolation.csv"));
    QCOMPARE(lines.size(), 1 + 2 * 7);
    QCOMPARE(lines[0], QString("sampler,index,alpha,xt_norm,change"));
    QVERIFY(lines[1].contains(",0,0,"));
    QVERIFY(lines[7].contains(",6,1,"));
    QVERIFY(QFile::exists(dir.filePath("o/interpolation.png")));
}

void TestExperimentsCli::consistency_files_and_numbers()
{
    QTemporaryDir dir;
    const Result r = cli({"consistency", "--model", card("models/ring8.json"), "--steps", "10,50,200", "--batch", "32",
                          "--seed", "3", "--out", dir.filePath("o")});
    QCOMPARE(r.code, 0);
    QCOMPARE(read_npy(dir.filePath("o/samples.npy").toStdString()).shape, (std::vector<std::int64_t>{2, 3, 32, 2}));
    const QStringList lines = read_lines(dir.filePath("o/consistency.csv"));
    QCOMPARE(lines.size(), 1 + 2 * 3);
    QCOMPARE(lines[0], QString("sampler,steps,mean_distance,space"));
    // Rows: DDIM at 10, 50, 200, then DDPM; the distance of S = 200 to itself is 0.
    for (int i = 0; i < 2; ++i) {
        const double ddim = lines[1 + i].split(',')[2].toDouble(), ddpm = lines[4 + i].split(',')[2].toDouble();
        QVERIFY2(ddim < 0.25 * ddpm, qPrintable(lines[1 + i] + " / " + lines[4 + i]));
    }
    QCOMPARE(lines[3].split(',')[2].toDouble(), 0.0);
    const QStringList early = read_lines(dir.filePath("o/early_stop.csv"));
    QCOMPARE(early[0], QString("sampler,k,preview_t,preview_distance"));
    QCOMPARE(early.size(), 1 + 2 * 3);
    QVERIFY(QFile::exists(dir.filePath("o/consistency.png")));
    QVERIFY(QFile::exists(dir.filePath("o/early_stop.png")));
}

void TestExperimentsCli::decision_files_and_sample_dump()
{
    QTemporaryDir dir;
    const Result r = cli({"decision", "--model", card("models/ring8.json"), "--panels", "ddpm:100,ddim:20", "--batch",
                          "24", "--out", dir.filePath("o")});
    QCOMPARE(r.code, 0);
    const QStringList lines = read_lines(dir.filePath("o/decision.csv"));
    QCOMPARE(lines.size(), 1 + 2 * 24);
    QCOMPARE(lines[0], QString("panel,sample,decision_step,decision_t,final"));
    QCOMPARE(read_npy(dir.filePath("o/assignment-1.npy").toStdString()).shape, (std::vector<std::int64_t>{20, 24}));

    // sample --dump adds assignment.npy [S, B] and decision.csv; decision t is a plan timestep.
    const Result s = cli({"sample", "--model", card("models/ring8.json"), "--sampler", "ddim", "--steps", "25",
                          "--batch", "16", "--dump", dir.filePath("d")});
    QCOMPARE(s.code, 0);
    const NpyArray a = read_npy(dir.filePath("d/assignment.npy").toStdString());
    QCOMPARE(a.dtype, NpyArray::DType::Int64);
    QCOMPARE(a.shape, (std::vector<std::int64_t>{25, 16}));
    for (auto v : a.i64)
        QVERIFY(v >= 0 && v < 8);
    const NpyArray ts = read_npy(dir.filePath("d/timesteps.npy").toStdString());
    const std::set<std::int64_t> plan(ts.i64.begin(), ts.i64.end());
    const QStringList dec = read_lines(dir.filePath("d/decision.csv"));
    QCOMPARE(dec[0], QString("sample,decision_step,decision_t,final"));
    QCOMPARE(dec.size(), 17);
    for (int b = 0; b < 16; ++b) {
        const QStringList f = dec[b + 1].split(',');
        const int step = f[1].toInt(), t = f[2].toInt(), fin = f[3].toInt();
        QVERIFY(plan.count(t));
        QCOMPARE(std::int64_t(t), ts.i64[step]);
        QCOMPARE(std::int64_t(fin), a.i64[24 * 16 + b]);
    }
    // run --dump writes the same decision files for each panel as sample --dump.
    const QString recipe = QString::fromStdString(test::write_file(
        dir, "r.run.json",
        R"({"format": "noisetrail-run/1", "model": ")" + card("models/ring8.json").toUtf8() +
            R"(", "seed": 0, "batch": 16, "panels": [{"sampler": "ddim", "steps": 25}]})"));
    QCOMPARE(cli({"run", "--config", recipe, "--dump", dir.filePath("r")}).code, 0);
    QCOMPARE(read_lines(dir.filePath("r/panel-0/decision.csv")), dec);
    QCOMPARE(read_npy(dir.filePath("r/panel-0/assignment.npy").toStdString()).i64, a.i64);
    // A card without components or classifier: no decision files, nothing else changes.
    const Result m = cli({"sample", "--model", card("models/two-moons.json"), "--sampler", "ddim", "--steps", "5",
                          "--batch", "4", "--dump", dir.filePath("m")});
    QCOMPARE(m.code, 0);
    QVERIFY(QFile::exists(dir.filePath("m/stats.csv")));
    QVERIFY(!QFile::exists(dir.filePath("m/decision.csv")));
}

void TestExperimentsCli::bad_input_exits_2_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expect");
    const QString fx = card("tests/fixtures");
    const QString digits = card("models/data/mnist-heldout-500_images.npy");
    const QStringList inv{"invert", "--model", card("models/ring8.json"), "--out", QDir::tempPath() + "/nt-exp-bad"};
    QTest::newRow("invert no --data") << (inv + QStringList{"--steps", "10"}) << "--data";
    QTest::newRow("invert no --steps") << (inv + QStringList{"--data", digits}) << "--steps";
    QTest::newRow("invert no --out") << QStringList{"invert", "--model", card("models/ring8.json"), "--data", digits, "--steps", "5"} << "--out";
    QTest::newRow("invert wrong shape") << (inv + QStringList{"--data", digits, "--steps", "10"}) << "does not match";
    QTest::newRow("invert integer data")
        << (inv + QStringList{"--data", card("models/data/mnist-heldout-500_labels.npy"), "--steps", "10"}) << "integers";
    QTest::newRow("invert steps > T") << (inv + QStringList{"--data", digits, "--steps", "5000"}) << "--steps";
    QTest::newRow("invert missing file") << (inv + QStringList{"--data", "/nonexistent/x.npy", "--steps", "5"}) << "x.npy";
    const QStringList dinv{"invert", "--model", card("models/mnist-500-exact.json"), "--data", digits, "--steps", "5",
                           "--out", QDir::tempPath() + "/nt-exp-bad"};
    QTest::newRow("invert index out of range") << (dinv + QStringList{"--index", "3,500"}) << "--index 500";
    QTest::newRow("invert count too large") << (dinv + QStringList{"--count", "501"}) << "--count";
    QTest::newRow("invert index and count") << (dinv + QStringList{"--index", "1", "--count", "2"}) << "--index";
    QTest::newRow("invert bad table") << (dinv + QStringList{"--table", "10,x"}) << "--table";
    const QStringList itp{"interpolate", "--model", card("models/ring8.json"), "--out", QDir::tempPath() + "/nt-exp-bad"};
    QTest::newRow("interpolate points 1") << (itp + QStringList{"--points", "1"}) << "--points";
    QTest::newRow("interpolate bad sampler entry") << (itp + QStringList{"--samplers", "ddim:ten"}) << "--samplers";
    QTest::newRow("interpolate unknown sampler") << (itp + QStringList{"--samplers", "lms:10"}) << "unknown sampler 'lms'";
    QTest::newRow("interpolate noise shape") << (itp + QStringList{"--noise", fx + "/noise_3x3_f32.npy"}) << "--noise";
    const QStringList con{"consistency", "--model", card("models/ring8.json"), "--out", QDir::tempPath() + "/nt-exp-bad"};
    QTest::newRow("consistency descending steps") << (con + QStringList{"--steps", "50,10"}) << "--steps";
    QTest::newRow("consistency steps > T") << (con + QStringList{"--steps", "10,2000"}) << "--steps";
    QTest::newRow("decision without components")
        << QStringList{"decision", "--model", card("models/two-moons.json"), "--out", QDir::tempPath() + "/nt-exp-bad"}
        << "gaussian-mixture";
}

void TestExperimentsCli::bad_input_exits_2()
{
    QFETCH(QStringList, args);
    QFETCH(QString, expect);
    const Result r = cli(args);
    QCOMPARE(r.code, 2);
    const QString err = r.err.trimmed();
    QVERIFY2(!err.contains('\n'), qPrintable("expected one line, got: " + err));
    QVERIFY2(err.contains(expect), qPrintable(err));
}

void TestExperimentsCli::failed_run_exits_3()
{
    QTemporaryDir dir;
    const QString data = write_gaussian_data(dir);
    const Result r = cli({"invert", "--model", card("tests/fixtures/nan_mixture.json"), "--data", data, "--steps", "10",
                          "--out", dir.filePath("o")});
    QCOMPARE(r.code, 3);
    QVERIFY2(r.err.contains("t = "), qPrintable(r.err));
    QVERIFY(!r.err.trimmed().contains('\n'));
}

QTEST_GUILESS_MAIN(TestExperimentsCli)
#include "tst_experiments_cli.moc"
