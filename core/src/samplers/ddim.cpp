// DDIM (Song et al. 2021), eq. 12 with sigma from eq. 16 scaled by eta.
#include "samplers/sampler.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace noisetrail::detail {

namespace {

double ddim_sigma(const SamplerConfig& c, double ab, double ab_prev)
{
    return c.eta * std::sqrt((1.0 - ab_prev) / (1.0 - ab)) * std::sqrt(1.0 - ab / ab_prev);
}

at::Tensor ddim_step(const StepInput& in)
{
    const PlanStep& s = in.s;
    const at::Tensor &x0_hat = in.d.x0_hat, &eps_hat = in.d.eps_hat, &z = in.z;
    const double ab_prev = s.alpha_bar_prev;
    // "direction pointing to x_t"; clamp guards eta > 1 where sigma^2 can exceed 1 - ab_prev.
    const double c_eps = std::sqrt(std::max(0.0, 1.0 - ab_prev - s.sigma * s.sigma));
    at::Tensor x_prev = std::sqrt(ab_prev) * x0_hat + c_eps * eps_hat;
    if (s.sigma > 0.0)
        x_prev.add_(z, s.sigma);
    return x_prev;
}

} // namespace

SamplerUnit ddim_sampler()
{
    return {{.name = "ddim", .title = "DDIM", .default_steps = 50, .uses_eta = true, .uses_variance = false,
             .deterministic = false, .order = 1, .max_model_calls_per_step = 1},
            &ddim_sigma, &ddim_step};
}

} // namespace noisetrail::detail
