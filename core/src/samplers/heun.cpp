// Heun's second-order method on the probability-flow ODE (Karras et al. 2022,
// "Elucidating the Design Space...", Algorithm 1), for the VP schedule.
//
// In the scaled variables x_bar = x / sqrt(ab) and s = sqrt((1 - ab) / ab) the
// probability-flow ODE of the VP process is d x_bar / d s = eps(x_bar), with
// eps the noise prediction at the timestep whose s it is (Karras et al. eq. 4
// with sigma = s, scale = sqrt(ab); Song et al. 2021, DDIM sec. 4.3).
//   Euler:  x_bar' = x_bar + (s_prev - s) eps_hat(x_t, t)   (alone, exactly DDIM eta 0)
//   Heun:   x_bar_prev = x_bar + (s_prev - s) (eps_hat + eps')/2, eps' at (sqrt(ab_prev) x_bar', t_prev)
// The last step (ab_prev = 1, s_prev = 0) is Euler only, as in Algorithm 1: it
// lands on x0_hat. Clipping applies to each evaluation (eps from the clipped x0_hat).
#include "samplers/sampler.hpp"

#include <cmath>

namespace noisetrail::detail {

namespace {

at::Tensor heun_step(const StepInput& in)
{
    const PlanStep& s = in.s;
    // x_bar + (0 - s) eps_hat = x0_hat exactly when eps_hat is consistent with x0_hat
    // (to_x0_eps guarantees it); return x0_hat itself rather than its rounding.
    if (s.t_prev < 0)
        return in.d.x0_hat.clone();
    const double ab = s.alpha_bar, ab_prev = s.alpha_bar_prev;
    const double sqrt_ab = std::sqrt(ab), sqrt_ab_prev = std::sqrt(ab_prev);
    const double s_cur = std::sqrt((1.0 - ab) / ab), s_prev = std::sqrt((1.0 - ab_prev) / ab_prev);
    const double ds = s_prev - s_cur;
    const at::Tensor x_bar = in.x_t / sqrt_ab;
    const at::Tensor x_euler = sqrt_ab_prev * (x_bar + ds * in.d.eps_hat);
    // Heun's second evaluation happens inside the step, so it is never merged
    // with other runs' evaluations (only the first evaluation of a tick is).
    const DenoisedTensors d2 = in.evaluate(x_euler, s.t_prev, ab_prev);
    return sqrt_ab_prev * (x_bar + (0.5 * ds) * (in.d.eps_hat + d2.eps_hat));
}

} // namespace

SamplerUnit heun_sampler()
{
    return {{.name = "heun", .title = "Heun", .default_steps = 50, .uses_eta = false, .uses_variance = false,
             .deterministic = true, .order = 2, .max_model_calls_per_step = 2},
            &no_noise, &heun_step};
}

} // namespace noisetrail::detail
