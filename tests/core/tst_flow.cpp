// The flow process (contract section 8): plans, exact flow cards against their
// closed forms, every sampler on the flow path, convergence orders against the
// closed-form ODE endpoint of the single-Gaussian flow card, and VP's Euler equal
// to DDIM eta 0.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "noisetrail/step_terms.hpp"
#include "noisetrail/straightness.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace noisetrail;

namespace {

// models/gaussian-2d-flow.json: N(mu, c^2 I), mu = (1, -0.5), c = 0.5, T = 1000.
constexpr double kMu[2] = {1.0, -0.5};
constexpr double kStd = 0.5;

SamplerConfig config(const std::string& sampler, int steps, double eta = 0.0)
{
    SamplerConfig c;
    c.sampler = sampler;
    c.steps = steps;
    c.eta = eta;
    return c;
}

Run finished_run(const std::shared_ptr<const Model>& model, const SamplerConfig& c, int batch = 256,
                 std::uint64_t seed = 4)
{
    RunOptions o;
    o.sampler = c;
    o.batch = batch;
    o.seed = seed;
    Run run(model, o);
    while (!run.done())
        run.step();
    return run;
}

/// The straightness meter fed with every step of a run, and the run's x_T.
std::pair<double, std::vector<float>> measured_straightness(const std::shared_ptr<const Model>& model,
                                                            const SamplerConfig& c, int batch, std::uint64_t seed)
{
    RunOptions o;
    o.sampler = c;
    o.batch = batch;
    o.seed = seed;
    Run run(model, o);
    StraightnessMeter meter;
    while (!run.done())
        meter.add(*run.step());
    return {meter.value(), run.x_T()};
}

/// RMS distance from the closed-form ODE endpoint x_0 = mu + c x_1 (the flow path's
/// marginals are N((1 - s) mu, ((1 - s)^2 c^2 + s^2) I); the ODE maps x_1 = z to mu + c z).
double endpoint_error(const Run& run)
{
    const auto& x_T = run.x_T();
    const auto x0 = run.samples();
    double sq = 0;
    for (std::size_t i = 0; i < x0.size(); ++i) {
        const double want = kMu[i % 2] + kStd * x_T[i];
        sq += (x0[i] - want) * (x0[i] - want);
    }
    return std::sqrt(sq / x0.size());
}

/// Least-squares slope of log(error) against log(S).
double fitted_order(const std::vector<int>& steps, const std::vector<double>& err)
{
    double mx = 0, my = 0;
    const double n = steps.size();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        mx += std::log(steps[i]) / n;
        my += std::log(err[i]) / n;
    }
    double sxy = 0, sxx = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        sxy += (std::log(steps[i]) - mx) * (std::log(err[i]) - my);
        sxx += (std::log(steps[i]) - mx) * (std::log(steps[i]) - mx);
    }
    return -sxy / sxx;
}

} // namespace

class TestFlow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void plan_follows_contract_data();
    void plan_follows_contract();
    void exact_mixture_matches_closed_form();
    void exact_empirical_matches_softmax();
    void convergence_order_data();
    void convergence_order();
    void stochastic_samplers_reach_the_distribution_data();
    void stochastic_samplers_reach_the_distribution();
    void euler_on_vp_is_ddim_eta0();
    void shipped_flow_cards_load();
    void straightness_matches_closed_form();
    void shipped_reflow_straightens_two_moons();
};

void TestFlow::plan_follows_contract_data()
{
    QTest::addColumn<double>("shift");
    QTest::addColumn<int>("steps");
    QTest::newRow("shift 1, 10 steps") << 1.0 << 10;
    QTest::newRow("shift 3, 7 steps") << 3.0 << 7;
    QTest::newRow("shift 0.5, 1 step") << 0.5 << 1;
}

