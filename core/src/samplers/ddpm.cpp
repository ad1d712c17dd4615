// DDPM ancestral sampling (Ho et al. 2020, eqs. 6-7), strided as in DDIM paper App. C.1.
#include "samplers/sampler.hpp"

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

StepTerms ddpm_terms(const SamplerConfig&, const PlanStep& s, const PlanStep*)
{
    const double ab = s.alpha_bar, ab_prev = s.alpha_bar_prev;
    const double beta = 1.0 - ab / ab_prev;
    const double alpha = 1.0 - beta;
    // Posterior mean mu~(x_t, x0_hat), Ho et al. eq. 7; on the last step (ab_prev = 1)
    // it is x0_hat itself and the plan's sigma is 0.
    StepTerms out;
    out.terms = {{std::sqrt(ab_prev) * beta / (1.0 - ab), Quantity::X0Hat, "", "posterior mean: weight of x0_hat"},
                 {std::sqrt(alpha) * (1.0 - ab_prev) / (1.0 - ab), Quantity::Xt, "", "posterior mean: weight of x_t"},
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
