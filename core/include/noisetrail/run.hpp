// The run API: sample from a model with one sampler config, one frame per step.
// A Run is the steppable object (one panel); run_sampler is a loop over it.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// Per-step statistics, computed at full precision on the worker.
struct StepStats {
    double xt_mean = 0.0;       ///< mean of x_t over batch and coordinates
    double xt_std = 0.0;        ///< std of x_t over batch and coordinates
    double eps_norm = 0.0;      ///< mean over the batch of ||eps_hat||_2
    double x0_change = 0.0;     ///< RMS change of x0_hat from the previous step (NaN at step 0)
    double x0_batch_std = 0.0;  ///< per-coordinate std of x0_hat across the batch, averaged
};

/// Names of StepStats fields, in order; these are stats.csv's columns.
const std::vector<std::string>& step_stat_names();
std::vector<double> step_stat_values(const StepStats& s);

/// One step of a run. Immutable once handed out; shared between threads.
struct StepFrame {
    int step = 0;          ///< 0..S-1
    int steps = 0;         ///< S
    PlanStep plan;         ///< t, t_prev, alpha_bar, alpha_bar_prev, sigma
    std::vector<std::int64_t> shape; ///< [B, *data_shape]
    std::vector<float> x_t;     ///< input of this step
    std::vector<float> x0_hat;  ///< after clipping, if any
    std::vector<float> eps_hat;
    std::vector<float> x_prev;  ///< output of this step (x_{t_prev}); the samples after the last step
    StepStats stats;
    int model_calls = 1;        ///< denoiser evaluations this step made (Heun: 2, 1 on its last step; guided: twice)
    /// A guided run (W != 1, contract section 9): x0_hat of the conditional and of the
    /// unconditional prediction at x_t, clipped like x0_hat; x0_uncond is NaN at a step
    /// outside the guidance interval (not evaluated there). Empty otherwise.
    std::vector<float> x0_cond, x0_uncond;
};

using FrameCallback = std::function<void(std::shared_ptr<const StepFrame>)>;

struct RunOptions {
    SamplerConfig sampler;
    std::uint64_t seed = 0;
    int batch = 16;
    /// x_T as [batch, *data_shape]; when set, `batch` is taken from it.
    std::optional<std::vector<float>> init_noise;
    int threads = 0;           ///< intra-op threads; 0: default_threads(card) (threads.hpp)
};

struct RunResult {
    SamplingPlan plan;
    std::vector<std::int64_t> shape; ///< [B, *data_shape]
    std::vector<float> x_T;
    std::vector<float> samples;      ///< final x_0 (empty if cancelled)
    bool cancelled = false;
    int steps_done = 0;
    double seconds_total = 0.0;
    double seconds_denoiser = 0.0;   ///< time spent inside the model
};

/// What produced a run, enough to reproduce it bit for bit and to tell whether
/// two runs are the same (a panel whose recipe did not change need not re-run).
struct RunRecipe {
    std::filesystem::path card;  ///< the model card, absolute and normalised
    std::string fingerprint;     ///< content_fingerprint(card): "sha256:..."
    /// The config as run: steps resolved (never 0), clip_x0 resolved to the
    /// radius used, or 0 when clipping is off.
    SamplerConfig sampler;
    std::uint64_t seed = 0;
    int batch = 0;
    std::vector<float> x_T;      ///< [batch, *data_shape]

    bool operator==(const RunRecipe&) const = default;
};

/// Batch size when none is given: 16 for image models, 1000 otherwise (as `sample`).
int default_batch(const ModelCard& card);

