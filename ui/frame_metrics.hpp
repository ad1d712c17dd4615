// Per-step diversity metrics of a frame (issue 5), computed on the worker
// thread right after each step and stored with the frame in the Trajectory
// (the record, FrameMetrics, lives in core's trajectory.hpp).
#pragma once
#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/trajectory.hpp"

namespace noisetrail::ui {

/// The Vendi score of a step is computed on an evenly strided subset of this
/// many samples (step_metrics' vendi_max_points): its eigensolver is O(m^3),
/// and at 1000 steps per run the per-step budget is a few milliseconds.
inline constexpr int kVendiPoints = 64;

/// The metric curves' resolution: a panel of S steps is measured on every k-th
/// step, k = S / kMetricPoints, and on its last step, so a 1000-step DDPM panel
/// is plotted at the resolution of the default 50-step DDIM one. On the digit
/// UNet the classifier then costs ~3% of a run instead of ~30% (issue 14).
inline constexpr int kMetricPoints = 50;

/// Whether the worker measures step `step` (0-based) of a panel of `steps` steps.
/// `everyStep`: a frame view shows the step's metrics themselves (the 2-D
/// scatter's coverage overlay), so every frame is measured.
bool measuredStep(int step, int steps, bool everyStep);

/// Whether a step's metrics were computed (a step that was not measured holds NaN only).
bool hasValues(const metrics::StepMetrics& m);

/// The core options whose metrics::step_metrics() equals computeFrameMetrics().values.
metrics::StepMetricsOptions frameMetricsOptions(const metrics::GaussianMixture* mixture);

/// What the worker computes for a frame, on x0_hat: metrics::step_metrics with
/// frameMetricsOptions() (classifier features and classes for images), plus the
/// per-component counts and, per sample, its class (classifier) or most
/// responsible component (mixture): FrameMetrics::assignment, the main views'
/// decision strips. Exposed so tests can compare with core.
FrameMetrics computeFrameMetrics(const StepFrame& frame, const metrics::GaussianMixture* mixture,
                                 const Classifier* classifier);

} // namespace noisetrail::ui
