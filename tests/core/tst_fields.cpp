// Fields and the exact path (contract section 10) against independent truth: the
// field of Gaussian mixtures in closed form (written here from the densities), the
// probability-flow ODE path of one Gaussian in closed form, and the convergence
// orders of DDIM (1) and Heun (2) read from the final ode_error.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/fields.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"

#include <QRandomGenerator>
#include <QtTest>

#include <array>
#include <cmath>
#include <vector>

using namespace noisetrail;
using namespace noisetrail::test;

namespace {

using Vec2 = std::array<double, 2>;

struct Component {
    double w;
    Vec2 mu;
    double std;
    int cls = 0;
};

/// The linear schedule of the cards (contract section 1), computed here.
double linear_alpha_bar(int t, int T = 1000, double b0 = 1e-4, double b1 = 0.02)
{
    double ab = 1.0;
    for (int i = 0; i <= t; ++i)
        ab *= 1.0 - (b0 + (b1 - b0) * i / (T - 1));
    return ab;
}

/// grad log p at x for the mixture of the components pushed along the path
/// x = alpha x_0 + sigma eps: sum_k w_k N(alpha mu_k, (alpha^2 s_k^2 + sigma^2) I).
Vec2 mixture_score(const std::vector<Component>& comps, const Vec2& x, double alpha, double sigma)
{
    std::vector<double> logp;
    double top = -1e300;
    for (const auto& c : comps) {
        const double v = alpha * alpha * c.std * c.std + sigma * sigma;
        const double d2 = std::pow(x[0] - alpha * c.mu[0], 2) + std::pow(x[1] - alpha * c.mu[1], 2);
        logp.push_back(std::log(c.w) - std::log(2 * M_PI * v) - d2 / (2 * v));
        top = std::max(top, logp.back());
    }
    double z = 0;
    for (double& l : logp)
        z += (l = std::exp(l - top));
    Vec2 g{0, 0};
    for (std::size_t k = 0; k < comps.size(); ++k) {
        const auto& c = comps[k];
        const double v = alpha * alpha * c.std * c.std + sigma * sigma;
        for (int j = 0; j < 2; ++j)
            g[j] += logp[k] / z * -(x[j] - alpha * c.mu[j]) / v;
    }
    return g;
}

/// The components of class c, weights renormalised (p(x | c), contract section 9).
std::vector<Component> of_class(const std::vector<Component>& comps, int c)
{
    std::vector<Component> out;
    double total = 0;
    for (const auto& k : comps)
        if (k.cls == c) {
            out.push_back(k);
            total += k.w;
        }
    for (auto& k : out)
        k.w /= total;
    return out;
}

// models/gaussian-2d.json and gaussian-2d-flow.json: N(mu, 0.5^2 I), mu = (1, -0.5).
const std::vector<Component> kGaussian{{1.0, {1.0, -0.5}, 0.5}};

// Three components in two classes, unequal weights and widths, evaluated in float64
// (the field comes back in float32: tolerances of a few float32 roundings).
const std::vector<Component> kMixture{{0.5, {1.5, 0.0}, 0.3, 0}, {0.3, {-1.0, 1.0}, 0.6, 1}, {0.2, {-0.5, -1.5}, 0.2, 1}};
const QByteArray kMixtureCard = R"({"format": "noisetrail-model/1", "name": "three", "kind": "gaussian-mixture",
  "data_shape": [2], "prediction": "PREDICTION", "precision": "float64", PROCESS "classes": ["a", "b"],
  "mixture": {"weights": [0.5, 0.3, 0.2], "means": [[1.5, 0.0], [-1.0, 1.0], [-0.5, -1.5]],
              "stds": [0.3, 0.6, 0.2], "classes": [0, 1, 1]}})";

std::shared_ptr<Model> mixture_model(const QTemporaryDir& dir, bool flow, const char* prediction)
{
    QByteArray text = kMixtureCard;
    text.replace("PREDICTION", prediction);
    text.replace("PROCESS", flow ? R"("process": {"kind": "flow"},)" : R"("schedule": {"kind": "linear"},)");
    return Model::load(write_file(dir, QString("three-%1-%2.json").arg(flow).arg(prediction), text));
}

