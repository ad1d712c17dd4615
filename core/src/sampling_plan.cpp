#include "noisetrail/sampling_plan.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "numeric.hpp"
#include "samplers/sampler.hpp"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

namespace noisetrail {

namespace {

// numpy.round: half to even (the default floating-point rounding mode).
long long round_half_even(double x)
{
    return static_cast<long long>(std::nearbyint(x));
}

} // namespace

std::vector<int> make_timesteps(Spacing spacing, int S, int T, int* dropped)
{
    if (S < 1 || S > T)
        throw InputError("--steps must be in 1.." + std::to_string(T) + " (the model's train steps), got " +
                         std::to_string(S));
    std::vector<int> ts;
    ts.reserve(S);
    switch (spacing) {
    case Spacing::Leading: {
        const int ratio = T / S;
        for (int i = S - 1; i >= 0; --i)
            ts.push_back(i * ratio);
        break;
    }
    case Spacing::Trailing: {
        const double ratio = static_cast<double>(T) / S;
        for (int i = 0; i < S; ++i)
            ts.push_back(static_cast<int>(round_half_even(T - i * ratio)) - 1);
        break;
    }
    case Spacing::Linspace: {
        const std::vector<double> x = linspace(0.0, T - 1.0, S);
        for (int i = S - 1; i >= 0; --i)
            ts.push_back(static_cast<int>(round_half_even(x[i])));
        break;
    }
    case Spacing::Quadratic: {
        // DDIM paper code: (np.linspace(0, np.sqrt(0.8 T), S) ** 2).astype(int)
        const std::vector<double> x = linspace(0.0, std::sqrt(0.8 * T), S);
        for (int i = S - 1; i >= 0; --i)
            ts.push_back(static_cast<int>(std::floor(x[i] * x[i])));
        break;
    }
    case Spacing::Logsnr:
        throw InputError("--spacing logsnr needs the model's noise schedule");
    }
    const auto old_size = ts.size();
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    if (dropped)
        *dropped = static_cast<int>(old_size - ts.size());
    return ts;
}

std::vector<int> make_timesteps(const NoiseSchedule& schedule, Spacing spacing, int S, int* dropped)
{
    const int T = schedule.train_steps();
    if (spacing != Spacing::Logsnr)
        return make_timesteps(spacing, S, T, dropped);
    if (S < 1 || S > T)
        throw InputError("--steps must be in 1.." + std::to_string(T) + " (the model's train steps), got " +
                         std::to_string(S));
    // lambda(t) = log(alpha / sigma) = 0.5 log(ab / (1 - ab)) falls with t (Lu et al. 2022, sec. 3.3:
    // steps uniform in lambda). ab(0) < 1 and ab(T-1) > 0 on every schedule kind, so both ends are finite.
    std::vector<double> lambda(static_cast<std::size_t>(T));
    for (int t = 0; t < T; ++t) {
        const double ab = schedule.alpha_bar(t);
        lambda[std::size_t(t)] = 0.5 * (std::log(ab) - std::log1p(-ab));
        if (!std::isfinite(lambda[std::size_t(t)]))
            throw InputError("--spacing logsnr: log-SNR is not finite at t = " + std::to_string(t) +
                             " (alpha_bar " + std::to_string(ab) + ")");
    }
    const std::vector<double> target = linspace(lambda.back(), lambda.front(), S);
    std::vector<int> ts;
    ts.reserve(S);
    for (const double l : target) {
        // The real t where lambda(t) = l, linear between train steps.
        double t_real = 0.0;
        if (l <= lambda.back()) {
            t_real = T - 1;
        } else if (l < lambda.front()) {
            // First t with lambda[t] < l (lambda descending), then interpolate from t - 1.
            const auto it = std::lower_bound(lambda.begin(), lambda.end(), l, std::greater<double>());
            const int hi = static_cast<int>(it - lambda.begin()), lo = hi - 1;
            t_real = lo + (lambda[std::size_t(lo)] - l) / (lambda[std::size_t(lo)] - lambda[std::size_t(hi)]);
        }
        ts.push_back(static_cast<int>(round_half_even(t_real)));
    }
    const auto old_size = ts.size();
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    if (dropped)
        *dropped = static_cast<int>(old_size - ts.size());
    return ts;
}

PathPoint path_at(const PlanStep& s)
{
    if (s.process == ProcessKind::Flow)
        return {1.0 - s.level, s.level};
    return {std::sqrt(s.alpha_bar), std::sqrt(1.0 - s.alpha_bar)};
}

PathPoint path_at_prev(const PlanStep& s)
{
    if (s.process == ProcessKind::Flow)
        return s.t_prev >= 0 ? PathPoint{1.0 - s.level_prev, s.level_prev} : PathPoint{1.0, 0.0};
    return {std::sqrt(s.alpha_bar_prev), std::sqrt(1.0 - s.alpha_bar_prev)};
}

double noise_level(const PlanStep& s) { return s.process == ProcessKind::Flow ? s.level : s.t; }
double noise_level_prev(const PlanStep& s)
{
    if (s.process == ProcessKind::Flow)
        return s.t_prev >= 0 ? s.level_prev : 0.0;
    return s.t_prev;
}

std::vector<std::string> plan_warnings(const SamplerConfig& config, const SamplingPlan& plan)
{
    std::vector<std::string> out;
    const SamplerInfo& info = sampler_info(config.sampler);
    if (info.max_first_step_ratio <= 0.0 || plan.steps.size() < 2 || plan.steps[0].t_prev < 0)
        return out;
    // s = sigma / alpha, the noise level of the scaled ODE (Karras et al. 2022, eq. 4).
    const auto s = [](double ab) { return std::sqrt((1.0 - ab) / ab); };
    const PlanStep& first = plan.steps[0];
    if (!(first.alpha_bar > 0.0))
        return out; // alpha = 0 (flow s = 1): the samplers take their first step as Euler
    const double ratio = s(first.alpha_bar) / s(first.alpha_bar_prev);
    if (ratio > info.max_first_step_ratio) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3g", ratio);
        out.push_back(info.title + " may diverge on this plan: its first step, t = " + std::to_string(first.t) +
                      " -> " + std::to_string(first.t_prev) + ", divides the noise level s = sigma/alpha by " +
                      buf + " (stable up to " + std::to_string(static_cast<int>(info.max_first_step_ratio)) +
                      "); use leading or logsnr spacing, or more steps");
    }
    return out;
}

