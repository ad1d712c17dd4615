// The one reader and the one writer of a run recipe's JSON (contract section 4,
// noisetrail-run/1): recipe files (run_recipe.cpp) and the recipe inside a
// session (session.cpp, session_format.cpp) both go through them. Torch-free
// (the fuzz targets in tests/fuzz link it alone).
#pragma once
#include "noisetrail/run_recipe.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace noisetrail::detail {

/// Where a recipe's JSON comes from: how messages name it and what its relative paths are relative to.
struct RecipeSource {
    std::string what;       ///< message prefix: "run recipe a.run.json", "s.ntsession"
    std::string field_root; ///< prefix of every field name: "" in a recipe file, "recipe" in a session
    std::filesystem::path folder; ///< relative paths in the JSON are relative to it
    /// Sessions have always stored a panel's default step count as "steps": 0; in a
    /// recipe file an explicit 0 is an error like `--steps 0` (omitting the key is the default).
    bool zero_steps_is_default = false;
};

/// The recipe in `j`. Every problem is one InputError "<what>: field '<root.field>' <why>"
/// (or "<what>: <why>" for the document as a whole).
RunSetRecipe recipe_from_json(const nlohmann::json& j, const RecipeSource& source);

/// `r` as the JSON recipe_from_json reads back equal, paths relative to `folder`
/// where they share a root with it (so the folder can move), else absolute.
nlohmann::json recipe_to_json(const RunSetRecipe& r, const std::filesystem::path& folder);

} // namespace noisetrail::detail
