// noisetrail-cli classify: judge image samples with the metric classifier.
#include "commands.hpp"

#include "noisetrail/classifier.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace noisetrail::cli {

const char* const kClassifyHelp = R"(usage: noisetrail-cli classify --classifier CARD --samples FILE.npy [--labels FILE.npy] [--json]

Classify images (for example the samples.npy that 'sample --out' writes) and
print the mean top-class probability and the predicted-class histogram.

  --classifier CARD     classifier card (e.g. models/mnist-classifier.json)
  --samples FILE.npy    images [N, C, H, W] (or [S, N, C, H, W]: the last step is used)
                        in the classifier's data_range ([-1, 1] for digits)
  --labels FILE.npy     optional int64 labels [N]: also print the accuracy
  --json                print one JSON object instead of text
  --help                this text
)";

int cmd_classify(const std::vector<std::string>& argv)
{
    const Args args(argv, {"--classifier", "--samples", "--labels"}, {"--json", "--help"});
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
    NpyArray a = read_npy(*file);
    const auto want = clf->input_shape();
    if (a.dtype != NpyArray::DType::Float32)
        throw InputError("--samples " + *file + ": expected float images, got integers");
    const std::size_t r = a.shape.size();
    bool ok = (r == 4 || r == 5) && a.shape[r - 3] == want[0] && a.shape[r - 2] == want[1] && a.shape[r - 1] == want[2];
    if (!ok)
        throw InputError("--samples " + *file + ": shape " + a.shape_string() + " is not [N, " +
                         std::to_string(want[0]) + ", " + std::to_string(want[1]) + ", " + std::to_string(want[2]) + "]");
    const int n = static_cast<int>(a.shape[r - 4]);
    const std::size_t D = static_cast<std::size_t>(want[0] * want[1] * want[2]);
    const std::span<const float> images(a.f32.data() + (a.f32.size() - n * D), n * D);
    const ClassSummary s = summarise(*clf, images, n);
    double accuracy = -1.0;
    if (const auto lf = args.text("--labels")) {
        NpyArray l = read_npy(*lf);
        if (l.dtype != NpyArray::DType::Int64 || l.shape != std::vector<std::int64_t>{n})
            throw InputError("--labels " + *lf + ": expected int64 labels of shape [" + std::to_string(n) + "]");
        const auto pred = clf->predict(images, n);
        int correct = 0;
        for (int i = 0; i < n; ++i)
            correct += pred[i] == l.i64[i];
        accuracy = double(correct) / n;
    }
    if (args.has("--json")) {
        nlohmann::json j{{"samples", n},
                         {"mean_top_probability", s.mean_top_probability},
                         {"histogram", s.histogram},
                         {"min_class_fraction", s.min_class_fraction},
                         {"max_class_fraction", s.max_class_fraction}};
        if (accuracy >= 0)
            j["accuracy"] = accuracy;
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
    return 0;
}

} // namespace noisetrail::cli
