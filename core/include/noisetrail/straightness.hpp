// Straightness of a sampling run (Liu et al. 2023, "Flow Straight and Fast", eq. 4):
//   S = integral over s in [0, 1] of E || (x_1 - x_0) - v(x_s, s) ||^2 ds,
// where x_1 is the run's noise end, x_0 its sample and v = eps_hat - x0_hat the
// velocity of the linear path x_s = (1 - s) x_0 + s eps that the step's predictions
// describe. 0 for a run that moves in a straight line at constant speed, which is
// what lets one Euler step land on the sample. Torch-free.
#pragma once
#include "noisetrail/run.hpp"

#include <vector>

namespace noisetrail {

/// Accumulates S over a run's frames, fed in order (any process: a VP step is read in
/// the flow coordinates of the same signal-to-noise ratio, x / (alpha + sigma) at level
/// s = sigma / (alpha + sigma), where its eps_hat and x0_hat are the same predictions).
/// Each step weighs by the span of s it covers (left-point rule), normalised by the
/// span of the whole run. ||.||^2 sums over a sample's coordinates, E is the batch mean.
/// Meaningful for deterministic samplers; a stochastic run's value is reported as is.
class StraightnessMeter {
public:
    /// Throws std::invalid_argument when a frame's batch shape differs from the first's.
    void add(const StepFrame& frame);
    /// S after the frames added so far, against the last frame's x_prev as x_0;
    /// NaN before any frame.
    double value() const;

private:
    std::vector<double> x1_;      // x_T in flow coordinates
    std::vector<double> sum_v_;   // sum_i w_i v_i, per coordinate
    std::vector<double> sum_vv_;  // sum_i w_i ||v_i||^2, per sample
    std::vector<double> last_x0_; // the last frame's x_prev
    double weight_ = 0.0;         // sum_i w_i
    std::int64_t batch_ = 0;
};

} // namespace noisetrail
