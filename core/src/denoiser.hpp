// Internal: the model behind a card, as a function of (x_t, t). Torch lives here.
#pragma once
#include "noisetrail/model_card.hpp"
#include "noisetrail/noise_schedule.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <optional>

namespace noisetrail { struct CodeTrust; }

namespace noisetrail::detail {

class Denoiser {
public:
    virtual ~Denoiser() = default;
    /// The card's prediction quantity (epsilon, x_0 or v) for x_t, float64
    /// [B, *data_shape] on the model's device, each sample at its own timestep:
    /// `t` is int64 [B] on the CPU (the TorchScript contract's model(x_t, t)).
    /// Samples of different runs share one call this way (RunSet merging).
    /// Returns float64 of the same shape on the same device.
    /// `c`: the class of each sample on a conditional card (contract section 9), int64
    /// [B] on the CPU, the card's null_label() for the unconditional prediction;
    /// undefined means every sample unconditional (and is what unconditional cards get).
    virtual at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c) = 0;
    /// Convenience: the unconditional prediction.
    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) { return predict(x_t, t, at::Tensor()); }
    /// Convenience: every sample at timestep t, unconditional.
    at::Tensor predict(const at::Tensor& x_t, int t);
    /// Whether one call on a concatenated batch of `merged_batch` rows costs less
    /// than one call per part (MergePolicy::Auto asks this; figures in run_set.cpp).
    virtual bool merging_pays(std::int64_t merged_batch) const { return false; }
    /// Working memory of one call per sample of the batch, in bytes: an estimate that
    /// a run checks against the memory budget before it allocates (limits.hpp).
    /// 0 where it cannot be known (a TorchScript module).
    virtual double bytes_per_sample() const { return 0.0; }
};

/// int64 [B] CPU tensor with every entry t.
at::Tensor timesteps(std::int64_t batch, int t);
/// The time input of a model call at plan step `s` (`prev`: at its t_prev): VP's
/// int64 timesteps, or on the flow process a float64 [B] CPU tensor holding s
/// (the analytic models read it; contract section 8).
at::Tensor time_input(std::int64_t batch, const PlanStep& s, bool prev = false);
/// Evaluate a denoiser at one flow level s per call on a float64 per-sample `t`
/// (time_input of a flow step): one call per distinct s.
at::Tensor predict_grouped_level(const at::Tensor& x_t, const at::Tensor& t,
                                 const std::function<at::Tensor(const at::Tensor& x, double s)>& predict_one);

/// Evaluate an analytic conditional model per class: one call per distinct label of
/// `c` on the rows that have it (`c` undefined: one call with the null label).
at::Tensor predict_grouped_class(
    const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c, std::int64_t null_label,
    const std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t, std::int64_t label)>& predict_one);

/// Evaluate a denoiser that works at one timestep per call on a per-sample `t`:
/// one call when every t is the same (the common case, no copies), else one
/// call per distinct t on the rows that have it. For the analytic models.
at::Tensor predict_grouped(const at::Tensor& x_t, const at::Tensor& t,
                           const std::function<at::Tensor(const at::Tensor& x, int t)>& predict_one);

/// Build the denoiser a card describes; InputError naming the card on any problem.
std::unique_ptr<Denoiser> make_denoiser(const ModelCard& card, const NoiseSchedule& schedule,
                                        const at::Device& device);

// One factory per kind (models/*.cpp).
std::unique_ptr<Denoiser> make_gaussian_mixture(const ModelCard&, const NoiseSchedule&, const at::Device&);
std::unique_ptr<Denoiser> make_empirical(const ModelCard&, const NoiseSchedule&, const at::Device&);
std::unique_ptr<Denoiser> make_torchscript(const ModelCard&, const NoiseSchedule&, const at::Device&);
/// The TorchScript module a card names (field `file`, relative to the card); InputError if missing.
std::filesystem::path torchscript_module(const ModelCard& card);
/// UntrustedCode unless the card's module lies in the bundled models folder or `trust` covers it.
void check_code_trust(const ModelCard& card, const CodeTrust& trust);

struct DenoisedTensors {
    at::Tensor x0_hat;
    at::Tensor eps_hat;
};

/// (x0_hat, eps_hat) from a model output of parameterisation p at the path
/// point x = alpha x_0 + sigma eps; with a clip radius, x0_hat is clipped and
/// eps_hat recomputed from it (contract sections 1 and 8). Where alpha = 0 (flow,
/// s = 1) an epsilon prediction says nothing about x_0: x0_hat is then 0.
DenoisedTensors to_x0_eps(Prediction p, const PathPoint& path, const at::Tensor& x_t, const at::Tensor& output,
                          std::optional<double> clip_radius);
/// The same on VP at alpha_bar: alpha = sqrt(ab), sigma = sqrt(1 - ab).
DenoisedTensors to_x0_eps(Prediction p, double alpha_bar, const at::Tensor& x_t, const at::Tensor& output,
                          std::optional<double> clip_radius);

/// The output of parameterisation p that corresponds to the pair (x0, eps):
/// eps, x0, v = alpha eps - sigma x0 (VP), or the flow velocity eps - x0.
at::Tensor from_x0_eps(Prediction p, const PathPoint& path, const at::Tensor& x0, const at::Tensor& eps);
at::Tensor from_x0_eps(Prediction p, double alpha_bar, const at::Tensor& x0, const at::Tensor& eps);

/// at::Device from "cpu"/"cuda"; InputError if unavailable.
at::Device parse_device(const std::string& name);

} // namespace noisetrail::detail
