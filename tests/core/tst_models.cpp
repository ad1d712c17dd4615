// Analytic models and model cards against closed forms (contract section 2).
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"

#include <QtTest>

#include <cmath>
#include <random>

using namespace noisetrail;

class TestModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gaussian_eps_matches_closed_form();
    void mixture_score_matches_finite_differences();
    void mixture_means_flat_or_nested();
    void empirical_memorises_at_small_t();
    void empirical_at_large_t_is_near_data_mean();
    void bundled_cards_load();
    void bad_cards_are_input_errors_data();
    void bad_cards_are_input_errors();
    void card_names_its_metric_classifier();
};

void TestModels::gaussian_eps_matches_closed_form()
{
    // Single Gaussian N(mu, s^2 I): eps* = sqrt(1-ab) (x - sqrt(ab) mu) / (ab s^2 + 1 - ab),
    // evaluated in float64 (float32, the mixtures' default: tst_analytic_precision).
    QTemporaryDir dir;
    QByteArray card = test::mixture_card(R"({"weights": [1.0], "means": [[1.0, -0.5]], "stds": [0.5]})");
    card.chop(1);
    const auto m = Model::load(test::write_file(dir, "gauss.json", card + R"(, "precision": "float64"})"));
    const double mu[2] = {1.0, -0.5}, s = 0.5;
    const std::vector<double> x{0.3, 2.0, -1.0, 0.0, 5.0, -3.0};
    for (int t : {0, 10, 250, 999}) {
        const double ab = m->schedule().alpha_bar(t);
        const Denoised d = m->denoise(x, 3, t);
        for (int i = 0; i < 6; ++i) {
            const double want = std::sqrt(1 - ab) * (x[i] - std::sqrt(ab) * mu[i % 2]) / (ab * s * s + 1 - ab);
            QVERIFY2(std::abs(d.eps_hat[i] - want) < 1e-10, qPrintable(QString("t=%1 i=%2").arg(t).arg(i)));
            // and the pair is consistent with x_t
            QVERIFY(std::abs(std::sqrt(ab) * d.x0_hat[i] + std::sqrt(1 - ab) * d.eps_hat[i] - x[i]) < 1e-10);
        }
    }
}

void TestModels::mixture_score_matches_finite_differences()
{
    // eps* = -sqrt(1-ab) grad log p_t, with p_t the mixture density written out here.
    QTemporaryDir dir;
    const auto m = Model::load(test::write_file(dir, "mix.json", test::mixture_card(
        R"({"weights": [0.2, 0.5, 0.3], "means": [[-1, 0], [1, 1], [0.5, -2]], "stds": [0.3, 0.6, 0.2]})")));
    const double w[3] = {0.2, 0.5, 0.3}, mu[3][2] = {{-1, 0}, {1, 1}, {0.5, -2}}, s[3] = {0.3, 0.6, 0.2};
    const int t = 300;
    const double ab = m->schedule().alpha_bar(t);
    const auto log_p = [&](double x, double y) {
        double p = 0;
        for (int k = 0; k < 3; ++k) {
            const double v = ab * s[k] * s[k] + 1 - ab;
            const double dx = x - std::sqrt(ab) * mu[k][0], dy = y - std::sqrt(ab) * mu[k][1];
            p += w[k] / (2 * M_PI * v) * std::exp(-(dx * dx + dy * dy) / (2 * v));
        }
        return std::log(p);
    };
    const std::vector<double> x{0.2, -0.4, -0.9, 0.1, 0.6, 0.9};
    const Denoised d = m->denoise(x, 3, t);
    const double h = 1e-5;
    for (int i = 0; i < 3; ++i) {
        const double gx = (log_p(x[2 * i] + h, x[2 * i + 1]) - log_p(x[2 * i] - h, x[2 * i + 1])) / (2 * h);
        const double gy = (log_p(x[2 * i], x[2 * i + 1] + h) - log_p(x[2 * i], x[2 * i + 1] - h)) / (2 * h);
        QVERIFY(std::abs(d.eps_hat[2 * i] + std::sqrt(1 - ab) * gx) < 1e-6);
        QVERIFY(std::abs(d.eps_hat[2 * i + 1] + std::sqrt(1 - ab) * gy) < 1e-6);
    }
}

