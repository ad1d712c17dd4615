#include "noisetrail/noise_axis.hpp"

#include <algorithm>
#include <cmath>

namespace noisetrail {

double flow_level_of_alpha_bar(double alpha_bar)
{
    const double ab = std::clamp(alpha_bar, 0.0, 1.0);
    const double alpha = std::sqrt(ab), sigma = std::sqrt(1.0 - ab);
    return sigma / (alpha + sigma);
}

double axis_position(const NoiseSchedule& reference, double alpha_bar)
{
    const int T = reference.train_steps();
    if (reference.process() == ProcessKind::Flow) // the grid s_t = (t + 1) / T
        return std::clamp(flow_level_of_alpha_bar(alpha_bar) * T - 1.0, 0.0, T - 1.0);
    const auto& ab = reference.alpha_bars();
    if (alpha_bar >= ab.front())
        return 0.0;
    if (alpha_bar <= ab.back())
        return T - 1.0;
    // alpha_bar falls with t: the last t at or above the target, then log SNR linear up to t + 1.
    const auto above = std::partition_point(ab.begin(), ab.end(), [&](double v) { return v >= alpha_bar; });
    const std::size_t t = std::size_t(above - ab.begin()) - 1;
    const auto log_snr = [](double v) { return std::log(v / (1.0 - v)); };
    const double hi = log_snr(ab[t]), lo = log_snr(ab[t + 1]), target = log_snr(alpha_bar);
    if (!(hi > lo) || !std::isfinite(lo))
        return double(t);
    return double(t) + (hi - target) / (hi - lo);
}

int axis_t(const NoiseSchedule& own, int t, const NoiseSchedule& reference)
{
    if (t < 0)
        return t;
    if (own.process() == reference.process() &&
        (own.process() == ProcessKind::Vp || own.train_steps() == reference.train_steps()))
        return t;
    const int own_t = std::min(t, own.train_steps() - 1);
    return int(std::lround(axis_position(reference, own.alpha_bar(own_t))));
}

const NoiseSchedule* axis_reference(const std::vector<const NoiseSchedule*>& schedules)
{
    const NoiseSchedule* out = nullptr;
    for (const NoiseSchedule* s : schedules)
        if (s && (!out || (out->process() != ProcessKind::Vp && s->process() == ProcessKind::Vp)))
            out = s;
    return out;
}

} // namespace noisetrail
