// Internal: denoisers of the project's own trained networks (kinds
// noisetrail-unet and noisetrail-mlp). Torch-free declarations.
#pragma once
#include "denoiser.hpp"

namespace noisetrail::detail {

std::unique_ptr<Denoiser> make_native_unet(const ModelCard&, const NoiseSchedule&, const at::Device&);
std::unique_ptr<Denoiser> make_native_mlp(const ModelCard&, const NoiseSchedule&, const at::Device&);
/// Always throws: a noisetrail-classifier card judges samples, it cannot make them.
std::unique_ptr<Denoiser> make_native_classifier(const ModelCard&, const NoiseSchedule&, const at::Device&);

} // namespace noisetrail::detail
