// Conditioning and classifier-free guidance (contract section 9), checked against
// independent truth: a conditional card's class c samples exactly as a card holding
// only p(x | c) does (the components or examples of c, written here), W = 0 exactly
// as the unconditional card, W = 1 reproduces the true class distribution, and the
// guided step mixes what the frames record as its conditional and unconditional parts.
#include "test_util.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/trajectory.hpp"

#include <QtTest>

#include <atomic>
#include <cmath>
#include <random>
#include <numbers>

using namespace noisetrail;
using namespace noisetrail::test;

namespace {

// models/ring8.json: 8 equal components N(mu_k, 0.1^2 I), mu_k = 2 (cos k 45deg, sin k 45deg);
// models/ring8-classes.json: class c holds components 2c and 2c + 1.
constexpr double kRadius = 2.0, kStd = 0.1;

std::array<double, 2> ring_mean(int k)
{
    const double a = k * std::numbers::pi / 4;
    return {kRadius * std::cos(a), kRadius * std::sin(a)};
}

std::shared_ptr<Model> ring_classes() { return Model::load(source_path("models/ring8-classes.json")); }

struct Sampled {
    std::vector<float> samples;
    std::vector<std::shared_ptr<const StepFrame>> frames;
    int model_calls = 0;
};

Sampled sample(const std::shared_ptr<const Model>& model, const std::string& sampler, int steps, int batch,
               std::vector<int> classes = {}, std::optional<double> w = {},
               std::optional<std::array<double, 2>> interval = {}, std::optional<std::vector<float>> x_T = {})
{
    RunOptions o;
    o.sampler.sampler = sampler;
    o.sampler.steps = steps;
    o.sampler.guidance.classes = std::move(classes);
    o.sampler.guidance.scale = w;
    o.sampler.guidance.interval = interval;
    o.batch = batch;
    o.seed = 11;
    o.init_noise = std::move(x_T);
    Run run(model, o);
    Sampled s;
    while (!run.done())
        s.frames.push_back(run.step());
    s.samples = run.samples();
    s.model_calls = run.model_calls();
    return s;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size())
        return INFINITY;
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        m = std::max(m, std::abs(double(a[i]) - double(b[i])));
    return m;
}

/// log p(x | c) of the ring's class c at t = 0 (its two components, equal weights).
double log_p_class(double x, double y, int c)
{
    double p = 0;
    for (int k : {2 * c, 2 * c + 1}) {
        const auto m = ring_mean(k);
        const double d2 = (x - m[0]) * (x - m[0]) + (y - m[1]) * (y - m[1]);
        p += 0.5 * std::exp(-d2 / (2 * kStd * kStd)) / (2 * std::numbers::pi * kStd * kStd);
    }
    return std::log(std::max(p, 1e-300));
}

int nearest_component(double x, double y)
{
    int best = 0;
    double bd = INFINITY;
    for (int k = 0; k < 8; ++k) {
        const auto m = ring_mean(k);
        const double d = std::hypot(x - m[0], y - m[1]);
        if (d < bd) {
            bd = d;
            best = k;
        }
    }
    return best;
}

} // namespace

