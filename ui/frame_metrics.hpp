// Per-step diversity metrics of a frame (issue 5), computed on the worker
// thread right after each step and stored with the frame in the Trajectory.
#pragma once
#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/run.hpp"

#include <limits>
#include <memory>
#include <vector>

namespace noisetrail::ui {

/// The per-step metrics of one frame, computed on the worker right after the
/// step (core's metrics::step_metrics on x0_hat), sent with the frame.
struct FrameMetrics {
    /// NaN everywhere until computed (a run without metrics stores these).
    metrics::StepMetrics values = nanMetrics();
    static metrics::StepMetrics nanMetrics()
    {
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        return {nan, nan, nan, nan, nan, nan, nan};
    }
    /// Mixture cards: how many samples' x0_hat each component is the most
    /// responsible for (metrics::mixture_coverage's occupancy), for the scatter;
    /// componentNear: of those, how many lie within 3 std of its mean (the
    /// "high quality" samples whose presence makes a component covered).
    std::vector<int> componentCounts, componentNear;
    double seconds = 0.0; ///< worker time spent on these metrics (classifier included)
};
using FrameMetricsPtr = std::shared_ptr<const FrameMetrics>;

/// The Vendi score of a step is computed on an evenly strided subset of this
/// many samples (step_metrics' vendi_max_points): its eigensolver is O(m^3),
/// and at 1000 steps per run the per-step budget is a few milliseconds.
inline constexpr int kVendiPoints = 64;

/// The core options whose metrics::step_metrics() equals computeFrameMetrics().values.
metrics::StepMetricsOptions frameMetricsOptions(const metrics::GaussianMixture* mixture);

/// What the worker computes for a frame, on x0_hat: metrics::step_metrics with
/// frameMetricsOptions() (classifier features and classes for images), plus the
/// per-component counts. Exposed so tests can compare with core.
FrameMetrics computeFrameMetrics(const StepFrame& frame, const metrics::GaussianMixture* mixture,
                                 const Classifier* classifier);

} // namespace noisetrail::ui
