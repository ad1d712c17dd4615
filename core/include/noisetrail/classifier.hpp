// The digit classifier: the project's metric network (torch-free API).
//
// A small CNN trained by `noisetrail-cli train --kind noisetrail-classifier`
// (models/mnist-classifier.json). Inputs are images [n, C, H, W] in the card's
// data_range ([-1, 1] for digits, the same scale as the digit model's samples),
// row-major float32. Its penultimate layer (after ReLU, `feature_dim` values)
// gives the features for Frechet distance, precision/recall and Vendi scores;
// the card ships the held-out set's feature mean, covariance and the features
// themselves as .npy files.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace noisetrail {

class Classifier {
public:
    /// Load a card of kind "noisetrail-classifier" and its weights. InputError
    /// naming the card for any problem (missing file, wrong kind, weights that
    /// do not fit the architecture).
    static std::shared_ptr<Classifier> load(const std::filesystem::path& card_path);
    ~Classifier();

    const std::string& name() const;
    const std::filesystem::path& card_path() const;
    std::vector<std::int64_t> input_shape() const; ///< [C, H, W]
    int num_classes() const;
    int feature_dim() const;
    const std::vector<std::string>& labels() const; ///< class names ("0".."9")
    double heldout_accuracy() const;                ///< as measured at training time, in [0, 1] (-1 if unknown)

    struct Output {
        std::vector<float> probabilities; ///< [n, num_classes], softmax of the logits
        std::vector<float> features;      ///< [n, feature_dim], penultimate activations
    };
    /// One forward pass over `n` images (batched internally). InputError if
    /// images.size() != n * C * H * W. Deterministic (eval mode); safe to call
    /// from one thread at a time per instance.
    Output run(std::span<const float> images, int n) const;
    std::vector<float> probabilities(std::span<const float> images, int n) const { return run(images, n).probabilities; }
    std::vector<float> features(std::span<const float> images, int n) const { return run(images, n).features; }
    /// argmax class per image.
    std::vector<int> predict(std::span<const float> images, int n) const;

    /// Held-out reference statistics shipped with the card (float64 copies):
    /// mean [F], covariance [F, F] row-major, and the features [N, F].
    struct Reference {
        std::vector<double> mean;
        std::vector<double> cov;
        std::vector<float> features;
        int count = 0;
    };
    /// Read from the files the card names; InputError naming the card if absent.
    Reference heldout_reference() const;

private:
    Classifier();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// What `noisetrail-cli classify` reports for a set of samples.
struct ClassSummary {
    int n = 0;
    double mean_top_probability = 0.0;       ///< mean over samples of max_k p_k
    std::vector<int> histogram;              ///< predicted-class counts
    double min_class_fraction = 0.0, max_class_fraction = 0.0;
};
ClassSummary summarise(const Classifier& classifier, std::span<const float> images, int n);

} // namespace noisetrail
