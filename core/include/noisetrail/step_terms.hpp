// The terms of one reverse step, as the sampler computes them: x_prev is a sum of
// coefficients times named quantities (x_t, x0_hat, eps_hat, noise, ...). Each
// sampler unit (core/src/samplers/) writes its update once as these terms; the
// step evaluates them on tensors and the Reverse step tab renders them, so the
// view and the run cannot disagree. Torch-free, Qt-free.
//
// Text fields are a small neutral markup that a renderer maps to its own form
// (rich text in the GUI): `_{..}` subscript, `^{..}` superscript, `{..}` a group
// (`e^{\minus{}h}`: it ends a name), `~` a non-breaking space, and `\name` a
// symbol: \xprev (x_t'), \xt, \xzero (x0_hat), \eps (eps_hat), \ab (alpha_bar_t),
// \abprev (alpha_bar_t'), \xbar, the Greek letters \alpha \beta \sigma \eta
// \lambda \mu \epsilon \theta, and \sqrt \minus \prime \half \squared \ndash
// \rarr. Everything else is plain text.
#pragma once
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace noisetrail {

/// What a term multiplies.
enum class Quantity {
    Xt,              ///< x_t, the step's input
    X0Hat,           ///< x0_hat at (x_t, t), after clipping
    EpsHat,          ///< eps_hat at (x_t, t)
    Noise,           ///< z ~ N(0, I), drawn for this step (its coefficient is the plan step's sigma)
    X0HatLast,       ///< x0_hat of the step before (multistep solvers)
    EpsHatPredictor, ///< eps_hat at the predictor point (StepTerms::predictor) and t_prev: a second model call
    Defined,         ///< display only: a quantity an earlier line defines (its `symbol`, e.g. D)
};

/// The markup symbol of a quantity ("\\xzero" for X0Hat, "z" for Noise, ...).
std::string quantity_symbol(Quantity q);

struct Term {
    double coefficient = 0.0;
    Quantity quantity = Quantity::Xt;
    std::string symbol; ///< markup; empty: quantity_symbol(quantity)
    std::string name;   ///< in words: "direction pointing to x_t"

    const std::string& shown_symbol() const;
    bool operator==(const Term&) const = default;
};

/// A named sum shown on its own: "name: lhs = c1 q1 + c2 q2".
struct TermSum {
    std::string lhs;  ///< markup, e.g. "x\\prime"
    std::string name; ///< in words, may be empty: "Euler" (Heun's predictor)
    std::vector<Term> terms;
    bool operator==(const TermSum&) const = default;
};

/// A named number of the step (h, r, s, sigma_up, ...).
struct StepScalar {
    std::string symbol; ///< markup
    double value = 0.0;
    std::string name;   ///< in words
    bool operator==(const StepScalar&) const = default;
};

struct StepTerms {
    /// x_prev = sum of coefficient * quantity over these (never Defined).
    std::vector<Term> terms;
    /// Where the step makes its second model call (at t_prev), as a sum over
    /// x_t, x0_hat, eps_hat; EpsHatPredictor in `terms` is eps_hat there.
    std::optional<TermSum> predictor;
    /// Display: definitions (D = ...) and, with lhs "\\xprev", the update in grouped form
    /// (x_prev = c x_t + c' D), which a renderer writes before the expanded terms.
    std::vector<TermSum> lines;
    std::vector<StepScalar> scalars;
    std::string note; ///< markup, e.g. "(\\eta = 0: deterministic, no noise term)"

    /// Sum of the coefficients of `q` in `terms` (0 when absent).
    double coefficient(Quantity q) const;
    /// The scalar written `symbol`, or null.
    const StepScalar* scalar(std::string_view symbol) const;
    bool operator==(const StepTerms&) const = default;
};

/// The terms of plan step `step`: `previous` is the plan step before it (null
/// for the first step: multistep samplers then take their first-order step).
/// InputError for an unknown sampler.
StepTerms step_terms(const SamplerConfig& config, const PlanStep& step, const PlanStep* previous);
/// The terms of step `index` of `plan` (std::out_of_range outside 0..plan.size()-1).
StepTerms step_terms(const SamplerConfig& config, const SamplingPlan& plan, int index);

} // namespace noisetrail
