// Fields and the exact path (contract section 10): the field a sampler follows
// (eps_hat, x0_hat, the score, the flow velocity) at any noise level, and, for the
// exact cards, the probability-flow ODE's own solution from a run's x_T. Plain
// vectors in and out, torch-free: a GUI worker or the CLI calls these directly.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"

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

} // namespace noisetrail