SamplingPlan make_plan(const NoiseSchedule& schedule, const SamplerConfig& config)
{
    const int T = schedule.train_steps();
    validate(config, T);
    const detail::SamplerUnit& unit = detail::find_sampler(config.sampler);
    int dropped = 0;
    const int steps = resolved_steps(config, T);
    // The plan's steps (and its timesteps, twice while they are made) before allocating them.
    check_memory_budget("a plan of " + std::to_string(steps) + " steps",
                        static_cast<double>(steps) * (sizeof(PlanStep) + 2 * sizeof(int)));
    SamplingPlan plan;
    if (schedule.process() == ProcessKind::Flow) {
        // Contract section 8: u_i = linspace(1, 1/T, S), s_i = shift u_i / (1 + (shift - 1) u_i),
        // then a last step to s = 0 that lands on x0_hat.
        const double shift = schedule.config().shift;
        const std::vector<double> u = linspace(1.0, 1.0 / T, steps);
        std::vector<double> levels(u.size());
        for (std::size_t i = 0; i < u.size(); ++i)
            levels[i] = shift * u[i] / (1.0 + (shift - 1.0) * u[i]);
        const auto index = [T](double lv) {
            return std::clamp(static_cast<int>(round_half_even(lv * T)) - 1, 0, T - 1);
        };
        if (config.spacing)
            plan.warnings.push_back("--spacing does not apply to a flow process (its plan is linear in u, "
                                    "shifted); ignored");
        for (std::size_t i = 0; i < levels.size(); ++i) {
            PlanStep s;
            s.process = ProcessKind::Flow;
            s.level = levels[i];
            const bool last = i + 1 == levels.size();
            s.level_prev = last ? 0.0 : levels[i + 1];
            s.t = index(s.level);
            s.t_prev = last ? -1 : index(s.level_prev);
            s.alpha_bar = flow_equivalent_alpha_bar(s.level);
            s.alpha_bar_prev = last ? 1.0 : flow_equivalent_alpha_bar(s.level_prev);
            s.sigma = last ? 0.0 : unit.sigma(config, detail::step_path(s));
            plan.steps.push_back(s);
        }
        for (std::string& w : plan_warnings(config, plan))
            plan.warnings.push_back(std::move(w));
        return plan;
    }
    const Spacing spacing = resolved_spacing(config);
    const std::vector<int> ts = make_timesteps(schedule, spacing, steps, &dropped);

    if (dropped > 0)
        plan.warnings.push_back(to_string(spacing) + " spacing repeats timesteps: dropped " +
                                std::to_string(dropped) + ", " + std::to_string(ts.size()) +
                                " distinct steps remain");
    for (std::size_t i = 0; i < ts.size(); ++i) {
        PlanStep s;
        s.t = ts[i];
        s.t_prev = i + 1 < ts.size() ? ts[i + 1] : -1;
        s.alpha_bar = schedule.alpha_bar(s.t);
        s.alpha_bar_prev = s.t_prev >= 0 ? schedule.alpha_bar(s.t_prev) : 1.0;
        // No noise on the last step: it lands on the predicted x_0.
        s.sigma = s.t_prev >= 0 ? unit.sigma(config, detail::step_path(s)) : 0.0;
        plan.steps.push_back(s);
    }
    for (std::string& w : plan_warnings(config, plan))
        plan.warnings.push_back(std::move(w));
    return plan;
}

