// Internal sampler units: one update rule x_t -> x_prev over (x0_hat, eps_hat),
// written once as its terms (noisetrail/step_terms.hpp). The step evaluates the
// terms on tensors (terms_step); the Reverse step tab renders the same terms.
// Adding a sampler: one file defining `SamplerUnit <name>_sampler()` plus one
// line in sampler_list.hpp (and the file in core/CMakeLists.txt). Samplers are
// written over the step's Gaussian path (StepPath), so they run on every process.
#pragma once
#include "denoiser.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "noisetrail/step_terms.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace noisetrail::detail {

/// Per-run memory of a sampler between steps: the previous step's x0_hat and
/// plan step (multistep solvers read them; the others ignore them).
struct SamplerState {
    at::Tensor x0_last;               ///< undefined before the first step
    std::optional<PlanStep> previous; ///< the plan step before this one
};

/// The denoised pair at x and the noise level that follows plan step `s` (its
/// t_prev / level_prev) exactly as the run computes it (model call,
/// parameterisation, clipping), counted as one more model call of the step.
using Evaluate = std::function<DenoisedTensors(const at::Tensor& x, const PlanStep& s)>;

/// One step t -> t' of a Gaussian path x = alpha x_0 + sigma eps (contract
/// section 8), in the forms the samplers use. Written once for every process;
/// on VP each is computed from alpha_bar exactly as the VP formulas of section 1
/// (so VP results stay bit-identical), on flow from s.
struct StepPath {
    double alpha = 0, sigma = 0, alpha_sq = 0, sigma_sq = 0;           ///< at t (VP: sqrt(ab), sqrt(1-ab), ab, 1-ab)
    double alpha_p = 1, sigma_p = 0, alpha_sq_p = 1, sigma_sq_p = 0;   ///< at t' (1, 0, 1, 0 after the last step)
    /// Variance of x_t given x_t': sigma^2 - (alpha/alpha')^2 sigma'^2 (VP: beta' = 1 - ab/ab').
    double transition_var = 0;
    /// alpha / alpha' (VP: sqrt(1 - beta')).
    double transition_ratio = 0;
    /// Karras et al.'s noise level sigma/alpha (VP: sqrt((1 - ab)/ab)); infinite where alpha = 0 (flow s = 1).
    double gamma = 0, gamma_p = 0;
    /// lambda = log(alpha / sigma), the half log-SNR (Lu et al. 2022); -inf where alpha = 0.
    double lambda = 0, lambda_p = 0;
};
StepPath step_path(const PlanStep& s);

/// Everything one step sees. `d` is the evaluation at (x_t, t) that the run
/// made before the step (possibly shared with other runs, RunSet merging).
struct StepInput {
    const SamplerConfig& config;
    const PlanStep& s;
    const at::Tensor& x_t;
    const DenoisedTensors& d;
    const at::Tensor& z;      ///< N(0, I) noise; undefined when s.sigma == 0
    SamplerState* state;      ///< from make_state
    const Evaluate& evaluate; ///< further model calls within the step (Heun)
};

/// A sampler's terms for plan step `s`; `previous` is the plan step before (null on the first).
using TermsFn = StepTerms (*)(const SamplerConfig& config, const PlanStep& s, const PlanStep* previous);

/// x_prev from the terms: evaluates the predictor (and its model call) when
/// there is one, then sums the terms; updates the state. Float64, the shape of x_t.
at::Tensor apply_terms(const StepTerms& terms, const StepInput& in);

/// The step of every unit: its terms, evaluated (one home for each formula).
template <TermsFn Terms>
at::Tensor terms_step(const StepInput& in)
{
    const PlanStep* previous = in.state && in.state->previous ? &*in.state->previous : nullptr;
    return apply_terms(Terms(in.config, in.s, previous), in);
}

inline std::unique_ptr<SamplerState> make_sampler_state() { return std::make_unique<SamplerState>(); }

struct SamplerUnit {
    SamplerInfo info;
    /// Std of the noise the step adds, from the step's path (float64); make_plan
    /// stores it as PlanStep::sigma, which the terms use as Noise's coefficient.
    double (*sigma)(const SamplerConfig& config, const StepPath& path);
    TermsFn terms;
    /// x_prev (float64, the shape of x_t): terms_step<terms> for every unit so far.
    at::Tensor (*step)(const StepInput& in);
    /// A fresh per-run state.
    std::unique_ptr<SamplerState> (*make_state)() = &make_sampler_state;
};

/// The unit a sampler file defines: info, sigma and terms; its step evaluates the terms.
template <TermsFn Terms>
SamplerUnit make_unit(SamplerInfo info, double (*sigma)(const SamplerConfig&, const StepPath&))
{
    return {std::move(info), sigma, Terms, &terms_step<Terms>};
}

const std::vector<SamplerUnit>& sampler_registry();
/// Throws InputError for an unknown name.
const SamplerUnit& find_sampler(const std::string& name);

/// sigma of deterministic samplers.
inline double no_noise(const SamplerConfig&, const StepPath&) { return 0.0; }

/// lambda = log(alpha / sigma) = (log ab - log(1 - ab)) / 2, the half log-SNR (Lu et al. 2022).
inline double half_log_snr(double ab) { return 0.5 * (std::log(ab) - std::log1p(-ab)); }

/// Karras et al.'s sigma of a VP step, in the x / sqrt(ab) scaling: sqrt((1 - ab) / ab).
inline double karras_sigma(double ab) { return std::sqrt((1.0 - ab) / ab); }

} // namespace noisetrail::detail
