// Everything the window needs about a model, prepared once on the worker at
// load time (schedule curves, the target's density image, real examples for
// the forward-process view), so the GUI thread never computes.
#pragma once
#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model.hpp"

#include <QImage>
#include <QRectF>
#include <QString>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace noisetrail::ui {

struct LoadedModel {
    std::shared_ptr<const Model> model;
    QString path;
    std::string fingerprint; ///< content_fingerprint of the card and its files: part of a run's recipe
    std::vector<double> alphaBars, betas, logSnr;

    /// 2-D cards: the target density on a grid (Grayscale8, 255 = densest,
    /// row 0 at the top = largest y) covering `extent` in data coordinates.
    QImage density;
    /// Conditional mixture cards: p(x | c) of each class, as `density` (empty otherwise).
    std::vector<QImage> classDensity;
    QRectF extent; ///< data coordinates shown by scatter views (x right, y up)

    /// Real examples x_0 for the forward process, [exampleCount, *data_shape],
    /// and a fixed eps of the same shape, so moving the t slider is smooth.
    std::vector<float> examples;
    std::vector<float> exampleNoise;
    int exampleCount = 0;
    QString exampleSource; ///< e.g. "models/data/mnist-heldout-500_images.npy"

    /// Per-step diversity metrics (issue 5): the card's mixture (gaussian-mixture
    /// cards), and for image models the digit classifier whose features and
    /// predicted classes the metrics use (mnist-classifier.json next to the card,
    /// when its input shape fits). Both null when not applicable.
    std::shared_ptr<const metrics::GaussianMixture> mixture;
    std::shared_ptr<const Classifier> classifier;
    QString classifierNote; ///< why there is no classifier, or which one is used

    const ModelCard& card() const { return model->card(); }
    int trainSteps() const { return model->schedule().train_steps(); }
};

/// Load a card and prepare its assets. Throws UntrustedCode (a TorchScript card
/// not trusted, code_trust.hpp), InputError (bad card) or std::exception; call it on the worker.
std::shared_ptr<const LoadedModel> loadModelAssets(const QString& path);

/// What the window needs of a model it cannot load (a saved run's card is not
/// here): the saved copy of the card (schedule, shape, name) and a denoiser that
/// refuses to run (Model::replay), the curves and, for mixture cards, the target
/// density, all derived from the card alone.
std::shared_ptr<const LoadedModel> replayModelAssets(const ModelCard& card, const std::string& fingerprint);

/// A card offered in the model pickers (the window's, and a panel's of the same data shape).
struct CardChoice {
    QString name, path, tip; ///< path absolute
    std::vector<std::int64_t> dataShape;
};

/// The cards in `dir` to sample from (the metric classifier and unreadable files are not offered), by file name.
std::vector<CardChoice> listModelCards(const QString& dir);

/// The key a card is known by: absolute and normalised, as core's RunRecipe::card.
std::filesystem::path cardKey(const std::filesystem::path& card);

/// The density image alone (exposed for tests): gaussian-mixture cards are
/// evaluated exactly; empirical cards by a histogram blurred with a small
/// Gaussian. Returns a null image for other kinds. `cls` >= 0: p(x | c) of a
/// conditional mixture card (InputError for a class it has no component of).
QImage targetDensity(const ModelCard& card, const QRectF& extent, int size, int cls = -1);

} // namespace noisetrail::ui
