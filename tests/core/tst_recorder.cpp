// The recorder (issue 18): which steps are measured (the rule from its
// definition), each frame's metrics against values computed here by hand
// (batch std, pairwise distances, mixture coverage of points placed on known
// components, Vendi of two clusters in closed form, classes by the
// classifier's own argmax), a whole run recorded into its stores, errors, and
// the stored metric names that `session info --json` lists.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/run_recipe.hpp"

#include <QtTest/QtTest>

#include <atomic>
#include <cmath>
#include <map>
#include <set>

using namespace noisetrail;
using namespace noisetrail::test;

namespace {

bool near(double a, double b, double tol) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

/// A frame whose x0_hat is `x0` ([B, *data_shape] = shape).
StepFrame frameOf(std::vector<float> x0, std::vector<std::int64_t> shape, int step = 0, int steps = 1)
{
    StepFrame f;
    f.step = step;
    f.steps = steps;
    f.shape = std::move(shape);
    f.x0_hat = std::move(x0);
    f.x_t = f.x_prev = f.x0_hat;
    f.eps_hat.assign(f.x0_hat.size(), 0.f);
    return f;
}

/// Mean over coordinates of the population std across the batch, by hand.
double batchStd(const std::vector<float>& x, int B)
{
    const std::size_t D = x.size() / std::size_t(B);
    double sum = 0;
    for (std::size_t c = 0; c < D; ++c) {
        double mean = 0, var = 0;
        for (int b = 0; b < B; ++b)
            mean += x[std::size_t(b) * D + c];
        mean /= B;
        for (int b = 0; b < B; ++b)
            var += std::pow(x[std::size_t(b) * D + c] - mean, 2);
        sum += std::sqrt(var / B);
    }
    return sum / double(D);
}

/// Shannon entropy (nats) of a histogram.
double entropy(const std::vector<int>& counts)
{
    double n = 0, h = 0;
    for (int c : counts)
        n += c;
    for (int c : counts)
        if (c > 0)
            h -= c / n * std::log(c / n);
    return h;
}

const ModelCard& ring8()
{
    static const ModelCard card = read_model_card(source_path("models/ring8.json"));
    return card;
}

} // namespace

class TestRecorder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void measured_steps_follow_the_rule_data();
    void measured_steps_follow_the_rule();
    void points_on_known_components();
    void raw_vectors_without_mixture_or_classifier();
    void metric_sources_of_cards();
    void images_measured_with_the_classifier();
    void a_run_recorded_into_its_stores();
    void long_panels_measured_at_plot_resolution();
    void frames_that_do_not_fit_are_errors();
    void stored_metric_names();
};

void TestRecorder::measured_steps_follow_the_rule_data()
{
    QTest::addColumn<int>("steps");
    QTest::addColumn<bool>("everyStep");
    QTest::addColumn<int>("measured");
    // "every k-th step, k = max(1, S / 50), and the last step"; mixtures: every step.
    QTest::newRow("DDPM 1000: every 20th + last") << 1000 << false << 51;
    QTest::newRow("DDIM 50: every step") << 50 << false << 50;
    QTest::newRow("99 steps: k = 1") << 99 << false << 99;
    QTest::newRow("100 steps: every 2nd + last") << 100 << false << 51;
    QTest::newRow("120 steps: every 2nd + last") << 120 << false << 61;
    QTest::newRow("1 step") << 1 << false << 1;
    QTest::newRow("mixture: DDPM 1000 every step") << 1000 << true << 1000;
}

void TestRecorder::measured_steps_follow_the_rule()
{
    QFETCH(int, steps);
    QFETCH(bool, everyStep);
    QFETCH(int, measured);
    // The measured set from the definition: stride k from step 0, plus the last step.
    std::set<int> want;
    const int k = everyStep ? 1 : std::max(1, steps / kMetricPoints);
    for (int s = 0; s < steps; s += k)
        want.insert(s);
    want.insert(steps - 1);
    QCOMPARE(int(want.size()), measured);
    for (int s = 0; s < steps; ++s)
        QVERIFY2(measuredStep(s, steps, everyStep) == (want.count(s) == 1), qPrintable(QString::number(s)));
    // The recorder applies the same rule: with a mixture every step, without one the stride.
    MetricSources sources;
    if (everyStep)
        sources.mixture = metric_sources(ring8()).mixture;
    Recorder on({}, sources, true), off({}, sources, false);
    for (int s = 0; s < steps; ++s) {
        QCOMPARE(on.measures(s, steps), want.count(s) == 1);
        QVERIFY(!off.measures(s, steps));
    }
}

