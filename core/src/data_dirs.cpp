// The bundled models' folder (see data_dirs.hpp).
#include "noisetrail/data_dirs.hpp"

#include "noisetrail/errors.hpp"

#include <cstdlib>
#include <sstream>

namespace noisetrail {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool holds_cards(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return false;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".json" && it->is_regular_file(ec))
            return true;
    return false;
}

/// Whether `p` lies inside folder `dir` (both made absolute and normal).
bool inside(const fs::path& p, const fs::path& dir)
{
    std::error_code ec;
    const fs::path a = fs::weakly_canonical(p, ec), b = fs::weakly_canonical(dir, ec);
    const auto rel = a.lexically_relative(b);
    return !rel.empty() && *rel.begin() != "..";
}

} // namespace

fs::path executable_dir()
{
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

std::vector<fs::path> models_search_path()
{
    std::vector<fs::path> dirs;
    if (const std::string d = env("NOISETRAIL_MODELS"); !d.empty())
        dirs.emplace_back(d);
    const fs::path exe = executable_dir();
    if (!exe.empty())
        dirs.push_back((exe / ".." / "share" / "noisetrail" / "models").lexically_normal());
#if defined(NOISETRAIL_SOURCE_MODELS_DIR) && defined(NOISETRAIL_BUILD_DIR)
    // Build-tree runs (scripts/run.sh, tests) use the checkout's models, before any
    // installed copy; an installed program never does, even on the machine that built it.
    if (!exe.empty() && inside(exe, NOISETRAIL_BUILD_DIR))
        dirs.emplace_back(NOISETRAIL_SOURCE_MODELS_DIR);
#endif
    // XDG Base Directory Specification: data home first, then the data dirs in order.
    std::string home = env("XDG_DATA_HOME");
    if (home.empty() && !env("HOME").empty())
        home = env("HOME") + "/.local/share";
    if (!home.empty())
        dirs.push_back(fs::path(home) / "noisetrail" / "models");
    std::string data_dirs = env("XDG_DATA_DIRS");
    if (data_dirs.empty())
        data_dirs = "/usr/local/share:/usr/share";
    std::istringstream in(data_dirs);
    for (std::string d; std::getline(in, d, ':');)
        if (!d.empty())
            dirs.push_back(fs::path(d) / "noisetrail" / "models");
    return dirs;
}

std::optional<fs::path> find_models_dir()
{
    for (const fs::path& d : models_search_path())
        if (holds_cards(d)) {
            std::error_code ec;
            const fs::path abs = fs::absolute(d, ec).lexically_normal();
            return ec ? d : abs;
        }
    return std::nullopt;
}

bool in_bundled_models(const fs::path& file)
{
    const auto dir = find_models_dir();
    if (!dir)
        return false;
    std::error_code ec;
    const fs::path a = fs::weakly_canonical(fs::absolute(file, ec), ec);
    if (ec)
        return false;
    const fs::path b = fs::weakly_canonical(*dir, ec);
    if (ec)
        return false;
    const auto rel = a.lexically_relative(b);
    return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

fs::path resolve_model_card(const std::string& name_or_path, const std::string& flag)
{
    std::error_code ec;
    const fs::path given(name_or_path);
    if (fs::exists(given, ec) || name_or_path.empty() || given.has_parent_path())
        return given; // a path: loading it reports what is wrong with it
    const auto dir = find_models_dir();
    if (dir) {
        fs::path card = *dir / given;
        if (card.extension() != ".json")
            card += ".json";
        if (fs::is_regular_file(card, ec))
            return card;
    }
    std::string searched;
    for (const fs::path& d : models_search_path())
        searched += (searched.empty() ? "" : ", ") + d.string();
    throw InputError(flag + " " + name_or_path + ": no such card file, and no bundled card of that name" +
                     (dir ? " in " + dir->string() : " (no models folder found in " + searched + ")"));
}

} // namespace noisetrail
