// Internal sampler units: one update rule x_t -> x_prev over (x0_hat, eps_hat).
// Adding a sampler: one file defining a SamplerUnit plus one line in registry.cpp.
#pragma once
#include "denoiser.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace noisetrail::detail {

/// Per-run memory of a sampler between steps (multistep solvers keep earlier
/// outputs). Each unit defines its own derived state; stateless units have none.
struct SamplerState {
    virtual ~SamplerState() = default;
};

/// The denoised pair at (x, t) exactly as the run computes it (model call,
/// parameterisation, clipping), counted as one more model call of the step.
/// `alpha_bar` is that of t.
using Evaluate = std::function<DenoisedTensors(const at::Tensor& x, int t, double alpha_bar)>;

/// Everything one step sees. `d` is the evaluation at (x_t, t) that the run
/// made before the step (possibly shared with other runs, RunSet merging).
struct StepInput {
    const SamplerConfig& config;
    const PlanStep& s;
    const at::Tensor& x_t;
    const DenoisedTensors& d;
    const at::Tensor& z;      ///< N(0, I) noise; undefined when s.sigma == 0
    SamplerState* state;      ///< from make_state; null for stateless units
    const Evaluate& evaluate; ///< further model calls within the step (Heun)
};

struct SamplerUnit {
    SamplerInfo info;
    /// Std of the noise the step adds, from the strided alpha_bar pair (float64).
    double (*sigma)(const SamplerConfig& config, double alpha_bar, double alpha_bar_prev);
    /// x_prev (float64, the shape of x_t).
    at::Tensor (*step)(const StepInput& in);
    /// A fresh per-run state; null for stateless samplers.
    std::unique_ptr<SamplerState> (*make_state)() = nullptr;
};

const std::vector<SamplerUnit>& sampler_registry();
/// Throws InputError for an unknown name.
const SamplerUnit& find_sampler(const std::string& name);

SamplerUnit ddpm_sampler();
SamplerUnit ddim_sampler();
SamplerUnit heun_sampler();
SamplerUnit dpmpp2m_sampler();

/// sigma of deterministic samplers.
inline double no_noise(const SamplerConfig&, double, double) { return 0.0; }

} // namespace noisetrail::detail
