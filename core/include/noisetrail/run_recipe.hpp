// Run recipes (*.run.json, contract section 4): several panels sharing one
// starting noise. The CLI's `run --config` and the GUI's Save read and write them.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/sampler_config.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// One panel: its sampler settings and, optionally, its own model card.
struct PanelRecipe {
    std::filesystem::path model; ///< empty: the recipe's top-level model
    SamplerConfig sampler;       ///< omitted keys keep the `sample` defaults (steps 0 = the sampler's default)

    bool operator==(const PanelRecipe&) const = default;
};

struct RunSetRecipe {
    std::filesystem::path model;  ///< top-level card (required)
    std::uint64_t seed = 0;
    std::optional<int> batch;     ///< unset: default_batch(card), or the batch of init_noise
    std::optional<std::filesystem::path> init_noise; ///< x_T as .npy [B, *data_shape]; else drawn from seed
    Pacing pacing = Pacing::Lockstep;
    std::vector<PanelRecipe> panels; ///< at least one

    bool operator==(const RunSetRecipe&) const = default;
};

/// Read a recipe. Paths in it are relative to the recipe's folder and come back
/// joined to that folder (lexically normalised). Every problem is one InputError
/// naming the file and the field: missing or oversized file, bad JSON, wrong
/// "format", unknown keys (named), bad values ("clip_x0" is a number > 0 or
/// "off"; "pacing" one of lockstep, realtime, sequential; "steps" 0 or
/// omitted is the sampler's default), no panels.
/// Sampler names and steps are checked against the model in make_run_set.
RunSetRecipe read_run_recipe(const std::filesystem::path& file);

/// The same from the recipe's text (at most 1 MiB when read from a file);
/// `file` names it in messages and anchors its relative paths.
RunSetRecipe parse_run_recipe(const std::string& text, const std::filesystem::path& file);

/// The text write_run_recipe writes to `file` (pretty JSON and a newline).
std::string run_recipe_text(const RunSetRecipe& recipe, const std::filesystem::path& file);

/// Write a recipe that read_run_recipe reads back equal: paths are written
/// relative to the file's folder where they share a root with it, otherwise
/// absolute. InputError naming the file if it cannot be written.
void write_run_recipe(const std::filesystem::path& file, const RunSetRecipe& recipe);

/// x_T from a float32 (or float64) .npy of shape [B, *data_shape]; InputError
/// starting with `what` (e.g. "--init-noise FILE") otherwise.
std::vector<float> read_initial_noise(const std::filesystem::path& file,
                                      const std::vector<std::int64_t>& data_shape, const std::string& what);

struct RunSetOptions {
    std::string device = "cpu";
    CodeTrust trust; ///< which TorchScript modules may run (Model::load)
    int threads = 0;                 ///< intra-op threads of each run (RunOptions::threads)
    std::optional<Pacing> pacing;    ///< overrides the recipe's pacing
    MergePolicy merge = MergePolicy::Auto;
    /// Models already loaded (the GUI keeps its cards loaded): given a card path
    /// as the recipe names it, the model, or null to load it. Unset: every card is loaded.
    std::function<std::shared_ptr<const Model>(const std::filesystem::path& card)> loaded;
};

/// Build the run set a recipe describes: each distinct card loaded once (or
/// taken from options.loaded; a
/// panel's model overrides the top-level one; every data_shape must match the
/// top-level card's, InputError naming the panel otherwise), one x_T shared by
/// every panel (from init_noise, else from seed as `sample` draws it), each
/// panel validated against its model (InputError naming "panels[i]").
RunSet make_run_set(const RunSetRecipe& recipe, const RunSetOptions& options = {});

} // namespace noisetrail