/// Compare a field with the closed form at random points and levels. `level` draws a level
/// and returns (alpha, sigma); guidance W mixes class `cls` with the unconditional mixture.
void check_field(const Model& model, const std::vector<Component>& comps, bool flow, double tol,
                 std::optional<int> cls = {}, double w = 1.0)
{
    QRandomGenerator rng(1234);
    for (int trial = 0; trial < 12; ++trial) {
        double level = 0, alpha = 0, sigma = 0;
        if (flow) {
            level = trial == 0 ? 1.0 : 0.02 + 0.97 * rng.generateDouble();
            alpha = 1 - level;
            sigma = level;
        } else {
            level = trial == 0 ? 999 : trial == 1 ? 0 : rng.bounded(1000);
            const double ab = linear_alpha_bar(int(level));
            alpha = std::sqrt(ab);
            sigma = std::sqrt(1 - ab);
        }
        const int N = 50;
        std::vector<float> pts(2 * N);
        for (float& p : pts)
            p = float(-4 + 8 * rng.generateDouble());
        FieldOptions o;
        o.class_index = cls;
        o.guidance = w;
        const VectorField f = evaluate_field(model, pts, level, o);
        QCOMPARE(f.eps_hat.size(), pts.size());
        QCOMPARE(f.x0_hat.size(), pts.size());
        QCOMPARE(f.score.size(), pts.size());
        QCOMPARE(f.velocity.size(), flow ? pts.size() : std::size_t(0));
        QVERIFY(std::abs(f.path.alpha - alpha) < 1e-12 && std::abs(f.path.sigma - sigma) < 1e-12);
        for (int i = 0; i < N; ++i) {
            const Vec2 x{pts[2 * i], pts[2 * i + 1]};
            Vec2 score = mixture_score(cls ? of_class(comps, *cls) : comps, x, alpha, sigma);
            if (w != 1.0) { // eps = eps_u + W (eps_c - eps_u), and the score is linear in eps
                const Vec2 u = mixture_score(comps, x, alpha, sigma);
                for (int j = 0; j < 2; ++j)
                    score[j] = u[j] + w * (score[j] - u[j]);
            }
            for (int j = 0; j < 2; ++j) {
                const double eps = -sigma * score[j];                                        // Tweedie
                const double x0 = alpha > 0 ? (x[j] - sigma * eps) / alpha : std::nan(""); // x = alpha x0 + sigma eps
                const auto close = [&](double got, double want, const char* what) {
                    QVERIFY2(std::abs(got - want) <= tol * std::max(1.0, std::abs(want)),
                             qPrintable(QString("%1 at level %2, point (%3, %4): %5 vs %6")
                                            .arg(what)
                                            .arg(level)
                                            .arg(x[0])
                                            .arg(x[1])
                                            .arg(got, 0, 'g', 10)
                                            .arg(want, 0, 'g', 10)));
                };
                close(f.eps_hat[2 * i + j], eps, "eps_hat");
                close(f.score[2 * i + j], score[j], "score");
                if (alpha > 0) {
                    close(f.x0_hat[2 * i + j], x0, "x0_hat");
                    if (flow)
                        close(f.velocity[2 * i + j], eps - x0, "velocity");
                }
            }
        }
    }
}

/// The probability-flow ODE path of N(mu, c^2 I) data, written here: every marginal is
/// N(alpha mu, (alpha^2 c^2 + sigma^2) I) and the flow maps each marginal's standardised
/// coordinate to itself, so x - alpha mu scales with the marginal's standard deviation.
double gaussian_ode(double x_start, double mu, double a0, double s0, double a1, double s1)
{
    const double c = kGaussian[0].std;
    return a1 * mu + (x_start - a0 * mu) * std::sqrt(a1 * a1 * c * c + s1 * s1) / std::sqrt(a0 * a0 * c * c + s0 * s0);
}

/// (alpha, sigma) of a plan step's level and next level, from the plan's own numbers.
std::array<double, 2> path_of(const PlanStep& s, bool prev)
{
    if (s.process == ProcessKind::Flow) {
        const double level = prev ? s.level_prev : s.level;
        return {1 - level, level};
    }
    const double ab = prev ? s.alpha_bar_prev : s.alpha_bar;
    return {std::sqrt(ab), std::sqrt(1 - ab)};
}

struct Sampled {
    std::unique_ptr<Run> run;
    std::vector<std::shared_ptr<const StepFrame>> frames;
};

