// The recorder (issue 18): turns a run's steps into the panels' Trajectory
// stores plus per-step frame metrics. One implementation for the GUI's
// sampling worker and `noisetrail-cli run --session`, so a session written by
// either holds the same metrics at the same steps (contract section 11).
//
// Torch-free: the metrics are metrics.hpp's functions on plain values, the
// classifier is classifier.hpp's torch-free API.
#pragma once
#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/trajectory.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace noisetrail {

/// The Vendi score of a step is computed on an evenly strided subset of this
/// many samples (rows floor(j B / m), j < m): its eigensolver is O(m^3), and
/// at 1000 steps per run the per-step budget is a few milliseconds.
inline constexpr int kVendiPoints = 64;

/// The metric curves' resolution: a panel of S steps is measured on every k-th
/// step, k = max(1, S / kMetricPoints), and on its last step, so a 1000-step
/// DDPM panel is plotted at the resolution of the default 50-step DDIM one. On
/// the digit UNet the classifier then costs ~3% of a run instead of ~30% (issue 14).
inline constexpr int kMetricPoints = 50;

/// Whether step `step` (0-based) of a panel of `steps` steps is measured: the
/// one rule for the recorder and the plots. `everyStep`: the run is measured
/// with a mixture, whose coverage overlay on the 2-D scatter shows each step's
/// metrics themselves, so every step is measured.
bool measuredStep(int step, int steps, bool everyStep);

/// Whether a step's metrics were computed (a step that was not measured holds NaN only).
bool hasValues(const metrics::StepMetrics& m);

/// What the frame metrics are measured with. One set for every panel of a run,
/// from the run's top-level card (the GUI window's card), so panels compare.
struct MetricSources {
    /// gaussian-mixture cards: component coverage, occupancy entropy, and each
    /// sample's most responsible component.
    std::shared_ptr<const metrics::GaussianMixture> mixture;
    /// Image models: the digit classifier (features for Vendi, predicted classes).
    std::shared_ptr<const Classifier> classifier;
    /// Image models: the classifier card used, or why there is none.
    std::string note;
};

/// The sources of `card`: its mixture (mixture_from_card; InputError if
/// malformed) and, for image models, the metric classifier (experiments'
/// classifier_path: the card's "classifier", else mnist-classifier.json next to it) when it loads and its input fits data_shape.
/// A missing or unfitting classifier is no error: the image metrics then
/// have no classes, and `note` says why.
MetricSources metric_sources(const ModelCard& card);

/// The metrics of one frame, on x0_hat ("what the model currently predicts"):
/// - mean pairwise distance and mean per-coordinate std of the batch;
/// - Vendi score on a kVendiPoints subset: cosine kernel on classifier features
///   when a classifier is given, else RBF (kDefaultRbfBandwidth) for data of at
///   most 3 dimensions, else cosine on the raw values;
/// - with a classifier: class entropy and classes covered of the predicted
///   classes, and `assignment` = each sample's argmax class;
/// - with a mixture of the data's dimension: component coverage and occupancy
///   entropy (mixture_coverage), the per-component counts, and (without a
///   classifier) `assignment` = each sample's most responsible component.
/// What does not apply stays NaN (or empty). `seconds`: the time it took.
FrameMetrics computeFrameMetrics(const StepFrame& frame, const metrics::GaussianMixture* mixture,
                                 const Classifier* classifier);

/// Records the frames of a run set into one Trajectory per panel. The work
/// per frame (metrics, the stores' 8-bit encoding) runs on the recorder's own
/// thread, off the sampling path: the caller's thread goes on with the next
/// model call while the previous tick is measured and stored. That thread
/// computes with one intra-op thread. At most a few ticks wait; record()
/// blocks while they are queued.
class Recorder {
public:
    /// `stores[i]` receives the frames of TickFrame::panel i (planned for that
    /// run: its shape and timesteps). `metrics`: measure the steps
    /// measuredStep() selects (every step when sources.mixture is set);
    /// otherwise store the frames alone. `published` is called on the
    /// recorder's thread after each tick is in the stores.
    Recorder(std::vector<std::shared_ptr<Trajectory>> stores, MetricSources sources, bool metrics = true,
             std::function<void()> published = {});
    /// Stores what is queued, then ends the thread (errors are dropped: call finish()).
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    /// Queue one tick's frames (RunSet::tick()). Rethrows an error of the
    /// recorder's thread (a frame that does not fit its store:
    /// std::invalid_argument from Trajectory::append; a failing classifier).
    void record(std::vector<TickFrame> tick);
    /// Store everything queued and end the thread; rethrows its error. After
    /// it returns, the stores hold every recorded step.
    void finish();

    /// Whether this recorder measures step `step` of a panel of `steps` steps.
    bool measures(int step, int steps) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The names of what a stored trajectory holds per step, in a fixed order
/// (`session info --json`'s "metrics", contract section 11): step_stat_names()
/// (xt_mean, xt_std, eps_norm, x0_change, x0_batch_std) when at least one step
/// is stored, then those of metrics::step_metric_names() (pairwise_distance,
/// coordinate_std, vendi, components_covered, occupancy_entropy,
/// class_entropy, classes_covered) with a value on at least one step, then
/// component_counts, component_near and assignment where one step holds them.
std::vector<std::string> stored_metric_names(const Trajectory& trajectory);

} // namespace noisetrail
