// Internal: classifier-free guidance (contract section 9), the one home of its
// formula and of the rule that gives each sample its class; runs (run.cpp) and
// field evaluations (fields.cpp) both call it. Torch lives here.
#pragma once
#include "denoiser.hpp"

#include "noisetrail/model_card.hpp"
#include "noisetrail/sampler_config.hpp"

#include <ATen/ATen.h>

#include <cstdint>

namespace noisetrail::detail {

/// Each sample's label on a conditional card: `guidance.classes` cycled over the batch,
/// the card's null label where none is asked (the unconditional model); undefined on an
/// unconditional card. InputError for a class the card does not have, or any class on
/// an unconditional card.
at::Tensor class_labels(const ModelCard& card, const Guidance& guidance, std::int64_t batch);

/// The raw outputs of one guided evaluation.
struct GuidedOutput {
    at::Tensor out;          ///< what the step uses: the guided mixture (the conditional output when w = 1)
    at::Tensor cond, uncond; ///< the raw outputs mixed; uncond undefined when w = 1 (not evaluated)
    int calls = 1;           ///< model calls it made (2 when guided)
};

/// The card's prediction at (x, t) for labels `classes` (class_labels), guided with scale
/// w: eps = eps_u + w (eps_c - eps_u) (Ho & Salimans 2021, eq. 6, diffusers' convention).
GuidedOutput predict_guided(Denoiser& d, const ModelCard& card, const at::Tensor& x, const at::Tensor& t,
                            const at::Tensor& classes, double w);

} // namespace noisetrail::detail