class TestGuidance : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void classSamplesAsItsOwnMixture()
    {
        // p(x | c) of the conditional card is the mixture of c's components, weights
        // renormalised: the same trajectories as a card holding just those two.
        QTemporaryDir dir;
        const auto m2 = ring_mean(2), m3 = ring_mean(3);
        const QByteArray mixture = QString(R"({"weights": [1, 1], "means": [[%1, %2], [%3, %4]], "stds": [0.1, 0.1]})")
                                       .arg(m2[0], 0, 'g', 17).arg(m2[1], 0, 'g', 17)
                                       .arg(m3[0], 0, 'g', 17).arg(m3[1], 0, 'g', 17).toUtf8();
        const auto pair = Model::load(write_file(dir, "pair.json", mixture_card(mixture)));
        const auto cond = sample(ring_classes(), "ddim", 20, 64, {1});
        const auto own = sample(pair, "ddim", 20, 64);
        const double d = max_abs_diff(cond.samples, own.samples);
        qInfo("class 1 vs its two components: max |diff| %.3g", d);
        QVERIFY(d < 1e-4); // float32 evaluation of both (the mixture's default precision)
        // The card's means are the ring's to 6 decimals; the trajectories are compared
        // above, so 1e-4 covers the rounding of the card's numbers too.
    }

    void zeroGuidanceIsTheUnconditionalModel()
    {
        // W = 0: eps = eps_u, the null label, which is the full ring (models/ring8.json).
        const auto ring = Model::load(source_path("models/ring8.json"));
        const auto guided = sample(ring_classes(), "ddim", 20, 64, {1}, 0.0);
        const auto uncond = sample(ring, "ddim", 20, 64);
        const auto null_label = sample(ring_classes(), "ddim", 20, 64); // no class: the null label
        QVERIFY2(max_abs_diff(guided.samples, uncond.samples) < 1e-4,
                 qPrintable(QString::number(max_abs_diff(guided.samples, uncond.samples))));
        QVERIFY(max_abs_diff(null_label.samples, uncond.samples) < 1e-4);
        // A guided step evaluates twice; the unguided runs once per step.
        QCOMPARE(guided.model_calls, 40);
        QCOMPARE(null_label.model_calls, 20);
        QCOMPARE(guided.frames[0]->model_calls, 2);
    }

    void unitGuidanceReproducesTheClassDistribution()
    {
        // DDPM 1000 on the exact model at W = 1, class 1 (components at 90 and 135 degrees):
        // shares, mean and spread within sampling error of the truth.
        const int B = 2000;
        const auto s = sample(ring_classes(), "ddpm", 1000, B, {1}, 1.0);
        std::array<int, 8> count{};
        std::array<double, 8> sq{};
        double mx = 0, my = 0;
        for (int i = 0; i < B; ++i) {
            const double x = s.samples[std::size_t(2 * i)], y = s.samples[std::size_t(2 * i + 1)];
            const int k = nearest_component(x, y);
            ++count[std::size_t(k)];
            const auto m = ring_mean(k);
            sq[std::size_t(k)] += (x - m[0]) * (x - m[0]) + (y - m[1]) * (y - m[1]);
            mx += x / B;
            my += y / B;
        }
        qInfo("W = 1, class 1: components 2 and 3 hold %d and %d of %d; mean (%.3f, %.3f)", count[2], count[3], B, mx,
              my);
        QCOMPARE(count[2] + count[3], B);                       // nothing outside the class
        QVERIFY(std::abs(count[2] / double(B) - 0.5) < 0.05);    // binomial sd 0.011
        const auto m2 = ring_mean(2), m3 = ring_mean(3);
        QVERIFY(std::abs(mx - (m2[0] + m3[0]) / 2) < 0.08);     // sd of the mean 0.016
        QVERIFY(std::abs(my - (m2[1] + m3[1]) / 2) < 0.04);     // sd 0.007
        for (int k : {2, 3}) {
            const double std_k = std::sqrt(sq[std::size_t(k)] / (2.0 * count[std::size_t(k)]));
            qInfo("component %d: std %.4f (truth 0.1)", k, std_k);
            QVERIFY(std::abs(std_k - kStd) < 0.015);
        }
    }

    void guidanceAboveOneLeavesTheClassDistribution()
    {
        // W > 1 samples from p(x | c) p(c | x)^(W - 1), not p(x | c): the samples' mean
        // log-likelihood under the true p(x | c) falls as W grows (the truth is the card's
        // geometry, computed here), and every sample still lands in its class.
        const int B = 1000;
        double last = INFINITY;
        for (double w : {1.0, 3.0, 7.0}) {
            const auto s = sample(ring_classes(), "ddim", 100, B, {1}, w);
            double ll = 0;
            int inside = 0;
            for (int i = 0; i < B; ++i) {
                const double x = s.samples[std::size_t(2 * i)], y = s.samples[std::size_t(2 * i + 1)];
                ll += log_p_class(x, y, 1) / B;
                const int k = nearest_component(x, y);
                inside += k == 2 || k == 3;
            }
            qInfo("W = %g: mean log p(x | c) %.3f, %d of %d in the class", w, ll, inside, B);
            QCOMPARE(inside, B);
            QVERIFY2(ll < last, qPrintable(QString("W = %1: %2 >= %3").arg(w).arg(ll).arg(last)));
            last = ll;
        }
    }

    void framesRecordWhatWasMixed()
    {
        // x0_cond and x0_uncond of a guided run's first step are the x0_hat of the
        // conditional (W = 1) and unconditional runs from the same x_T; x0_hat is their
        // mix. A step outside the guidance interval is the conditional model alone.
        const auto model = ring_classes();
        const auto g = sample(model, "ddim", 10, 8, {2}, 3.0);
        const auto c = sample(model, "ddim", 10, 8, {2}, 1.0);
        const auto u = sample(model, "ddim", 10, 8);
        const StepFrame& f = *g.frames[0];
        QVERIFY(max_abs_diff(f.x0_cond, c.frames[0]->x0_hat) < 1e-5);
        QVERIFY(max_abs_diff(f.x0_uncond, u.frames[0]->x0_hat) < 1e-5);
        for (std::size_t i = 0; i < f.x0_hat.size(); ++i) {
            const double mix = f.x0_uncond[i] + 3.0 * (f.x0_cond[i] - f.x0_uncond[i]);
            QVERIFY2(std::abs(mix - f.x0_hat[i]) < 1e-4, qPrintable(QString::number(mix - f.x0_hat[i])));
        }
        QVERIFY(c.frames[0]->x0_cond.empty()); // W = 1 records nothing extra

        // Interval [0, 450]: the plan's t = 900..500 are conditional only (one call, x0_uncond NaN).
        const auto iv = sample(model, "ddim", 10, 8, {2}, 3.0, std::array<double, 2>{0, 450});
        int guided_steps = 0;
        for (std::size_t k = 0; k < iv.frames.size(); ++k) {
            const StepFrame& fk = *iv.frames[k];
            const bool inside = fk.plan.t <= 450;
            guided_steps += inside;
            QCOMPARE(fk.model_calls, inside ? 2 : 1);
            QCOMPARE(std::isnan(fk.x0_uncond[0]), !inside);
            if (!inside && k < c.frames.size() && k == 0)
                QVERIFY(max_abs_diff(fk.x0_hat, c.frames[0]->x0_hat) < 1e-5);
        }
        QVERIFY(guided_steps > 0 && guided_steps < 10);
        // An interval no step reaches is the conditional model throughout.
        const auto none = sample(model, "ddim", 10, 8, {2}, 3.0, std::array<double, 2>{2000, 3000});
        QVERIFY(max_abs_diff(none.samples, c.samples) < 1e-6);
        QCOMPARE(none.model_calls, 10);
    }

    void theStoreKeepsWhatWasMixed()
    {
        // The frame store (what the window scrubs and sessions save) keeps x0_cond at
        // every step of a guided run and x0_uncond inside the interval only; what it
        // gives back still mixes to the stored x0_hat by the contract's formula.
        const auto model = ring_classes();
        const double W = 3.0;
        const auto g = sample(model, "ddim", 10, 16, {1}, W, std::array<double, 2>{0, 450});
        std::vector<int> ts;
        for (const auto& f : g.frames)
            ts.push_back(f->plan.t);
        Trajectory store({16, 2}, ts, Trajectory::Precision::Half);
        for (const auto& f : g.frames)
            store.append(*f);
        std::vector<float> x0, c, u;
        for (int k = 0; k < store.size(); ++k) {
            const bool inside = ts[std::size_t(k)] <= 450;
            QVERIFY(store.has(k, Field::X0Cond));
            QCOMPARE(store.has(k, Field::X0Uncond), inside);
            store.decode(k, Field::X0Cond, c);
            QVERIFY(max_abs_diff(c, g.frames[std::size_t(k)]->x0_cond) < 4e-3); // half precision, |x| < 4
            if (!inside) {
                QVERIFY_THROWS_EXCEPTION(std::out_of_range, store.decode(k, Field::X0Uncond, u));
                continue;
            }
            store.decode(k, Field::X0Hat, x0);
            store.decode(k, Field::X0Uncond, u);
            for (std::size_t i = 0; i < x0.size(); ++i)
                QVERIFY(std::abs(u[i] + W * (c[i] - u[i]) - x0[i]) < 3e-2);
        }
        // An unguided run stores neither.
        const auto plain = sample(model, "ddim", 10, 16, {1});
        Trajectory unguided({16, 2}, ts, Trajectory::Precision::Half);
        unguided.append(*plain.frames[0]);
        QVERIFY(!unguided.has(0, Field::X0Cond) && !unguided.has(0, Field::X0Uncond));
    }

    void batchedAndSeparateEvaluationsAgree()
    {
        // The mixture evaluates cond and uncond in one call up to 2048 rows and in two
        // above (Denoiser::merging_pays): rows are independent, so 1100 samples' first
        // ten equal a run of those ten alone.
        const auto model = ring_classes();
        const auto big = sample(model, "ddim", 20, 1100, {0, 3}, 3.0);
        RunOptions probe;
        probe.batch = 1100;
        probe.seed = 11;
        Run r(model, probe);
        const std::vector<float> first10(r.x_T().begin(), r.x_T().begin() + 20);
        const auto small = sample(model, "ddim", 20, 10, {0, 3}, 3.0, {}, first10);
        const std::vector<float> big10(big.samples.begin(), big.samples.begin() + 20);
        const double d = max_abs_diff(big10, small.samples);
        qInfo("separate (2 x 1100 rows) vs batched (20 rows): max |diff| %.3g", d);
        QVERIFY(d < 1e-5);
    }

    void empiricalClassIsItsOwnExamples()
    {
        // The labelled 500 digits: class 3 samples as an empirical card of the 50 threes.
        QTemporaryDir dir;
        const NpyArray images = read_npy(source_path("models/data/mnist-heldout-500_images.npy"));
        const NpyArray labels = read_npy(source_path("models/data/mnist-heldout-500_labels.npy"));
        std::vector<float> threes;
        const std::size_t D = 28 * 28;
        for (std::size_t i = 0; i < labels.i64.size(); ++i)
            if (labels.i64[i] == 3)
                threes.insert(threes.end(), images.f32.begin() + long(i * D), images.f32.begin() + long((i + 1) * D));
        const std::int64_t n = static_cast<std::int64_t>(threes.size() / D);
        QCOMPARE(n, std::int64_t(50));
        write_npy(dir.filePath("threes.npy").toStdString(), {n, 1, 28, 28}, threes.data());
        const auto own = Model::load(write_file(
            dir, "threes.json",
            R"({"format": "noisetrail-model/1", "name": "threes", "kind": "empirical", "data_shape": [1, 28, 28],
                "data_range": [-1, 1], "prediction": "epsilon",
                "schedule": {"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "train_steps": 1000},
                "data": "threes.npy"})"));
        const auto cond = sample(Model::load(source_path("models/mnist-500-classes.json")), "ddim", 10, 3, {3});
        const auto ref = sample(own, "ddim", 10, 3);
        const double d = max_abs_diff(cond.samples, ref.samples);
        qInfo("class 3 vs the 50 threes: max |diff| %.3g", d);
        QVERIFY(d < 1e-6);
    }

    void torchscriptTakesTheClass()
    {
        // A conditional TorchScript card is called as model(x_t, t, c), the null label
        // len(classes) for the unconditional prediction (tests/fixtures/torchscript,
        // make_fixtures.py: class 0 is N(mu, 0.3^2 I), class 1 N(-mu, ...), null their mixture).
        QTemporaryDir dir;
        const CodeTrust trust{.all = true};
        const auto ts = Model::load(source_path("tests/fixtures/torchscript/gaussian_cond.json"), "cpu", trust);
        QCOMPARE(ts->card().classes, (std::vector<std::string>{"plus", "minus"}));
        const auto plus = Model::load(source_path("tests/fixtures/torchscript/gaussian_eps.json"), "cpu", trust);
        const auto minus = Model::load(write_file(dir, "minus.json",
                                                  mixture_card(R"({"means": [[-1, 0.5]], "stds": [0.3]})")));
        const auto both = Model::load(write_file(dir, "both.json",
                                                 mixture_card(R"({"means": [[1, -0.5], [-1, 0.5]], "stds": [0.3]})")));
        const auto check = [&](std::vector<int> classes, const std::shared_ptr<Model>& truth, const char* what) {
            const auto a = sample(ts, "ddim", 20, 32, classes);
            const auto b = sample(truth, "ddim", 20, 32);
            const double d = max_abs_diff(a.samples, b.samples);
            qInfo("TorchScript %s vs its truth: max |diff| %.3g", what, d);
            QVERIFY2(d < 1e-4, what);
        };
        check({0}, plus, "class plus");
        check({1}, minus, "class minus");
        check({}, both, "null label");
        // Guided: the two calls' mix, W = 0 is the null label's model.
        const auto w0 = sample(ts, "ddim", 20, 32, {0}, 0.0);
        QVERIFY(max_abs_diff(w0.samples, sample(both, "ddim", 20, 32).samples) < 1e-4);
    }

    void badRequestsAreOneClearError()
    {
        const auto ring = Model::load(source_path("models/ring8.json"));
        const auto expect = [](const std::function<void()>& f, std::initializer_list<const char*> parts) {
            try {
                f();
                QFAIL("expected an InputError");
            } catch (const InputError& e) {
                for (const char* p : parts)
                    QVERIFY2(QString(e.what()).contains(p), e.what());
            }
        };
        expect([&] { sample(ring, "ddim", 5, 4, {1}); }, {"unconditional", "classes"});
        expect([&] { sample(ring_classes(), "ddim", 5, 4, {4}); }, {"--class 4", "0..3"});
        expect([&] { sample(ring_classes(), "ddim", 5, 4, {}, 3.0); }, {"--guidance", "class"});
        expect([&] { sample(ring_classes(), "ddim", 5, 4, {1}, 3.0, std::array<double, 2>{5, 1}); },
               {"--guidance-interval", "LO <= HI"});
        // Card fields: mixture.classes must cover every component with a known class.
        QTemporaryDir dir;
        QByteArray card = R"({"format": "noisetrail-model/1", "name": "c", "kind": "gaussian-mixture",
            "data_shape": [2], "classes": ["a", "b"], "mixture": {"means": [[0, 0], [1, 1]], "stds": [0.1],
            "classes": [0, 2]}})";
        expect([&] { Model::load(write_file(dir, "c1.json", card)); }, {"mixture.classes", "0..1"});
        card.replace("[0, 2]", "[0, 0]");
        expect([&] { Model::load(write_file(dir, "c2.json", card)); }, {"class 'b'", "no mixture component"});
        card.replace(R"("classes": ["a", "b"], )", "");
        expect([&] { Model::load(write_file(dir, "c3.json", card)); }, {"mixture.classes", "'classes'"});
    }

    void recipeKeysRoundTrip()
    {
        QTemporaryDir dir;
        const std::string path = write_file(dir, "r.run.json", R"({"format": "noisetrail-run/1",
            "model": ")" + QByteArray::fromStdString(source_path("models/ring8-classes.json")) + R"(",
            "panels": [{"sampler": "ddim", "steps": 20, "class": 2, "guidance": 3, "guidance_interval": [100, 800]},
                       {"sampler": "ddim", "steps": 20, "classes": [0, 1]}]})");
        const RunSetRecipe r = read_run_recipe(path);
        QCOMPARE(r.panels[0].sampler.guidance.classes, std::vector<int>{2});
        QCOMPARE(*r.panels[0].sampler.guidance.scale, 3.0);
        QCOMPARE((*r.panels[0].sampler.guidance.interval)[1], 800.0);
        QCOMPARE(r.panels[1].sampler.guidance.classes, (std::vector<int>{0, 1}));
        const std::string again = dir.filePath("again.run.json").toStdString();
        write_run_recipe(again, r);
        QVERIFY(read_run_recipe(again) == r);
        // guidance without a class is named by its field
        const std::string bad = write_file(dir, "bad.run.json", R"({"format": "noisetrail-run/1", "model": "x.json",
            "panels": [{"sampler": "ddim", "guidance": 3}]})");
        try {
            read_run_recipe(bad);
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("panels[0]") && QString(e.what()).contains("class"), e.what());
        }
    }

    void tradeOffIsMeasuredAgainstTheTruth()
    {
        // compare::run_guidance (the CLI's `guidance` and the GUI's Compare Guidance
        // Scales) on the exact ring: W = 0 is the unconditional model, so a quarter of
        // each class's samples are read as the class (the classes' priors are equal);
        // W = 1 samples p(x | c), whose mean log-density is the class's negative entropy,
        // estimated here from exact draws of the test's own mixture.
        const auto model = ring_classes();
        compare::GuidanceOptions o;
        o.scales = {0, 1};
        o.samples = 300;
        o.sampler.sampler = "ddpm"; // samples p(x | c) itself at W = 1 (DDIM's are a little tighter)
        o.sampler.steps = 1000;
        int calls = 0, last_total = 0;
        const auto r = compare::run_guidance(*model, o, [&](int done, int total) {
            ++calls;
            last_total = total;
            QCOMPARE(done, calls);
        });
        QVERIFY(r.exact);
        QCOMPARE(last_total, 8); // 2 scales x 4 classes
        QCOMPARE(r.rows.size(), std::size_t(2));
        const auto at = [&](int row, const char* key) { return r.rows[std::size_t(row)].values.at(key); };
        QVERIFY2(std::abs(at(0, "accuracy") - 0.25) < 0.06, qPrintable(QString::number(at(0, "accuracy"))));
        QVERIFY(at(1, "accuracy") > 0.99);
        // The truth: log p(x | c) of exact draws of class c (two components N(mu_k, 0.1^2 I)).
        std::mt19937 rng(5);
        std::normal_distribution<double> g;
        double truth = 0;
        const int n = 4000;
        for (int i = 0; i < n; ++i) {
            const int c = i % 4, k = 2 * c + (i / 4) % 2;
            const auto mu = ring_mean(k);
            truth += log_p_class(mu[0] + kStd * g(rng), mu[1] + kStd * g(rng), c) / n;
        }
        QVERIFY2(std::abs(at(1, "log_likelihood") - truth) < 0.25,
                 qPrintable(QString("W=1: %1, truth %2").arg(at(1, "log_likelihood")).arg(truth)));
        QCOMPARE(r.first_class_samples.size(), std::size_t(2));

        // Guidance above 1 with a deterministic sampler leaves p(x | c): lower likelihood,
        // less spread, more certainly of its class.
        o.scales = {1, 7};
        o.sampler.sampler = "ddim";
        o.sampler.steps = 50;
        const auto d = compare::run_guidance(*model, o);
        const auto dat = [&](int row, const char* key) { return d.rows[std::size_t(row)].values.at(key); };
        QVERIFY(dat(1, "accuracy") > 0.99);
        QVERIFY(dat(1, "log_likelihood") < dat(0, "log_likelihood") - 0.5);
        QVERIFY(dat(1, "pairwise_distance") < dat(0, "pairwise_distance"));
        QVERIFY(dat(1, "class_log_odds") > dat(0, "class_log_odds"));

        // An unconditional card is one clear error.
        QVERIFY_THROWS_EXCEPTION(InputError, compare::run_guidance(*Model::load(source_path("models/ring8.json")), o));
        // Cancelled before it starts: no rows, and it says so.
        std::atomic<bool> stop{true};
        QVERIFY(compare::run_guidance(*model, o, {}, &stop).cancelled);
    }

    void cliSamplesAndDumpsGuidedRuns()
    {
        QTemporaryDir dir;
        const QString dump = dir.filePath("dump");
        const auto r = run_cli({"sample", "--model", QString::fromStdString(source_path("models/ring8-classes.json")),
                                "--class", "2", "--guidance", "3", "--steps", "50", "--sampler", "ddim", "--batch", "32",
                                "--dump", dump});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const NpyArray cond = read_npy((dump + "/x0_cond.npy").toStdString());
        const NpyArray uncond = read_npy((dump + "/x0_uncond.npy").toStdString());
        QCOMPARE(cond.shape, (std::vector<std::int64_t>{50, 32, 2}));
        QCOMPARE(uncond.shape, cond.shape);
        QFile stats(dump + "/stats.csv");
        QVERIFY(stats.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = stats.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 51);
        const int calls = int(lines[0].split(',').indexOf("model_calls"));
        QVERIFY(calls >= 0);
        QCOMPARE(lines[1].split(',')[calls], QByteArray("2")); // a guided step counts 2 model calls
        const auto bad = run_cli({"sample", "--model", QString::fromStdString(source_path("models/ring8.json")),
                                  "--class", "2"});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains("unconditional"), qPrintable(bad.err));
        const auto no_class = run_cli({"sample", "--model",
                                       QString::fromStdString(source_path("models/ring8-classes.json")), "--guidance", "3"});
        QCOMPARE(no_class.code, 2);
        QVERIFY2(no_class.err.contains("--guidance"), qPrintable(no_class.err));
    }
};

QTEST_GUILESS_MAIN(TestGuidance)
#include "tst_guidance.moc"
