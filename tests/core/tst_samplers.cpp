// DDPM and DDIM against closed forms and known properties (Ho et al. 2020; Song et al. 2021).
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"

#include <QtTest>

#include <cmath>
#include <random>

using namespace noisetrail;

class TestSamplers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void forward_process_moments();
    void ddim_eta1_equals_ddpm_fixed_small_data();
    void ddim_eta1_equals_ddpm_fixed_small();
    void ddim_eta1_and_ddpm_runs_coincide();
    void ddim_eta0_is_deterministic();
    void same_seed_is_bit_identical();
    void ddim_converges_to_probability_flow_endpoint();
    void ddpm_samples_ring_mixture_proportions();
    void prediction_types_agree();
    void clipping_bounds_x0_and_keeps_pair_consistent();
    void cancel_stops_between_steps();
    void frames_carry_every_step();
    void nan_model_is_run_error_naming_step();
};

void TestSamplers::forward_process_moments()
{
    const NoiseSchedule s({"linear", 1e-4, 0.02, 1000});
    const std::vector<double> x0{1.5, -0.7};
    const int n = 100000;
    for (int t : {0, 100, 500, 999}) {
        const auto x = q_sample(s, t, x0, n, 1234 + t);
        const double ab = s.alpha_bar(t);
        for (int d = 0; d < 2; ++d) {
            double mean = 0, sq = 0;
            for (int i = 0; i < n; ++i)
                mean += x[2 * i + d];
            mean /= n;
            for (int i = 0; i < n; ++i)
                sq += (x[2 * i + d] - mean) * (x[2 * i + d] - mean);
            const double var = sq / (n - 1);
            const double want_mean = std::sqrt(ab) * x0[d];
            // Within 1%, relative to the larger of the mean and the noise scale.
            QVERIFY2(std::abs(mean - want_mean) <= 0.01 * std::max(std::abs(want_mean), std::sqrt(1 - ab)),
                     qPrintable(QString("t=%1 mean %2 want %3").arg(t).arg(mean).arg(want_mean)));
            QVERIFY2(std::abs(var / (1 - ab) - 1) <= 0.01, qPrintable(QString("t=%1 var %2").arg(t).arg(var)));
        }
    }
}

void TestSamplers::ddim_eta1_equals_ddpm_fixed_small_data()
{
    QTest::addColumn<int>("S");
    QTest::addColumn<QString>("schedule");
    for (int S : {1000, 50, 7})
        for (const char* k : {"linear", "cosine"})
            QTest::newRow(qPrintable(QString("S=%1 %2").arg(S).arg(k))) << S << QString(k);
}

void TestSamplers::ddim_eta1_equals_ddpm_fixed_small()
{
    QFETCH(int, S);
    QFETCH(QString, schedule);
    const NoiseSchedule sched({schedule.toStdString(), 1e-4, 0.02, 1000});
    SamplerConfig ddpm, ddim;
    ddpm.sampler = "ddpm";
    ddpm.steps = S;
    ddim.sampler = "ddim";
    ddim.steps = S;
    ddim.eta = 1.0;
    const SamplingPlan p1 = make_plan(sched, ddpm), p2 = make_plan(sched, ddim);
    QCOMPARE(p1.size(), p2.size());
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal;
    const int n = 64;
    std::vector<double> x0(n), xt(n), eps(n), zero(n, 0.0);
    for (int i = 0; i < p1.size(); ++i) {
        const PlanStep& a = p1.steps[i];
        const PlanStep& b = p2.steps[i];
        QCOMPARE(a.t, b.t);
        QVERIFY(std::abs(a.sigma - b.sigma) <= 1e-6 * std::max(1.0, a.sigma));
        // A consistent pair: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps.
        for (int j = 0; j < n; ++j) {
            x0[j] = normal(rng);
            eps[j] = normal(rng);
            xt[j] = std::sqrt(a.alpha_bar) * x0[j] + std::sqrt(1 - a.alpha_bar) * eps[j];
        }
        const auto m1 = sampler_step(ddpm, a, xt, x0, eps, zero);
        const auto m2 = sampler_step(ddim, b, xt, x0, eps, zero);
        // The posterior mean written out from the contract, independently of the code.
        const double ab = a.alpha_bar, abp = a.alpha_bar_prev, beta = 1 - ab / abp;
        for (int j = 0; j < n; ++j) {
            const double mu = std::sqrt(abp) * beta / (1 - ab) * x0[j] + std::sqrt(1 - beta) * (1 - abp) / (1 - ab) * xt[j];
            QVERIFY2(std::abs(m1[j] - mu) <= 1e-6, qPrintable(QString("ddpm step %1").arg(i)));
            QVERIFY2(std::abs(m2[j] - mu) <= 1e-6, qPrintable(QString("ddim step %1").arg(i)));
        }
    }
}