Sampled sample(const std::shared_ptr<const Model>& model, const std::string& sampler, int steps, int batch = 64)
{
    RunOptions o;
    o.sampler.sampler = sampler;
    o.sampler.steps = steps;
    o.sampler.spacing = Spacing::Leading;
    o.batch = batch;
    o.seed = 5;
    Sampled s;
    s.run = std::make_unique<Run>(model, o);
    while (!s.run->done())
        s.frames.push_back(s.run->step());
    return s;
}

} // namespace

class TestFields : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void single_gaussian_field();
    void mixture_field();
    void guided_field();
    void bad_field_input();
    void exact_ode_path_single_gaussian_data();
    void exact_ode_path_single_gaussian();
    void ode_error_is_the_distance_to_the_path();
    void final_ode_error_order_data();
    void final_ode_error_order();
    void which_runs_have_an_exact_path();
    void empirical_path_meets_its_tolerance();
};

void TestFields::single_gaussian_field()
{
    // gaussian-2d.json evaluates in float32 (its card's default precision).
    check_field(*Model::load(source_path("models/gaussian-2d.json")), kGaussian, false, 1e-4);
    check_field(*Model::load(source_path("models/gaussian-2d-flow.json")), kGaussian, true, 3e-7);
}

void TestFields::mixture_field()
{
    QTemporaryDir dir;
    for (const char* prediction : {"epsilon", "sample"}) {
        check_field(*mixture_model(dir, false, prediction), kMixture, false, 3e-7);
        check_field(*mixture_model(dir, true, prediction), kMixture, true, 3e-7);
    }
    check_field(*mixture_model(dir, true, "velocity"), kMixture, true, 3e-7);
    check_field(*Model::load(source_path("models/ring8.json")),
                [] {
                    std::vector<Component> ring;
                    for (int k = 0; k < 8; ++k)
                        ring.push_back({0.125, {2 * std::cos(k * M_PI / 4), 2 * std::sin(k * M_PI / 4)}, 0.1});
                    return ring;
                }(),
                false, 5e-4); // float32 evaluation, points far out in the tails
}

void TestFields::guided_field()
{
    QTemporaryDir dir;
    const auto vp = mixture_model(dir, false, "epsilon"), flow = mixture_model(dir, true, "velocity");
    check_field(*vp, kMixture, false, 3e-7, 1);
    check_field(*vp, kMixture, false, 3e-7, 1, 2.5);
    check_field(*flow, kMixture, true, 3e-7, 0, 3.0);
    check_field(*flow, kMixture, true, 3e-7, 1, 0.0); // W = 0: the unconditional field
}

void TestFields::bad_field_input()
{
    QTemporaryDir dir;
    const auto vp = Model::load(source_path("models/gaussian-2d.json"));
    const auto flow = Model::load(source_path("models/gaussian-2d-flow.json"));
    const auto cond = mixture_model(dir, false, "epsilon");
    const std::vector<float> pts{0.1f, 0.2f, -1.0f, 0.5f};
    const auto refused = [](auto&& call, const char* needle) {
        try {
            call();
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains(needle), e.what());
            return;
        }
        QFAIL(qPrintable(QString("accepted; expected an error naming ") + needle));
    };
    refused([&] { evaluate_field(*vp, pts, 500.5); }, "integer");
    refused([&] { evaluate_field(*vp, pts, 1000); }, "0..999");
    refused([&] { evaluate_field(*vp, pts, -1); }, "0..999");
    refused([&] { evaluate_field(*vp, pts, std::nan("")); }, "--t");
    refused([&] { evaluate_field(*flow, pts, 0.0); }, "(0, 1]");
    refused([&] { evaluate_field(*flow, pts, 1.5); }, "(0, 1]");
    refused([&] { evaluate_field(*vp, std::vector<float>{1.0f, 2.0f, 3.0f}, 10); }, "whole number");
    refused([&] { evaluate_field(*vp, std::vector<float>{}, 10); }, "whole number");
    refused([&] { evaluate_field(*vp, pts, 10, {.class_index = 0}); }, "unconditional");
    refused([&] { evaluate_field(*cond, pts, 10, {.class_index = 2}); }, "--class 2");
    refused([&] { evaluate_field(*cond, pts, 10, {.guidance = 2.0}); }, "--class");
    // W = 1 with a class is the conditional field; no class is the unconditional one.
    QCOMPARE(evaluate_field(*cond, pts, 10).eps_hat.size(), pts.size());
}

