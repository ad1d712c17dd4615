// noisetrail-cli classify: judge image samples with the metric classifier.
#include "commands.hpp"

#include "noisetrail/classifier.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <optional>

namespace noisetrail::cli {

const char* const kClassifyHelp = R"(usage: noisetrail-cli classify --classifier CARD --samples FILE.npy [--labels FILE.npy] [--train FILE.npy] [--json]

Classify images (for example the samples.npy that 'sample --out' writes) and
print the mean top-class probability, the predicted-class histogram and the
Frechet distance of their classifier features to the held-out images' (the
features the classifier card ships; at least 2 images).

  --classifier CARD     classifier card (e.g. models/mnist-classifier.json)
  --samples FILE.npy    images [N, C, H, W] (or [S, N, C, H, W]: the last step is used)
                        in the classifier's data_range ([-1, 1] for digits)
  --labels FILE.npy     optional int64 labels [N]: also print the accuracy
  --train FILE.npy      a model's training images [M, C, H, W]: also print each
                        image's distance to its nearest training image (mean,
                        median; RMS per pixel), the memorisation measure: run it
                        on held-out images too to see what "not a copy" scores
  --json                print one JSON object instead of text
  --help                this text

Exit codes: 0 success, 2 bad arguments or input files, 3 the run failed.
)";

