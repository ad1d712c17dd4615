// The models shipped in models/ (trained by this project): the classifier is
// accurate on the committed held-out subset, the digit model's samples are
// recognised by it, and the learned two-moons model lands on the moons.
#include "test_util.hpp"

#include "noisetrail/classifier.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace noisetrail;

class TestShippedModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void classifierOnCommittedSubset()
    {
        const auto clf = Classifier::load(test::source_path("models/mnist-classifier.json"));
        QCOMPARE(clf->num_classes(), 10);
        QVERIFY(clf->feature_dim() >= 64 && clf->feature_dim() <= 256);
        QVERIFY(clf->heldout_accuracy() >= 0.97);
        const NpyArray x = read_npy(test::source_path("models/data/mnist-heldout-500_images.npy"));
        const NpyArray y = read_npy(test::source_path("models/data/mnist-heldout-500_labels.npy"));
        QCOMPARE(x.shape, (std::vector<std::int64_t>{500, 1, 28, 28}));
        const int n = 500;
        const auto pred = clf->predict(x.f32, n);
        int correct = 0;
        for (int i = 0; i < n; ++i)
            correct += pred[i] == y.i64[i];
        qInfo("classifier accuracy on the committed 500: %.3f", correct / 500.0);
        QVERIFY(correct >= 0.96 * n);
        // Features: the documented size, finite, and the shipped reference matches it.
        const auto out = clf->run(std::span<const float>(x.f32).first(10 * 784), 10);
        QCOMPARE(out.features.size(), std::size_t(10 * clf->feature_dim()));
        QCOMPARE(out.probabilities.size(), std::size_t(100));
        const auto ref = clf->heldout_reference();
        QCOMPARE(ref.mean.size(), std::size_t(clf->feature_dim()));
        QCOMPARE(ref.cov.size(), std::size_t(clf->feature_dim() * clf->feature_dim()));
        QCOMPARE(ref.count, 2000);
        // The classifier card is not a model to sample from: one clear error.
        try {
            Model::load(test::source_path("models/mnist-classifier.json"));
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("not a denoiser"), e.what());
        }
        // A wrong image count is a clear error.
        QVERIFY_THROWS_EXCEPTION(InputError, clf->run(std::span<const float>(x.f32).first(100), 1));
    }

    void digitModelSamplesAreRecognised()
    {
        const auto model = Model::load(test::source_path("models/mnist-unet.json"));
        const auto clf = Classifier::load(test::source_path("models/mnist-classifier.json"));
        RunOptions o;
        o.sampler.sampler = "ddim";
        o.sampler.steps = 10;
        o.batch = 16;
        o.seed = 0;
        const RunResult r = run_sampler(*model, o);
        QCOMPARE(r.shape, (std::vector<std::int64_t>{16, 1, 28, 28}));
        const ClassSummary s = summarise(*clf, r.samples, 16);
        qInfo("10-step DDIM, 16 samples: mean top-class probability %.3f", s.mean_top_probability);
        QVERIFY2(s.mean_top_probability > 0.75, qPrintable(QString::number(s.mean_top_probability)));
        // Not one digit over and over: at least 5 classes among 16 samples.
        QVERIFY(std::count_if(s.histogram.begin(), s.histogram.end(), [](int c) { return c > 0; }) >= 5);
    }

    void conditionalDigitModelDrawsTheAskedClass()
    {
        // The class-conditional UNet with guidance W = 3: the classifier (an independent
        // network) reads each sample as the class it was asked for.
        const auto model = Model::load(test::source_path("models/mnist-cond-unet.json"));
        const auto clf = Classifier::load(test::source_path("models/mnist-classifier.json"));
        QCOMPARE(model->card().classes.size(), std::size_t(10));
        RunOptions o;
        o.sampler.sampler = "ddim";
        o.sampler.steps = 10;
        o.sampler.guidance.classes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        o.sampler.guidance.scale = 3.0;
        o.batch = 20;
        o.seed = 0;
        const RunResult r = run_sampler(*model, o);
        const std::vector<int> got = clf->predict(r.samples, o.batch);
        int right = 0;
        for (int i = 0; i < o.batch; ++i)
            right += got[std::size_t(i)] == i % 10;
        qInfo("W = 3, DDIM 10: %d of %d samples read as their class", right, o.batch);
        QVERIFY2(right >= 17, qPrintable(QString::number(right)));
    }

    void exactEmojiCardDrawsItsEmojiByGroup()
    {
        // The exact colour card: 288 emoji [3, 32, 32] in [-1, 1], 32 of each of the 9
        // groups it names. The ideal denoiser memorises, so a DDIM sample lands on one
        // of its emoji (within a small distance of it), and asked for group K (W = 1)
        // on an emoji of group K.
        const auto model = Model::load(test::source_path("models/emoji-288-classes.json"));
        QCOMPARE(model->card().data_shape, (std::vector<std::int64_t>{3, 32, 32}));
        QCOMPARE(model->card().classes.size(), std::size_t(9));
        const NpyArray x = read_npy(test::source_path("models/data/emoji-train-288_images.npy"));
        const NpyArray y = read_npy(test::source_path("models/data/emoji-train-288_labels.npy"));
        QCOMPARE(x.shape, (std::vector<std::int64_t>{288, 3, 32, 32}));
        std::vector<int> per_class(9, 0);
        for (auto l : y.i64)
            ++per_class[std::size_t(l)];
        QCOMPARE(per_class, std::vector<int>(9, 32));
        QVERIFY(*std::min_element(x.f32.begin(), x.f32.end()) >= -1.f);
        QVERIFY(*std::max_element(x.f32.begin(), x.f32.end()) <= 1.f);
        const std::size_t D = 3 * 32 * 32;
        for (int k : {2, 8}) { // Animals & Nature, Flags
            RunOptions o;
            o.sampler.sampler = "ddim";
            o.sampler.steps = 50;
            o.sampler.guidance.classes = {k};
            o.batch = 6;
            o.seed = 4;
            const RunResult r = run_sampler(*model, o);
            for (int b = 0; b < o.batch; ++b) {
                double best = 1e300;
                int label = -1;
                for (int i = 0; i < 288; ++i) {
                    double d = 0;
                    for (std::size_t j = 0; j < D; ++j) {
                        const double e = r.samples[std::size_t(b) * D + j] - x.f32[std::size_t(i) * D + j];
                        d += e * e;
                    }
                    if (d < best)
                        best = d, label = int(y.i64[std::size_t(i)]);
                }
                QVERIFY2(std::sqrt(best / double(D)) < 0.05, qPrintable(QString::number(std::sqrt(best / double(D)))));
                QCOMPARE(label, k);
            }
        }
    }

    void twoMoonsModelLandsOnTheMoons()
    {
        const auto model = Model::load(test::source_path("models/two-moons-mlp.json"));
        const NpyArray data = read_npy(test::source_path("models/two-moons.npy"));
        RunOptions o;
        o.sampler.sampler = "ddim";
        o.sampler.steps = 50;
        o.batch = 300;
        const RunResult r = run_sampler(*model, o);
        // Mean distance from a sample to its nearest data point, against the
        // same for standard normal points (what an untrained model would give).
        const auto mean_nn = [&](const std::vector<float>& pts, int n) {
            double total = 0;
            for (int i = 0; i < n; ++i) {
                double best = 1e30;
                for (std::int64_t j = 0; j < data.shape[0]; ++j)
                    best = std::min(best, std::hypot(double(pts[2 * i] - data.f32[2 * j]),
                                                     double(pts[2 * i + 1] - data.f32[2 * j + 1])));
                total += best;
            }
            return total / n;
        };
        const double learned = mean_nn(r.samples, 300), noise = mean_nn(r.x_T, 300);
        qInfo("mean distance to the data: learned %.3f, noise %.3f", learned, noise);
        QVERIFY(learned < 0.08);
        QVERIFY(learned < 0.25 * noise);
    }
};

QTEST_GUILESS_MAIN(TestShippedModels)
#include "tst_shipped_models.moc"
