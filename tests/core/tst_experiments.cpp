// The experiments of issue 13 against closed forms and known properties:
// DDIM inversion on an exact Gaussian (Song et al. 2021, sec. 5.4), slerp
// (App. D), consistency (sec. 5.2) and decision time on exact mixtures.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/figure.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace noisetrail;
namespace ex = noisetrail::experiments;

class TestExperiments : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gaussian_inversion_matches_probability_flow();
    void gaussian_reconstruction_error_falls_with_steps();
    void ddpm_reconstruction_is_a_fresh_sample();
    void digit_reconstruction_improves_with_steps();
    void slerp_endpoints_and_norm();
    void interpolation_path_and_determinism();
    void consistency_ddim_beats_ddpm();
    void early_stop_preview_is_not_a_few_step_sample();
    void decision_time_on_separated_mixture();
    void sampler_lists_round_trip();
    void sampler_labels_follow_capabilities();
    void consistency_report_holds_the_run();
    void cancel_and_bad_input();
};

namespace {

// models/gaussian-2d.json: N(mu, s^2 I), mu = (1, -0.5), s = 0.5.
const double kMu[2] = {1.0, -0.5};
const double kS = 0.5;

std::vector<float> gaussian_examples()
{
    // Points at 0, 1 and 3 standard deviations from the mean, in several directions.
    std::vector<float> x;
    const double offsets[][2] = {{0, 0}, {1, 0}, {0, -1}, {0.7, 0.7}, {-3, 0}, {2, -2}};
    for (const auto& o : offsets) {
        x.push_back(float(kMu[0] + kS * o[0]));
        x.push_back(float(kMu[1] + kS * o[1]));
    }
    return x;
}

double mean_of(const std::vector<double>& v)
{
    double s = 0;
    for (double x : v)
        s += x;
    return s / v.size();
}

std::shared_ptr<Model> gaussian_model()
{
    return Model::load(test::source_path("models/gaussian-2d.json"));
}

} // namespace

void TestExperiments::gaussian_inversion_matches_probability_flow()
{
    // For a Gaussian the probability-flow ODE keeps the standardised deviation
    // (x_t - sqrt(ab) mu) / sqrt(ab s^2 + 1 - ab) constant, so the exact encoding of x_0 is
    //   x_T = sqrt(ab_T) mu + sqrt(ab_T s^2 + 1 - ab_T) / s (x_0 - mu),
    // at ab_T = alpha_bar of the plan's first (largest) timestep.
    const auto model = gaussian_model();
    const std::vector<float> x0 = gaussian_examples();
    const int n = static_cast<int>(x0.size() / 2);
    SamplerConfig c;
    c.sampler = "ddim";
    c.steps = 1000;
    const SamplingPlan plan = make_plan(model->schedule(), c);
    const std::vector<double> xT = ex::ddim_invert(*model, plan, x0, n);
    QCOMPARE(int(xT.size()), 2 * n);
    const double ab = plan.steps.front().alpha_bar;
    const double scale = std::sqrt(ab * kS * kS + 1 - ab) / kS;
    for (int i = 0; i < n; ++i)
        for (int d = 0; d < 2; ++d) {
            const double want = std::sqrt(ab) * kMu[d] + scale * (x0[2 * i + d] - kMu[d]);
            // Both directions are first-order (Euler) steps: ~5e-3 off at S = 1000 on this unit scale.
            QVERIFY2(std::abs(xT[2 * i + d] - want) < 1e-2,
                     qPrintable(QString("example %1 dim %2: %3 vs %4").arg(i).arg(d).arg(xT[2 * i + d]).arg(want)));
        }
}

