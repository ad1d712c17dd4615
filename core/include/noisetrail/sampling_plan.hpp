// The descending timesteps of one sampling run and their float64 coefficients.
#pragma once
#include "noisetrail/noise_schedule.hpp"
#include "noisetrail/sampler_config.hpp"

#include <string>
#include <vector>

namespace noisetrail {

struct PlanStep {
    int t = 0;
    int t_prev = -1;             ///< next timestep of the sequence; -1 after the last step
    double alpha_bar = 0.0;
    double alpha_bar_prev = 1.0; ///< 1 after the last step: it lands on x0_hat
    double sigma = 0.0;          ///< std of the noise added by this step
};

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
SamplingPlan make_plan(const NoiseSchedule& schedule, const SamplerConfig& config);

} // namespace noisetrail