void TestModels::mixture_means_flat_or_nested()
{
    // A mean may be written flat (prod(data_shape) numbers) or nested to the data
    // shape as numpy's tolist() writes it (docs/MODEL-CARDS.md). One component on a
    // [1, 2, 2] image: eps*(x) = sqrt(1-ab) (x - sqrt(ab) mu) / (ab s^2 + 1 - ab).
    QTemporaryDir dir;
    const double mu[4] = {0.5, -1.0, 2.0, 0.25}, s = 0.3;
    const QByteArray stds = R"(, "stds": [0.3]})";
    const auto nested = Model::load(test::write_file(dir, "nested.json", test::mixture_card(
        R"({"means": [[[[0.5, -1.0], [2.0, 0.25]]]])" + stds, "[1, 2, 2]")));
    const auto flat = Model::load(test::write_file(dir, "flat.json", test::mixture_card(
        R"({"means": [[0.5, -1.0, 2.0, 0.25]])" + stds, "[1, 2, 2]")));
    const int t = 400;
    const double ab = nested->schedule().alpha_bar(t);
    const std::vector<double> x{0.1, 0.2, -0.3, 0.4};
    const Denoised dn = nested->denoise(x, 1, t), df = flat->denoise(x, 1, t);
    for (int i = 0; i < 4; ++i) {
        const double expect = std::sqrt(1 - ab) * (x[i] - std::sqrt(ab) * mu[i]) / (ab * s * s + 1 - ab);
        // float32 evaluation (the mixtures' default): a wrong layout is off by O(1).
        QVERIFY(std::abs(dn.eps_hat[i] - expect) < 1e-6);
        QVERIFY(std::abs(df.eps_hat[i] - expect) < 1e-6);
    }
    // The metrics' reader of the same card agrees (one layout rule for both).
    const auto mix = metrics::mixture_from_card(nested->card());
    QVERIFY(mix.has_value());
    QCOMPARE(mix->means, (std::vector<double>{0.5, -1.0, 2.0, 0.25}));
    // Nested to another shape is not the data shape: a clear error naming the field.
    bool threw = false;
    try {
        Model::load(test::write_file(dir, "bad.json", test::mixture_card(
            R"({"means": [[[0.5, -1.0, 2.0, 0.25]]])" + stds, "[1, 2, 2]")));
    } catch (const InputError& e) {
        threw = QString(e.what()).contains("mixture.means");
    }
    QVERIFY(threw);
}

void TestModels::empirical_memorises_at_small_t()
{
    // 60 points on a jittered grid (spacing >= 0.55) and noise std sqrt(1 - ab) ~ 0.02 at
    // t = 3: the posterior concentrates on one point, the nearest one.
    QTemporaryDir dir;
    std::mt19937_64 rng(4);
    std::uniform_real_distribution<double> jitter(-0.1, 0.1);
    std::normal_distribution<double> normal;
    std::vector<float> pts(120);
    for (int i = 0; i < 60; ++i) {
        pts[2 * i] = static_cast<float>(0.75 * (i % 8) - 3 + jitter(rng));
        pts[2 * i + 1] = static_cast<float>(0.75 * (i / 8) - 3 + jitter(rng));
    }
    write_npy(dir.filePath("pts.npy").toStdString(), {60, 2}, pts.data());
    const auto m = Model::load(test::write_file(dir, "emp.json",
        R"({"format": "noisetrail-model/1", "kind": "empirical", "data_shape": [2], "data": "pts.npy"})"));
    const int t = 3;
    const double ab = m->schedule().alpha_bar(t);
    std::vector<double> x;
    for (int i = 0; i < 60; ++i)
        for (int d = 0; d < 2; ++d)
            x.push_back(std::sqrt(ab) * pts[2 * i + d] + std::sqrt(1 - ab) * normal(rng));
    const Denoised out = m->denoise(x, 60, t);
    int exact = 0;
    for (int j = 0; j < 60; ++j) {
        // The nearest data point to x / sqrt(ab), by brute force.
        int best = 0;
        double bd = 1e18;
        for (int i = 0; i < 60; ++i) {
            const double dx = x[2 * j] - std::sqrt(ab) * pts[2 * i], dy = x[2 * j + 1] - std::sqrt(ab) * pts[2 * i + 1];
            if (dx * dx + dy * dy < bd) { bd = dx * dx + dy * dy; best = i; }
        }
        exact += std::abs(out.x0_hat[2 * j] - pts[2 * best]) < 1e-6 && std::abs(out.x0_hat[2 * j + 1] - pts[2 * best + 1]) < 1e-6;
    }
    QCOMPARE(exact, 60);
}

