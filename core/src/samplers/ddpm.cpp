// DDPM ancestral sampling (Ho et al. 2020, eqs. 6-7), strided as in DDIM paper App. C.1,
// on any Gaussian path (contract section 8): the posterior q(x_t' | x_t, x0_hat) of the
// transition x_t = (alpha/alpha') x_t' + sqrt(beta') z, beta' = sigma^2 - (alpha/alpha')^2 sigma'^2
// (on VP beta' = 1 - ab/ab', the strided beta).
#include "samplers/sampler.hpp"

#include <cmath>

namespace noisetrail::detail {

namespace {

double ddpm_sigma(const SamplerConfig& c, const StepPath& p)
{
    const double beta = p.transition_var; // beta' of the strided step
    // fixed_small: posterior variance beta~ = beta' sigma'^2 / sigma^2 (eq. 7: beta' (1 - ab') / (1 - ab));
    // fixed_large: beta' (the DDIM paper's sigma-hat).
    const double var = c.variance == Variance::FixedLarge ? beta : beta * p.sigma_sq_p / p.sigma_sq;
    return std::sqrt(var);
}

StepTerms ddpm_terms(const SamplerConfig&, const PlanStep& s, const PlanStep*)
{
    const StepPath p = step_path(s);
    const double beta = p.transition_var;
    // Posterior mean mu~(x_t, x0_hat), Ho et al. eq. 7; on the last step (alpha' = 1, sigma' = 0)
    // it is x0_hat itself and the plan's sigma is 0.
    StepTerms out;
    out.terms = {{p.alpha_p * beta / p.sigma_sq, Quantity::X0Hat, "", "posterior mean: weight of x0_hat"},
                 {p.transition_ratio * p.sigma_sq_p / p.sigma_sq, Quantity::Xt, "", "posterior mean: weight of x_t"},
                 {s.sigma, Quantity::Noise, "", "posterior noise"}};
    return out;
}

} // namespace

SamplerUnit ddpm_sampler()
{
    return make_unit<&ddpm_terms>(
        {.name = "ddpm", .title = "DDPM", .summary = "ancestral sampling (Ho et al. 2020)",
         .equation = R"(\xprev = \mu + \sigma z, ~ \mu = \sqrt\abprev \beta\prime / (1\minus\ab) \xzero + )"
                     R"(\sqrt\alpha\prime (1\minus\abprev) / (1\minus\ab) \xt, ~ \beta\prime = 1 \minus \ab/\abprev)",
         .reference = "Ho et al. eq. 6\u20137", .default_steps = 0, .uses_eta = false, .uses_variance = true,
         .deterministic = false, .order = 1, .max_model_calls_per_step = 1},
        &ddpm_sigma);
}

} // namespace noisetrail::detail
