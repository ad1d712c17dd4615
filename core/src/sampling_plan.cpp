#include "noisetrail/sampling_plan.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "numeric.hpp"
#include "samplers/sampler.hpp"

#include <algorithm>
#include <cfenv>
#include <cmath>

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
    }
    const auto old_size = ts.size();
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    if (dropped)
        *dropped = static_cast<int>(old_size - ts.size());
    return ts;
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
    const std::vector<int> ts = make_timesteps(config.spacing, steps, T, &dropped);

    SamplingPlan plan;
    if (dropped > 0)
        plan.warnings.push_back("quadratic spacing repeats small timesteps: dropped " +
                                std::to_string(dropped) + ", " + std::to_string(ts.size()) +
                                " distinct steps remain");
    for (std::size_t i = 0; i < ts.size(); ++i) {
        PlanStep s;
        s.t = ts[i];
        s.t_prev = i + 1 < ts.size() ? ts[i + 1] : -1;
        s.alpha_bar = schedule.alpha_bar(s.t);
        s.alpha_bar_prev = s.t_prev >= 0 ? schedule.alpha_bar(s.t_prev) : 1.0;
        // No noise on the last step: it lands on the predicted x_0.
        s.sigma = s.t_prev >= 0 ? unit.sigma(config, s.alpha_bar, s.alpha_bar_prev) : 0.0;
        plan.steps.push_back(s);
    }
    return plan;
}

} // namespace noisetrail
