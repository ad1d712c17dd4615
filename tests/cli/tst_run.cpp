// noisetrail-cli run (contract section 4) and the new samplers on the command line
// (section 6): the real binary, byte-for-byte against `sample`, schedule.csv, exit codes.
#include "test_util.hpp"

#include "noisetrail/npy.hpp"

#include <QtTest>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <map>

using namespace noisetrail;

namespace {

using Result = noisetrail::test::CliResult;

Result cli(const QStringList& args)
{
    return noisetrail::test::run_cli(args);
}

QString model(const char* name)
{
    return QString::fromStdString(test::source_path((std::string("models/") + name).c_str()));
}

QByteArray read_all(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

struct ScheduleRow {
    int tick, panel, step, t;
};

std::vector<ScheduleRow> read_schedule(const QString& path, QString* header)
{
    std::vector<ScheduleRow> rows;
    const QList<QByteArray> lines = read_all(path).split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        if (lines[i].isEmpty())
            continue;
        if (i == 0) {
            *header = QString::fromUtf8(lines[i]);
            continue;
        }
        const QList<QByteArray> f = lines[i].split(',');
        rows.push_back({f[0].toInt(), f[1].toInt(), f[2].toInt(), f[3].toInt()});
    }
    return rows;
}

const QStringList kDumpFiles{"xt.npy", "x0_pred.npy", "eps_pred.npy", "timesteps.npy", "stats.csv"};

} // namespace

class TestRun : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void help_lists_run();
    void panels_are_bit_identical_to_sample_data();
    void panels_are_bit_identical_to_sample();
    void schedule_is_lockstep();
    void pacing_flag_overrides_recipe();
    void bad_recipes_exit_2_data();
    void bad_recipes_exit_2();
    void sample_with_new_samplers();
};

void TestRun::help_lists_run()
{
    const Result h = cli({"--help"});
    QCOMPARE(h.code, 0);
    QVERIFY(h.out.contains("run"));
    const Result r = cli({"run", "--help"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("--config") && r.out.contains("--pacing") && r.out.contains("schedule.csv"));
    QVERIFY(cli({"sample", "--help"}).out.contains("dpmpp2m"));
}

void TestRun::panels_are_bit_identical_to_sample_data()
{
    QTest::addColumn<bool>("init_noise");
    QTest::addColumn<QString>("merge");
    QTest::newRow("seeded x_T") << false << "auto";
    QTest::newRow("seeded x_T, merged calls") << false << "always";
    QTest::newRow("x_T from a file") << true << "never";
}

void TestRun::panels_are_bit_identical_to_sample()
{
    QFETCH(bool, init_noise);
    QFETCH(QString, merge);
    QTemporaryDir dir;
    if (init_noise) {
        std::vector<float> x(40 * 2);
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = static_cast<float>(std::sin(0.37 * i) * 1.5);
        write_npy(dir.filePath("xT.npy").toStdString(), {40, 2}, x.data());
    }
    // Panels of every sampler, one with its own card of the same data shape.
    const QByteArray recipe = QByteArray(R"({"format": "noisetrail-run/1", "model": ")") + model("ring8.json").toUtf8() +
                              R"(", "seed": 7, "batch": 40, )" + (init_noise ? R"("init_noise": "xT.npy", )" : "") +
                              R"("panels": [
        {"sampler": "ddpm", "steps": 100},
        {"sampler": "ddim", "steps": 20, "eta": 0.5, "spacing": "trailing"},
        {"sampler": "heun", "steps": 10, "clip_x0": 1.5},
        {"sampler": "dpmpp2m", "steps": 10, "model": ")" + model("two-moons.json").toUtf8() + R"("}]})";
    const std::string file = test::write_file(dir, "cmp.run.json", recipe);
    const Result r = cli({"run", "--config", QString::fromStdString(file), "--merge", merge, "--dump", dir.filePath("run")});
    QVERIFY2(r.code == 0, qPrintable(r.err));

    const std::vector<QStringList> sample_args{
        {"--model", model("ring8.json"), "--sampler", "ddpm", "--steps", "100"},
        {"--model", model("ring8.json"), "--sampler", "ddim", "--steps", "20", "--eta", "0.5", "--spacing", "trailing"},
        {"--model", model("ring8.json"), "--sampler", "heun", "--steps", "10", "--clip-x0", "1.5"},
        {"--model", model("two-moons.json"), "--sampler", "dpmpp2m", "--steps", "10"},
    };
    for (int i = 0; i < int(sample_args.size()); ++i) {
        QStringList args = QStringList{"sample"} + sample_args[i] + QStringList{"--seed", "7", "--batch", "40"};
        if (init_noise)
            args << "--init-noise" << dir.filePath("xT.npy");
        args << "--dump" << dir.filePath(QString("sample-%1").arg(i));
        const Result s = cli(args);
        QVERIFY2(s.code == 0, qPrintable(s.err));
        for (const QString& f : kDumpFiles) {
            const QByteArray a = read_all(dir.filePath(QString("run/panel-%1/%2").arg(i).arg(f)));
            const QByteArray b = read_all(dir.filePath(QString("sample-%1/%2").arg(i).arg(f)));
            QVERIFY2(!a.isEmpty() && a == b, qPrintable(QString("panel %1 %2 differs from sample's").arg(i).arg(f)));
        }
        QVERIFY(QFile::exists(dir.filePath(QString("run/panel-%1/meta.json").arg(i))));
    }
}

