// The descending timesteps of one sampling run and their float64 coefficients.
#pragma once
#include "noisetrail/noise_schedule.hpp"
#include "noisetrail/sampler_config.hpp"

#include <string>
#include <vector>

namespace noisetrail {

/// One step t -> t_prev. On the VP process (contract sections 1-7) t indexes the
/// schedule. On the flow process (section 8) the noise level is the real `level`
/// s in (0, 1] (level_prev: 0 after the last step); t is then a display index,
/// round(s T) - 1 (the schedule's grid s_t = (t + 1) / T), and alpha_bar is the
/// VP-equivalent alpha_bar of s (flow_equivalent_alpha_bar: the same SNR).
struct PlanStep {
    int t = 0;
    int t_prev = -1;             ///< next timestep of the sequence; -1 after the last step
    double alpha_bar = 0.0;
    double alpha_bar_prev = 1.0; ///< 1 after the last step: it lands on x0_hat
    double sigma = 0.0;          ///< std of the noise added by this step
    ProcessKind process = ProcessKind::Vp;
    double level = 0.0;          ///< flow: s of this step (VP: unused, t is the level)
    double level_prev = 0.0;     ///< flow: s of the next step, 0 after the last
};

/// The Gaussian path at one noise level: x = alpha x_0 + sigma eps (contract
/// section 8; VP: alpha = sqrt(ab), sigma = sqrt(1 - ab); flow: 1 - s, s).
struct PathPoint {
    double alpha = 1.0;
    double sigma = 0.0;
};
/// The path at the step's level and at its level_prev (alpha 1, sigma 0 after the last step).
PathPoint path_at(const PlanStep& step);
PathPoint path_at_prev(const PlanStep& step);
/// The noise level as printed (plan --json "t", dumps' timesteps.npy): t on VP, s on flow;
/// for the level after the last step, -1 on VP and 0 on flow.
double noise_level(const PlanStep& step);
double noise_level_prev(const PlanStep& step);

struct SamplingPlan {
    std::vector<PlanStep> steps;
    std::vector<std::string> warnings; ///< e.g. repeated quadratic timesteps dropped
    int size() const { return static_cast<int>(steps.size()); }
};

/// Descending timesteps for S steps out of T (contract section 1, --spacing).
/// Throws InputError for S outside 1..T. Repeated timesteps (quadratic) are
/// dropped; `dropped` receives how many. Logsnr depends on the schedule: this
/// form throws InputError for it; use the one below.
std::vector<int> make_timesteps(Spacing spacing, int steps, int train_steps, int* dropped = nullptr);
/// The same for every spacing, logsnr included: lambda_i uniform from lambda(T-1)
/// to lambda(0), each mapped to the real t where lambda(t) = lambda_i (linear
/// between train steps) and rounded half to even; repeats dropped.
std::vector<int> make_timesteps(const NoiseSchedule& schedule, Spacing spacing, int steps, int* dropped = nullptr);

/// The warnings of a plan the sampler cannot take stably (empty when it can):
/// a first step whose noise-level ratio s / s' exceeds the sampler's
/// SamplerInfo::max_first_step_ratio. make_plan adds them to SamplingPlan::warnings.
std::vector<std::string> plan_warnings(const SamplerConfig& config, const SamplingPlan& plan);

/// The full plan: timesteps, alpha_bar pairs and the sampler's sigma per step.
/// On a flow schedule (NoiseSchedule::process()): u_i = linspace(1, 1/T, S),
/// s_i = shift u_i / (1 + (shift - 1) u_i), then a last step to s = 0 (contract
/// section 8); spacing does not apply.
SamplingPlan make_plan(const NoiseSchedule& schedule, const SamplerConfig& config);

} // namespace noisetrail