void TestRecorder::points_on_known_components()
{
    // 10 samples of x0_hat: 6 exactly on ring8's component 0, 4 on component 1.
    const auto mix = metric_sources(ring8()).mixture;
    QVERIFY(mix);
    QCOMPARE(mix->components(), 8);
    std::vector<float> x;
    for (int i = 0; i < 10; ++i) {
        const int c = i < 6 ? 0 : 1;
        x.push_back(float(mix->means[std::size_t(2 * c)]));
        x.push_back(float(mix->means[std::size_t(2 * c + 1)]));
    }
    const StepFrame f = frameOf(x, {10, 2});
    const FrameMetrics m = computeFrameMetrics(f, mix.get(), nullptr);

    QCOMPARE(m.values.components_covered, 2.0);
    QVERIFY(near(m.values.occupancy_entropy, -(0.6 * std::log(0.6) + 0.4 * std::log(0.4)), 1e-12));
    QCOMPARE(m.componentCounts, (std::vector<int>{6, 4, 0, 0, 0, 0, 0, 0}));
    QCOMPARE(m.componentNear, (std::vector<int>{6, 4, 0, 0, 0, 0, 0, 0}));
    QCOMPARE(m.assignment, (std::vector<int>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1}));
    QVERIFY(near(m.values.coordinate_std, batchStd(x, 10), 1e-12));
    // 24 of the 45 pairs are d apart, the others 0.
    const double d = std::hypot(double(x[0]) - x[12], double(x[1]) - x[13]);
    QVERIFY(near(m.values.pairwise_distance, 24 * d / 45, 1e-9));
    // Vendi (RBF, h = 0.5) of two clusters of a and b identical points with
    // similarity c between them: K/n has the non-zero eigenvalues of
    // [[a, c b], [c a, b]] / n, VS = exp(-sum lambda log lambda).
    const double a = 6, b = 4, n = 10, c = std::exp(-d * d / (2 * 0.25));
    const double root = std::sqrt((a - b) * (a - b) + 4 * c * c * a * b);
    const double l1 = (a + b + root) / 2 / n, l2 = (a + b - root) / 2 / n;
    QVERIFY(near(m.values.vendi, std::exp(-(l1 * std::log(l1) + l2 * std::log(l2))), 1e-9));
    QVERIFY(std::isnan(m.values.class_entropy) && std::isnan(m.values.classes_covered));
    QVERIFY(hasValues(m.values));
    QVERIFY(!hasValues(FrameMetrics{}.values));

    // A sample 5 std from its nearest mean counts for the component but is not "near" it.
    std::vector<float> far = x;
    far[0] += 0.5f;
    const FrameMetrics mf = computeFrameMetrics(frameOf(far, {10, 2}), mix.get(), nullptr);
    QCOMPARE(mf.componentCounts[0], 6);
    QCOMPARE(mf.componentNear[0], 5);
    QCOMPARE(mf.values.components_covered, 2.0);
}

void TestRecorder::raw_vectors_without_mixture_or_classifier()
{
    // Four 4-D samples along the axes: mutually orthogonal, so the cosine Vendi
    // score (data of more than 3 dimensions, no classifier) is 4.
    const std::vector<float> x{1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4};
    const FrameMetrics m = computeFrameMetrics(frameOf(x, {4, 4}), nullptr, nullptr);
    QVERIFY(near(m.values.vendi, 4.0, 1e-9));
    QVERIFY(near(m.values.coordinate_std, batchStd(x, 4), 1e-12));
    QVERIFY(std::isnan(m.values.components_covered) && std::isnan(m.values.occupancy_entropy));
    QVERIFY(m.assignment.empty() && m.componentCounts.empty());
    // All samples equal: one effective sample.
    const std::vector<float> same{1, 2, 1, 2, 1, 2};
    const FrameMetrics s = computeFrameMetrics(frameOf(same, {3, 2}), nullptr, nullptr);
    QVERIFY(near(s.values.vendi, 1.0, 1e-9));
    QCOMPARE(s.values.pairwise_distance, 0.0);
    QCOMPARE(s.values.coordinate_std, 0.0);
}