void TestSamplers::ddim_eta1_and_ddpm_runs_coincide()
{
    // Same seed, same noise draws: whole trajectories agree when mean and sigma agree.
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunOptions a, b;
    a.sampler.sampler = "ddpm";
    a.sampler.steps = 100;
    b.sampler.sampler = "ddim";
    b.sampler.steps = 100;
    b.sampler.eta = 1.0;
    a.seed = b.seed = 99;
    a.batch = b.batch = 64;
    const auto ra = run_sampler(*model, a), rb = run_sampler(*model, b);
    for (std::size_t i = 0; i < ra.samples.size(); ++i)
        QVERIFY(std::abs(ra.samples[i] - rb.samples[i]) <= 1e-5);
}

void TestSamplers::ddim_eta0_is_deterministic()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunOptions o;
    o.sampler.sampler = "ddim";
    o.sampler.steps = 20;
    o.init_noise = initial_noise({2}, 32, 5);
    o.seed = 1;
    const auto r1 = run_sampler(*model, o);
    o.seed = 2;
    const auto r2 = run_sampler(*model, o);
    QCOMPARE(r1.samples, r2.samples);
    // With eta > 0 the seed matters.
    o.sampler.eta = 0.5;
    const auto r3 = run_sampler(*model, o);
    o.seed = 1;
    const auto r4 = run_sampler(*model, o);
    QVERIFY(r3.samples != r4.samples);
}

void TestSamplers::same_seed_is_bit_identical()
{
    const auto model = Model::load(test::source_path("models/two-moons.json"));
    RunOptions o;
    o.sampler.sampler = "ddpm";
    o.sampler.steps = 50;
    o.seed = 42;
    o.batch = 16;
    QCOMPARE(run_sampler(*model, o).samples, run_sampler(*model, o).samples);
}

void TestSamplers::ddim_converges_to_probability_flow_endpoint()
{
    // Data N(mu, s^2 I): x_t ~ N(sqrt(ab) mu, (ab s^2 + 1 - ab) I), and the probability-flow
    // ODE maps x at the first timestep to mu + s (x - sqrt(ab) mu) / sqrt(ab s^2 + 1 - ab).
    const auto model = Model::load(test::source_path("models/gaussian-2d.json"));
    const double mu[2] = {1.0, -0.5}, s = 0.5;
    double previous_error = 1e9;
    for (int S : {10, 50, 1000}) {
        RunOptions o;
        o.sampler.sampler = "ddim";
        o.sampler.steps = S;
        o.sampler.spacing = Spacing::Trailing; // first timestep T-1 for every S
        o.batch = 256;
        o.seed = 3;
        const auto r = run_sampler(*model, o);
        const double ab = r.plan.steps.front().alpha_bar;
        double err = 0;
        for (int i = 0; i < 256; ++i)
            for (int d = 0; d < 2; ++d) {
                const double x = r.x_T[2 * i + d];
                const double want = mu[d] + s * (x - std::sqrt(ab) * mu[d]) / std::sqrt(ab * s * s + 1 - ab);
                err = std::max(err, std::abs(r.samples[2 * i + d] - want));
            }
        qInfo("S=%d max error %.3g", S, err);
        QVERIFY2(err < previous_error, "error must shrink as S grows");
        previous_error = err;
    }
    QVERIFY(previous_error < 5e-3);
}

void TestSamplers::ddpm_samples_ring_mixture_proportions()
{
    // Unequal weights so that proportions are a real check.
    QTemporaryDir dir;
    const double w[4] = {0.1, 0.2, 0.3, 0.4};
    const double c[4][2] = {{2, 0}, {0, 2}, {-2, 0}, {0, -2}};
    const double sd = 0.15;
    const auto card = test::write_file(dir, "ring4.json", test::mixture_card(
        R"({"weights": [0.1, 0.2, 0.3, 0.4], "means": [[2, 0], [0, 2], [-2, 0], [0, -2]], "stds": [0.15]})"));
    const auto model = Model::load(card);
    RunOptions o;
    o.sampler.sampler = "ddpm";
    o.sampler.steps = 1000;
    o.batch = 4000;
    o.seed = 11;
    const auto r = run_sampler(*model, o);
    int count[4] = {0, 0, 0, 0};
    double sq[4] = {0, 0, 0, 0}, sq_all = 0;
    for (int i = 0; i < o.batch; ++i) {
        const double x = r.samples[2 * i], y = r.samples[2 * i + 1];
        int best = 0;
        double bd = 1e18;
        for (int k = 0; k < 4; ++k) {
            const double d = (x - c[k][0]) * (x - c[k][0]) + (y - c[k][1]) * (y - c[k][1]);
            if (d < bd) { bd = d; best = k; }
        }
        ++count[best];
        sq[best] += bd;
        sq_all += bd;
    }
    for (int k = 0; k < 4; ++k) {
        const double expect = o.batch * w[k], sd_binom = std::sqrt(o.batch * w[k] * (1 - w[k]));
        QVERIFY2(std::abs(count[k] - expect) <= 4 * sd_binom,
                 qPrintable(QString("component %1: %2 samples, expected %3").arg(k).arg(count[k]).arg(expect)));
        const double std_k = std::sqrt(sq[k] / (2.0 * count[k]));
        QVERIFY2(std::abs(std_k / sd - 1) < 0.10, qPrintable(QString("component %1 std %2").arg(k).arg(std_k)));
    }
    const double pooled = std::sqrt(sq_all / (2.0 * o.batch));
    qInfo("pooled component std %.4f (true %.4f)", pooled, sd);
    QVERIFY(std::abs(pooled / sd - 1) < 0.05);
}

