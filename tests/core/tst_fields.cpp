// Fields and the exact path (contract section 10) against independent truth: the
// field of Gaussian mixtures in closed form (written here from the densities), the
// probability-flow ODE path of one Gaussian in closed form, and the convergence
// orders of DDIM (1) and Heun (2) read from the final ode_error.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/fields.hpp"
#include "noisetrail/compare.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/trajectory.hpp"

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
    void step_geometry_adds_up_to_x_prev_data();
    void step_geometry_adds_up_to_x_prev();
    void heun_geometry_single_gaussian();
    void ddpm_geometry_recovers_the_noise();
    void bad_geometry_input();
    void model_calls_axis();
    void ode_error_splits_solver_and_model();
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

namespace {

/// A sample's values at step k of a run, from float32 frames or as the GUI's store keeps them (half).
StepPoint point_of(const std::vector<std::shared_ptr<const StepFrame>>& frames, int k, int i, const Trajectory* store)
{
    const auto pick = [&](const std::vector<float>& v) { return std::vector<float>(v.begin() + 2 * i, v.begin() + 2 * i + 2); };
    StepPoint p;
    if (!store) {
        p.x_t = pick(frames[k]->x_t);
        p.x0_hat = pick(frames[k]->x0_hat);
        p.eps_hat = pick(frames[k]->eps_hat);
        p.x_prev = pick(frames[k]->x_prev);
        if (k > 0)
            p.x0_hat_last = pick(frames[k - 1]->x0_hat);
        return p;
    }
    std::vector<float> buf;
    const auto decoded = [&](int step, Field f) {
        store->decode(step, f, buf);
        return pick(buf);
    };
    p.x_t = decoded(k, Field::Xt);
    p.x0_hat = decoded(k, Field::X0Hat);
    p.eps_hat = decoded(k, Field::EpsHat);
    p.x_prev = decoded(k + 1, Field::Xt);
    if (k > 0)
        p.x0_hat_last = decoded(k - 1, Field::X0Hat);
    return p;
}

} // namespace

void TestFields::step_geometry_adds_up_to_x_prev_data()
{
    QTest::addColumn<QString>("card");
    QTest::addColumn<QString>("sampler");
    QTest::newRow("vp heun") << "models/gaussian-2d.json" << "heun";
    QTest::newRow("vp ddim") << "models/gaussian-2d.json" << "ddim";
    QTest::newRow("vp dpmpp2m") << "models/gaussian-2d.json" << "dpmpp2m";
    QTest::newRow("flow heun") << "models/gaussian-2d-flow.json" << "heun";
    QTest::newRow("ring ddpm") << "models/ring8.json" << "ddpm";
    QTest::newRow("ring dpmpp2m") << "models/ring8.json" << "dpmpp2m";
}

