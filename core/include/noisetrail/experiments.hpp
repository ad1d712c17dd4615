// The experiments behind the DDIM paper's claims (issue 13), shared by the CLI
// (invert, interpolate, consistency, decision) and the GUI's Experiments views.
// Torch-free and Qt-free: plain vectors in, plain vectors out.
//
// - Inversion (DDIM paper sec. 5.4, Table 2): x_0 -> x_T along the DDIM ODE,
//   then x_T -> x_0 again; per-example MSE per dimension. DDPM's
//   "reconstruction" from the same x_T beside it.
// - Interpolation in x_T (sec. 5.3, App. D): slerp between two noises, each
//   point decoded with each sampler.
// - Consistency across step counts (sec. 5.2, Fig. 5): one x_T, the same
//   sampler at several S; distance of each S's samples to the largest S's.
//   Early stop is not fewer steps: the same call also keeps x0_hat after k
//   steps of the longest run, to set beside the k-step run's final samples.
// - Decision time: the class (digit classifier on x0_hat) or mixture
//   component (most responsible component of x0_hat) at every step.
//
// Everything is deterministic for the same inputs and seed, checks `cancel`
// between model calls, reports progress through a plain callback, and throws
// InputError (bad options or data) or RunError (a run that failed).
#pragma once
#include "noisetrail/classifier.hpp"
#include "noisetrail/figure.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace noisetrail::experiments {

/// Model calls (sampling or inversion steps) done out of the total the call
/// will make; `stage` says what is being computed ("inversion", "DDIM, 50 steps, ...").
struct Progress {
    int done = 0;
    int total = 0;
    std::string stage;
};
using ProgressCallback = std::function<void(const Progress&)>;

/// Samplers written as "ddim:50,ddpm:1000,ddim:50:0.5": NAME[:STEPS[:ETA]]
/// per entry (STEPS 0 or absent: the sampler's default). The other settings
/// (spacing, variance, clipping) come from `base`. InputError naming `what`
/// for a malformed entry; names are checked later by validate().
std::vector<SamplerConfig> parse_sampler_list(const std::string& text, const SamplerConfig& base = {},
                                              const std::string& what = "--samplers");
// The inverse is sampler_label(config, T, LabelForm::Spec) (sampler_config.hpp).

/// Mean squared error per dimension of each of the n rows of a and b:
///   mse_i = (1/D) sum_j (a_ij - b_ij)^2,  D = a.size() / n.
std::vector<double> mse_per_example(std::span<const float> a, std::span<const float> b, int n);

/// Mean over rows of the Euclidean distance |a_i - b_i| of n rows of d values.
double mean_row_distance(std::span<const float> a, std::span<const float> b, int n, int d);

// ---------------------------------------------------------------- inversion

struct InversionOptions {
    int steps = 50;                    ///< S of the plan (DDIM, eta 0)
    Spacing spacing = Spacing::Leading;
    bool ddpm = false;                 ///< also DDPM (fixed_small, same plan timesteps) from the same x_T
    std::uint64_t seed = 0;            ///< DDPM's noise
    int threads = 0;                   ///< intra-op threads; 0 leaves libtorch's default
};

struct Inversion {
    SamplingPlan plan;                   ///< the DDIM plan, descending (inversion walks it backwards)
    std::vector<std::int64_t> shape;     ///< [N, *data_shape]
    std::vector<float> x_T;              ///< the inverted noise, [N, D]
    std::vector<float> reconstruction;   ///< DDIM eta 0 from x_T, [N, D]
    std::vector<double> mse;             ///< per example: mse_per_example(reconstruction, x_0)
    std::vector<float> ddpm_reconstruction; ///< empty unless options.ddpm
    std::vector<double> ddpm_mse;
    bool cancelled = false;              ///< then only what was finished is filled in
};

/// DDIM inversion of n examples x_0 ([n, *data_shape], float64 arithmetic):
/// the plan's steps walked backwards, each the exact algebraic inverse of the
/// DDIM eta-0 step (DDIM eq. 12) with the model's eps evaluated at the known
/// state instead of the unknown one (see experiments.cpp). No x0 clipping.
/// Returns x_T [n, D] in float64.
std::vector<double> ddim_invert(const Model& model, const SamplingPlan& plan, std::span<const float> x0, int n,
                                const ProgressCallback& progress = {}, const std::atomic<bool>* cancel = nullptr,
                                bool* cancelled = nullptr);

/// Inversion, then reconstruction from the float32 x_T with DDIM eta 0 on the
/// same plan (and optionally DDPM), without x0 clipping: the reconstruction is
/// exactly `sample --init-noise xT.npy --sampler ddim --eta 0 --clip-x0 off`.
Inversion invert_and_reconstruct(const Model& model, std::span<const float> x0, int n,
                                 const InversionOptions& options, const ProgressCallback& progress = {},
                                 const std::atomic<bool>* cancel = nullptr);

