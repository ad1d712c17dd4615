// Internal sampler units: one update rule x_t -> x_prev over (x0_hat, eps_hat).
// Adding a sampler: one file defining a SamplerUnit plus one line in registry.cpp.
#pragma once
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"


#include <string>
#include <vector>

namespace at { class Tensor; }

namespace noisetrail::detail {

struct SamplerUnit {
    std::string name;
    std::string title;       ///< "DDPM", "DDIM" for descriptions
    int default_steps;       ///< 0 means T
    bool uses_eta;
    bool uses_variance;
    /// Std of the noise the step adds, from the strided alpha_bar pair (float64).
    double (*sigma)(const SamplerConfig& config, double alpha_bar, double alpha_bar_prev);
    /// x_prev from x_t and the denoised pair; `z` is N(0, I) noise, undefined when sigma == 0.
    at::Tensor (*step)(const SamplerConfig& config, const PlanStep& s, const at::Tensor& x_t,
                       const at::Tensor& x0_hat, const at::Tensor& eps_hat, const at::Tensor& z);
};

const std::vector<SamplerUnit>& sampler_registry();
/// Throws InputError for an unknown name.
const SamplerUnit& find_sampler(const std::string& name);

SamplerUnit ddpm_sampler();
SamplerUnit ddim_sampler();

} // namespace noisetrail::detail