void TestRecorder::metric_sources_of_cards()
{
    const MetricSources ring = metric_sources(ring8());
    QVERIFY(ring.mixture && !ring.classifier);
    QCOMPARE(ring.mixture->dim, 2);
    const MetricSources moons = metric_sources(read_model_card(source_path("models/two-moons.json")));
    QVERIFY(!moons.mixture && !moons.classifier);
    // An image card in a folder without a classifier: its mixture, no classes, and why.
    QTemporaryDir dir;
    const std::string card = write_file(
        dir, "img.json",
        mixture_card(R"({"weights": [1], "means": [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], "stds": [1]})",
                     "[1, 4, 4]"));
    const MetricSources img = metric_sources(read_model_card(card));
    QVERIFY(img.mixture && !img.classifier);
    QCOMPARE(img.mixture->dim, 16);
    QVERIFY2(QString::fromStdString(img.note).contains("mnist-classifier.json"), img.note.c_str());
    // The digits: the classifier next to the card.
    const MetricSources digits = metric_sources(read_model_card(source_path("models/mnist-500-exact.json")));
    QVERIFY2(digits.classifier, digits.note.c_str());
    QCOMPARE(digits.note, std::string("mnist-classifier.json"));
    QVERIFY(!digits.mixture);
}

void TestRecorder::images_measured_with_the_classifier()
{
    const auto clf = metric_sources(read_model_card(source_path("models/mnist-500-exact.json"))).classifier;
    QVERIFY(clf);
    // 12 held-out digits as x0_hat.
    const NpyArray a = read_npy(source_path("models/data/mnist-heldout-500_images.npy"));
    const int B = 12, D = 28 * 28;
    std::vector<float> x(a.f32.begin(), a.f32.begin() + B * D);
    const FrameMetrics m = computeFrameMetrics(frameOf(x, {B, 1, 28, 28}), nullptr, clf.get());
    // Classes: the classifier's own argmax, counted here.
    const std::vector<int> predicted = clf->predict(x, B);
    QCOMPARE(m.assignment, predicted);
    std::vector<int> hist(std::size_t(clf->num_classes()), 0);
    for (int p : predicted)
        ++hist[std::size_t(p)];
    int distinct = 0;
    for (int h : hist)
        distinct += h > 0 ? 1 : 0;
    QCOMPARE(m.values.classes_covered, double(distinct));
    QVERIFY(near(m.values.class_entropy, entropy(hist), 1e-12));
    // Vendi on the features with the cosine kernel, built here as the B x B matrix.
    const std::vector<float> feat = clf->features(x, B);
    const int F = clf->feature_dim();
    std::vector<double> K(std::size_t(B * B));
    for (int i = 0; i < B; ++i)
        for (int j = 0; j < B; ++j) {
            double dot = 0, ni = 0, nj = 0;
            for (int k = 0; k < F; ++k) {
                dot += double(feat[std::size_t(i * F + k)]) * feat[std::size_t(j * F + k)];
                ni += double(feat[std::size_t(i * F + k)]) * feat[std::size_t(i * F + k)];
                nj += double(feat[std::size_t(j * F + k)]) * feat[std::size_t(j * F + k)];
            }
            K[std::size_t(i * B + j)] = dot / std::sqrt(ni * nj);
        }
    QVERIFY(near(m.values.vendi, metrics::vendi_score(K, B), 1e-6));
    QVERIFY(near(m.values.coordinate_std, batchStd(x, B), 1e-9));
    QVERIFY(std::isnan(m.values.components_covered));
}

