// DDPM ancestral sampling (Ho et al. 2020, eqs. 6-7), strided as in DDIM paper App. C.1.
#include "samplers/sampler.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace noisetrail::detail {

namespace {

double ddpm_sigma(const SamplerConfig& c, double ab, double ab_prev)
{
    const double beta = 1.0 - ab / ab_prev; // beta' of the strided step
    // fixed_small: posterior variance beta~ = beta' (1 - ab_prev) / (1 - ab) (eq. 7);
    // fixed_large: beta' (the DDIM paper's sigma-hat).
    const double var = c.variance == Variance::FixedLarge ? beta : beta * (1.0 - ab_prev) / (1.0 - ab);
    return std::sqrt(var);
}

at::Tensor ddpm_step(const StepInput& in)
{
    const PlanStep& s = in.s;
    const at::Tensor &x_t = in.x_t, &x0_hat = in.d.x0_hat, &z = in.z;
    const double ab = s.alpha_bar, ab_prev = s.alpha_bar_prev;
    const double beta = 1.0 - ab / ab_prev;
    const double alpha = 1.0 - beta;
    // Posterior mean mu~(x_t, x0_hat), Ho et al. eq. 7.
    const double c_x0 = std::sqrt(ab_prev) * beta / (1.0 - ab);
    const double c_xt = std::sqrt(alpha) * (1.0 - ab_prev) / (1.0 - ab);
    at::Tensor x_prev = c_x0 * x0_hat + c_xt * x_t;
    if (s.sigma > 0.0)
        x_prev.add_(z, s.sigma);
    return x_prev;
}

} // namespace

SamplerUnit ddpm_sampler()
{
    return {{.name = "ddpm", .title = "DDPM", .default_steps = 0, .uses_eta = false, .uses_variance = true,
             .deterministic = false, .order = 1, .max_model_calls_per_step = 1},
            &ddpm_sigma, &ddpm_step};
}

} // namespace noisetrail::detail