void TestFields::step_geometry_adds_up_to_x_prev()
{
    // The construction's end is the run's x_prev: from the float32 frames to float32
    // rounding, from the GUI's half-precision store within the error bound of the
    // half-precision inputs (relative 2^-11 each, times |coefficient| |value|, summed).
    QFETCH(QString, card);
    QFETCH(QString, sampler);
    const auto model = Model::load(source_path(card.toUtf8().constData()));
    const Sampled s = sample(model, sampler.toStdString(), 8, 6);
    const SamplerConfig& cfg = s.run->options().sampler;
    const SamplingPlan& plan = s.run->plan();
    std::vector<int> ts;
    for (const auto& st : plan.steps)
        ts.push_back(st.t);
    Trajectory store(s.run->shape(), ts, Trajectory::Precision::Half, s.run->x_T());
    for (const auto& f : s.frames)
        store.append(*f);
    bool sawLast = false;
    for (const Trajectory* from : {static_cast<const Trajectory*>(nullptr), static_cast<const Trajectory*>(&store)})
        for (int k = 0; k < plan.size(); ++k)
            for (int i = 0; i < 6; ++i) {
                const StepPoint p = point_of(s.frames, k, i, from);
                const StepGeometry g = step_geometry(*model, cfg, plan, k, p);
                QVERIFY(!g.update.empty());
                double bound = 0;
                for (const auto& seg : g.update)
                    for (int j = 0; j < 2; ++j)
                        bound += std::abs(seg.to[j] - seg.from[j]);
                const double tol = from ? std::ldexp(bound + 4.0, -10) : 2e-5 * (1 + bound);
                for (int j = 0; j < 2; ++j)
                    QVERIFY2(std::abs(g.end()[j] - p.x_prev[j]) <= tol,
                             qPrintable(QString("%1 step %2 sample %3: %4 vs %5 (tol %6)")
                                            .arg(sampler)
                                            .arg(k)
                                            .arg(i)
                                            .arg(g.end()[j], 0, 'g', 9)
                                            .arg(p.x_prev[j], 0, 'g', 9)
                                            .arg(tol)));
                // The segments chain: each starts where the one before ended, the first at 0.
                for (std::size_t n = 0; n < g.update.size(); ++n)
                    for (int j = 0; j < 2; ++j)
                        QCOMPARE(g.update[n].from[j], n == 0 ? 0.0 : g.update[n - 1].to[j]);
                const bool second = step_terms(cfg, plan, k).coefficient(Quantity::X0HatLast) != 0.0;
                QCOMPARE(g.x0_hat_last.empty(), !second);
                sawLast = sawLast || second;
                QCOMPARE(g.predictor.empty(), !step_terms(cfg, plan, k).predictor.has_value());
            }
    if (sampler == "dpmpp2m") // the multistep solver used the previous x0_hat somewhere
        QVERIFY(sawLast);
}

void TestFields::heun_geometry_single_gaussian()
{
    // Heun on N(mu, c^2 I), against the closed form written here: the predictor x' is the
    // Euler (= DDIM eta 0) step from the closed-form x0_hat, eps_hat; the second evaluation
    // is the closed-form eps at (x', t'); the corrector averages the two directions.
    const auto model = Model::load(source_path("models/gaussian-2d.json"));
    const Sampled s = sample(model, "heun", 6, 4);
    const SamplerConfig& cfg = s.run->options().sampler;
    const SamplingPlan& plan = s.run->plan();
    const auto eps_at = [](const Vec2& x, double a, double sg) {
        const Vec2 sc = mixture_score(kGaussian, x, a, sg);
        return Vec2{-sg * sc[0], -sg * sc[1]};
    };
    for (int k = 0; k + 1 < plan.size(); ++k) { // the last step is Euler only
        const auto [a, sg] = path_of(plan.steps[k], false);
        const auto [ap, sp] = path_of(plan.steps[k], true);
        for (int i = 0; i < 4; ++i) {
            const StepPoint p = point_of(s.frames, k, i, nullptr);
            const StepGeometry g = step_geometry(*model, cfg, plan, k, p);
            QVERIFY(!g.predictor.empty());
            const Vec2 x{p.x_t[0], p.x_t[1]};
            const Vec2 e = eps_at(x, a, sg);
            Vec2 euler, want;
            for (int j = 0; j < 2; ++j)
                euler[j] = ap * (x[j] - sg * e[j]) / a + sp * e[j];
            const Vec2 e2 = eps_at(euler, ap, sp);
            // Heun in x / alpha against sigma / alpha (Karras et al. Alg. 1), written back on x.
            for (int j = 0; j < 2; ++j)
                want[j] = ap * (x[j] / a + (sp / ap - sg / a) * 0.5 * (e[j] + e2[j]));
            const auto& xp = g.predictor.back().to;
            for (int j = 0; j < 2; ++j) {
                const double tol = 2e-4 * (1 + std::abs(want[j])); // a float32 card
                QVERIFY2(std::abs(xp[j] - euler[j]) < tol, qPrintable(QString("x' %1 vs %2").arg(xp[j]).arg(euler[j])));
                QVERIFY2(std::abs(g.eps_predictor[j] - e2[j]) < tol,
                         qPrintable(QString("eps' %1 vs %2").arg(g.eps_predictor[j]).arg(e2[j])));
                QVERIFY2(std::abs(g.end()[j] - want[j]) < tol, qPrintable(QString("x_prev %1 vs %2").arg(g.end()[j]).arg(want[j])));
            }
            // The second evaluation is the field at the predictor point (the same call the view makes).
            const std::vector<float> xf(xp.begin(), xp.end());
            const VectorField f = evaluate_field(*model, xf, noise_level_prev(plan.steps[k]));
            for (int j = 0; j < 2; ++j)
                QCOMPARE(float(g.eps_predictor[j]), f.eps_hat[j]);
        }
    }
}