void TestFlow::plan_follows_contract()
{
    QFETCH(double, shift);
    QFETCH(int, steps);
    QTemporaryDir dir;
    const QByteArray card = QByteArray(R"({"format": "noisetrail-model/1", "kind": "gaussian-mixture", "data_shape": [2],
        "prediction": "velocity", "process": {"kind": "flow", "shift": )") + QByteArray::number(shift, 'g', 17) +
                            R"(, "train_steps": 200}, "mixture": {"means": [[0, 0]], "stds": [1]}})";
    const auto model = Model::load(test::write_file(dir, "flow.json", card));
    const SamplingPlan plan = make_plan(model->schedule(), config("euler", steps));
    QCOMPARE(plan.size(), steps);
    const int T = 200;
    for (int i = 0; i < steps; ++i) {
        // u_i = linspace(1, 1/T, S), s_i = shift u / (1 + (shift - 1) u)
        const double u = steps == 1 ? 1.0 : 1.0 + i * (1.0 / T - 1.0) / (steps - 1);
        const double want = shift * u / (1.0 + (shift - 1.0) * u);
        const PlanStep& s = plan.steps[std::size_t(i)];
        QCOMPARE(s.process, ProcessKind::Flow);
        QVERIFY2(std::abs(s.level - want) < 1e-14, qPrintable(QString("s_%1 = %2, want %3").arg(i).arg(s.level).arg(want)));
        QVERIFY(std::abs(path_at(s).alpha - (1.0 - want)) < 1e-14);
        QVERIFY(std::abs(path_at(s).sigma - want) < 1e-14);
        if (i > 0)
            QVERIFY(s.level < plan.steps[std::size_t(i - 1)].level);
    }
    QCOMPARE(plan.steps.front().level, 1.0);
    // The last step goes to s = 0 and lands on x0_hat.
    const PlanStep& last = plan.steps.back();
    QCOMPARE(last.t_prev, -1);
    QCOMPARE(noise_level_prev(last), 0.0);
    QCOMPARE(path_at_prev(last).alpha, 1.0);
    QCOMPARE(path_at_prev(last).sigma, 0.0);
    QCOMPARE(step_terms(config("euler", steps), plan, steps - 1).coefficient(Quantity::X0Hat), 1.0);
    QCOMPARE(step_terms(config("euler", steps), plan, steps - 1).coefficient(Quantity::EpsHat), 0.0);
}

void TestFlow::exact_mixture_matches_closed_form()
{
    // Single Gaussian: E[x_0 | x_s] = mu + (1 - s) c^2 / ((1 - s)^2 c^2 + s^2) (x - (1 - s) mu);
    // the card predicts the velocity v = eps - x_0 with eps = (x - (1 - s) x_0) / s.
    const auto model = Model::load(test::source_path("models/gaussian-2d-flow.json"));
    QCOMPARE(model->card().prediction, Prediction::Velocity);
    const std::vector<double> x{0.3, 1.7, -2.0, 0.25};
    for (int t : {0, 100, 500, 998, 999}) {
        const double s = (t + 1) / 1000.0, a = 1.0 - s;
        const Denoised d = model->denoise(x, 2, t);
        for (int i = 0; i < 4; ++i) {
            const double mu = kMu[i % 2];
            const double x0 = mu + a * kStd * kStd / (a * a * kStd * kStd + s * s) * (x[i] - a * mu);
            const double eps = (x[i] - a * x0) / s;
            QVERIFY2(std::abs(d.x0_hat[i] - x0) < 1e-5, qPrintable(QString("s %1: x0 %2 want %3").arg(s).arg(d.x0_hat[i]).arg(x0)));
            // The card evaluates in float32 (its default precision): eps = (x - (1 - s) x0) / s
            // carries x0's rounding times 1/s.
            QVERIFY2(std::abs(d.eps_hat[i] - eps) < 1e-5 + 2e-6 / s, qPrintable(QString("s %1: eps %2 want %3").arg(s).arg(d.eps_hat[i]).arg(eps)));
        }
    }
}

void TestFlow::exact_empirical_matches_softmax()
{
    // Three points; E[x_0 | x_s] is the softmax of -|x - (1 - s) y_i|^2 / (2 s^2) over the points.
    QTemporaryDir dir;
    const std::vector<float> pts{1.0f, 0.0f, -1.0f, 0.5f, 0.0f, -2.0f};
    write_npy(dir.filePath("pts.npy").toStdString(), {3, 2}, pts.data());
    const auto model = Model::load(test::write_file(dir, "emp.json", R"({"format": "noisetrail-model/1", "kind": "empirical",
        "data_shape": [2], "prediction": "epsilon", "process": {"kind": "flow", "train_steps": 100}, "data": "pts.npy"})"));
    const std::vector<double> x{0.4, -0.3};
    for (int t : {10, 50, 90}) {
        const double s = (t + 1) / 100.0, a = 1.0 - s;
        std::vector<double> logit(3);
        for (int i = 0; i < 3; ++i) {
            const double dx = x[0] - a * pts[2 * i], dy = x[1] - a * pts[2 * i + 1];
            logit[i] = -(dx * dx + dy * dy) / (2 * s * s);
        }
        const double mx = *std::max_element(logit.begin(), logit.end());
        double z = 0, x0[2] = {0, 0};
        for (int i = 0; i < 3; ++i) {
            const double w = std::exp(logit[i] - mx);
            z += w;
            x0[0] += w * pts[2 * i];
            x0[1] += w * pts[2 * i + 1];
        }
        const Denoised d = model->denoise(x, 1, t);
        for (int k = 0; k < 2; ++k) {
            QVERIFY(std::abs(d.x0_hat[k] - x0[k] / z) < 1e-9);
            QVERIFY(std::abs(d.eps_hat[k] - (x[k] - a * x0[k] / z) / s) < 1e-8);
        }
    }
}

void TestFlow::convergence_order_data()
{
    QTest::addColumn<QString>("sampler");
    QTest::addColumn<double>("order");
    QTest::addColumn<int>("first");
    QTest::addColumn<double>("tolerance");
    QTest::newRow("euler") << "euler" << 1.0 << 10 << 0.2;
    QTest::newRow("ddim eta 0") << "ddim" << 1.0 << 10 << 0.2;
    QTest::newRow("heun") << "heun" << 2.0 << 10 << 0.2;
    // DPM-Solver++(2M) is second order on meshes quasi-uniform in lambda = log(alpha/sigma);
    // the contract's plan is uniform in s, so near s = 1 (alpha = k/S) and s = 0 its steps in
    // lambda do not shrink with S, and near s = 0 the step to s = 1/T is long (first order by
    // the r < 1/2 rule). Measured on this card: fitted order 1.16 at S = 10..80 and 1.76 at
    // S = 40..320 (errors 2.5e-3, 8.0e-4, 2.3e-4, 6.4e-5): the order shows from S ~ 40 on.
    QTest::newRow("dpmpp2m") << "dpmpp2m" << 2.0 << 40 << 0.3;
}

void TestFlow::convergence_order()
{
    // Independent truth: the closed-form endpoint mu + c x_1; the slope of log error vs log S.
    QFETCH(QString, sampler);
    QFETCH(double, order);
    QFETCH(int, first);
    QFETCH(double, tolerance);
    const auto model = Model::load(test::source_path("models/gaussian-2d-flow.json"));
    const std::vector<int> steps{first, 2 * first, 4 * first, 8 * first};
    std::vector<double> err;
    for (int S : steps)
        err.push_back(endpoint_error(finished_run(model, config(sampler.toStdString(), S))));
    const double slope = fitted_order(steps, err);
    qInfo("%s on flow, S = %d..%d: errors %.3g %.3g %.3g %.3g, fitted order %.2f", qPrintable(sampler), steps[0],
          steps[3], err[0], err[1], err[2], err[3], slope);
    QVERIFY2(std::abs(slope - order) < tolerance,
             qPrintable(QString("fitted order %1, expected %2").arg(slope).arg(order)));
    for (std::size_t i = 0; i + 1 < err.size(); ++i)
        QVERIFY(err[i + 1] < err[i]);
}

void TestFlow::stochastic_samplers_reach_the_distribution_data()
{
    QTest::addColumn<QString>("sampler");
    QTest::addColumn<double>("eta");
    QTest::newRow("ddpm") << "ddpm" << 0.0;
    QTest::newRow("ddim eta 1") << "ddim" << 1.0;
    QTest::newRow("euler_a") << "euler_a" << 0.0;
}

void TestFlow::stochastic_samplers_reach_the_distribution()
{
    // Samples of N(mu, c^2 I): mean within 4 standard errors, std within 5 %.
    QFETCH(QString, sampler);
    QFETCH(double, eta);
    const auto model = Model::load(test::source_path("models/gaussian-2d-flow.json"));
    const int B = 4000;
    const Run run = finished_run(model, config(sampler.toStdString(), 100, eta), B, 11);
    const auto x = run.samples();
    for (int k = 0; k < 2; ++k) {
        double m = 0, v = 0;
        for (int b = 0; b < B; ++b)
            m += x[std::size_t(2 * b + k)] / B;
        for (int b = 0; b < B; ++b)
            v += (x[std::size_t(2 * b + k)] - m) * (x[std::size_t(2 * b + k)] - m) / (B - 1);
        QVERIFY2(std::abs(m - kMu[k]) < 4 * kStd / std::sqrt(B), qPrintable(QString("mean %1").arg(m)));
        QVERIFY2(std::abs(std::sqrt(v) / kStd - 1.0) < 0.05, qPrintable(QString("std %1").arg(std::sqrt(v))));
    }
}

void TestFlow::euler_on_vp_is_ddim_eta0()
{
    // Contract section 8: on VP, x_prev = alpha' x0_hat + sigma' eps_hat is DDIM with eta 0.
    const auto model = Model::load(test::source_path("models/ring8.json"));
    const Run a = finished_run(model, config("euler", 20), 64);
    const Run b = finished_run(model, config("ddim", 20), 64);
    QCOMPARE(a.samples(), b.samples());
}

void TestFlow::shipped_flow_cards_load()
{
    for (const char* c : {"models/ring8-flow.json", "models/two-moons-flow.json", "models/gaussian-2d-flow.json"}) {
        const auto m = Model::load(test::source_path(c));
        QCOMPARE(m->schedule().process(), ProcessKind::Flow);
        QCOMPARE(m->card().prediction, Prediction::Velocity);
        const Run run = finished_run(m, config("euler", 10), 16);
        for (float v : run.samples())
            QVERIFY(std::isfinite(v));
    }
}

void TestFlow::straightness_matches_closed_form()
{
    // On N(mu, c^2 I) the flow ODE is x(s) = (1 - s) mu + r(s) z with r(s) = sqrt((1 - s)^2 c^2 + s^2),
    // so (x_1 - x_0) - v(x(s), s) = (1 - c - r'(s)) z and Liu et al.'s straightness is
    // ||z||^2 (batch mean) times the integral of (1 - c - r'(s))^2 over [0, 1] (Simpson here).
    const auto model = Model::load(test::source_path("models/gaussian-2d-flow.json"));
    const int n = 20000;
    double integral = 0;
    for (int i = 0; i <= n; ++i) {
        const double s = double(i) / n, r = std::sqrt((1 - s) * (1 - s) * kStd * kStd + s * s);
        const double dr = (s - (1 - s) * kStd * kStd) / r, f = (1 - kStd - dr) * (1 - kStd - dr);
        integral += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) / (3.0 * n);
    }
    for (const char* sampler : {"heun", "dpmpp2m", "euler"}) {
        const auto [got, x_T] = measured_straightness(model, config(sampler, 400), 128, 11);
        double zz = 0;
        for (float z : x_T)
            zz += double(z) * z;
        const double want = zz / 128 * integral;
        qInfo("%s 400 steps: straightness %.5f, closed form %.5f", sampler, got, want);
        QVERIFY2(std::abs(got - want) < 0.02 * want, qPrintable(QString("%1 vs %2").arg(got).arg(want)));
    }
    // One hand-made step over all of [0, 1]: 0 when the run ends where its velocity points
    // (v = x_1 - x_0), else the squared distance it missed by.
    StepFrame f;
    f.shape = {1, 2};
    f.plan.process = ProcessKind::Flow;
    f.plan.level = 1.0;
    f.plan.level_prev = 0.0;
    f.plan.t = 0;
    f.plan.t_prev = -1;
    f.x_t = {3.f, -1.f};
    f.x0_hat = {0.5f, 0.25f};
    f.eps_hat = {3.f, -1.f};
    f.x_prev = f.x0_hat;
    StraightnessMeter straight;
    straight.add(f);
    QCOMPARE(straight.value(), 0.0);
    f.x_prev = {0.5f, 1.25f}; // the run ended 1 away from where its velocity pointed
    StraightnessMeter bent;
    bent.add(f);
    QCOMPARE(bent.value(), 1.0);
}

