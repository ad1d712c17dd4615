// noisetrail-cli end to end: the real binary, the contract's files and exit codes (section 3).
#include "test_util.hpp"

#include "noisetrail/npy.hpp"
#include "noisetrail/sampler_config.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

#include <cmath>

using namespace noisetrail;

namespace {

using Result = noisetrail::test::CliResult;

Result cli(const QStringList& args)
{
    return noisetrail::test::run_cli(args);
}

QString ring()
{
    return QString::fromStdString(test::source_path("models/ring8.json"));
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void help_and_version();
    void sample_dump_has_contract_shapes();
    void init_noise_is_first_frame();
    void plan_json_parses_and_matches_contract();
    void flow_card_samples_plans_and_dumps();
    void out_writes_png_and_npy();
    void bad_input_exits_2_data();
    void bad_input_exits_2();
    void nan_model_exits_3_naming_step();
    void unstable_plan_warns_on_stderr();
    void field_writes_contract_shapes();
    void dump_has_ode_error_for_exact_deterministic_runs();
};

void TestCli::help_and_version()
{
    const Result v = cli({"--version"});
    QCOMPARE(v.code, 0);
    QVERIFY(v.out.startsWith("noisetrail-cli "));
    for (const char* cmd : {"sample", "plan", "field"}) {
        const Result h = cli({cmd, "--help"});
        QCOMPARE(h.code, 0);
        QVERIFY(h.out.contains("--model"));
    }
    // sample --help is written from the registry: every registered sampler with its summary.
    const Result h = cli({"sample", "--help"});
    for (const SamplerInfo& info : samplers())
        QVERIFY2(h.out.contains(QString::fromStdString(info.name + "  ")) &&
                     h.out.contains(QString::fromStdString(info.summary)),
                 info.name.c_str());
    // Each sampler's default plan is named (contract section 1: "--help says which").
    for (const SamplerInfo& info : samplers())
        QVERIFY2(QRegularExpression(QString("%1 for [a-z_, ]*%2").arg(QString::fromStdString(to_string(info.default_spacing)),
                                                                      QString::fromStdString(info.name)))
                     .match(h.out)
                     .hasMatch(),
                 info.name.c_str());
    QCOMPARE(cli({}).code, 2);
    QCOMPARE(cli({"paint"}).code, 2);
}

void TestCli::sample_dump_has_contract_shapes()
{
    QTemporaryDir dir;
    const QString dump = dir.filePath("dump");
    const Result r = cli({"sample", "--model", ring(), "--sampler", "ddim", "--steps", "12", "--batch", "5",
                          "--seed", "3", "--dump", dump});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto d = dump.toStdString();
    const NpyArray xt = read_npy(d + "/xt.npy"), x0 = read_npy(d + "/x0_pred.npy"),
                   eps = read_npy(d + "/eps_pred.npy"), ts = read_npy(d + "/timesteps.npy");
    QCOMPARE(xt.shape, (std::vector<std::int64_t>{13, 5, 2}));
    QCOMPARE(x0.shape, (std::vector<std::int64_t>{12, 5, 2}));
    QCOMPARE(eps.shape, (std::vector<std::int64_t>{12, 5, 2}));
    QCOMPARE(ts.dtype, NpyArray::DType::Int64);
    QCOMPARE(ts.shape, (std::vector<std::int64_t>{12}));
    // leading spacing, ratio 1000 div 12 = 83: 913, 830, ..., 0
    for (int i = 0; i < 12; ++i)
        QCOMPARE(ts.i64[i], std::int64_t{83 * (11 - i)});
    // DDIM eta = 0 with ab_prev = 1 at the end: the last frame is the last x0 prediction.
    for (int j = 0; j < 10; ++j)
        QVERIFY(std::abs(xt.f32[12 * 10 + j] - x0.f32[11 * 10 + j]) < 1e-5);

    QFile csv(dump + "/stats.csv");
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(csv.readAll()).trimmed().split('\n');
    QCOMPARE(lines.size(), 13);
    QVERIFY(lines[0].startsWith("step,t,t_prev,alpha_bar"));
    QCOMPARE(lines[1].split(',')[1], QString("913"));

    QFile meta(dump + "/meta.json");
    QVERIFY(meta.open(QIODevice::ReadOnly));
    const QJsonObject m = QJsonDocument::fromJson(meta.readAll()).object();
    QCOMPARE(m["seed"].toInt(), 3);
    QCOMPARE(m["sampler"].toObject()["sampler"].toString(), QString("ddim"));
    QCOMPARE(m["model"].toObject()["kind"].toString(), QString("gaussian-mixture"));
    QVERIFY(!m["noisetrail_version"].toString().isEmpty());
}

void TestCli::init_noise_is_first_frame()
{
    QTemporaryDir dir;
    // float64 on purpose: the contract converts it to float32.
    QVERIFY(QFile::copy(QString::fromStdString(test::source_path("tests/fixtures/noise_3x2_f64.npy")),
                        dir.filePath("noise.npy")));
    const Result r = cli({"sample", "--model", ring(), "--steps", "20", "--init-noise", dir.filePath("noise.npy"),
                          "--dump", dir.filePath("d")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const NpyArray xt = read_npy(dir.filePath("d/xt.npy").toStdString());
    QCOMPARE(xt.shape, (std::vector<std::int64_t>{21, 3, 2}));
    const float want[6] = {0.5f, -1.25f, 2.0f, 0.0f, -0.75f, 1.5f};
    for (int i = 0; i < 6; ++i)
        QCOMPARE(xt.f32[i], want[i]);
}

void TestCli::plan_json_parses_and_matches_contract()
{
    const Result r = cli({"plan", "--model", ring(), "--sampler", "ddim", "--steps", "4", "--eta", "1",
                          "--spacing", "trailing", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QJsonParseError e;
    const QJsonArray steps = QJsonDocument::fromJson(r.out.toUtf8(), &e).object()["steps"].toArray();
    QCOMPARE(e.error, QJsonParseError::NoError);
    QCOMPARE(steps.size(), 4);
    const int want_t[4] = {999, 749, 499, 249};
    for (int i = 0; i < 4; ++i) {
        const QJsonObject s = steps[i].toObject();
        QCOMPARE(s["t"].toInt(), want_t[i]);
        QCOMPARE(s["t_prev"].toInt(), i < 3 ? want_t[i + 1] : -1);
        const double ab = s["alpha_bar"].toDouble(), abp = s["alpha_bar_prev"].toDouble();
        const double sigma = std::sqrt((1 - abp) / (1 - ab)) * std::sqrt(1 - ab / abp);
        QVERIFY(std::abs(s["sigma"].toDouble() - sigma) < 1e-12);
    }
    QCOMPARE(steps[3].toObject()["alpha_bar_prev"].toDouble(), 1.0);
}

void TestCli::flow_card_samples_plans_and_dumps()
{
    // Contract section 8: on a flow card timesteps.npy is float64 [S] holding s, plan --json
    // prints s as t and t_prev (0 after the last step), and alpha = 1 - s, sigma_t = s.
    const QString card = QString::fromStdString(test::source_path("models/ring8-flow.json"));
    QTemporaryDir dir;
    const QString dump = dir.filePath("dump");
    const Result r = cli({"sample", "--model", card, "--sampler", "euler", "--steps", "10", "--batch", "5",
                          "--seed", "3", "--dump", dump, "--out", dir.filePath("out")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QFile raw(dump + "/timesteps.npy");
    QVERIFY(raw.open(QIODevice::ReadOnly));
    QVERIFY(raw.read(128).contains("'descr': '<f8'"));
    const NpyArray ts = read_npy((dump + "/timesteps.npy").toStdString());
    QCOMPARE(ts.shape, (std::vector<std::int64_t>{10}));
    for (int i = 0; i < 10; ++i) // u = linspace(1, 1/T, S), shift 1
        QVERIFY(std::abs(ts.f32[i] - (1.0 + i * (0.001 - 1.0) / 9)) < 1e-6);
    const NpyArray samples = read_npy(dir.filePath("out/samples.npy").toStdString());
    QCOMPARE(samples.shape, (std::vector<std::int64_t>{5, 2}));

    for (const QString& model : {card, ring()}) {
        const Result p = cli({"plan", "--model", model, "--sampler", "heun", "--steps", "4", "--json"});
        QVERIFY2(p.code == 0, qPrintable(p.err));
        const QJsonArray steps = QJsonDocument::fromJson(p.out.toUtf8()).object()["steps"].toArray();
        QCOMPARE(steps.size(), 4);
        for (int i = 0; i < 4; ++i) {
            const QJsonObject s = steps[i].toObject();
            const double ab = s["alpha_bar"].toDouble(), abp = s["alpha_bar_prev"].toDouble();
            if (model == card) {
                const double lv = s["t"].toDouble(), lvp = s["t_prev"].toDouble();
                QVERIFY(std::abs(lv - (1.0 + i * (0.001 - 1.0) / 3)) < 1e-12);
                QCOMPARE(s["alpha"].toDouble(), 1.0 - lv);
                QCOMPARE(s["sigma_t"].toDouble(), lv);
                QCOMPARE(s["alpha_prev"].toDouble(), 1.0 - lvp);
                QCOMPARE(s["sigma_t_prev"].toDouble(), lvp);
                // alpha_bar: the VP alpha_bar of the same signal-to-noise ratio
                QVERIFY(std::abs(ab - (1 - lv) * (1 - lv) / ((1 - lv) * (1 - lv) + lv * lv)) < 1e-12);
                if (i == 3)
                    QCOMPARE(lvp, 0.0);
            } else {
                QCOMPARE(s["alpha"].toDouble(), std::sqrt(ab));
                QCOMPARE(s["sigma_t"].toDouble(), std::sqrt(1 - ab));
                QCOMPARE(s["alpha_prev"].toDouble(), std::sqrt(abp));
                QCOMPARE(s["sigma_t_prev"].toDouble(), std::sqrt(1 - abp));
            }
        }
    }
}

void TestCli::out_writes_png_and_npy()
{
    QTemporaryDir dir;
    const Result r = cli({"sample", "--model", ring(), "--sampler", "ddim", "--steps", "10", "--batch", "64",
                          "--out", dir.filePath("o")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QFile png(dir.filePath("o/samples.png"));
    QVERIFY(png.open(QIODevice::ReadOnly));
    QVERIFY(png.read(8) == QByteArray("\x89PNG\r\n\x1a\n", 8));
    QCOMPARE(read_npy(dir.filePath("o/samples.npy").toStdString()).shape, (std::vector<std::int64_t>{64, 2}));
}

void TestCli::bad_input_exits_2_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expect");
    const QString fx = QString::fromStdString(test::source_path("tests/fixtures"));
    const QStringList sample{"sample", "--model", ring()};
    QTest::newRow("missing card") << QStringList{"sample", "--model", "/nonexistent/card.json"} << "card.json";
    QTest::newRow("no --model") << QStringList{"sample"} << "--model";
    QTest::newRow("malformed json") << QStringList{"sample", "--model", fx + "/bad_json.json"} << "malformed JSON";
    QTest::newRow("unknown kind") << QStringList{"sample", "--model", fx + "/bad_kind.json"} << "unknown kind";
    QTest::newRow("unknown schedule") << QStringList{"sample", "--model", fx + "/bad_schedule.json"} << "unknown kind 'warped'";
    QTest::newRow("init-noise shape") << (sample + QStringList{"--init-noise", fx + "/noise_3x3_f32.npy"}) << "does not match";
    QTest::newRow("init-noise complex") << (sample + QStringList{"--init-noise", fx + "/complex.npy"}) << "unsupported dtype";
    QTest::newRow("init-noise int8") << (sample + QStringList{"--init-noise", fx + "/int8.npy"}) << "unsupported dtype";
    QTest::newRow("init-noise truncated") << (sample + QStringList{"--init-noise", fx + "/truncated.npy"}) << "truncated";
    QTest::newRow("steps > T") << (sample + QStringList{"--steps", "1001"}) << "--steps";
    QTest::newRow("steps < 1") << (sample + QStringList{"--steps", "0"}) << "--steps";
    QTest::newRow("steps not a number") << (sample + QStringList{"--steps", "ten"}) << "--steps";
    QTest::newRow("eta < 0") << (sample + QStringList{"--sampler", "ddim", "--eta", "-0.5"}) << "--eta";
    QTest::newRow("unknown sampler") << (sample + QStringList{"--sampler", "lms"}) << "unknown sampler 'lms'";
    QTest::newRow("unknown spacing") << (sample + QStringList{"--spacing", "cubic"}) << "unknown spacing 'cubic'";
    QTest::newRow("unknown variance") << (sample + QStringList{"--variance", "learned"}) << "unknown variance";
    QTest::newRow("unknown flag") << (sample + QStringList{"--temperature", "2"}) << "--temperature";
    QTest::newRow("unwritable --out") << (sample + QStringList{"--out", fx + "/bad_json.json/sub"}) << "--out";
    QTest::newRow("torchscript wrong output shape") << QStringList{"sample", "--trust-code", "--model", fx + "/torchscript/wrong_shape.json"} << "returned shape";
    QTest::newRow("torchscript corrupt archive") << QStringList{"sample", "--model", fx + "/torchscript/corrupt.json", "--trust-code"} << "not a loadable TorchScript archive";
    QTest::newRow("torchscript untrusted") << QStringList{"sample", "--model", fx + "/torchscript/gaussian_eps.json"} << "--trust-code";
    QTest::newRow("plan steps > T") << QStringList{"plan", "--model", ring(), "--steps", "5000"} << "--steps";
    // field (contract section 10)
    const QString out = QDir::temp().filePath("noisetrail-tst-cli-field-never-written");
    const QStringList field{"field", "--model", ring(), "--out", out};
    const QString flow = QString::fromStdString(test::source_path("models/ring8-flow.json"));
    QTest::newRow("field no --t") << field << "--t";
    QTest::newRow("field no --out") << QStringList{"field", "--model", ring(), "--t", "10"} << "--out";
    QTest::newRow("field t not a number") << (field + QStringList{"--t", "late"}) << "--t";
    QTest::newRow("field t not an integer on VP") << (field + QStringList{"--t", "10.5"}) << "--t 10.5";
    QTest::newRow("field t > T-1") << (field + QStringList{"--t", "1000"}) << "0..999";
    QTest::newRow("field t < 0") << (field + QStringList{"--t", "-1"}) << "--t";
    QTest::newRow("field s = 0 on flow") << QStringList{"field", "--model", flow, "--out", out, "--t", "0"} << "(0, 1]";
    QTest::newRow("field s > 1 on flow") << QStringList{"field", "--model", flow, "--out", out, "--t", "2"} << "(0, 1]";
    QTest::newRow("field image card") << QStringList{"field", "--model", QString::fromStdString(test::source_path("models/mnist-500-exact.json")), "--out", out, "--t", "10"} << "data_shape";
    QTest::newRow("field grid 1") << (field + QStringList{"--t", "10", "--grid", "1"}) << "--grid";
    QTest::newRow("field grid 5000") << (field + QStringList{"--t", "10", "--grid", "5000"}) << "--grid";
    QTest::newRow("field extent 3 numbers") << (field + QStringList{"--t", "10", "--extent", "0,1,0"}) << "--extent";
    QTest::newRow("field extent reversed") << (field + QStringList{"--t", "10", "--extent", "1,0,0,1"}) << "--extent";
    QTest::newRow("field extent nan") << (field + QStringList{"--t", "10", "--extent", "0,1,nan,1"}) << "--extent";
    QTest::newRow("field guidance without class") << (field + QStringList{"--t", "10", "--guidance", "3"}) << "--guidance";
    QTest::newRow("field class on unconditional card") << (field + QStringList{"--t", "10", "--class", "1"}) << "--class";
    QTest::newRow("field class out of range") << QStringList{"field", "--model", QString::fromStdString(test::source_path("models/ring8-classes.json")), "--out", out, "--t", "10", "--class", "4"} << "--class 4";
    QTest::newRow("field unknown flag") << (field + QStringList{"--t", "10", "--steps", "5"}) << "--steps";
}

void TestCli::bad_input_exits_2()
{
    QFETCH(QStringList, args);
    QFETCH(QString, expect);
    const Result r = cli(args);
    QCOMPARE(r.code, 2);
    const QString err = r.err.trimmed();
    QVERIFY2(!err.contains('\n'), qPrintable("expected one line, got: " + err));
    QVERIFY2(err.contains(expect), qPrintable(err));
}

void TestCli::nan_model_exits_3_naming_step()
{
    const Result r = cli({"sample", "--model", QString::fromStdString(test::source_path("tests/fixtures/nan_mixture.json")),
                          "--steps", "10"});
    QCOMPARE(r.code, 3);
    QVERIFY2(r.err.contains("step 0"), qPrintable(r.err));
    QVERIFY(!r.err.trimmed().contains('\n'));
    // A TorchScript model that returns NaN: same exit code, same one line.
    const Result ts = cli({"sample", "--model", QString::fromStdString(test::source_path("tests/fixtures/torchscript/nan.json")),
                           "--trust-code", "--sampler", "ddim", "--steps", "10"});
    QCOMPARE(ts.code, 3);
    QVERIFY2(ts.err.contains("step 0"), qPrintable(ts.err));
}

void TestCli::unstable_plan_warns_on_stderr()
{
    // Heun from t = 999 of a cosine schedule (alpha_bar 2.4e-9): a warning, and the run goes on.
    // The same card with leading spacing (first t = 900) or with DDIM: no warning.
    QTemporaryDir dir;
    const std::string card = test::write_file(dir, "cos.json", R"({"format": "noisetrail-model/1", "name": "cosine pair",
        "kind": "gaussian-mixture", "data_shape": [2], "prediction": "epsilon",
        "schedule": {"kind": "cosine", "train_steps": 1000},
        "mixture": {"weights": [0.5, 0.5], "means": [[2, 0], [-2, 0]], "stds": [0.1, 0.1]}})");
    const auto run = [&](const char* sampler, const char* spacing) {
        return cli({"sample", "--model", QString::fromStdString(card), "--sampler", sampler, "--steps", "10", "--spacing",
                    spacing, "--batch", "4"});
    };
    const Result bad = run("heun", "trailing");
    QVERIFY2(bad.code == 0, qPrintable(bad.err));
    QVERIFY2(bad.err.contains("warning: Heun may diverge") && bad.err.contains("t = 999"), qPrintable(bad.err));
    for (const auto& [sampler, spacing] : {std::pair{"heun", "leading"}, std::pair{"ddim", "trailing"}}) {
        const Result ok = run(sampler, spacing);
        QVERIFY2(ok.code == 0 && !ok.err.contains("warning"), qPrintable(ok.err));
    }
}

void TestCli::field_writes_contract_shapes()
{
    QTemporaryDir dir;
    const QString out = dir.filePath("f");
    const Result r = cli({"field", "--model", ring(), "--t", "500", "--grid", "8", "--extent", "-2,2,-1,3", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const std::vector<std::int64_t> shape{8, 8, 2};
    const NpyArray grid = read_npy((out + "/grid.npy").toStdString());
    QCOMPARE(grid.dtype, NpyArray::DType::Float32);
    QCOMPARE(grid.shape, shape);
    // grid[i, j] = (x_j, y_i): x along the second axis, from X0 to X1 and Y0 to Y1.
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) {
            QVERIFY(std::abs(grid.f32[(i * 8 + j) * 2] - (-2 + 4.0 * j / 7)) < 1e-6);
            QVERIFY(std::abs(grid.f32[(i * 8 + j) * 2 + 1] - (-1 + 4.0 * i / 7)) < 1e-6);
        }
    const NpyArray eps = read_npy((out + "/eps.npy").toStdString()), x0 = read_npy((out + "/x0.npy").toStdString()),
                   score = read_npy((out + "/score.npy").toStdString());
    for (const NpyArray* a : {&eps, &x0, &score}) {
        QCOMPARE(a->dtype, NpyArray::DType::Float32);
        QCOMPARE(a->shape, shape);
    }
    QVERIFY(!QFile::exists(out + "/velocity.npy")); // VP: no velocity
    // x_t = sqrt(ab) x0_hat + sqrt(1 - ab) eps_hat and score = -eps_hat / sqrt(1 - ab), ab of the
    // card's linear schedule at t = 500 (contract section 1), computed here.
    double ab = 1;
    for (int t = 0; t <= 500; ++t)
        ab *= 1 - (1e-4 + (0.02 - 1e-4) * t / 999);
    for (std::size_t k = 0; k < grid.f32.size(); ++k) {
        QVERIFY(std::abs(std::sqrt(ab) * x0.f32[k] + std::sqrt(1 - ab) * eps.f32[k] - grid.f32[k]) < 1e-4);
        QVERIFY(std::abs(score.f32[k] * std::sqrt(1 - ab) + eps.f32[k]) < 1e-4);
    }
    // A flow card also writes the velocity eps_hat - x0_hat; the default grid is 32 x 32.
    const QString fout = dir.filePath("flow");
    const Result f = cli({"field", "--model", QString::fromStdString(test::source_path("models/ring8-flow.json")),
                          "--t", "0.25", "--out", fout});
    QVERIFY2(f.code == 0, qPrintable(f.err));
    const NpyArray v = read_npy((fout + "/velocity.npy").toStdString()), fe = read_npy((fout + "/eps.npy").toStdString()),
                   fx = read_npy((fout + "/x0.npy").toStdString()), fg = read_npy((fout + "/grid.npy").toStdString());
    QCOMPARE(v.shape, (std::vector<std::int64_t>{32, 32, 2}));
    QCOMPARE(fg.f32.front(), -3.0f); // the default extent -3,3,-3,3
    QCOMPARE(fg.f32.back(), 3.0f);
    for (std::size_t k = 0; k < v.f32.size(); ++k)
        QVERIFY(std::abs(v.f32[k] - (fe.f32[k] - fx.f32[k])) < 1e-5);
    // A conditional card with a class and a guidance scale.
    const Result g = cli({"field", "--model", QString::fromStdString(test::source_path("models/ring8-classes.json")),
                          "--t", "300", "--class", "2", "--guidance", "3", "--grid", "4", "--out", dir.filePath("g")});
    QVERIFY2(g.code == 0, qPrintable(g.err));
    QCOMPARE(read_npy(dir.filePath("g/score.npy").toStdString()).shape, (std::vector<std::int64_t>{4, 4, 2}));
}

void TestCli::dump_has_ode_error_for_exact_deterministic_runs()
{
    // Contract section 10: an exact card with a deterministic sampler has ode_error; DDPM has none.
    QTemporaryDir dir;
    for (const char* sampler : {"ddim", "heun", "ddpm"}) {
        const QString dump = dir.filePath(sampler);
        const Result r = cli({"sample", "--model", ring(), "--sampler", sampler, "--steps", "20", "--batch", "50",
                              "--dump", dump});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QFile csv(dump + "/stats.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(csv.readAll()).trimmed().split('\n');
        QCOMPARE(lines.size(), 21);
        const int col = int(lines[0].split(',').indexOf("ode_error"));
        if (QByteArray(sampler) == "ddpm") {
            QCOMPARE(col, -1);
            continue;
        }
        QCOMPARE(col, lines[0].split(',').size() - 1); // a new column goes last
        for (int k = 1; k <= 20; ++k) {
            bool ok = false;
            const double e = lines[k].split(',')[col].toDouble(&ok);
            QVERIFY2(ok && std::isfinite(e) && e >= 0 && e < 1, qPrintable(lines[k]));
        }
    }
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
