// Fields and the exact path (contract section 10): the field a sampler follows
// (eps_hat, x0_hat, the score, the flow velocity) at any noise level, and, for the
// exact cards, the probability-flow ODE's own solution from a run's x_T. Plain
// vectors in and out, torch-free: a GUI worker or the CLI calls these directly.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "noisetrail/step_terms.hpp"

#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace noisetrail {

/// The model's field at N points and one noise level, each float32 row-major
/// [N, *data_shape], without clipping (the model's own prediction).
struct VectorField {
    std::vector<float> eps_hat;
    std::vector<float> x0_hat;
    std::vector<float> score;    ///< grad log p_t = -eps_hat / sigma_t (Tweedie's formula; Song et al. 2021)
    std::vector<float> velocity; ///< flow cards: dx/ds = eps_hat - x0_hat (contract section 8); empty on VP
    PathPoint path;              ///< alpha and sigma of the level: x = alpha x_0 + sigma eps
};

struct FieldOptions {
    /// Conditional cards: the class (0..len(classes)-1); none: the unconditional model.
    std::optional<int> class_index;
    /// Classifier-free guidance scale W (contract section 9); W != 1 needs a class.
    double guidance = 1.0;
    /// Clip x0_hat to [-R, R] as a run does (eps_hat then follows the clipped x0_hat,
    /// contract section 1); unset or <= 0: the model's own prediction.
    std::optional<double> clip_x0;
};

/// The path point of a noise level as the user writes it (contract section 10): on
/// VP an integer t in 0..T-1, on flow s in (0, 1]. InputError saying what is wrong.
PathPoint field_path(const Model& model, double level);

/// Evaluate the field at the points `points` ([N, *data_shape], row-major, N >= 1)
/// at noise level `level` (field_path). One batched model call (two when guided).
/// InputError for a bad level, class, guidance or size; RunError if the model fails.
/// Call it from a worker (it runs the model), not from two threads on one model at once.
VectorField evaluate_field(const Model& model, std::span<const float> points, double level,
                           const FieldOptions& options = {});

// ---- The exact path ------------------------------------------------------------------------

/// stats.csv's column (contract section 10): the RMS over the batch of |x_prev - x_ode(t_prev)|.
inline constexpr const char* kOdeErrorColumn = "ode_error";

/// The integrator's tolerances. The reference is Dormand-Prince 5(4) (Dormand & Prince
/// 1980; Hairer, Norsett & Wanner, Solving ODEs I, II.5) in float64 with PI step control:
/// the RMS over all coordinates of the batch of error / (atol + rtol |x|) stays <= 1 on
/// each step; its 4th-order dense output gives the levels between accepted steps.
struct OdeTolerance {
    double rtol = 1e-7;
    double atol = 1e-9;
};

/// Whether a run of `card` with `config` has an exact ODE path to compare with: an exact
/// card (gaussian-mixture, empirical) and a deterministic sampler (euler, heun, dpmpp2m,
/// ddim with eta 0), without a guidance interval (the reference follows one scale W).
bool has_exact_ode(const ModelCard& card, const SamplerConfig& config);

/// The exact probability-flow ODE solution from x_T ([B, *data_shape], at the plan's
/// first level) at every step's next level (level_prev): S vectors of B * data_dim
/// float64 values, the last the ODE's endpoint x_0. The run's guidance (classes, W)
/// applies; no clipping. InputError unless has_exact_ode(card, config).
std::vector<std::vector<double>> exact_ode_path(const Model& model, const SamplerConfig& config,
                                                const SamplingPlan& plan, std::span<const float> x_T,
                                                const OdeTolerance& tolerance = {});

/// The ode_error of each step of a run (contract section 10): frames[k] is step k's frame
/// (x_prev), x_T the run's. NaN-free; empty when !has_exact_ode. Costs one exact_ode_path.
std::vector<double> ode_errors(const Run& run, const std::vector<std::shared_ptr<const StepFrame>>& frames,
                               const OdeTolerance& tolerance = {});

// ---- Solver geometry ----------------------------------------------------------------------

/// One sample's stored values at a plan step (each data_dim floats; float32 or the store's
/// half precision).
struct StepPoint {
    std::vector<float> x_t, x0_hat, eps_hat;
    /// x0_hat of the step before (X0HatLast of multistep solvers); empty on the first step.
    std::vector<float> x0_hat_last;
    /// The step's output: where a step drew noise, z is recovered from it (StepGeometry).
    std::vector<float> x_prev;
};