void TestSamplers::prediction_types_agree()
{
    // The same exact model written as an epsilon, x0 or v predictor gives the same samples.
    QTemporaryDir dir;
    const QByteArray mix = R"({"weights": [0.3, 0.7], "means": [[-1, 0.5], [1, -1]], "stds": [0.2, 0.4]})";
    std::vector<std::vector<float>> out;
    for (const char* p : {"epsilon", "sample", "v"}) {
        const auto m = Model::load(test::write_file(dir, QString("%1.json").arg(p), test::mixture_card(mix, "[2]", p)));
        RunOptions o;
        o.sampler.sampler = "ddim";
        o.sampler.steps = 30;
        o.sampler.eta = 0.5;
        o.batch = 50;
        o.seed = 8;
        out.push_back(run_sampler(*m, o).samples);
    }
    for (std::size_t i = 0; i < out[0].size(); ++i) {
        QVERIFY(std::abs(out[0][i] - out[1][i]) < 1e-5);
        QVERIFY(std::abs(out[0][i] - out[2][i]) < 1e-5);
    }
}

void TestSamplers::clipping_bounds_x0_and_keeps_pair_consistent()
{
    const std::vector<double> xt{3.0, -0.2, 0.1};
    const std::vector<double> eps_out{-0.5, 0.1, 0.3};
    const double ab = 0.36;
    const auto d = to_x0_eps(Prediction::Epsilon, ab, xt, eps_out, 1.0);
    for (std::size_t i = 0; i < xt.size(); ++i) {
        QVERIFY(std::abs(d.x0_hat[i]) <= 1.0);
        QVERIFY(std::abs(std::sqrt(ab) * d.x0_hat[i] + std::sqrt(1 - ab) * d.eps_hat[i] - xt[i]) < 1e-12);
    }
    // (3 + 0.8*0.5)/0.6 > 1 is clipped; the others are inside and unchanged.
    QCOMPARE(d.x0_hat[0], 1.0);
    QVERIFY(std::abs(d.x0_hat[1] - (-0.2 - 0.8 * 0.1) / 0.6) < 1e-12);
}

void TestSamplers::cancel_stops_between_steps()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    std::atomic<bool> cancel{false};
    int frames = 0;
    RunOptions o;
    o.sampler.steps = 100;
    o.batch = 8;
    const auto r = run_sampler(*model, o, [&](std::shared_ptr<const StepFrame> f) {
        ++frames;
        if (f->step == 9)
            cancel = true;
    }, &cancel);
    QVERIFY(r.cancelled);
    QCOMPARE(frames, 10);
    QCOMPARE(r.steps_done, 10);
    QVERIFY(r.samples.empty());
}

void TestSamplers::frames_carry_every_step()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunOptions o;
    o.sampler.sampler = "ddim";
    o.sampler.steps = 25;
    o.batch = 10;
    std::vector<std::shared_ptr<const StepFrame>> frames;
    const auto r = run_sampler(*model, o, [&](std::shared_ptr<const StepFrame> f) { frames.push_back(f); });
    QCOMPARE(static_cast<int>(frames.size()), 25);
    for (int k = 0; k < 25; ++k) {
        const StepFrame& f = *frames[k];
        QCOMPARE(f.step, k);
        QCOMPARE(f.plan.t, r.plan.steps[k].t);
        QCOMPARE(f.x_t.size(), std::size_t{20});
        if (k > 0)
            QCOMPARE(f.x_t, frames[k - 1]->x_prev); // each step starts where the last ended
        // stats against their definitions
        double mean = 0;
        for (float v : f.x_t)
            mean += v;
        QVERIFY(std::abs(f.stats.xt_mean - mean / 20) < 1e-5);
        QCOMPARE(std::isnan(f.stats.x0_change), k == 0);
    }
    QCOMPARE(frames.back()->x_prev, r.samples);
    QCOMPARE(frames.front()->x_t, r.x_T);
}

void TestSamplers::nan_model_is_run_error_naming_step()
{
    // Means so large that squared distances overflow: the mixture's eps* is NaN.
    QTemporaryDir dir;
    const auto m = Model::load(test::write_file(dir, "huge.json",
        test::mixture_card(R"({"means": [[1e200, 0]], "stds": [1]})")));
    RunOptions o;
    o.sampler.steps = 10;
    bool thrown = false;
    try {
        run_sampler(*m, o);
    } catch (const RunError& e) {
        thrown = true;
        QCOMPARE(e.step(), 0);
        QVERIFY(QString(e.what()).contains("step 0"));
    }
    QVERIFY(thrown);
}

QTEST_GUILESS_MAIN(TestSamplers)
#include "tst_samplers.moc"
