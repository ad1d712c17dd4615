// How one panel samples: which sampler and its settings (contract section 3 flags).
#pragma once
#include "noisetrail/noise_schedule.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// How S timesteps are chosen out of T (contract section 1). Logsnr: uniform in
/// lambda = log(alpha / sigma), the DPM-Solver authors' plan (Lu et al. 2022, sec. 3.3 / 5).
enum class Spacing { Leading, Trailing, Linspace, Quadratic, Logsnr };
enum class Variance { FixedSmall, FixedLarge };

/// Conditioning and classifier-free guidance of a panel (contract section 9; Ho &
/// Salimans 2021, in diffusers' convention eps = eps_u + W (eps_c - eps_u)).
struct Guidance {
    /// Requested classes of a conditional card: empty = unconditional (the null label);
    /// one = the whole batch (--class); several = cycled over the batch (--classes).
    std::vector<int> classes;
    /// W; unset means 1 (the conditional model). W = 0 is the unconditional model.
    std::optional<double> scale;
    /// Guidance only while the step's noise level (t on VP, s on flow) lies in [lo, hi];
    /// W = 1 elsewhere (Kynkaanniemi et al. 2024). Unset: every step.
    std::optional<std::array<double, 2>> interval;
    bool operator==(const Guidance&) const = default;
};

struct SamplerConfig {
    std::string sampler = "ddpm"; ///< a name from sampler_names()
    int steps = 0;                ///< S; 0 means the sampler's default (SamplerInfo::default_steps)
    double eta = 0.0;             ///< DDIM's eta >= 0
    /// Unset: the sampler's default (SamplerInfo::default_spacing; resolved_spacing).
    std::optional<Spacing> spacing;
    Variance variance = Variance::FixedSmall; ///< DDPM only
    /// Clip x0_hat to [-R, R]. Unset: the model's default (R = 1 for image
    /// models with a data_range, off otherwise). A value <= 0 turns clipping off.
    std::optional<double> clip_x0;
    Guidance guidance;            ///< class and guidance scale (conditional cards)

    bool operator==(const SamplerConfig&) const = default;
};

/// What a registered sampler is and can do. The GUI and CLI read these instead
/// of comparing sampler names (which controls apply, how many model calls).
struct SamplerInfo {
    std::string name;          ///< as on the command line: "ddpm", "ddim", "heun", "dpmpp2m", "euler_a"
    std::string title;         ///< "DDPM", "DDIM", "Heun", "DPM-Solver++(2M)" for headers and logs
    std::string summary;       ///< one phrase for --help: "ancestral sampling (Ho et al. 2020)"
    /// The update in symbols, in step_terms.hpp's markup, and where it is from
    /// ("Ho et al. eq. 6-7"); the Reverse step tab shows them above the step's terms.
    std::string equation, reference;
    int default_steps = 0;     ///< steps when SamplerConfig::steps is 0; 0 means T
    bool uses_eta = false;     ///< SamplerConfig::eta matters
    bool uses_variance = false;///< SamplerConfig::variance matters
    /// Never adds noise, whatever the settings (DDIM is deterministic at eta 0
    /// only, so it is not listed as deterministic; see uses_eta).
    bool deterministic = false;
    int order = 1;             ///< order of accuracy of the update as an ODE/SDE solver
    int max_model_calls_per_step = 1; ///< denoiser evaluations a step may make (Heun: 2)
    /// The plan used when SamplerConfig::spacing is unset; chosen by measuring the
    /// endpoint error on the exact Gaussian card (docs/CLI.md, "Default plans").
    Spacing default_spacing = Spacing::Leading;
    /// Largest ratio s / s' of the first step's noise levels (s = sigma / alpha) the
    /// sampler takes stably; 0: no limit. plan_warnings (sampling_plan.hpp) applies it.
    double max_first_step_ratio = 0.0;

    bool operator==(const SamplerInfo&) const = default;
};

/// Registered sampler names in registry order, e.g. {"ddpm", "ddim", "heun", "dpmpp2m", "euler_a"}.
std::vector<std::string> sampler_names();
/// Every registered sampler, in registry order.
std::vector<SamplerInfo> samplers();
/// The registered sampler called `name`; InputError ("--sampler: unknown sampler ...") otherwise.
const SamplerInfo& sampler_info(const std::string& name);

/// W of a config (1 when unset).
double guidance_scale(const SamplerConfig& config);
/// Whether a step may evaluate the model twice (conditional and unconditional): W != 1.
bool is_guided(const SamplerConfig& config);
/// "class 3, W 3" style text of the guidance settings ("" when unconditional); class
/// names from `class_names` where given (the card's classes).
std::string describe_guidance(const Guidance& g, const std::vector<std::string>& class_names = {});

std::string to_string(Spacing s);
std::string to_string(Variance v);
/// Parse names as written on the command line; throw InputError naming `what` otherwise.
Spacing parse_spacing(const std::string& name, const std::string& what = "--spacing");
Variance parse_variance(const std::string& name, const std::string& what = "--variance");

/// The spacing the config resolves to: its own, or the sampler's default.
Spacing resolved_spacing(const SamplerConfig& config);

/// Steps the config resolves to for a schedule with T train steps.
int resolved_steps(const SamplerConfig& config, int train_steps);

/// Throw InputError if the config is unusable for T train steps
/// (unknown sampler, S outside 1..T, eta < 0 or not finite, ...).
void validate(const SamplerConfig& config, int train_steps);

/// "DDIM, 50 steps, eta 0, leading" style description for headers and logs. On a flow
/// process the spacing is left out: its plan is the contract's own (section 8).
std::string describe(const SamplerConfig& config, int train_steps, ProcessKind process = ProcessKind::Vp);


/// The two forms of a sampler's label (sampler_label).
enum class LabelForm {
    Title, ///< for figures, legends and tables: "DDIM 50 eta 0.5", "DDPM 1000", "Heun 18"
    Spec,  ///< for command lines and CSV fields: "ddim:50:0.5", "ddpm:1000" (NAME:STEPS[:ETA],
           ///< what experiments::parse_sampler_list reads back)
};

/// The one short label of a sampler, from its capabilities (SamplerInfo): the
/// title (Spec: the name), the steps it resolves to for T = `train_steps`, and
/// eta where the sampler uses it (SamplerInfo::uses_eta). Without `train_steps`
/// a Title leaves the steps out ("DDIM eta 0": one sampler over several S) and
/// a Spec writes the configured steps (0: the sampler's default).
std::string sampler_label(const SamplerConfig& config, std::optional<int> train_steps,
                          LabelForm form = LabelForm::Title);

} // namespace noisetrail
