// Euler ancestral ("Euler a" of image tools; k-diffusion's sample_euler_ancestral,
// Crowson 2022): an Euler step of the probability-flow ODE in Karras et al.'s
// sigma space (Karras et al. 2022, eq. 4: dx/dsigma = (x - D(x)) / sigma, here
// d x_bar / ds = eps_hat) down to sigma_down, then fresh noise of std sigma_up,
// with sigma_down^2 + sigma_up^2 = sigma_prev^2 so the step lands on the
// marginal noise level of t_prev.
//
// On the VP plan's alpha_bar pairs, in the scaling x_bar = x / sqrt(ab) with
// s = sqrt((1 - ab) / ab) (as heun.cpp):
//   s_up   = min(s_prev, eta sqrt(s_prev^2 (s^2 - s_prev^2) / s^2)),  s_down = sqrt(s_prev^2 - s_up^2)
//   x_bar_prev = x_bar + (s_down - s) eps_hat + s_up z
// and on x_t: x_prev = sqrt(ab_prev / ab) x_t + sqrt(ab_prev) (s_down - s) eps_hat + sqrt(ab_prev) s_up z.
// eta is 1 (the tools' default; eta 0 would be the plain Euler step, DDIM eta 0).
// With eta 1 the noise std sqrt(ab_prev) s_up equals DDIM eta 1's sigma (Song et al.
// eq. 16) and the mean equals DDIM's, i.e. DDPM's posterior: a property the tests check.
// The last step (s_prev = 0) lands on x0_hat. On any Gaussian path (contract
// section 8) sqrt(ab) is the path's alpha and s = sigma / alpha; where alpha = 0
// (flow, s = 1) s is infinite, sigma_up = s_prev, sigma_down = 0, and the step is
// x_prev = alpha' x0_hat + sigma' z.
#include "samplers/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace noisetrail::detail {

namespace {

constexpr double kEta = 1.0;

struct AncestralSplit {
    double down = 0.0, up = 0.0;
};

// k-diffusion's get_ancestral_step(sigma_from, sigma_to, eta), in our own words.
AncestralSplit ancestral_split(double s, double s_prev, double eta)
{
    AncestralSplit a;
    if (std::isinf(s)) {
        a.up = s_prev; // the limit s -> inf
        return a;
    }
    a.up = std::min(s_prev, eta * std::sqrt(s_prev * s_prev * (s * s - s_prev * s_prev) / (s * s)));
    a.down = std::sqrt(std::max(0.0, s_prev * s_prev - a.up * a.up));
    return a;
}

double euler_a_sigma(const SamplerConfig&, const StepPath& p)
{
    return p.alpha_p * ancestral_split(p.gamma, p.gamma_p, kEta).up;
}

StepTerms euler_a_terms(const SamplerConfig&, const PlanStep& s, const PlanStep*)
{
    StepTerms out;
    if (s.t_prev < 0) {
        out.terms = {{1.0, Quantity::X0Hat, "", "predicted x_0"}};
        out.note = R"(~(\sigma\prime = 0: the Euler step to 0 lands on \xzero))";
        return out;
    }
    const StepPath p = step_path(s);
    if (p.alpha_sq == 0.0) {
        out.terms = {{p.alpha_p, Quantity::X0Hat, "", "predicted x_0"}, {s.sigma, Quantity::Noise, "", "fresh noise up to sigma'"}};
        out.note = R"(~(\alpha = 0: \sigma infinite, \sigma_{down} = 0))";
        return out;
    }
    const double s_cur = p.gamma, s_prev = p.gamma_p;
    const AncestralSplit a = ancestral_split(s_cur, s_prev, kEta);
    out.scalars = {{R"(\sigma)", s_cur, "noise level at t, sqrt((1 - ab) / ab)"},
                   {R"(\sigma\prime)", s_prev, "noise level at t'"},
                   {R"(\sigma_{down})", a.down, "where the Euler step goes"},
                   {R"(\sigma_{up})", a.up, "std of the fresh noise, before scaling by sqrt(ab')"}};
    // The noise coefficient is the plan's sigma (euler_a_sigma above): sqrt(ab_prev) s_up.
    out.terms = {{std::sqrt(p.alpha_sq_p / p.alpha_sq), Quantity::Xt, "", "x_t rescaled"},
                 {p.alpha_p * (a.down - s_cur), Quantity::EpsHat, "", "Euler step to sigma_down"},
                 {s.sigma, Quantity::Noise, "", "fresh noise up to sigma'"}};
    return out;
}

} // namespace

SamplerUnit euler_a_sampler()
{
    return make_unit<&euler_a_terms>(
        {.name = "euler_a", .title = "Euler a",
         .summary = "Euler ancestral, eta 1 (Karras et al. 2022 sigma space; k-diffusion)",
         .equation = R"(on \xbar = x/\sqrt\ab, \sigma = \sqrt((1\minus\ab)/\ab): \xprev = \sqrt\abprev (\xbar + )"
                     R"((\sigma_{down} \minus \sigma) \eps + \sigma_{up} z), ~ \sigma_{up} = \sigma\prime )"
                     R"(\sqrt(1 \minus \sigma\prime\squared/\sigma\squared), \sigma_{down} = \sqrt(\sigma\prime\squared \minus )"
                     R"(\sigma_{up}\squared) (\eta = 1))",
         .reference = "Karras et al. 2022 eq. 4; k-diffusion", .default_steps = 50, .uses_eta = false,
         .uses_variance = false, .deterministic = false, .order = 1, .max_model_calls_per_step = 1},
        &euler_a_sigma);
}

} // namespace noisetrail::detail