/// The inversion's tables and figures, for the CLI's files and the GUI alike, from the
/// examples x0 ([n, *data_shape]; `indices`: their rows in the data file), the run `main`
/// and, when `table` is not empty, the runs of the table over S (the CLI's --table):
/// - table "table" (only with `table`): steps,examples,ddim_mse[,ddpm_mse], means over the examples;
/// - table "mse": index,mse[,ddpm_mse] of `main`, one row per example;
/// - figure "reconstruction": `main`'s originals, x_T, reconstructions, errors (and DDPM's);
/// - figure "table" (image models, only with `table`): the reconstructions at every S.
figure::Report inversion_report(const Model& model, std::span<const float> x0, const std::vector<std::int64_t>& indices,
                                const Inversion& main, const std::vector<const Inversion*>& table = {});

// ------------------------------------------------------------ interpolation

/// Spherical linear interpolation (DDIM paper App. D, after Shoemake 1985):
///   slerp(z0, z1, a) = sin((1 - a) theta) / sin(theta) z0 + sin(a theta) / sin(theta) z1,
///   theta = arccos(<z0, z1> / (|z0| |z1|)).
/// Falls back to linear interpolation when theta is ~0 (parallel inputs).
std::vector<double> slerp(std::span<const double> z0, std::span<const double> z1, double a);

struct InterpolationOptions {
    int points = 8;                       ///< k >= 2, a = i / (k - 1)
    std::vector<SamplerConfig> samplers;  ///< each decodes all k points (one run of batch k)
    std::uint64_t seed = 0;               ///< stochastic samplers' noise (the same for every sampler)
    int threads = 0;
};

struct Interpolation {
    std::vector<SamplerConfig> samplers;      ///< as given
    std::vector<std::int64_t> shape;          ///< [k, *data_shape]
    std::vector<double> alphas;               ///< k values in [0, 1]
    std::vector<float> x_T;                   ///< [k, D]: slerp(z0, z1, alphas[i])
    std::vector<std::vector<float>> samples;  ///< per sampler, [k, D]
    bool cancelled = false;
};

/// How far each point's sample moved from the previous one's: for i = 1..k-1
/// the RMS change per dimension sqrt((1/D) sum_j (s_ij - s_(i-1)j)^2) of the
/// k rows of `samples` ([k, D]). A smooth morph (DDIM) has small changes.
std::vector<double> neighbour_change(std::span<const float> samples, int k);

/// Decode the slerp path between z0 and z1 (each one noise of data_dim values).
Interpolation interpolate(const Model& model, std::span<const float> z0, std::span<const float> z1,
                          const InterpolationOptions& options, const ProgressCallback& progress = {},
                          const std::atomic<bool>* cancel = nullptr);

/// Its table and figure, for the CLI's files and the GUI alike: table "interpolation"
/// (sampler,index,alpha,xt_norm,change: sampler as NAME:STEPS[:ETA], change the RMS change
/// per dimension from the previous point's sample, nan at the first point) and figure
/// "interpolation" (x_T, then each sampler's decoded points).
figure::Report interpolation_report(const Model& model, const Interpolation& result);

// ------------------------------------------------------ consistency, early stop

/// How samples are compared.
enum class DistanceSpace { Coordinates, ClassifierFeatures };

struct ConsistencyOptions {
    std::vector<SamplerConfig> samplers;        ///< steps are taken from `steps`
    std::vector<int> steps{10, 20, 50, 100, 1000}; ///< sorted ascending; the last one is the reference
    int batch = 16;
    std::uint64_t seed = 0;                     ///< x_T (initial_noise) and the samplers' noise
    std::optional<std::vector<float>> init_noise; ///< x_T [B, D]; when set, batch is taken from it
    /// Image models: the classifier whose features measure distances; empty:
    /// classifier_path's default (as compare does).
    std::filesystem::path classifier;
    int threads = 0;
};

struct Consistency {
    std::vector<SamplerConfig> samplers; ///< as given (their steps are each run's S)
    std::vector<int> steps;
    std::vector<std::int64_t> shape;   ///< [B, *data_shape]
    std::vector<float> x_T;
    DistanceSpace space = DistanceSpace::Coordinates;
    /// [sampler][step index]: the final samples of that run, [B, D].
    std::vector<std::vector<std::vector<float>>> samples;
    /// [sampler][step index]: mean over samples of |f(x_S) - f(x_ref)|, x_ref the
    /// sample of the largest S from the same x_T and sampler, f = identity or features.
    std::vector<std::vector<double>> distance;
    /// [sampler][step index]: x0_hat after steps[i] steps of the longest run
    /// (its preview at that point), [B, D]; for the last index the final samples.
    std::vector<std::vector<std::vector<float>>> previews;
    /// [sampler][step index]: t of the longest run's step whose x0_hat is the preview.
    std::vector<std::vector<int>> preview_t;
    /// [sampler][step index]: mean distance (same f) between the preview and the steps[i]-step samples.
    std::vector<std::vector<double>> preview_distance;
    bool cancelled = false;
};

Consistency consistency(const Model& model, const ConsistencyOptions& options, const ProgressCallback& progress = {},
                        const std::atomic<bool>* cancel = nullptr);