void TestModels::empirical_at_large_t_is_near_data_mean()
{
    const auto m = Model::load(test::source_path("models/two-moons.json"));
    const NpyArray data = read_npy(test::source_path("models/two-moons.npy"));
    double mean[2] = {0, 0};
    for (int i = 0; i < 4000; ++i)
        for (int d = 0; d < 2; ++d)
            mean[d] += data.f32[2 * i + d] / 4000.0;
    // At t = T-1, sqrt(ab) ~ 0.006: the posterior over data points is nearly uniform.
    const Denoised out = m->denoise(std::vector<double>{0.0, 0.0}, 1, 999);
    QVERIFY(std::abs(out.x0_hat[0] - mean[0]) < 1e-3);
    QVERIFY(std::abs(out.x0_hat[1] - mean[1]) < 1e-3);
}

void TestModels::bundled_cards_load()
{
    for (const char* c : {"models/gaussian-2d.json", "models/ring8.json", "models/two-moons.json"}) {
        const auto m = Model::load(test::source_path(c));
        QVERIFY(!m->card().name.empty());
        QVERIFY(!m->card().description.empty());
        QVERIFY(m->card().is_2d_points());
    }
}

void TestModels::bad_cards_are_input_errors_data()
{
    QTest::addColumn<QByteArray>("card");
    QTest::addColumn<QString>("expect");
    const QByteArray ok_mix = R"({"means": [[0, 0]], "stds": [1]})";
    QTest::newRow("malformed json") << QByteArray("{\"format\": ") << "malformed JSON";
    QTest::newRow("not an object") << QByteArray("[1, 2]") << "JSON object";
    QTest::newRow("wrong format") << QByteArray(R"({"format": "other/2", "kind": "empirical", "data_shape": [2]})") << "format";
    QTest::newRow("unknown kind") << QByteArray(R"({"format": "noisetrail-model/1", "kind": "magic", "data_shape": [2]})") << "unknown kind 'magic'";
    QTest::newRow("unknown schedule") << test::mixture_card(ok_mix, "[2]", "epsilon", R"({"kind": "exponential"})") << "unknown kind 'exponential'";
    QTest::newRow("bad T") << test::mixture_card(ok_mix, "[2]", "epsilon", R"({"train_steps": 0})") << "train_steps";
    QTest::newRow("bad prediction") << test::mixture_card(ok_mix, "[2]", "score") << "prediction";
    QTest::newRow("bad data_shape") << test::mixture_card(ok_mix, "[2, -1]") << "data_shape";
    QTest::newRow("means wrong dim") << test::mixture_card(R"({"means": [[0, 0, 0]], "stds": [1]})") << "means";
    QTest::newRow("negative std") << test::mixture_card(R"({"means": [[0, 0]], "stds": [-1]})") << "stds";
    QTest::newRow("no mixture") << QByteArray(R"({"format": "noisetrail-model/1", "kind": "gaussian-mixture", "data_shape": [2]})") << "mixture";
    QTest::newRow("empirical missing data") << QByteArray(R"({"format": "noisetrail-model/1", "kind": "empirical", "data_shape": [2], "data": "nope.npy"})") << "nope.npy";
    const auto flow_card = [](const char* process, const char* prediction = "velocity", const char* extra = "") {
        return QByteArray(R"({"format": "noisetrail-model/1", "kind": "gaussian-mixture", "data_shape": [2], "prediction": ")") +
               prediction + R"(", "process": )" + process + extra + R"(, "mixture": {"means": [[0, 0]], "stds": [1]}})";
    };
    QTest::newRow("process not an object") << flow_card(R"("flow")") << "'process' must be an object";
    QTest::newRow("unknown process") << flow_card(R"({"kind": "sde"})") << "process.kind";
    QTest::newRow("process without kind") << flow_card(R"({"shift": 2})") << "process.kind";
    QTest::newRow("flow shift zero") << flow_card(R"({"kind": "flow", "shift": 0})") << "process.shift";
    QTest::newRow("flow shift not a number") << flow_card(R"({"kind": "flow", "shift": "big"})") << "process.shift";
    QTest::newRow("flow bad T") << flow_card(R"({"kind": "flow", "train_steps": 0})") << "process.train_steps";
    QTest::newRow("flow unknown field") << flow_card(R"({"kind": "flow", "sigma_max": 80})") << "process.sigma_max";
    QTest::newRow("vp with shift") << flow_card(R"({"kind": "vp", "shift": 3})", "epsilon") << "'process'";
    QTest::newRow("flow with schedule") << flow_card(R"({"kind": "flow"})", "velocity", R"(, "schedule": {"kind": "linear"})") << "'schedule'";
    QTest::newRow("velocity on vp") << test::mixture_card(ok_mix, "[2]", "velocity") << "prediction";
    QTest::newRow("v on flow") << flow_card(R"({"kind": "flow"})", "v") << "prediction";
    QTest::newRow("flow torchscript") << QByteArray(R"({"format": "noisetrail-model/1", "kind": "torchscript", "data_shape": [2], "file": "m.pt", "process": {"kind": "flow"}})") << "'process'";
    const auto with_classifier = [](const char* value) {
        return QByteArray(R"({"format": "noisetrail-model/1", "kind": "empirical", "data_shape": [2], "data": "pts.npy", "classifier": )") +
               value + "}";
    };
    QTest::newRow("classifier not a string") << with_classifier("7") << "classifier";
    QTest::newRow("classifier empty") << with_classifier(R"("")") << "classifier";
    QTest::newRow("classifier absolute") << with_classifier(R"("/etc/passwd")") << "classifier";
    QTest::newRow("empirical wrong shape") << QByteArray(R"({"format": "noisetrail-model/1", "kind": "empirical", "data_shape": [3], "data": "pts.npy"})") << "shape [5, 2]";
}

