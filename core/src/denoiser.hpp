// Internal: the model behind a card, as a function of (x_t, t). Torch lives here.
#pragma once
#include "noisetrail/model_card.hpp"
#include "noisetrail/noise_schedule.hpp"

#include <ATen/ATen.h>

#include <memory>
#include <optional>

namespace noisetrail::detail {

class Denoiser {
public:
    virtual ~Denoiser() = default;
    /// The card's prediction quantity (epsilon, x_0 or v) for x_t, float64
    /// [B, *data_shape] on the model's device, at timestep t (shared by the batch).
    /// Returns float64 of the same shape on the same device.
    virtual at::Tensor predict(const at::Tensor& x_t, int t) = 0;
};

/// Build the denoiser a card describes; InputError naming the card on any problem.
std::unique_ptr<Denoiser> make_denoiser(const ModelCard& card, const NoiseSchedule& schedule,
                                        const at::Device& device);

// One factory per kind (models/*.cpp).
std::unique_ptr<Denoiser> make_gaussian_mixture(const ModelCard&, const NoiseSchedule&, const at::Device&);
std::unique_ptr<Denoiser> make_empirical(const ModelCard&, const NoiseSchedule&, const at::Device&);
std::unique_ptr<Denoiser> make_torchscript(const ModelCard&, const NoiseSchedule&, const at::Device&);

struct DenoisedTensors {
    at::Tensor x0_hat;
    at::Tensor eps_hat;
};

/// (x0_hat, eps_hat) from a model output of parameterisation p; with a clip
/// radius, x0_hat is clipped and eps_hat recomputed from it (contract section 1).
DenoisedTensors to_x0_eps(Prediction p, double alpha_bar, const at::Tensor& x_t, const at::Tensor& output,
                          std::optional<double> clip_radius);

/// The output of parameterisation p that corresponds to the pair (x0, eps):
/// eps, x0, or v = sqrt(ab) eps - sqrt(1 - ab) x0.
at::Tensor from_x0_eps(Prediction p, double alpha_bar, const at::Tensor& x0, const at::Tensor& eps);

/// at::Device from "cpu"/"cuda"; InputError if unavailable.
at::Device parse_device(const std::string& name);

} // namespace noisetrail::detail