void TestFields::exact_ode_path_single_gaussian_data()
{
    QTest::addColumn<QString>("card");
    QTest::addColumn<QString>("sampler");
    QTest::newRow("vp ddim") << "models/gaussian-2d.json" << "ddim";
    QTest::newRow("vp heun") << "models/gaussian-2d.json" << "heun";
    QTest::newRow("flow euler") << "models/gaussian-2d-flow.json" << "euler";
    QTest::newRow("flow dpmpp2m") << "models/gaussian-2d-flow.json" << "dpmpp2m";
}

void TestFields::exact_ode_path_single_gaussian()
{
    // The reference path at every step's next level equals the closed form to the
    // contract's tolerance (1e-6 relative; the integrator is asked for 1e-7).
    QFETCH(QString, card);
    QFETCH(QString, sampler);
    const auto model = Model::load(source_path(card.toUtf8().constData()));
    for (int steps : {7, 50, 400}) {
        const Sampled s = sample(model, sampler.toStdString(), steps, 32);
        const auto path = exact_ode_path(*model, s.run->options().sampler, s.run->plan(), s.run->x_T());
        QCOMPARE(int(path.size()), s.run->plan().size());
        const auto [a0, s0] = path_of(s.run->plan().steps[0], false);
        double worst = 0;
        for (int k = 0; k < s.run->plan().size(); ++k) {
            const auto [a1, s1] = path_of(s.run->plan().steps[k], true);
            for (std::size_t i = 0; i < path[k].size(); ++i) {
                const double want = gaussian_ode(s.run->x_T()[i], kGaussian[0].mu[i % 2], a0, s0, a1, s1);
                worst = std::max(worst, std::abs(path[k][i] - want) / std::max(1.0, std::abs(want)));
            }
        }
        qInfo("%s, %s, %d steps: worst relative deviation from the closed form %.2e", qPrintable(card),
              qPrintable(sampler), steps, worst);
        QVERIFY2(worst < 1e-6, qPrintable(QString::number(worst)));
    }
}

void TestFields::ode_error_is_the_distance_to_the_path()
{
    // stats.csv's ode_error: the RMS over the batch of |x_prev - x_ode(t_prev)|, the
    // path from the closed form.
    for (const char* card : {"models/gaussian-2d.json", "models/gaussian-2d-flow.json"}) {
        const auto model = Model::load(source_path(card));
        const Sampled s = sample(model, "heun", 12, 40);
        const std::vector<double> got = ode_errors(*s.run, s.frames);
        QCOMPARE(int(got.size()), 12);
        const auto [a0, s0] = path_of(s.run->plan().steps[0], false);
        for (int k = 0; k < 12; ++k) {
            const auto [a1, s1] = path_of(s.run->plan().steps[k], true);
            double sq = 0;
            const auto& xp = s.frames[k]->x_prev;
            for (std::size_t i = 0; i < xp.size(); ++i)
                sq += std::pow(xp[i] - gaussian_ode(s.run->x_T()[i], kGaussian[0].mu[i % 2], a0, s0, a1, s1), 2);
            const double want = std::sqrt(sq / 40);
            QVERIFY2(std::abs(got[k] - want) <= 1e-6 * std::max(1.0, want) + 1e-3 * want,
                     qPrintable(QString("%1 step %2: %3 vs %4").arg(card).arg(k).arg(got[k], 0, 'g', 10).arg(want, 0, 'g', 10)));
            QVERIFY(want > 0);
        }
    }
}

void TestFields::final_ode_error_order_data()
{
    QTest::addColumn<QString>("sampler");
    QTest::addColumn<double>("order");
    QTest::newRow("ddim") << "ddim" << 1.0;
    QTest::newRow("heun") << "heun" << 2.0;
}

