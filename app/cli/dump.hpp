// The `--dump DIR` layout (contract section 3) and the `--out DIR` samples, shared by
// `sample` and `run` so that a run's panel-<i>/ is bit-identical to `sample`'s dump.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail::cli {

using Frames = std::vector<std::shared_ptr<const StepFrame>>;

/// What meta.json records besides the run itself.
struct DumpMeta {
    std::string command;                   ///< "sample" or "run"
    std::optional<std::string> init_noise; ///< the x_T file as given, if any
    double seconds = 0.0;
    nlohmann::json extra = nlohmann::json::object(); ///< merged into meta.json (e.g. panel, recipe)
};

/// Write xt.npy [S+1, B, ...] (x_T first), x0_pred.npy and eps_pred.npy [S, B, ...],
/// timesteps.npy [S], stats.csv (one row per step; `model_calls` last) and meta.json
/// for a finished run whose frames are `frames`. InputError naming a file that cannot be written.
void write_dump(const std::filesystem::path& dir, const Run& run, const Frames& frames, const DumpMeta& meta);
/// --dump's decision files (assignment.npy [S, B] int64, decision.csv) when the model
/// has mixture components or a classifier next to its card; nothing otherwise (decision.cpp).
void write_decision_dump(const std::filesystem::path& dir, const Model& model, const Frames& frames);

/// Every name --dump may write (a staged --dump folder replaces them all), and --out's.
extern const std::vector<std::string> kDumpNames, kSamplesNames;

/// samples.npy plus samples.png (a grid for images, a scatter for 2-D data).
void write_samples(const std::filesystem::path& dir, const Model& model, const std::vector<std::int64_t>& shape,
                   const std::vector<float>& samples);

} // namespace noisetrail::cli
