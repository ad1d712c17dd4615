#include "noisetrail/straightness.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace noisetrail {

namespace {

/// The flow level of a path point: s = sigma / (alpha + sigma), and the scale that maps
/// x onto the flow path of that level, 1 / (alpha + sigma).
struct FlowCoordinates {
    double s, scale;
};
FlowCoordinates flow_coordinates(const PathPoint& p)
{
    const double sum = p.alpha + p.sigma;
    return {p.sigma / sum, 1.0 / sum};
}

} // namespace

void StraightnessMeter::add(const StepFrame& f)
{
    const std::size_t n = f.x_t.size();
    if (f.shape.empty() || f.x0_hat.size() != n || f.eps_hat.size() != n || f.x_prev.size() != n)
        throw std::invalid_argument("straightness: a frame's fields differ in size");
    if (x1_.empty()) {
        batch_ = f.shape[0];
        const FlowCoordinates c = flow_coordinates(path_at(f.plan));
        x1_.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            x1_[i] = c.scale * f.x_t[i];
        sum_v_.assign(n, 0.0);
        sum_vv_.assign(static_cast<std::size_t>(batch_), 0.0);
    } else if (n != x1_.size() || f.shape[0] != batch_) {
        throw std::invalid_argument("straightness: a frame's batch differs from the run's first frame");
    }
    const double w = flow_coordinates(path_at(f.plan)).s - flow_coordinates(path_at_prev(f.plan)).s;
    const std::size_t d = n / static_cast<std::size_t>(batch_);
    for (std::size_t b = 0; b < static_cast<std::size_t>(batch_); ++b) {
        double vv = 0.0;
        for (std::size_t k = b * d; k < (b + 1) * d; ++k) {
            const double v = double(f.eps_hat[k]) - double(f.x0_hat[k]);
            sum_v_[k] += w * v;
            vv += v * v;
        }
        sum_vv_[b] += w * vv;
    }
    weight_ += w;
    last_x0_.assign(f.x_prev.begin(), f.x_prev.end());
}

double StraightnessMeter::value() const
{
    if (x1_.empty() || !(weight_ > 0))
        return std::nan("");
    // sum_i w_i ||D - v_i||^2 = W ||D||^2 - 2 D . sum_i w_i v_i + sum_i w_i ||v_i||^2, D = x_1 - x_0.
    const std::size_t d = x1_.size() / static_cast<std::size_t>(batch_);
    double total = 0.0;
    for (std::size_t b = 0; b < static_cast<std::size_t>(batch_); ++b) {
        double dd = 0.0, dv = 0.0;
        for (std::size_t k = b * d; k < (b + 1) * d; ++k) {
            const double D = x1_[k] - last_x0_[k];
            dd += D * D;
            dv += D * sum_v_[k];
        }
        total += weight_ * dd - 2.0 * dv + sum_vv_[b];
    }
    return std::max(0.0, total / double(batch_) / weight_);
}

} // namespace noisetrail
