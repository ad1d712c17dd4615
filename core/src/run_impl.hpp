// Internal: the state of one Run, shared by run.cpp and run_set.cpp (which
// merges the first evaluation of several runs into one denoiser call).
#pragma once
#include "noisetrail/run.hpp"

#include "denoiser.hpp"
#include "samplers/sampler.hpp"

#include <ATen/ATen.h>

#include <memory>
#include <optional>

namespace noisetrail {

struct Run::Impl {
    std::shared_ptr<const Model> model;
    RunOptions options;
    const detail::SamplerUnit* unit = nullptr;
    SamplingPlan plan;
    std::vector<std::int64_t> shape;
    std::vector<float> x_T;
    RunRecipe recipe;
    std::optional<double> clip;   ///< radius used, if any
    at::Device device{at::kCPU};
    at::Generator gen;            ///< one per run: x_T first (unless given), then each step's z
    at::Tensor x;                 ///< current x_t, float64 on the device
    at::Tensor prev_x0;           ///< float64 CPU x0_hat of the last frame (x0_change statistic)
    std::unique_ptr<detail::SamplerState> state;
    int steps_done = 0;
    double seconds_denoiser = 0.0;
    int model_calls = 0;
    // Conditioning (contract section 9): each sample's class (the card's null label where
    // none was asked), undefined on an unconditional card; the guidance scale W.
    at::Tensor classes;
    double guidance = 1.0;
    /// The raw conditional and unconditional outputs of the step's first evaluation of
    /// a guided run (the unconditional one undefined outside the guidance interval).
    at::Tensor last_cond, last_uncond;
    int first_calls = 1; ///< model calls of the step's first evaluation (2 when guided)

    Impl(std::shared_ptr<const Model> model, const RunOptions& options);

    bool done() const { return steps_done >= plan.size(); }
    const PlanStep& current() const { return plan.steps[steps_done]; }
    /// Apply RunOptions::threads on the calling thread (a per-thread setting).
    void apply_threads() const;
    /// The raw model output at (x, t), timed and counted as this run's call;
    /// a failure becomes a RunError naming the current step.
    at::Tensor call_model(const at::Tensor& x, const at::Tensor& t, bool record_guidance = false);
    /// W at the noise level of time input `t` (the guidance interval applied).
    double guidance_at(const at::Tensor& t) const;
    /// Whether this run's model calls can be merged with other runs' (one evaluation per step).
    bool mergeable() const { return guidance == 1.0; }
    /// Finish the current step from the raw model output at (x, current t), which
    /// this run computed itself or got from a merged call (already timed and
    /// counted). Returns the frame, or null when `want_frame` is false.
    std::shared_ptr<const StepFrame> finish_step(const at::Tensor& out, bool want_frame);
    /// The RunError for a model that threw at the current step.
    [[noreturn]] void model_failed(const std::exception& e) const;
};

} // namespace noisetrail