void TestFields::ddpm_geometry_recovers_the_noise()
{
    // DDPM on the single Gaussian: the partial sum before the noise is the posterior mean
    // (contract section 1) of the closed-form x0_hat; the recovered z makes up the rest.
    const auto model = Model::load(source_path("models/gaussian-2d.json"));
    const Sampled s = sample(model, "ddpm", 5, 4);
    const SamplingPlan& plan = s.run->plan();
    for (int k = 0; k + 1 < plan.size(); ++k) {
        const PlanStep& st = plan.steps[k];
        const double ab = st.alpha_bar, abp = st.alpha_bar_prev, beta = 1 - ab / abp;
        for (int i = 0; i < 4; ++i) {
            const StepPoint p = point_of(s.frames, k, i, nullptr);
            const StepGeometry g = step_geometry(*model, s.run->options().sampler, plan, k, p);
            QVERIFY(g.noise_from_x_prev);
            QCOMPARE(int(g.update.size()), 3);
            QVERIFY(g.update.back().term.quantity == Quantity::Noise);
            const Vec2 x{p.x_t[0], p.x_t[1]};
            const Vec2 sc = mixture_score(kGaussian, x, std::sqrt(ab), std::sqrt(1 - ab));
            for (int j = 0; j < 2; ++j) {
                const double x0 = (x[j] + (1 - ab) * sc[j]) / std::sqrt(ab); // Tweedie
                const double mu = std::sqrt(abp) * beta / (1 - ab) * x0 + std::sqrt(1 - beta) * (1 - abp) / (1 - ab) * x[j];
                QVERIFY2(std::abs(g.update[1].to[j] - mu) < 2e-4 * (1 + std::abs(mu)),
                         qPrintable(QString("mean %1 vs %2").arg(g.update[1].to[j]).arg(mu)));
                QVERIFY(std::abs(g.end()[j] - p.x_prev[j]) < 1e-5);
            }
        }
    }
    // Without the stored x_prev the drawn noise is unknown: one clear error.
    StepPoint p = point_of(s.frames, 0, 0, nullptr);
    p.x_prev.clear();
    QVERIFY_THROWS_EXCEPTION(InputError, step_geometry(*model, s.run->options().sampler, plan, 0, p));
}

void TestFields::bad_geometry_input()
{
    const auto model = Model::load(source_path("models/gaussian-2d.json"));
    const Sampled s = sample(model, "dpmpp2m", 6, 2);
    const auto& cfg = s.run->options().sampler;
    StepPoint p = point_of(s.frames, 0, 0, nullptr);
    QVERIFY_THROWS_EXCEPTION(InputError, step_geometry(*model, cfg, s.run->plan(), -1, p));
    QVERIFY_THROWS_EXCEPTION(InputError, step_geometry(*model, cfg, s.run->plan(), 6, p));
    p.x_t.push_back(0.f);
    QVERIFY_THROWS_EXCEPTION(InputError, step_geometry(*model, cfg, s.run->plan(), 0, p));
    StepPoint q = point_of(s.frames, 2, 0, nullptr);
    q.x0_hat_last.clear(); // step 2 extrapolates from step 1's x0_hat
    QVERIFY_THROWS_EXCEPTION(InputError, step_geometry(*model, cfg, s.run->plan(), 2, q));
}