void TestExperiments::gaussian_reconstruction_error_falls_with_steps()
{
    // Inversion then reconstruction is exact in the limit of small steps; with S steps both
    // directions are first-order methods, so the position error shrinks ~1/S and the MSE ~1/S^2.
    const auto model = gaussian_model();
    const std::vector<float> x0 = gaussian_examples();
    const int n = static_cast<int>(x0.size() / 2);
    double prev = 0;
    for (int S : {10, 100, 1000}) {
        ex::InversionOptions o;
        o.steps = S;
        const ex::Inversion r = ex::invert_and_reconstruct(*model, x0, n, o);
        QCOMPARE(int(r.mse.size()), n);
        QCOMPARE(int(r.x_T.size()), 2 * n);
        const double mse = mean_of(r.mse);
        qInfo("S = %d: mean reconstruction MSE %.3g", S, mse);
        if (S == 1000)
            QVERIFY2(mse < 2e-5, qPrintable(QString::number(mse))); // rms error < 0.0045 = 0.9% of s
        if (prev > 0)
            QVERIFY2(mse < prev / 20, qPrintable(QString("S = %1: %2 not well below %3").arg(S).arg(mse).arg(prev)));
        prev = mse;
        // The mse column is the mean squared error per dimension, computed here independently.
        for (int i = 0; i < n; ++i) {
            const double dx = r.reconstruction[2 * i] - x0[2 * i], dy = r.reconstruction[2 * i + 1] - x0[2 * i + 1];
            QVERIFY(std::abs(r.mse[i] - (dx * dx + dy * dy) / 2) <= 1e-9 + 1e-6 * r.mse[i]);
        }
    }
}

void TestExperiments::ddpm_reconstruction_is_a_fresh_sample()
{
    // DDPM from the inverted x_T is a fresh sample (its noise is not the encoding's): its
    // error is of the order of the data's variance, 2 s^2 per dimension on average, not ~0.
    const auto model = gaussian_model();
    std::vector<float> x0;
    for (int i = 0; i < 200; ++i) {
        x0.push_back(float(kMu[0] + kS * std::sin(0.37 * i)));
        x0.push_back(float(kMu[1] + kS * std::cos(0.91 * i)));
    }
    ex::InversionOptions o;
    o.steps = 100;
    o.ddpm = true;
    o.seed = 3;
    const ex::Inversion r = ex::invert_and_reconstruct(*model, x0, 200, o);
    QCOMPARE(int(r.ddpm_mse.size()), 200);
    const double ddim = mean_of(r.mse), ddpm = mean_of(r.ddpm_mse);
    qInfo("S = 100: DDIM %.3g, DDPM %.3g", ddim, ddpm);
    QVERIFY(ddim < 1e-3);
    QVERIFY2(ddpm > 0.05 && ddpm < 1.0, qPrintable(QString::number(ddpm)));
}

void TestExperiments::digit_reconstruction_improves_with_steps()
{
    // The trained digit UNet on four bundled held-out digits.
    const auto model = Model::load(test::source_path("models/mnist-unet.json"));
    const NpyArray data = read_npy(test::source_path("models/data/mnist-heldout-500_images.npy"));
    const int n = 4;
    const std::vector<float> x0(data.f32.begin(), data.f32.begin() + n * 784);
    std::vector<double> mse;
    for (int S : {10, 100, 1000}) {
        ex::InversionOptions o;
        o.steps = S;
        mse.push_back(mean_of(ex::invert_and_reconstruct(*model, x0, n, o).mse));
        qInfo("digits, S = %d: mean reconstruction MSE %.4g", S, mse.back());
    }
    QVERIFY2(mse[1] < mse[0], qPrintable(QString("%1 vs %2").arg(mse[1]).arg(mse[0])));
    QVERIFY2(mse[2] < mse[0], qPrintable(QString("%1 vs %2").arg(mse[2]).arg(mse[0])));
    QVERIFY(mse[2] < 0.01); // pixels in [-1, 1]: a faithful reconstruction
}

void TestExperiments::slerp_endpoints_and_norm()
{
    // |z| of z ~ N(0, I_D) follows the chi distribution with D degrees of freedom:
    // mean ~ sqrt(D - 1/2), std ~ 1/sqrt(2). Slerp stays within a few stds; the
    // linear midpoint (|z| ~ sqrt(D/2)) does not.
    const int D = 784;
    const std::vector<float> z = initial_noise({D}, 2, 11);
    const std::vector<double> z0(z.begin(), z.begin() + D), z1(z.begin() + D, z.end());
    const double mean = std::sqrt(D - 0.5), sd = 1 / std::sqrt(2.0);
    const auto norm = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v)
            s += x * x;
        return std::sqrt(s);
    };
    QCOMPARE(ex::slerp(z0, z1, 0.0), z0);
    for (double a = 0.0; a <= 1.0 + 1e-9; a += 0.05) {
        const double r = norm(ex::slerp(z0, z1, a));
        QVERIFY2(std::abs(r - mean) < 4 * sd, qPrintable(QString("a = %1: |z| = %2").arg(a).arg(r)));
    }
    const std::vector<double> end = ex::slerp(z0, z1, 1.0);
    for (int i = 0; i < D; ++i)
        QVERIFY(std::abs(end[i] - z1[i]) < 1e-12);
    std::vector<double> lerp(D);
    for (int i = 0; i < D; ++i)
        lerp[i] = 0.5 * (z0[i] + z1[i]);
    QVERIFY(std::abs(norm(lerp) - mean) > 4 * sd);
}