void TestRun::schedule_is_lockstep()
{
    QTemporaryDir dir;
    const QByteArray recipe = QByteArray(R"({"model": ")") + model("gaussian-2d.json").toUtf8() +
                              R"(", "batch": 8, "panels": [{"sampler": "ddpm"}, {"sampler": "ddim", "steps": 50},
                                 {"sampler": "ddim", "steps": 10}, {"sampler": "heun", "steps": 7, "spacing": "trailing"}]})";
    const std::string file = test::write_file(dir, "ls.run.json", recipe);
    const Result r = cli({"run", "--config", QString::fromStdString(file), "--dump", dir.filePath("d")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QString header;
    const std::vector<ScheduleRow> rows = read_schedule(dir.filePath("d/schedule.csv"), &header);
    QCOMPARE(header, QString("tick,panel,step,t"));
    QCOMPARE(int(rows.size()), 1000 + 50 + 10 + 7);
    // Each panel's own timesteps (from its dump), to know what is pending at every row.
    std::vector<std::vector<std::int64_t>> ts;
    for (int p = 0; p < 4; ++p)
        ts.push_back(read_npy(dir.filePath(QString("d/panel-%1/timesteps.npy").arg(p)).toStdString()).i64);
    std::vector<int> next(4, 0);
    std::map<int, int> last_tick;
    int prev_tick = -1;
    for (const ScheduleRow& row : rows) {
        QVERIFY(row.tick >= prev_tick);
        prev_tick = row.tick;
        QCOMPARE(row.step, next[row.panel]);
        QCOMPARE(std::int64_t(row.t), ts[row.panel][row.step]);
        // Contract: when a panel computes a step at t, no other unfinished panel has a pending larger t.
        for (int p = 0; p < 4; ++p)
            if (p != row.panel && next[p] < int(ts[p].size()))
                QVERIFY2(ts[p][next[p]] <= row.t, qPrintable(QString("tick %1: panel %2 at t = %3 while panel %4 "
                                                                     "waits at t = %5")
                                                                 .arg(row.tick)
                                                                 .arg(row.panel)
                                                                 .arg(row.t)
                                                                 .arg(p)
                                                                 .arg(ts[p][next[p]])));
        ++next[row.panel];
        last_tick[row.panel] = row.tick;
    }
    // The panels whose plans end at t = 0 finish in the same tick.
    QCOMPARE(last_tick[0], last_tick[1]);
    QCOMPARE(last_tick[0], last_tick[2]);
}

void TestRun::pacing_flag_overrides_recipe()
{
    QTemporaryDir dir;
    const QByteArray recipe = QByteArray(R"({"model": ")") + model("ring8.json").toUtf8() +
                              R"(", "batch": 4, "pacing": "lockstep", "panels": [{"sampler": "ddim", "steps": 6},
                                 {"sampler": "ddim", "steps": 3}]})";
    const std::string file = test::write_file(dir, "p.run.json", recipe);
    for (const QString& pacing : {QString("realtime"), QString("sequential")}) {
        const QString out = dir.filePath(pacing);
        const Result r = cli({"run", "--config", QString::fromStdString(file), "--pacing", pacing, "--dump", out});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QString header;
        const auto rows = read_schedule(out + "/schedule.csv", &header);
        QCOMPARE(int(rows.size()), 9);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (pacing == "realtime") {
                QCOMPARE(rows[i].tick, rows[i].step); // every panel one step per tick
            } else {
                QCOMPARE(rows[i].tick, int(i)); // one panel after the other
                QCOMPARE(rows[i].panel, i < 6 ? 0 : 1);
            }
        }
    }
}

