// The run API: sample from a model with one sampler config, one frame per step.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
};

using FrameCallback = std::function<void(std::shared_ptr<const StepFrame>)>;

struct RunOptions {
    SamplerConfig sampler;
    std::uint64_t seed = 0;
    int batch = 16;
    /// x_T as [batch, *data_shape]; when set, `batch` is taken from it.
    std::optional<std::vector<float>> init_noise;
    int threads = 0;           ///< intra-op threads; 0 leaves libtorch's default
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

/// x_T ~ N(0, I) of shape [batch, *data_shape] from `seed`: the same for every
/// sampler, so panels sharing a seed share their starting noise.
std::vector<float> initial_noise(const std::vector<std::int64_t>& data_shape, int batch,
                                 std::uint64_t seed);

/// Run the sampler. Calls `on_frame` once per step from the calling thread and
/// checks `cancel` between steps. Bit-identical for the same inputs and seed.
/// Throws InputError for a bad config or noise shape, RunError naming the step
/// when a value becomes non-finite.
RunResult run_sampler(const Model& model, const RunOptions& options,
                      const FrameCallback& on_frame = {},
                      const std::atomic<bool>* cancel = nullptr);

/// One sampler update x_t -> x_prev with the given noise z (for tests and
/// teaching views): the same code path a run takes.
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