namespace detail {

StepPath step_path(const PlanStep& s)
{
    StepPath p;
    const bool last = s.t_prev < 0;
    if (s.process == ProcessKind::Flow) {
        const double sp = last ? 0.0 : s.level_prev;
        p.alpha = 1.0 - s.level;
        p.sigma = s.level;
        p.alpha_p = 1.0 - sp;
        p.sigma_p = sp;
        p.alpha_sq = p.alpha * p.alpha;
        p.sigma_sq = p.sigma * p.sigma;
        p.alpha_sq_p = p.alpha_p * p.alpha_p;
        p.sigma_sq_p = p.sigma_p * p.sigma_p;
        p.transition_ratio = p.alpha / p.alpha_p;
        p.transition_var = p.sigma_sq - p.transition_ratio * p.transition_ratio * p.sigma_sq_p;
        const auto gamma = [](double a, double sg) {
            return a > 0.0 ? sg / a : std::numeric_limits<double>::infinity();
        };
        p.gamma = gamma(p.alpha, p.sigma);
        p.gamma_p = gamma(p.alpha_p, p.sigma_p);
        p.lambda = std::log(p.alpha) - std::log(p.sigma);
        p.lambda_p = std::log(p.alpha_p) - std::log(p.sigma_p);
        return p;
    }
    // VP: every form exactly as sections 1's formulas compute it from alpha_bar.
    const double ab = s.alpha_bar, ab_prev = s.alpha_bar_prev;
    p.alpha = std::sqrt(ab);
    p.sigma = std::sqrt(1.0 - ab);
    p.alpha_sq = ab;
    p.sigma_sq = 1.0 - ab;
    p.alpha_p = std::sqrt(ab_prev);
    p.sigma_p = std::sqrt(1.0 - ab_prev);
    p.alpha_sq_p = ab_prev;
    p.sigma_sq_p = 1.0 - ab_prev;
    p.transition_var = 1.0 - ab / ab_prev;
    p.transition_ratio = std::sqrt(1.0 - p.transition_var);
    p.gamma = karras_sigma(ab);
    p.gamma_p = karras_sigma(ab_prev);
    p.lambda = half_log_snr(ab);
    p.lambda_p = half_log_snr(ab_prev);
    return p;
}

} // namespace detail

} // namespace noisetrail