void TestExperiments::interpolation_path_and_determinism()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    const std::vector<float> z = initial_noise({2}, 2, 5);
    ex::InterpolationOptions o;
    o.points = 5;
    SamplerConfig ddim;
    ddim.sampler = "ddim";
    ddim.steps = 20;
    SamplerConfig ddpm;
    ddpm.steps = 100;
    o.samplers = {ddim, ddpm};
    const std::span<const float> z0(z.data(), 2), z1(z.data() + 2, 2);
    const ex::Interpolation r = ex::interpolate(*model, z0, z1, o);
    QCOMPARE(int(r.alphas.size()), 5);
    QCOMPARE(r.alphas.front(), 0.0);
    QCOMPARE(r.alphas.back(), 1.0);
    QCOMPARE(int(r.samples.size()), 2);
    QCOMPARE(int(r.samples[0].size()), 10);
    for (int d = 0; d < 2; ++d) {
        QVERIFY(std::abs(r.x_T[d] - z0[d]) < 1e-6);
        QVERIFY(std::abs(r.x_T[8 + d] - z1[d]) < 1e-6);
    }
    // Each end of the DDIM strip is exactly the DDIM sample of that noise alone.
    RunOptions ro;
    ro.sampler = ddim;
    ro.init_noise = std::vector<float>(z0.begin(), z0.end());
    const RunResult single = run_sampler(*model, ro);
    QVERIFY(std::abs(single.samples[0] - r.samples[0][0]) < 1e-6 && std::abs(single.samples[1] - r.samples[0][1]) < 1e-6);
    // Deterministic for the same inputs.
    QCOMPARE(ex::interpolate(*model, z0, z1, o).samples, r.samples);
    // Neighbour change: RMS per dimension between consecutive rows, (0,0) -> (3,4) -> (3,4).
    const std::vector<float> rows{0, 0, 3, 4, 3, 4};
    const std::vector<double> change = ex::neighbour_change(rows, 3);
    QCOMPARE(int(change.size()), 2);
    QCOMPARE(change[0], std::sqrt(25.0 / 2));
    QCOMPARE(change[1], 0.0);
}

void TestExperiments::consistency_ddim_beats_ddpm()
{
    // DDIM paper sec. 5.2: with eta = 0 the same x_T decodes to about the same sample
    // whatever S; DDPM's samples depend on each run's own noise.
    const auto model = Model::load(test::source_path("models/ring8.json"));
    ex::ConsistencyOptions o;
    SamplerConfig ddim;
    ddim.sampler = "ddim";
    SamplerConfig ddpm;
    o.samplers = {ddim, ddpm};
    o.batch = 64;
    o.seed = 1;
    const ex::Consistency r = ex::consistency(*model, o);
    QCOMPARE(r.space, ex::DistanceSpace::Coordinates);
    QCOMPARE(int(r.distance.size()), 2);
    QCOMPARE(r.distance[0].back(), 0.0);
    QCOMPARE(r.distance[1].back(), 0.0);
    for (std::size_t i = 0; i + 1 < r.steps.size(); ++i) {
        qInfo("S = %d: DDIM %.3f, DDPM %.3f", r.steps[i], r.distance[0][i], r.distance[1][i]);
        QVERIFY2(r.distance[0][i] < 0.25 * r.distance[1][i],
                 qPrintable(QString("S = %1: %2 vs %3").arg(r.steps[i]).arg(r.distance[0][i]).arg(r.distance[1][i])));
    }
    // Independent check of one entry: the mean |x_S - x_1000| over the batch.
    double d = 0;
    const auto& a = r.samples[1][0];
    const auto& b = r.samples[1].back();
    for (int i = 0; i < 64; ++i)
        d += std::hypot(double(a[2 * i]) - b[2 * i], double(a[2 * i + 1]) - b[2 * i + 1]);
    QVERIFY(std::abs(d / 64 - r.distance[1][0]) < 1e-9);
}