void TestFields::model_calls_axis()
{
    // The axis's count is what the run itself counted (StepFrame::model_calls), and Heun's
    // S steps end at 2S - 1, where steps_within_nfe pairs it with DDIM.
    const auto model = Model::load(source_path("models/gaussian-2d.json"));
    for (const char* sampler : {"heun", "ddim", "dpmpp2m"}) {
        const Sampled s = sample(model, sampler, 7, 2);
        const auto calls = model_calls_by_step(s.run->options().sampler, s.run->plan());
        QCOMPARE(int(calls.size()), 7);
        int counted = 0;
        for (int k = 0; k < 7; ++k)
            QCOMPARE(calls[k], counted += s.frames[k]->model_calls);
        QCOMPARE(calls.back(), std::string(sampler) == "heun" ? 2 * 7 - 1 : 7);
        QCOMPARE(compare::steps_within_nfe(s.run->options().sampler, calls.back()), 7);
    }
}

void TestFields::ode_error_splits_solver_and_model()
{
    // Two moons: the learned MLP beside the exact denoiser of its data. The solver's part is
    // the exact card's own ode_error from the same x_T (ode_errors of a run made here), the
    // model's part the distance between the two runs, and the total obeys the triangle
    // inequality; the exact run against itself has no model error.
    const auto exact = Model::load(source_path("models/two-moons.json"));
    const auto learned = Model::load(source_path("models/two-moons-mlp.json"));
    const Sampled l = sample(learned, "heun", 6, 16);
    RunOptions o = l.run->options();
    o.init_noise = l.run->x_T();
    Run twin(exact, o);
    std::vector<std::shared_ptr<const StepFrame>> tf;
    while (!twin.done())
        tf.push_back(twin.step());
    std::vector<std::vector<float>> lx, ex;
    for (const auto& f : l.frames)
        lx.push_back(f->x_prev);
    for (const auto& f : tf)
        ex.push_back(f->x_prev);
    const auto& cfg = l.run->options().sampler;
    const OdeErrorSplit split = ode_error_split(*exact, cfg, l.run->plan(), l.run->x_T(), lx);
    const auto solver = ode_errors(twin, tf);
    QCOMPARE(int(split.total.size()), 6);
    for (int k = 0; k < 6; ++k) {
        double sq = 0;
        for (std::size_t i = 0; i < lx[k].size(); ++i)
            sq += std::pow(double(lx[k][i]) - ex[k][i], 2);
        const double model_part = std::sqrt(sq / 16);
        QVERIFY2(std::abs(split.solver[k] - solver[k]) < 1e-9, qPrintable(QString("%1 vs %2").arg(split.solver[k]).arg(solver[k])));
        QVERIFY2(std::abs(split.model[k] - model_part) < 1e-9, qPrintable(QString("%1 vs %2").arg(split.model[k]).arg(model_part)));
        QVERIFY(split.total[k] <= split.solver[k] + split.model[k] + 1e-9);
        QVERIFY(split.model[k] > 0); // a learned model differs from the exact denoiser
    }
    qInfo("two moons, Heun 6: final ode_error %.3g = solver %.3g (+) model %.3g", split.total.back(),
          split.solver.back(), split.model.back());
    const OdeErrorSplit self = ode_error_split(*exact, cfg, l.run->plan(), l.run->x_T(), ex);
    for (int k = 0; k < 6; ++k) {
        QVERIFY(self.model[k] < 1e-6);
        QVERIFY(std::abs(self.total[k] - self.solver[k]) < 1e-6);
    }
    // A learned card has no exact path of its own: the split needs the exact twin.
    QVERIFY(ode_error_split(*learned, cfg, l.run->plan(), l.run->x_T(), lx).total.empty());
}

QTEST_GUILESS_MAIN(TestFields)
#include "tst_fields.moc"
