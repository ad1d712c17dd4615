// Where the bundled model cards live, for programs run from the build tree or
// installed (FHS: <prefix>/bin and <prefix>/share/noisetrail/models). One lookup
// for the GUI's model picker and the CLI's `--model NAME`.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// The folder of the running executable (Linux: /proc/self/exe); empty if unknown.
std::filesystem::path executable_dir();

/// Candidate models folders, in the order they are searched:
///  1. $NOISETRAIL_MODELS, when set;
///  2. <executable folder>/../share/noisetrail/models (an installed tree, wherever its prefix);
///  3. the source tree's models/, only for executables inside this build tree;
///  4. $XDG_DATA_HOME/noisetrail/models (default ~/.local/share), then each entry of
///     $XDG_DATA_DIRS (default /usr/local/share:/usr/share) + /noisetrail/models.
std::vector<std::filesystem::path> models_search_path();

/// The first folder of models_search_path() that holds at least one card (*.json).
std::optional<std::filesystem::path> find_models_dir();

/// Whether `file` (symlinks resolved) lies inside find_models_dir(), the bundled
/// models folder. Its TorchScript modules run without asking (contract section 2).
bool in_bundled_models(const std::filesystem::path& file);

/// A `--model` argument: an existing file as given; else a bare name without a folder
/// ("ring8" or "ring8.json") of a card in find_models_dir(). InputError naming `flag`
/// and what was searched when neither exists.
std::filesystem::path resolve_model_card(const std::string& name_or_path, const std::string& flag = "--model");

} // namespace noisetrail
