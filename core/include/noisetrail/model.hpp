// A loaded model: a card plus its denoiser, ready to sample from.
#pragma once
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

/// The pair every sampler works from (contract section 1).
struct Denoised {
    std::vector<double> x0_hat;
    std::vector<double> eps_hat;
};

class Model {
public:
    /// Load the card and whatever it points to (data, weights); every problem
    /// is an InputError naming the card. `device` is "cpu" or "cuda".
    static std::shared_ptr<Model> load(const std::filesystem::path& card_path,
                                       const std::string& device = "cpu");
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