void TestFields::final_ode_error_order()
{
    // The final ode_error between S and 2S steps falls by about 2^order (leading plans,
    // whose last step is the same t = 0 -> x0_hat for every S; see tst_ode_samplers).
    QFETCH(QString, sampler);
    QFETCH(double, order);
    const auto model = Model::load(source_path("models/gaussian-2d.json"));
    std::vector<double> err;
    for (int S : {10, 20, 40}) {
        const Sampled s = sample(model, sampler.toStdString(), S, 256);
        err.push_back(ode_errors(*s.run, s.frames).back());
    }
    const double want = std::pow(2.0, order);
    for (int i = 0; i + 1 < int(err.size()); ++i) {
        const double ratio = err[i] / err[i + 1];
        qInfo("%s final ode_error S=%d %.3g, S=%d %.3g, ratio %.2f", qPrintable(sampler), 10 << i, err[i], 20 << i,
              err[i + 1], ratio);
        QVERIFY2(ratio > 0.75 * want && ratio < 1.4 * want, qPrintable(QString::number(ratio)));
    }
}

void TestFields::which_runs_have_an_exact_path()
{
    const ModelCard ring = read_model_card(source_path("models/ring8.json"));
    const ModelCard moons = read_model_card(source_path("models/two-moons.json"));
    const ModelCard mlp = read_model_card(source_path("models/two-moons-mlp.json"));
    const auto config = [](const char* sampler, double eta = 0.0) {
        SamplerConfig c;
        c.sampler = sampler;
        c.eta = eta;
        return c;
    };
    for (const char* s : {"ddim", "euler", "heun", "dpmpp2m"}) {
        QVERIFY(has_exact_ode(ring, config(s)));
        QVERIFY(has_exact_ode(moons, config(s)));
        QVERIFY(!has_exact_ode(mlp, config(s))); // a learned model: no exact path
    }
    QVERIFY(!has_exact_ode(ring, config("ddim", 0.5))); // noise: no ODE to follow
    QVERIFY(!has_exact_ode(ring, config("ddpm")));
    QVERIFY(!has_exact_ode(ring, config("euler_a")));
    SamplerConfig interval = config("ddim");
    interval.guidance.interval = std::array<double, 2>{100, 600};
    QVERIFY(!has_exact_ode(ring, interval));
    // Where there is no path, ode_errors is empty and exact_ode_path refuses.
    const auto model = Model::load(source_path("models/ring8.json"));
    RunOptions o;
    o.sampler = config("ddpm");
    o.sampler.steps = 5;
    o.batch = 4;
    Run run(model, o);
    std::vector<std::shared_ptr<const StepFrame>> frames;
    while (!run.done())
        frames.push_back(run.step());
    QVERIFY(ode_errors(run, frames).empty());
    QVERIFY_THROWS_EXCEPTION(InputError, exact_ode_path(*model, o.sampler, run.plan(), run.x_T()));
}

void TestFields::empirical_path_meets_its_tolerance()
{
    // No closed form for a data set: the default path agrees with one 100x tighter, each
    // coordinate to 1e-5 relative (the error control is an RMS over the batch) and ode_error,
    // the RMS it reports, to 5e-7 (absolute; the data lie within +-2; measured 9e-8).
    const auto model = Model::load(source_path("models/two-moons.json"));
    const Sampled s = sample(model, "ddim", 20, 48);
    const auto& cfg = s.run->options().sampler;
    const auto a = exact_ode_path(*model, cfg, s.run->plan(), s.run->x_T());
    const auto b = exact_ode_path(*model, cfg, s.run->plan(), s.run->x_T(), {.rtol = 1e-9, .atol = 1e-11});
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k)
        for (std::size_t i = 0; i < a[k].size(); ++i)
            worst = std::max(worst, std::abs(a[k][i] - b[k][i]) / std::max(1.0, std::abs(b[k][i])));
    const auto ea = ode_errors(*s.run, s.frames), eb = ode_errors(*s.run, s.frames, {.rtol = 1e-9, .atol = 1e-11});
    double worst_error = 0;
    for (std::size_t k = 0; k < ea.size(); ++k)
        worst_error = std::max(worst_error, std::abs(ea[k] - eb[k]));
    qInfo("two moons: default path vs rtol 1e-9: worst coordinate %.2e, worst ode_error difference %.2e", worst,
          worst_error);
    QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
    QVERIFY2(worst_error < 5e-7, qPrintable(QString::number(worst_error)));
    // The sampler lands near the path's end (DDIM 20 on two moons).
    QVERIFY2(ea.back() > 0 && ea.back() < 0.5, qPrintable(QString::number(ea.back())));
}

QTEST_GUILESS_MAIN(TestFields)
#include "tst_fields.moc"
