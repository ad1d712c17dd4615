// Euler's method on the probability-flow ODE of any Gaussian path x = alpha x_0 +
// sigma eps (contract section 8): x_prev = alpha' x0_hat + sigma' eps_hat. On the
// flow path (alpha = 1 - s, sigma = s) it is x_prev = x_s + (s' - s) v with the
// velocity v = eps_hat - x0_hat, the rectified-flow sampler (Liu et al. 2023;
// diffusers' FlowMatchEulerDiscreteScheduler). On VP it is DDIM with eta 0
// (Song et al. 2021, eq. 12) and Karras et al.'s Euler step (Alg. 1 without the
// correction): the three agree because x0_hat and eps_hat are one consistent pair.
// Written on x0_hat it is defined where alpha = 0 (flow, s = 1).
#include "samplers/sampler.hpp"

namespace noisetrail::detail {

namespace {

StepTerms euler_terms(const SamplerConfig&, const PlanStep& s, const PlanStep*)
{
    const StepPath p = step_path(s);
    StepTerms out;
    out.terms = {{p.alpha_p, Quantity::X0Hat, "", "predicted x_0, scaled to t'"},
                 {p.sigma_p, Quantity::EpsHat, "", "predicted noise, scaled to t'"}};
    if (s.t_prev < 0)
        out.note = R"(~(\sigma\prime = 0: lands on \xzero))";
    return out;
}

} // namespace

SamplerUnit euler_sampler()
{
    return make_unit<&euler_terms>(
        {.name = "euler", .title = "Euler",
         .summary = "Euler's method on the probability-flow ODE (flow: rectified-flow Euler; VP: DDIM eta 0)",
         .equation = R"(\xprev = \alpha\prime \xzero + \sigma\prime \eps; ~ flow: \xprev = \xt + (s\prime \minus s) v, )"
                     R"(v = \eps \minus \xzero)",
         .reference = "Liu et al. 2023; Song et al. eq. 12", .default_steps = 50, .uses_eta = false,
         .uses_variance = false, .deterministic = true, .order = 1, .max_model_calls_per_step = 1},
        &no_noise);
}

} // namespace noisetrail::detail
