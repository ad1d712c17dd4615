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
#include "samplers/sampler.hpp"

#include <cmath>

namespace noisetrail::detail {

namespace {

struct Dpmpp2mState final : SamplerState {
    at::Tensor x0_last; ///< x0_hat of the previous step; undefined before the first
    double h_last = 0.0;
};

double log_snr_half(double ab) // lambda = log(alpha / sigma)
{
    return 0.5 * (std::log(ab) - std::log1p(-ab));
}

at::Tensor dpmpp2m_step(const StepInput& in)
{
    const PlanStep& s = in.s;
    auto& state = static_cast<Dpmpp2mState&>(*in.state);
    at::Tensor x_prev;
    double h = 0.0;
    if (s.t_prev < 0) {
        x_prev = in.d.x0_hat.clone();
    } else {
        const double ab = s.alpha_bar, ab_prev = s.alpha_bar_prev;
        const double sigma = std::sqrt(1.0 - ab), sigma_prev = std::sqrt(1.0 - ab_prev);
        h = log_snr_half(ab_prev) - log_snr_half(ab);
        at::Tensor D = in.d.x0_hat;
        if (state.x0_last.defined()) {
            const double r = state.h_last / h;
            D = (1.0 + 0.5 / r) * in.d.x0_hat - (0.5 / r) * state.x0_last;
        }
        x_prev = (sigma_prev / sigma) * in.x_t - (std::sqrt(ab_prev) * std::expm1(-h)) * D;
    }
    state.x0_last = in.d.x0_hat;
    state.h_last = h;
    return x_prev;
}

std::unique_ptr<SamplerState> make_dpmpp2m_state()
{
    return std::make_unique<Dpmpp2mState>();
}

} // namespace

SamplerUnit dpmpp2m_sampler()
{
    return {{.name = "dpmpp2m", .title = "DPM-Solver++(2M)", .default_steps = 50, .uses_eta = false,
             .uses_variance = false, .deterministic = true, .order = 2, .max_model_calls_per_step = 1},
            &no_noise, &dpmpp2m_step, &make_dpmpp2m_state};
}

} // namespace noisetrail::detail