void TestRecorder::a_run_recorded_into_its_stores()
{
    // DDPM 20 and DDIM 10 on ring8 in lockstep, batch 64, recorded as the GUI and
    // the CLI record: every step stored, every step measured (a mixture card).
    RunSetRecipe recipe;
    recipe.model = source_path("models/ring8.json");
    recipe.seed = 3;
    recipe.batch = 64;
    PanelRecipe ddpm, ddim;
    ddpm.sampler.sampler = "ddpm";
    ddpm.sampler.steps = 20;
    ddim.sampler.sampler = "ddim";
    ddim.sampler.steps = 10;
    recipe.panels = {ddpm, ddim};
    RunSetOptions options;
    options.threads = 1;
    RunSet set = make_run_set(recipe, options);
    std::vector<std::shared_ptr<Trajectory>> stores;
    for (int i = 0; i < set.size(); ++i) {
        std::vector<int> ts;
        for (const auto& s : set.run(i).plan().steps)
            ts.push_back(s.t);
        stores.push_back(std::make_shared<Trajectory>(set.run(i).shape(), ts, Trajectory::Precision::Half));
    }
    const MetricSources sources = metric_sources(ring8());
    std::atomic<int> published{0};
    std::map<std::pair<int, int>, std::shared_ptr<const StepFrame>> frames;
    {
        Recorder recorder(stores, sources, true, [&] { ++published; });
        while (!set.done()) {
            std::vector<TickFrame> tick = set.tick();
            for (const TickFrame& tf : tick)
                frames[{tf.panel, tf.frame->step}] = tf.frame; // immutable: shared with the recorder
            recorder.record(std::move(tick));
        }
        recorder.finish();
    }
    QCOMPARE(published.load(), set.ticks());
    const metrics::GaussianMixture& mix = *sources.mixture;
    for (int p = 0; p < 2; ++p) {
        const Trajectory& tr = *stores[std::size_t(p)];
        QVERIFY(tr.finished());
        QCOMPARE(tr.size(), p == 0 ? 20 : 10);
        for (int k = 0; k < tr.size(); ++k) {
            const StepFrame& f = *frames.at({p, k});
            const FrameMetrics& m = tr.info(k).metrics;
            QCOMPARE(tr.info(k).stats.xt_std, f.stats.xt_std);
            QVERIFY2(near(m.values.coordinate_std, batchStd(f.x0_hat, 64), 1e-9), qPrintable(QString::number(k)));
            // Coverage by hand: equal weights and stds, so the most responsible
            // component is the nearest mean; "near" within 3 std of it.
            std::vector<int> counts(8, 0), nearCounts(8, 0), assigned;
            for (int b = 0; b < 64; ++b) {
                int best = 0;
                double bestD = 1e300;
                for (int c = 0; c < 8; ++c) {
                    const double dd = std::hypot(f.x0_hat[std::size_t(2 * b)] - mix.means[std::size_t(2 * c)],
                                                 f.x0_hat[std::size_t(2 * b + 1)] - mix.means[std::size_t(2 * c + 1)]);
                    if (dd < bestD)
                        bestD = dd, best = c;
                }
                ++counts[std::size_t(best)];
                nearCounts[std::size_t(best)] += bestD <= 3 * 0.1 ? 1 : 0;
                assigned.push_back(best);
            }
            QCOMPARE(m.componentCounts, counts);
            QCOMPARE(m.componentNear, nearCounts);
            QCOMPARE(m.assignment, assigned);
            int covered = 0;
            for (int c : nearCounts)
                covered += c > 0 ? 1 : 0;
            QCOMPARE(m.values.components_covered, double(covered));
            QVERIFY(near(m.values.occupancy_entropy, entropy(counts), 1e-12));
        }
    }
    // The exact ring sampler's DDIM samples cover all 8 components at the end.
    QCOMPARE(stores[1]->info(9).metrics.values.components_covered, 8.0);
}

