// Reading the compare cache; see compare_cache.hpp.
#include "compare_cache.hpp"

#include "json_file.hpp"
#include "noisetrail/errors.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

namespace noisetrail::compare::detail {

namespace fs = std::filesystem;
using nlohmann::json;

json empty_cache()
{
    return {{"format", kCacheFormat}, {"cells", json::object()}};
}

json parse_cache(const std::string& text, const fs::path& file, std::vector<std::string>* warnings)
{
    // The bounded parser of cards and recipes (nesting at most kMaxJsonDepth): a
    // deeply nested cache once recursed until the stack ran out (SIGSEGV).
    json j;
    try {
        j = noisetrail::detail::parse_json(text, file.string());
    } catch (const InputError& e) {
        // e.what() is "<file>: malformed JSON...": keep the reason after the name.
        const std::string why = std::string(e.what()).substr(std::min(file.string().size() + 2, std::strlen(e.what())));
        if (warnings)
            warnings->push_back("compare: warning: " + file.string() + ": not a compare cache (" + why +
                                "); starting afresh");
        return empty_cache();
    }
    const auto format = j.is_object() ? j.find("format") : j.end();
    if (!j.is_object() || format == j.end() || !format->is_string() || *format != kCacheFormat ||
        !j.contains("cells") || !j["cells"].is_object()) {
        if (warnings)
            warnings->push_back("compare: warning: " + file.string() + ": not a compare cache; starting afresh");
        return empty_cache();
    }
    return j;
}

json load_cache(const fs::path& file, bool use, std::vector<std::string>* warnings)
{
    std::error_code ec;
    if (!use || !fs::exists(file, ec))
        return empty_cache();
    const auto warn = [&](const std::string& why) {
        if (warnings)
            warnings->push_back("compare: warning: " + file.string() + ": " + why);
        return empty_cache();
    };
    // A FIFO or a device would never end; a directory cannot be one.
    if (!fs::is_regular_file(file, ec))
        return warn("not a regular file, not a compare cache; not used");
    const std::uintmax_t size = fs::file_size(file, ec);
    if (ec || size > kMaxCacheBytes)
        return warn(ec ? "cannot read its size; not used"
                       : "larger than " + std::to_string(kMaxCacheBytes >> 20) + " MiB, not a compare cache; not used");
    std::ifstream in(file, std::ios::binary);
    std::string text(std::istreambuf_iterator<char>(in), {});
    if (in.bad())
        return warn("cannot read it; not used");
    return parse_cache(text, file, warnings);
}

std::optional<Cell> cell_from_json(const json& e, std::string* why)
{
    if (!e.is_object() || !e.contains("metrics") || !e["metrics"].is_object()) {
        *why = "has no \"metrics\" object";
        return std::nullopt;
    }
    Cell c;
    for (const auto& [mk, mv] : e["metrics"].items()) {
        if (!mv.is_number() && !mv.is_null()) {
            *why = "metric \"" + mk + "\" is not a number";
            return std::nullopt;
        }
        c.values[mk] = mv.is_number() ? mv.get<double>() : std::numeric_limits<double>::quiet_NaN();
    }
    const auto sec = e.find("seconds");
    c.seconds = sec != e.end() && sec->is_number() ? sec->get<double>() : std::numeric_limits<double>::quiet_NaN();
    c.cached = true;
    c.done = true;
    return c;
}

const json* usable_entry(const json& cells, const std::string& key, std::vector<std::string>* warnings)
{
    const auto it = cells.find(key);
    if (it == cells.end())
        return nullptr;
    std::string why;
    if (!cell_from_json(*it, &why)) {
        if (warnings)
            warnings->push_back("compare: warning: skipping a malformed cached cell (" + why + "): " + key);
        return nullptr;
    }
    return &*it;
}

} // namespace noisetrail::compare::detail
