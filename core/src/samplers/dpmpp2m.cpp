// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): multistep,
// second order, data prediction (x0_hat), on the probability-flow ODE.
//
// With alpha = sqrt(ab), sigma = sqrt(1 - ab), lambda = log(alpha / sigma) and
// h = lambda_prev - lambda:
//   first order (eq. 9 with D = x0_hat; equals DDIM eta 0):
//       x_prev = (sigma_prev / sigma) x - alpha_prev (exp(-h) - 1) D
//   second order (every step but the first and the last), r = h_last / h:
//       D = (1 + 1/(2r)) x0_hat - (1/(2r)) x0_hat_last
// The last step (ab_prev = 1: sigma_prev = 0, lambda_prev = inf) lands on x0_hat.
// On any Gaussian path (contract section 8) alpha, sigma and lambda are the path's;
// where alpha = 0 (flow, s = 1: lambda = -inf, h = inf) the first-order step is
// x_prev = sigma' x_t/sigma + alpha' x0_hat, and the step after it is first order too.
//
// Step-ratio rule: where r < 1/2 the step is first order. The extrapolation weight
// 1/(2r) on the previous x0_hat then exceeds 1, and a short step followed by a long
// one (the last interior step of a plan uniform in t, where lambda grows like
// -0.5 log t) amplifies x0_hat's change instead of correcting it. Alg. 2 assumes
// steps near-uniform in lambda (r ~ 1, Lu et al. 2022 sec. 3.3 and 5); the authors'
// code and diffusers' DPMSolverMultistepScheduler drop to first order at the end of
// short plans for the same reason (`lower_order_final`, `euler_at_final`). The bound
// 1/2 is ours, measured on the exact Gaussian card (docs/CLI.md, "Default plans"):
// it keeps every r of a logsnr or quadratic plan second order and fixes leading plans.
#include "samplers/sampler.hpp"

#include <cmath>

namespace noisetrail::detail {

namespace {

/// Below this step ratio r = h_last / h the step is first order (see above).
constexpr double kMinStepRatio = 0.5;

StepTerms dpmpp2m_terms(const SamplerConfig&, const PlanStep& s, const PlanStep* previous)
{
    StepTerms out;
    if (s.t_prev < 0) {
        out.terms = {{1.0, Quantity::X0Hat, "", "predicted x_0"}};
        out.note = R"(~(\sigma\prime = 0))";
        return out;
    }
    const StepPath p = step_path(s);
    const double h = p.lambda_p - p.lambda;
    const double c_xt = p.sigma_p / p.sigma;            // sigma_prev / sigma
    const double c_d = -p.alpha_p * std::expm1(-h);     // -alpha_prev (e^-h - 1)
    out.scalars = {{"h", h, "step in lambda = log(alpha / sigma)"}};
    const TermSum grouped{R"(\xprev)", "", {{c_xt, Quantity::Xt, "", "x_t scaled by sigma'/sigma"},
                                        {c_d, Quantity::Defined, "D", "data prediction D"}}};
    const StepPath before = previous ? step_path(*previous) : StepPath{};
    if (!previous || before.alpha_sq == 0.0) {
        out.terms = {{c_xt, Quantity::Xt, "", "x_t scaled by sigma'/sigma"}, {c_d, Quantity::X0Hat, "", "D = x0_hat"}};
        out.note = R"(~(first step: first order, D = \xzero))";
        out.lines = {grouped};
        return out;
    }
    // r from the step before: its h is that of the plan step before (state h_last in Alg. 2).
    const double r = (before.lambda_p - before.lambda) / h;
    out.scalars.push_back({"r", r, "h of the step before / h"});
    if (r < kMinStepRatio) {
        out.terms = {{c_xt, Quantity::Xt, "", "x_t scaled by sigma'/sigma"}, {c_d, Quantity::X0Hat, "", "D = x0_hat"}};
        out.note = R"(~(r < 1/2: first order, D = \xzero))";
        out.lines = {grouped};
        return out;
    }
    const double w = 0.5 / r;
    out.lines = {{"D", "", {{1.0 + w, Quantity::X0Hat, "", ""}, {-w, Quantity::X0HatLast, "", ""}}}, grouped};
    out.terms = {{c_xt, Quantity::Xt, "", "x_t scaled by sigma'/sigma"},
                 {c_d * (1.0 + w), Quantity::X0Hat, "", "D's share of x0_hat"},
                 {-c_d * w, Quantity::X0HatLast, "", "D's share of the previous x0_hat"}};
    return out;
}

} // namespace

SamplerUnit dpmpp2m_sampler()
{
    return make_unit<&dpmpp2m_terms>(
        {.name = "dpmpp2m", .title = "DPM-Solver++(2M)", .summary = "DPM-Solver++(2M), multistep (Lu et al. 2022)",
         .equation = R"(\xprev = (\sigma\prime/\sigma) \xt \minus \alpha\prime (e^{\minus{}h} \minus 1) D, ~ \alpha = \sqrt\ab, )"
                     R"(\sigma = \sqrt(1\minus\ab), h = \lambda\prime \minus \lambda, \lambda = log(\alpha/\sigma), )"
                     R"(~ D = (1 + 1/2r) \xzero \minus (1/2r) \xzero^{last}, r = h^{last}/h)",
         .reference = "Lu et al. 2022, Alg. 2", .default_steps = 50, .uses_eta = false, .uses_variance = false,
         .deterministic = true, .order = 2, .max_model_calls_per_step = 1,
         .default_spacing = Spacing::Logsnr},
        &no_noise);
}

} // namespace noisetrail::detail