void TestModels::bad_cards_are_input_errors()
{
    QFETCH(QByteArray, card);
    QFETCH(QString, expect);
    QTemporaryDir dir;
    const std::vector<float> pts(10, 0.5f);
    write_npy(dir.filePath("pts.npy").toStdString(), {5, 2}, pts.data());
    const auto path = test::write_file(dir, "card.json", card);
    try {
        Model::load(path);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        const QString msg = e.what();
        QVERIFY2(msg.contains("card.json"), qPrintable(msg));
        QVERIFY2(msg.contains(expect), qPrintable(msg));
        QVERIFY2(!msg.contains('\n'), "one line");
    }
}

// Colour models are judged by their own classifier: the card's "classifier" field,
// relative to the card; cards without one keep the digit classifier beside them.
void TestModels::card_names_its_metric_classifier()
{
    QTemporaryDir dir;
    const std::vector<float> pts(10, 0.5f);
    write_npy(dir.filePath("pts.npy").toStdString(), {5, 2}, pts.data());
    const auto named = test::write_file(dir, "named.json", R"({"format": "noisetrail-model/1", "kind": "empirical",
        "data_shape": [2], "data": "pts.npy", "classifier": "judges/colour.json"})");
    const auto plain = test::write_file(dir, "plain.json", R"({"format": "noisetrail-model/1", "kind": "empirical",
        "data_shape": [2], "data": "pts.npy"})");
    const std::filesystem::path root = dir.path().toStdString();
    QCOMPARE(experiments::classifier_path(read_model_card(named), {}), root / "judges" / "colour.json");
    QCOMPARE(experiments::classifier_path(read_model_card(plain), {}), root / "mnist-classifier.json");
    // An explicit path (--classifier) wins over the card's.
    QCOMPARE(experiments::classifier_path(read_model_card(named), "other.json"), std::filesystem::path("other.json"));
    // The shipped exact colour card names the emoji classifier beside it.
    const auto emoji = read_model_card(test::source_path("models/emoji-288-classes.json"));
    QCOMPARE(experiments::classifier_path(emoji, {}).filename(), std::filesystem::path("emoji-classifier.json"));
}

QTEST_GUILESS_MAIN(TestModels)
#include "tst_models.moc"