void TestFlow::shipped_reflow_straightens_two_moons()
{
    // Issue 20: the shipped 2-rectified two-moons flow against the 1-rectified one it was
    // made from. Metric: the mean distance from a sample to its nearest point of the data
    // set (models/two-moons.npy), for one Euler step from the same noise; and the
    // straightness of 50-step Heun runs.
    const NpyArray data = read_npy(test::source_path("models/two-moons.npy"));
    const auto nn_distance = [&](const std::vector<float>& x) {
        double total = 0;
        const std::size_t n = x.size() / 2, m = data.f32.size() / 2;
        for (std::size_t i = 0; i < n; ++i) {
            double best = 1e300;
            for (std::size_t j = 0; j < m; ++j) {
                const double dx = x[2 * i] - data.f32[2 * j], dy = x[2 * i + 1] - data.f32[2 * j + 1];
                best = std::min(best, dx * dx + dy * dy);
            }
            total += std::sqrt(best);
        }
        return total / n;
    };
    double one_step[2], straight[2];
    const char* cards[2] = {"models/two-moons-flow-mlp.json", "models/two-moons-flow-mlp-reflow.json"};
    for (int k = 0; k < 2; ++k) {
        const auto model = Model::load(test::source_path(cards[k]));
        one_step[k] = nn_distance(finished_run(model, config("euler", 1), 1000, 21).samples());
        straight[k] = measured_straightness(model, config("heun", 50), 500, 21).first;
        qInfo("%s: one Euler step, mean nearest-data distance %.4f; straightness (Heun 50) %.4f", cards[k],
              one_step[k], straight[k]);
    }
    QVERIFY2(one_step[1] < 0.5 * one_step[0], qPrintable(QString("%1 vs %2").arg(one_step[1]).arg(one_step[0])));
    QVERIFY2(straight[1] < 0.5 * straight[0], qPrintable(QString("%1 vs %2").arg(straight[1]).arg(straight[0])));
}

QTEST_GUILESS_MAIN(TestFlow)
#include "tst_flow.moc"
