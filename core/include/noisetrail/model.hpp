// A loaded model: a card plus its denoiser, ready to sample from.
#pragma once
#include "noisetrail/errors.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/noise_schedule.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace noisetrail {

namespace detail { class Denoiser; }

/// Which TorchScript modules from outside the bundled models folder may run
/// (contract section 2). A TorchScript module is code: it runs with the user's
/// permissions and can read and write their files, so it runs only when trusted.
/// Modules inside the bundled models folder (find_models_dir()) are always trusted.
struct CodeTrust {
    bool all = false; ///< trust every module (noisetrail-cli --trust-code)
    /// Trust the modules of cards with these content fingerprints
    /// (content_fingerprint(): the card and its files), e.g. the GUI's remembered answers.
    std::vector<std::string> fingerprints;
};

/// A card whose TorchScript module lies outside the bundled models folder and is
/// not trusted. Bad input (CLI exit 2); the GUI catches it, asks the user once for
/// this fingerprint and loads again with the fingerprint in CodeTrust::fingerprints.
class UntrustedCode : public InputError {
public:
    UntrustedCode(const std::string& what, std::filesystem::path card, std::filesystem::path module,
                  std::string fingerprint)
        : InputError(what), card_(std::move(card)), module_(std::move(module)), fingerprint_(std::move(fingerprint))
    {
    }
    const std::filesystem::path& card() const { return card_; }
    const std::filesystem::path& module() const { return module_; } ///< the TorchScript file
    const std::string& fingerprint() const { return fingerprint_; } ///< "sha256:..." of the card's content

private:
    std::filesystem::path card_, module_;
    std::string fingerprint_;
};

/// The pair every sampler works from (contract section 1).
struct Denoised {
    std::vector<double> x0_hat;
    std::vector<double> eps_hat;
};

class Model {
public:
    /// Load the card and whatever it points to (data, weights); every problem
    /// is an InputError naming the card. `device` is "cpu" or "cuda". A TorchScript
    /// card whose module `trust` does not cover throws UntrustedCode before the
    /// module is read.
    static std::shared_ptr<Model> load(const std::filesystem::path& card_path,
                                       const std::string& device = "cpu", const CodeTrust& trust = {});
    /// A model for replaying a saved run whose card or files are not at hand:
    /// the card (its schedule, shape, name) without a denoiser. Any attempt to
    /// sample from it throws InputError saying the model is not available.
    static std::shared_ptr<Model> replay(ModelCard card);
    /// The denoiser as a plain function: the card's prediction quantity for x_t
    /// ([B, *data_shape], row-major, float64), sample i at timestep t[i].
    using PredictFunction =
        std::function<std::vector<double>(std::span<const double> x_t, std::span<const std::int64_t> t)>;
    /// A model whose denoiser is a plain function, with the card's schedule,
    /// shape and prediction: a model computed outside the engine (tests wrap a
    /// loaded model's denoise() this way, e.g. to make a run last). A result of
    /// the wrong size is an InputError naming the card.
    static std::shared_ptr<Model> from_function(ModelCard card, PredictFunction predict);
    ~Model();

    const ModelCard& card() const { return card_; }
    const NoiseSchedule& schedule() const { return schedule_; }
    const std::string& device() const { return device_; }

    /// Evaluate the denoiser on a batch x_t ([batch, *data_shape], row-major)
    /// at timestep t, returning (x0_hat, eps_hat) without clipping. A helper for
    /// tests, views and metrics; runs use the same code.
    Denoised denoise(std::span<const double> x_t, int batch, int t) const;

    detail::Denoiser& denoiser() const { return *denoiser_; }

private:
    Model(ModelCard card, std::unique_ptr<detail::Denoiser> denoiser, std::string device);
    ModelCard card_;
    NoiseSchedule schedule_;
    std::unique_ptr<detail::Denoiser> denoiser_;
    std::string device_;
};

} // namespace noisetrail