/// One term of an update drawn as a segment: the partial sum before it and after it.
struct GeometrySegment {
    std::vector<double> from, to;
    Term term; ///< the sampler's own term (coefficient, quantity, symbol, name)
};

/// The construction of one step for one sample (issue 22, point 2), from the sampler's
/// terms (step_terms.hpp), so the drawing and the run cannot disagree: x_prev is the
/// sum of coefficient * quantity in the order the sampler writes its terms, drawn as
/// partial sums from the origin (the first segment scales a point towards the origin).
struct StepGeometry {
    int step = 0;
    std::vector<double> x_t, x0_hat, eps_hat, x0_hat_last; ///< x0_hat_last empty unless a term uses it
    /// The predictor's partial sums (Heun's Euler step to x'); empty without one.
    std::vector<GeometrySegment> predictor;
    /// eps_hat at the predictor point and level_prev: the step's second model call.
    std::vector<double> eps_predictor;
    /// The update's partial sums; the last `to` is x_prev.
    std::vector<GeometrySegment> update;
    /// The noise z the step drew (Noise terms), else empty. It is not stored with the
    /// frames: it is recovered as (x_prev - the other terms) / its coefficient from the
    /// stored x_prev, so the construction ends on the stored x_prev by definition.
    std::vector<double> noise;
    bool noise_from_x_prev = false;
    std::vector<double> end() const { return update.empty() ? x_t : update.back().to; }
};

/// The geometry of plan step `step` (0..S-1) at one sample whose stored values are `point`.
/// `options`: the sample's class and W and the run's resolved clip radius, used for the
/// second model call (evaluate_field at the predictor point and level_prev, W = 1 there
/// outside the run's guidance interval). InputError for a bad step or sizes, a missing
/// x0_hat_last where the terms use it, a missing x_prev where the step drew noise.
StepGeometry step_geometry(const Model& model, const SamplerConfig& config, const SamplingPlan& plan, int step,
                           const StepPoint& point, const FieldOptions& options = {});

// ---- Cost in model calls ----------------------------------------------------------------

/// The model calls (NFE) made by the end of each plan step, from the terms: one per step,
/// two where the step has a predictor (Heun: 2S - 1 for S steps, its last step being
/// Euler only; the rule steps_within_nfe inverts, compare.hpp). Guidance's second call per
/// evaluation is not counted: it doubles every sampler alike.
std::vector<int> model_calls_by_step(const SamplerConfig& config, const SamplingPlan& plan);

// ---- Solver error and model error -------------------------------------------------------

/// The ode_error of stored outputs: x_prev[k] is step k's output ([B, *data_shape] each),
/// x_T the run's start, on an exact card (has_exact_ode); the RMS over the batch as in
/// ode_errors. One exact_ode_path, handed back in `path` when given.
std::vector<double> ode_errors(const Model& exact, const SamplerConfig& config, const SamplingPlan& plan,
                               std::span<const float> x_T, const std::vector<std::vector<float>>& x_prev,
                               const OdeTolerance& tolerance = {},
                               std::vector<std::vector<double>>* path = nullptr);

/// The error of a learned run split in two (issue 22, point 3), step by step, for a
/// learned card whose exact twin (the exact denoiser of its training data) is `exact`:
///   solver[k] = RMS |x_exact[k] - x_ode[k]|: the same sampler, plan and x_T on the exact
///               card, against the exact probability-flow ODE (what the solver alone costs);
///   model[k]  = RMS |x_learned[k] - x_exact[k]|: the learned run against that exact run
///               (what the learned denoiser alone costs, under this solver);
///   total[k]  = RMS |x_learned[k] - x_ode[k]|, <= solver + model (triangle inequality).
/// RMS over the batch of the Euclidean distance, as ode_error. Empty vectors when the
/// exact card has no exact ODE for `config` (has_exact_ode); InputError when the two
/// cards' plans differ (another schedule) or the sizes do not match.
struct OdeErrorSplit {
    std::vector<double> total, solver, model;
    std::vector<std::vector<double>> path; ///< the exact ODE path used (exact_ode_path)
};
OdeErrorSplit ode_error_split(const Model& exact, const SamplerConfig& config, const SamplingPlan& plan,
                              std::span<const float> x_T, const std::vector<std::vector<float>>& learned_x_prev,
                              const OdeTolerance& tolerance = {});

} // namespace noisetrail