void TestExperiments::early_stop_preview_is_not_a_few_step_sample()
{
    // After 10 of 1000 DDIM steps (t = 990, alpha_bar ~ 5e-5) x0_hat is E[x_0 | x_t], close to
    // the mixture's mean (the origin for the ring of radius 2), while a 10-step run ends on the ring.
    const auto model = Model::load(test::source_path("models/ring8.json"));
    ex::ConsistencyOptions o;
    SamplerConfig ddim;
    ddim.sampler = "ddim";
    o.samplers = {ddim};
    o.steps = {10, 1000};
    o.batch = 64;
    const ex::Consistency r = ex::consistency(*model, o);
    QCOMPARE(r.preview_t[0][0], 990);
    QCOMPARE(r.preview_t[0][1], 0);
    QCOMPARE(r.previews[0][1], r.samples[0][1]); // the last step lands on x0_hat
    double preview = 0, sample = 0;
    for (int i = 0; i < 64; ++i) {
        preview += std::hypot(r.previews[0][0][2 * i], r.previews[0][0][2 * i + 1]) / 64;
        sample += std::hypot(r.samples[0][0][2 * i], r.samples[0][0][2 * i + 1]) / 64;
    }
    qInfo("mean radius: preview after 10 of 1000 steps %.3f, 10-step samples %.3f", preview, sample);
    QVERIFY(preview < 0.5);
    QVERIFY(std::abs(sample - 2.0) < 0.5);
    QVERIFY(r.preview_distance[0][0] > 1.0);
}

