// DDIM (Song et al. 2021), eq. 12 with sigma from eq. 16 scaled by eta, on any
// Gaussian path x = alpha x_0 + sigma eps (contract section 8): the noise std is
// eta (sigma'/sigma) sqrt(sigma^2 - (alpha/alpha')^2 sigma'^2), eq. 16 on VP.
#include "samplers/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace noisetrail::detail {

namespace {

double ddim_sigma(const SamplerConfig& c, const StepPath& p)
{
    return c.eta * std::sqrt(p.sigma_sq_p / p.sigma_sq) * std::sqrt(p.transition_var);
}

StepTerms ddim_terms(const SamplerConfig& c, const PlanStep& s, const PlanStep*)
{
    const StepPath p = step_path(s);
    StepTerms out;
    // "direction pointing to x_t"; clamp guards eta > 1 where sigma^2 can exceed sigma'^2.
    const double c_eps = std::sqrt(std::max(0.0, p.sigma_sq_p - s.sigma * s.sigma));
    out.terms = {{p.alpha_p, Quantity::X0Hat, "", "predicted x_0"},
                 {c_eps, Quantity::EpsHat, "", "direction pointing to x_t"},
                 {s.sigma, Quantity::Noise, "", "random noise"}};
    if (s.sigma == 0.0 && c.eta == 0.0)
        out.note = R"(~(\eta = 0: deterministic, no noise term))";
    return out;
}

} // namespace

SamplerUnit ddim_sampler()
{
    return make_unit<&ddim_terms>(
        {.name = "ddim", .title = "DDIM", .summary = "denoising diffusion implicit models (Song et al. 2021)",
         .equation = R"(\xprev = \sqrt\abprev \xzero + \sqrt(1 \minus \abprev \minus \sigma\squared) \eps + \sigma z, )"
                     R"(~ \sigma = \eta \sqrt((1\minus\abprev)/(1\minus\ab)) \sqrt(1 \minus \ab/\abprev) (eq. 16))",
         .reference = "Song et al. eq. 12", .default_steps = 50, .uses_eta = true, .uses_variance = false,
         .deterministic = false, .order = 1, .max_model_calls_per_step = 1},
        &ddim_sigma);
}

} // namespace noisetrail::detail
