// libFuzzer target: the compare cache reader (noisetrail-compare-cache/1) on
// arbitrary text. Nothing in a cache is an error: whatever it holds ends as a
// cache (possibly empty, with a warning) whose every cell is either usable or
// skipped with a reason; no exception may escape.
#include "compare_cache.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace noisetrail::compare;
    std::vector<std::string> warnings;
    const nlohmann::json cache =
        detail::parse_cache(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json", &warnings);
    if (!cache.is_object() || !cache.contains("cells") || !cache["cells"].is_object())
        std::abort();
    for (const auto& [key, value] : cache["cells"].items()) {
        const nlohmann::json* e = detail::usable_entry(cache["cells"], key, &warnings);
        std::string why;
        const auto cell = detail::cell_from_json(value, &why);
        if (bool(e) != bool(cell) || (cell && (!cell->cached || !cell->done)) || (!cell && why.empty()))
            std::abort();
    }
    return 0;
}
