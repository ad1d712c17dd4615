// How one panel samples: which sampler and its settings (contract section 3 flags).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

enum class Spacing { Leading, Trailing, Linspace, Quadratic };
enum class Variance { FixedSmall, FixedLarge };

struct SamplerConfig {
    std::string sampler = "ddpm"; ///< a name from sampler_names()
    int steps = 0;                ///< S; 0 means the sampler's default (T for ddpm, 50 for ddim)
    double eta = 0.0;             ///< DDIM's eta >= 0
    Spacing spacing = Spacing::Leading;
    Variance variance = Variance::FixedSmall; ///< DDPM only
    /// Clip x0_hat to [-R, R]. Unset: the model's default (R = 1 for image
    /// models with a data_range, off otherwise). A value <= 0 turns clipping off.
    std::optional<double> clip_x0;
};

/// Registered sampler names, e.g. {"ddpm", "ddim"}.
std::vector<std::string> sampler_names();

std::string to_string(Spacing s);
std::string to_string(Variance v);
/// Parse names as written on the command line; throw InputError naming `what` otherwise.
Spacing parse_spacing(const std::string& name, const std::string& what = "--spacing");
Variance parse_variance(const std::string& name, const std::string& what = "--variance");

/// Steps the config resolves to for a schedule with T train steps.
int resolved_steps(const SamplerConfig& config, int train_steps);

/// Throw InputError if the config is unusable for T train steps
/// (unknown sampler, S outside 1..T, eta < 0 or not finite, ...).
void validate(const SamplerConfig& config, int train_steps);

/// "DDIM, 50 steps, eta 0, leading" style description for headers and logs.
std::string describe(const SamplerConfig& config, int train_steps);

} // namespace noisetrail