void TestRun::bad_recipes_exit_2_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("expected");
    const QByteArray ring = model("ring8.json").toUtf8();
    QTest::newRow("missing file") << QByteArray() << QStringList{} << "does not exist";
    QTest::newRow("bad json") << QByteArray(R"({"model": )") << QStringList{} << "malformed JSON";
    QTest::newRow("unknown key") << QByteArray(R"({"model": ")" + ring + R"(", "panels": [{"sampler": "ddim", "etta": 1}]})")
                                 << QStringList{} << "panels[0].etta";
    QTest::newRow("mismatched data_shape")
        << QByteArray(R"({"model": ")" + ring + R"(", "panels": [{}, {"model": ")" + model("mnist-500-exact.json").toUtf8() +
                      R"("}]})")
        << QStringList{} << "data_shape";
    QTest::newRow("bad pacing in file")
        << QByteArray(R"({"model": ")" + ring + R"(", "pacing": "warp", "panels": [{}]})") << QStringList{} << "'pacing'";
    QTest::newRow("bad pacing flag") << QByteArray(R"({"model": ")" + ring + R"(", "panels": [{}]})")
                                     << QStringList{"--pacing", "warp"} << "--pacing";
    // Sessions themselves are tested in tst_session_cli; here: a folder that does not exist.
    QTest::newRow("session folder") << QByteArray(R"({"model": ")" + ring + R"(", "panels": [{}]})")
                                    << QStringList{"--session", "/nonexistent-folder/s.ntsession"} << "--session";
}

void TestRun::bad_recipes_exit_2()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, extra);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString file = dir.filePath("bad.run.json");
    if (!json.isEmpty())
        test::write_file(dir, "bad.run.json", json);
    const Result r = cli(QStringList{"run", "--config", file} + extra);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(expected), qPrintable(r.err));
    if (!extra.contains("--pacing") && !extra.contains("--session"))
        QVERIFY2(r.err.contains("bad.run.json"), qPrintable(r.err));
    QCOMPARE(r.err.trimmed().count('\n'), 0); // one line
}

void TestRun::sample_with_new_samplers()
{
    QTemporaryDir dir;
    for (const char* sampler : {"heun", "dpmpp2m"}) {
        const QString out = dir.filePath(sampler);
        const Result r = cli({"sample", "--model", model("ring8.json"), "--sampler", sampler, "--steps", "6", "--batch",
                              "16", "--dump", out});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QList<QByteArray> lines = read_all(out + "/stats.csv").trimmed().split('\n');
        QCOMPARE(lines.size(), 7);
        const QList<QByteArray> header = lines[0].split(',');
        const int col = header.indexOf("model_calls");
        QVERIFY(col >= 0);
        for (int k = 1; k <= 6; ++k) {
            const int calls = lines[k].split(',')[col].toInt();
            // Heun evaluates twice on every step but the last (contract section 6).
            QCOMPARE(calls, QByteArray(sampler) == "heun" && k < 6 ? 2 : 1);
        }
        const Result p = cli({"plan", "--model", model("ring8.json"), "--sampler", sampler, "--steps", "6", "--json"});
        QCOMPARE(p.code, 0);
        // Deterministic samplers add no noise: sigma is 0 on every step.
        const QJsonArray steps = QJsonDocument::fromJson(p.out.toUtf8()).object()["steps"].toArray();
        QCOMPARE(steps.size(), 6);
        for (const auto& st : steps)
            QCOMPARE(st.toObject()["sigma"].toDouble(-1.0), 0.0);
    }
}

QTEST_GUILESS_MAIN(TestRun)
#include "tst_run.moc"