/// The tables and figures of a finished consistency run, for the CLI's files and the GUI alike:
/// - table "consistency": sampler,steps,mean_distance,space (sampler as NAME:S[:ETA]);
/// - table "early_stop": sampler,k,preview_t,preview_distance (the sampler is the longest run);
/// - figure "consistency": each sampler's samples at every S; figure "early_stop": the
///   previews after k steps of the longest run beside the k-step runs' samples.
figure::Report consistency_report(const Model& model, const Consistency& result);

/// Where an image model's classifier card is: `path`; when empty, the card's own
/// "classifier" field (relative to the card), else mnist-classifier.json next to
/// the model card (compare, consistency, decision time and the recorder).
std::filesystem::path classifier_path(const ModelCard& card, const std::filesystem::path& path);

/// The classifier an image model is measured with: classifier_path's. InputError naming the
/// flag `what` when it is missing or its input shape does not fit the model.
std::shared_ptr<Classifier> classifier_for(const Model& model, const std::filesystem::path& path,
                                           const std::string& what = "--classifier");

// ------------------------------------------------------------ decision time

/// The names of what a sample "is" (decision time, the recorder's assignment):
/// the classifier's classes when there is one, else "component 1".."K" of a
/// K-component mixture (the Decision time figure's legend, the panels' legend).
std::vector<std::string> assignment_labels(const Classifier* classifier, int components);

/// What a sample "is" at a step: its class (classifier on x0_hat, images) or
/// mixture component (most responsible component of x0_hat, gaussian-mixture cards).
class Assigner {
public:
    /// For a gaussian-mixture card the mixture; for an image model the
    /// classifier (classifier_for(model, classifier): InputError when a given
    /// one is missing or does not fit). std::nullopt for other cards (an
    /// empirical 2-D set has no components), or, when `classifier` is empty, an
    /// image model without a fitting mnist-classifier.json next to its card.
    static std::optional<Assigner> for_model(const Model& model, const std::filesystem::path& classifier = {});

    /// One label in 0..classes()-1 per row of x ([n, D]).
    std::vector<int> assign(std::span<const float> x, int n) const;
    int classes() const;
    std::vector<std::string> labels() const; ///< "0".."9" or "component 1".."K"
    bool uses_classifier() const { return classifier_ != nullptr; }

private:
    std::optional<metrics::GaussianMixture> mixture_;
    std::shared_ptr<Classifier> classifier_;
};

struct DecisionTrace {
    std::vector<int> timesteps;     ///< t of each step, [S]
    int batch = 0;
    std::vector<int> assignment;    ///< [S, B] row-major: the label of x0_hat at each step
    /// Per sample: the step index and t at which the assignment last changed,
    /// i.e. from which on it equals the final one (step 0 / the first t: never changed).
    std::vector<int> decision_step, decision_t;
    std::vector<int> final_assignment() const; ///< the last row of `assignment`
};

/// A panel's decision times in three numbers: the median (the middle of the
/// sorted decision_t), the mean, and the fraction of samples whose
/// assignment never changed after the first step.
struct DecisionSummary {
    int median_t = 0;
    double mean_t = 0.0;
    double decided_at_first_step = 0.0;
};
DecisionSummary summarise(const DecisionTrace& trace);

/// Feed a run's frames in order (e.g. from run_sampler's frame callback).
class DecisionTracker {
public:
    explicit DecisionTracker(Assigner assigner) : assigner_(std::move(assigner)) {}
    void add(const StepFrame& frame);
    DecisionTrace result() const;
    const Assigner& assigner() const { return assigner_; }

private:
    Assigner assigner_;
    DecisionTrace trace_;
};

struct DecisionOptions {
    std::vector<SamplerConfig> panels; ///< each run from the same x_T
    int batch = 16;
    std::uint64_t seed = 0;            ///< x_T (initial_noise) and the samplers' noise
    int threads = 0;
};

struct Decision {
    std::vector<SamplerConfig> panels;       ///< as given
    std::vector<float> x_T;                  ///< [B, D]
    std::vector<DecisionTrace> traces;       ///< per panel
    std::vector<std::vector<float>> samples; ///< per panel, the final samples [B, D]
    /// Per panel, 2-D cards only: x_t of every step, then the final samples, [S + 1, B, D].
    std::vector<std::vector<float>> paths;
    bool cancelled = false;                  ///< then the panels finished so far
};

/// Decision time of several samplers on the same x_T: every panel's run, with
/// `assigner` labelling each step's x0_hat.
Decision decision(const Model& model, const Assigner& assigner, const DecisionOptions& options,
                  const ProgressCallback& progress = {}, const std::atomic<bool>* cancel = nullptr);

/// Its table and figure, for the CLI's files and the GUI alike: table "decision"
/// (panel,sample,decision_step,decision_t,final) and figure "decision": per panel the
/// samples with their assignment over t as a strip under each (images) or the paths
/// coloured by it (2-D), and the histogram of decision t; the legend names the classes.
figure::Report decision_report(const Model& model, const Assigner& assigner, const Decision& result);

} // namespace noisetrail::experiments