void TestRecorder::long_panels_measured_at_plot_resolution()
{
    // two-moons has no mixture: a 120-step DDPM panel is measured on every 2nd
    // step and its last; with metrics off, on none. Statistics on every step.
    const auto model = std::shared_ptr<Model>(Model::load(source_path("models/two-moons.json")));
    for (const bool on : {true, false}) {
        RunOptions o;
        o.sampler.sampler = "ddpm";
        o.sampler.steps = 120;
        o.batch = 8;
        o.seed = 1;
        o.threads = 1;
        auto run = std::make_shared<Run>(model, o);
        std::vector<int> ts;
        for (const auto& s : run->plan().steps)
            ts.push_back(s.t);
        auto store = std::make_shared<Trajectory>(run->shape(), ts, Trajectory::Precision::Half);
        RunSet set({run});
        Recorder recorder({store}, metric_sources(model->card()), on);
        while (!set.done())
            recorder.record(set.tick());
        recorder.finish();
        QCOMPARE(store->size(), 120);
        int measured = 0;
        for (int k = 0; k < 120; ++k) {
            const bool want = on && (k % 2 == 0 || k == 119);
            QVERIFY2(hasValues(store->info(k).metrics.values) == want, qPrintable(QString::number(k)));
            QVERIFY(std::isfinite(store->info(k).stats.xt_std));
            measured += want ? 1 : 0;
        }
        QCOMPARE(measured, on ? 61 : 0);
    }
}

void TestRecorder::frames_that_do_not_fit_are_errors()
{
    // A store planned for 3 values per step gets frames of 4: the recorder's
    // thread fails, and the error comes back from record() or finish().
    auto store = std::make_shared<Trajectory>(std::vector<std::int64_t>{1, 3}, std::vector<int>{1, 0},
                                              Trajectory::Precision::Half);
    const auto frame = std::make_shared<const StepFrame>(frameOf({1, 2, 3, 4}, {2, 2}, 0, 2));
    bool thrown = false;
    try {
        Recorder recorder({store}, {}, true);
        recorder.record({TickFrame{0, frame}});
        recorder.finish();
    } catch (const std::invalid_argument& e) {
        thrown = QString(e.what()).contains("values");
    }
    QVERIFY(thrown);
    QCOMPARE(store->size(), 0);
    // A frame of a panel without a store.
    Recorder none({}, {}, true);
    none.record({TickFrame{2, frame}});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, none.finish());
    // Nothing is recorded after finish().
    Recorder done({}, {}, true);
    done.finish();
    QVERIFY_THROWS_EXCEPTION(std::logic_error, done.record({}));
}

void TestRecorder::stored_metric_names()
{
    const std::vector<std::string> stats{"xt_mean", "xt_std", "eps_norm", "x0_change", "x0_batch_std"};
    // Nothing stored: no names.
    Trajectory empty({2, 2}, {1, 0}, Trajectory::Precision::Half);
    QVERIFY(noisetrail::stored_metric_names(empty).empty());
    const auto mix = metric_sources(ring8()).mixture;
    const auto record = [&](const metrics::GaussianMixture* m, bool measure) {
        auto t = std::make_shared<Trajectory>(std::vector<std::int64_t>{2, 2}, std::vector<int>{1, 0},
                                              Trajectory::Precision::Half);
        for (int k = 0; k < 2; ++k) {
            const StepFrame f = frameOf({2, 0, 0, 2}, {2, 2}, k, 2);
            const FrameMetrics fm = computeFrameMetrics(f, m, nullptr);
            t->append(f, measure ? &fm : nullptr);
        }
        return noisetrail::stored_metric_names(*t);
    };
    // A mixture card: its coverage and the per-sample components too.
    std::vector<std::string> want = stats;
    for (const char* n : {"pairwise_distance", "coordinate_std", "vendi", "components_covered", "occupancy_entropy",
                          "component_counts", "component_near", "assignment"})
        want.emplace_back(n);
    QCOMPARE(record(mix.get(), true), want);
    // No mixture, no classifier.
    want = stats;
    for (const char* n : {"pairwise_distance", "coordinate_std", "vendi"})
        want.emplace_back(n);
    QCOMPARE(record(nullptr, true), want);
    // Metrics off: the statistics alone.
    QCOMPARE(record(mix.get(), false), stats);
}

QTEST_GUILESS_MAIN(TestRecorder)
#include "tst_recorder.moc"