/// One sampling run as a steppable object: each step() advances one plan step
/// and returns its frame. Prepared in the constructor: plan, x_T (from
/// options.init_noise, else drawn from options.seed exactly as run_sampler
/// draws it: one generator per run, x_T first, then each step's z), and the
/// sampler's per-run state (multistep samplers keep earlier outputs).
/// Threads: plan(), shape(), x_T(), recipe(), model() and options() never change
/// after construction and may be read from any thread; step(), samples() and the
/// counters belong to the one thread that steps the run (the GUI's worker).
/// Torch-free header; the implementation lives in core/src/run.cpp.
class Run {
public:
    /// Throws InputError for a bad config, batch or noise shape (as run_sampler).
    Run(std::shared_ptr<const Model> model, const RunOptions& options);
    ~Run();
    Run(Run&&) noexcept;
    Run& operator=(Run&&) noexcept;
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    const SamplingPlan& plan() const;
    const std::vector<std::int64_t>& shape() const; ///< [B, *data_shape]
    const std::vector<float>& x_T() const;
    int steps() const;      ///< plan().size()
    int steps_done() const;
    bool done() const;
    /// Timestep of the next step; -1 when done.
    int next_t() const;

    /// Advance one step and return its frame (float32 copies of x_t, x0_hat,
    /// eps_hat, x_prev and the statistics). Throws RunError naming the step when
    /// a value becomes non-finite or the model fails, std::logic_error when done.
    std::shared_ptr<const StepFrame> step();

    /// The current x as float32 [B, *data_shape]: x_T before the first step,
    /// the final samples once done.
    std::vector<float> samples() const;
    const RunRecipe& recipe() const;
    const std::shared_ptr<const Model>& model() const;
    const RunOptions& options() const;
    double seconds_denoiser() const; ///< time spent inside the model so far
    int model_calls() const;         ///< denoiser evaluations so far (shared calls count for each run)

    struct Impl; ///< internal (core/src/run_impl.hpp): RunSet merges evaluations through it

private:
    friend class RunSet;
    friend RunResult run_sampler(const Model&, const RunOptions&, const FrameCallback&, const std::atomic<bool>*);
    /// step() that skips building the frame when `want_frame` is false (run_sampler without a consumer).
    std::shared_ptr<const StepFrame> advance(bool want_frame);
    std::unique_ptr<Impl> impl_;
};

/// x_T ~ N(0, I) of shape [batch, *data_shape] from `seed`: the same for every
/// sampler, so panels sharing a seed share their starting noise.
std::vector<float> initial_noise(const std::vector<std::int64_t>& data_shape, int batch,
                                 std::uint64_t seed);

/// Run the sampler to the end: a loop over Run::step. Calls `on_frame` once per
/// step from the calling thread and checks `cancel` between steps.
/// Bit-identical for the same inputs and seed.
/// Throws InputError for a bad config or noise shape, RunError naming the step
/// when a value becomes non-finite.
RunResult run_sampler(const Model& model, const RunOptions& options,
                      const FrameCallback& on_frame = {},
                      const std::atomic<bool>* cancel = nullptr);

/// One sampler update x_t -> x_prev with the given noise z (for tests and
/// teaching views): the same code path a run takes, from a fresh per-run state
/// (so dpmpp2m takes its first-order step). InputError for samplers that must
/// call the model within a step (heun): use a Run.
std::vector<double> sampler_step(const SamplerConfig& config, const PlanStep& step,
                                 std::span<const double> x_t, std::span<const double> x0_hat,
                                 std::span<const double> eps_hat, std::span<const double> z);

/// (x0_hat, eps_hat) from a raw model output of parameterisation `p`
/// (contract section 1), optionally clipping x0_hat to [-R, R] and then
/// recomputing eps_hat from it.
Denoised to_x0_eps(Prediction p, double alpha_bar, std::span<const double> x_t,
                   std::span<const double> output, std::optional<double> clip_radius = {});

/// Forward process q(x_t | x_0) (Ho et al. eq. 4): n draws of
/// sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps for one x_0, row-major [n, D].
std::vector<double> q_sample(const NoiseSchedule& schedule, int t, std::span<const double> x0,
                             int n, std::uint64_t seed);

} // namespace noisetrail