int cmd_classify(const std::vector<std::string>& argv)
{
    const Args args(argv, {"--classifier", "--samples", "--labels", "--train"}, {"--json", "--help"});
    if (args.has("--help")) {
        std::cout << kClassifyHelp;
        return 0;
    }
    const auto card = args.text("--classifier");
    const auto file = args.text("--samples");
    if (!card)
        throw InputError("--classifier CARD is required");
    if (!file)
        throw InputError("--samples FILE.npy is required");
    const auto clf = Classifier::load(*card);
    NpyArray a = read_npy_named("--samples", *file);
    const auto want = clf->input_shape();
    if (a.dtype != NpyArray::DType::Float32)
        throw InputError("--samples " + *file + ": expected float images, got integers");
    const std::size_t r = a.shape.size();
    bool ok = (r == 4 || r == 5) && a.shape[r - 3] == want[0] && a.shape[r - 2] == want[1] && a.shape[r - 1] == want[2];
    if (!ok)
        throw InputError("--samples " + *file + ": shape " + a.shape_string() + " is not [N, " +
                         std::to_string(want[0]) + ", " + std::to_string(want[1]) + ", " + std::to_string(want[2]) + "]");
    // The images: the last [N, C, H, W] block (of the last step for [S, N, C, H, W]).
    const std::int64_t n64 = a.shape[r - 4];
    if (r == 5 && a.shape[0] < 1) // no last step: the block below would start before the data
        throw InputError("--samples " + *file + ": holds no steps (shape " + a.shape_string() + ")");
    if (n64 < 1)
        throw InputError("--samples " + *file + ": holds no images (shape " + a.shape_string() + ")");
    if (n64 > std::numeric_limits<int>::max())
        throw InputError("--samples " + *file + ": too many images (" + std::to_string(n64) + ")");
    const int n = static_cast<int>(n64);
    const std::size_t D = static_cast<std::size_t>(want[0] * want[1] * want[2]);
    const std::span<const float> images(a.f32.data() + (a.f32.size() - n * D), n * D);
    for (std::size_t i = 0; i < images.size(); ++i)
        if (!std::isfinite(images[i]))
            throw InputError("--samples " + *file + ": image " + std::to_string(i / D) + " holds a non-finite value (" +
                             std::to_string(images[i]) + ")");
    std::optional<std::vector<std::int64_t>> labels;
    if (const auto lf = args.text("--labels")) {
        NpyArray l = read_npy_named("--labels", *lf);
        if (l.dtype != NpyArray::DType::Int64 || l.shape != std::vector<std::int64_t>{n})
            throw InputError("--labels " + *lf + ": expected int64 labels of shape [" + std::to_string(n) + "], got " +
                             l.shape_string());
        for (std::size_t i = 0; i < l.i64.size(); ++i)
            if (l.i64[i] < 0 || l.i64[i] >= clf->num_classes())
                throw InputError("--labels " + *lf + ": label " + std::to_string(l.i64[i]) + " at index " +
                                 std::to_string(i) + " is outside 0.." + std::to_string(clf->num_classes() - 1));
        labels = std::move(l.i64);
    }
    const ClassSummary s = summarise(*clf, images, n);
    double accuracy = -1.0;
    if (labels) {
        const auto pred = clf->predict(images, n);
        int correct = 0;
        for (int i = 0; i < n; ++i)
            correct += pred[i] == (*labels)[i];
        accuracy = double(correct) / n;
    }
    // FD to the held-out images in the classifier's features (Heusel et al. 2017, eq. 6):
    // the same reference the Compare view uses. Sampling error makes even real held-out
    // images score above 0 (more so for small n): compare with them measured the same way.
    double fd = std::numeric_limits<double>::quiet_NaN();
    if (n >= 2) {
        const Classifier::Reference ref = clf->heldout_reference();
        const int F = clf->feature_dim();
        const std::vector<float> f = clf->features(images, n);
        const std::vector<double> f64(f.begin(), f.end());
        fd = metrics::frechet_distance(metrics::fit_gaussian(f64, n, F), {F, ref.mean, ref.cov});
    }
    // Memorisation: each image's nearest training image in pixel space, as an RMS per
    // pixel so that images of any size read alike (0: a copy of a training image).
    std::optional<std::pair<double, double>> nearest; // mean, median
    if (const auto tf = args.text("--train")) {
        NpyArray t = read_npy_named("--train", *tf);
        if (t.dtype != NpyArray::DType::Float32 || t.shape.size() != 4 || t.shape[1] != want[0] ||
            t.shape[2] != want[1] || t.shape[3] != want[2] || t.shape[0] < 1 ||
            t.shape[0] > std::numeric_limits<int>::max())
            throw InputError("--train " + *tf + ": expected float images [M, " + std::to_string(want[0]) + ", " +
                             std::to_string(want[1]) + ", " + std::to_string(want[2]) + "], got " + t.shape_string());
        for (std::size_t i = 0; i < t.f32.size(); ++i)
            if (!std::isfinite(t.f32[i]))
                throw InputError("--train " + *tf + ": image " + std::to_string(i / D) + " holds a non-finite value");
        const std::vector<double> x(images.begin(), images.end()), data(t.f32.begin(), t.f32.end());
        std::vector<double> d = metrics::nearest_distances(x, n, data, int(t.shape[0]), int(D));
        for (double& v : d)
            v /= std::sqrt(double(D));
        double sum = 0;
        for (const double v : d)
            sum += v;
        std::nth_element(d.begin(), d.begin() + long(d.size() / 2), d.end());
        nearest = std::make_pair(sum / n, d[d.size() / 2]);
    }
    if (args.has("--json")) {
        nlohmann::json j{{"samples", n},
                         {"mean_top_probability", s.mean_top_probability},
                         {"histogram", s.histogram},
                         {"min_class_fraction", s.min_class_fraction},
                         {"max_class_fraction", s.max_class_fraction}};
        if (accuracy >= 0)
            j["accuracy"] = accuracy;
        if (std::isfinite(fd))
            j["frechet_distance"] = fd;
        if (nearest)
            j["nearest_train_distance"] = {{"mean", nearest->first}, {"median", nearest->second}};
        std::cout << j.dump() << '\n';
        return 0;
    }
    std::printf("samples: %d\nmean top-class probability: %.4f\n", n, s.mean_top_probability);
    std::printf("class histogram (fraction):\n");
    for (std::size_t k = 0; k < s.histogram.size(); ++k)
        std::printf("  %s: %5d  (%.3f)\n", clf->labels()[k].c_str(), s.histogram[k], double(s.histogram[k]) / n);
    std::printf("class fractions: min %.3f, max %.3f\n", s.min_class_fraction, s.max_class_fraction);
    if (accuracy >= 0)
        std::printf("accuracy: %.4f\n", accuracy);
    if (std::isfinite(fd))
        std::printf("Frechet distance to the held-out images (classifier features): %.2f\n", fd);
    if (nearest)
        std::printf("distance to the nearest training image (RMS per pixel): mean %.4f, median %.4f\n", nearest->first,
                    nearest->second);
    return 0;
}

} // namespace noisetrail::cli