void TestExperiments::decision_time_on_separated_mixture()
{
    QTemporaryDir dir;
    const auto card = test::write_file(
        dir, "two.json", test::mixture_card(R"({"weights": [0.5, 0.5], "means": [[-4, 0], [4, 0]], "stds": [0.2]})"));
    const auto model = Model::load(card);
    const auto assigner = ex::Assigner::for_model(*model);
    QVERIFY(assigner);
    QCOMPARE(assigner->classes(), 2);
    for (const char* name : {"ddpm", "ddim"}) {
        RunOptions ro;
        ro.sampler.sampler = name;
        ro.batch = 64;
        ro.seed = 7;
        ro.init_noise = initial_noise({2}, 64, 7); // as ex::decision gives every panel the same x_T
        ex::DecisionTracker tracker(*assigner);
        const RunResult run = run_sampler(*model, ro, [&](std::shared_ptr<const StepFrame> f) { tracker.add(*f); });
        const ex::DecisionTrace tr = tracker.result();
        const int S = run.plan.size(), B = 64;
        QCOMPARE(int(tr.timesteps.size()), S);
        QCOMPARE(int(tr.assignment.size()), S * B);
        const std::vector<int> fin = tr.final_assignment();
        // ex::decision runs the same from the seed's x_T, as a panel of several.
        ex::DecisionOptions dop;
        dop.panels = {ro.sampler};
        dop.batch = B;
        dop.seed = 7;
        const ex::Decision dec = ex::decision(*model, *assigner, dop);
        QCOMPARE(int(dec.traces.size()), 1);
        QCOMPARE(dec.traces[0].assignment, tr.assignment);
        QCOMPARE(dec.samples[0], run.samples);
        QCOMPARE(int(dec.paths[0].size()), (S + 1) * B * 2); // x_t of every step, then x_0
        for (int b = 0; b < B; ++b) {
            // The final assignment is the side of the final sample (means at x = -4 and +4).
            QCOMPARE(fin[b], run.samples[2 * b] < 0 ? 0 : 1);
            // Decision t is a timestep of the plan, the one of decision_step.
            QCOMPARE(tr.decision_t[b], run.plan.steps[tr.decision_step[b]].t);
            // From the decision on the label is the final one; just before it, it was not.
            for (int k = tr.decision_step[b]; k < S; ++k)
                QCOMPARE(tr.assignment[k * B + b], fin[b]);
            if (tr.decision_step[b] > 0)
                QVERIFY(tr.assignment[(tr.decision_step[b] - 1) * B + b] != fin[b]);
        }
    }
    // The summary of a hand-made trace: decision t 900, 100, 500 (sample 0 never changed).
    ex::DecisionTrace hand;
    hand.decision_t = {900, 100, 500};
    hand.decision_step = {0, 8, 4};
    const ex::DecisionSummary sum = ex::summarise(hand);
    QCOMPARE(sum.median_t, 500);
    QCOMPARE(sum.mean_t, 500.0);
    QCOMPARE(sum.decided_at_first_step, 1.0 / 3.0);
    // An empirical 2-D card has no components: no assigner.
    QVERIFY(!ex::Assigner::for_model(*Model::load(test::source_path("models/two-moons.json"))));
    // Image models use the digit classifier next to the card: a bundled digit keeps its label.
    const auto digits = Model::load(test::source_path("models/mnist-500-exact.json"));
    const auto by_class = ex::Assigner::for_model(*digits);
    QVERIFY(by_class && by_class->uses_classifier());
    QCOMPARE(by_class->classes(), 10);
    const NpyArray images = read_npy(test::source_path("models/data/mnist-heldout-500_images.npy"));
    const NpyArray labels = read_npy(test::source_path("models/data/mnist-heldout-500_labels.npy"));
    const std::vector<float> some(images.f32.begin() + 120 * 784, images.f32.begin() + 123 * 784);
    const std::vector<int> got = by_class->assign(some, 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(std::int64_t(got[i]), labels.i64[120 + i]);
    // A classifier that is named but missing is an error naming it.
    QVERIFY_THROWS_EXCEPTION(InputError, ex::Assigner::for_model(*digits, "/nonexistent/classifier.json"));
}

void TestExperiments::sampler_lists_round_trip()
{
    SamplerConfig base;
    base.spacing = Spacing::Trailing;
    const auto list = ex::parse_sampler_list("ddim:50,ddpm,ddim:20:0.5", base);
    QCOMPARE(int(list.size()), 3);
    QCOMPARE(list[0].sampler, std::string("ddim"));
    QCOMPARE(list[0].steps, 50);
    QCOMPARE(list[1].sampler, std::string("ddpm"));
    QCOMPARE(list[1].steps, 0); // the sampler's default: T for DDPM
    QCOMPARE(list[2].eta, 0.5);
    QCOMPARE(list[2].spacing, Spacing::Trailing);
    QCOMPARE(sampler_label(list[0], 1000, LabelForm::Spec), std::string("ddim:50:0"));
    QCOMPARE(sampler_label(list[1], 1000, LabelForm::Spec), std::string("ddpm:1000"));
    QCOMPARE(sampler_label(list[2], 1000, LabelForm::Spec), std::string("ddim:20:0.5"));
    QCOMPARE(ex::parse_sampler_list(sampler_label(list[2], 1000, LabelForm::Spec))[0].eta, 0.5);
    for (const char* bad : {"", ",", "ddim:x", "ddim:10:-1", ":10", "ddim:1:2:3"})
        QVERIFY_THROWS_EXCEPTION(InputError, ex::parse_sampler_list(bad));
}

void TestExperiments::sampler_labels_follow_capabilities()
{
    // Every registered sampler: the title form names it by its title and shows eta exactly
    // when the sampler uses it; the spec form reads back as the same configuration.
    for (const SamplerInfo& info : samplers()) {
        SamplerConfig c;
        c.sampler = info.name;
        c.steps = 25;
        c.eta = info.uses_eta ? 0.5 : 0.0;
        const std::string title = sampler_label(c, 1000);
        QVERIFY2(title.rfind(info.title + " 25", 0) == 0, title.c_str());
        QCOMPARE(title.find("eta 0.5") != std::string::npos, info.uses_eta);
        const std::string over_s = sampler_label(c, std::nullopt); // one sampler over several S
        QCOMPARE(over_s, info.title + (info.uses_eta ? " eta 0.5" : ""));
        const std::string spec = sampler_label(c, 1000, LabelForm::Spec);
        QVERIFY2(spec.find(',') == std::string::npos, spec.c_str()); // a CSV field
        const auto back = ex::parse_sampler_list(spec);
        QCOMPARE(int(back.size()), 1);
        QCOMPARE(back[0].sampler, info.name);
        QCOMPARE(back[0].steps, 25);
        QCOMPARE(back[0].eta, c.eta);
    }
}

void TestExperiments::consistency_report_holds_the_run()
{
    // The report the CLI writes and the GUI shows: one CSV row per (sampler, S) holding the
    // run's numbers, and one point panel per sampler holding every sample.
    const auto model = Model::load(test::source_path("models/ring8.json"));
    ex::ConsistencyOptions o;
    SamplerConfig ddim;
    ddim.sampler = "ddim";
    SamplerConfig ddpm;
    o.samplers = {ddim, ddpm};
    o.steps = {5, 20};
    o.batch = 8;
    const ex::Consistency r = ex::consistency(*model, o);
    const figure::Report rep = ex::consistency_report(*model, r);
    QCOMPARE(int(rep.tables.size()), 2);
    const figure::Table& t = rep.tables[0];
    QCOMPARE(t.name, std::string("consistency"));
    QCOMPARE(t.csv().substr(0, t.csv().find('\n')), std::string("sampler,steps,mean_distance,space"));
    QCOMPARE(int(t.rows.size()), 4);
    for (std::size_t v = 0; v < 2; ++v)
        for (std::size_t i = 0; i < 2; ++i) {
            const auto& row = t.rows[v * 2 + i];
            const SamplerConfig c = ex::parse_sampler_list(row[0])[0];
            QCOMPARE(c.sampler, o.samplers[v].sampler);
            QCOMPARE(c.steps, o.steps[i]);
            QCOMPARE(std::stoi(row[1]), o.steps[i]);
            QVERIFY(std::abs(std::stod(row[2]) - r.distance[v][i]) <= 1e-8 * std::max(1.0, r.distance[v][i]));
            QCOMPARE(row[3], std::string("coordinates"));
        }
    QCOMPARE(rep.tables[1].name, std::string("early_stop"));
    QCOMPARE(std::stoi(rep.tables[1].rows[0][2]), r.preview_t[0][0]);
    QCOMPARE(int(rep.figures.size()), 2);
    const figure::Figure& f = rep.figures[0];
    QCOMPARE(f.name, std::string("consistency"));
    QVERIFY(f.rows.empty());
    QCOMPARE(int(f.panels.size()), 2);
    QCOMPARE(int(f.legend.size()), 2);
    for (std::size_t v = 0; v < 2; ++v) {
        std::size_t points = 0;
        for (const figure::Series& s : f.panels[v].series) {
            if (s.kind != figure::Series::Kind::Dots)
                continue;
            points += s.xy.size() / 2;
            for (float x : s.xy) // the panel's square range covers every point
                QVERIFY(x >= f.panels[v].lo && x <= f.panels[v].hi);
        }
        QCOMPARE(points, std::size_t(2 * 8));
    }
}

void TestExperiments::cancel_and_bad_input()
{
    const auto model = gaussian_model();
    const std::vector<float> x0 = gaussian_examples();
    std::atomic<bool> cancel{true};
    ex::InversionOptions o;
    o.steps = 50;
    int calls = 0;
    const ex::Inversion r =
        ex::invert_and_reconstruct(*model, x0, 6, o, [&](const ex::Progress&) { ++calls; }, &cancel);
    QVERIFY(r.cancelled);
    QCOMPARE(calls, 1); // stopped after the first model call
    QVERIFY_THROWS_EXCEPTION(InputError, ex::invert_and_reconstruct(*model, x0, 5, o));
    o.steps = 5000;
    QVERIFY_THROWS_EXCEPTION(InputError, ex::invert_and_reconstruct(*model, x0, 6, o));
    ex::ConsistencyOptions c;
    c.samplers = {SamplerConfig{}};
    c.steps = {50, 10};
    QVERIFY_THROWS_EXCEPTION(InputError, ex::consistency(*model, c));
    // Quadratic spacing has fewer than 1000 distinct timesteps at S = 1000: no preview at step 1000.
    c.samplers[0].sampler = "ddim";
    c.samplers[0].spacing = Spacing::Quadratic;
    c.steps = {10, 1000};
    QVERIFY_THROWS_EXCEPTION(InputError, ex::consistency(*model, c));
}

QTEST_GUILESS_MAIN(TestExperiments)
#include "tst_experiments.moc"
