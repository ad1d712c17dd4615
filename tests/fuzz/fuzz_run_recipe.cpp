// libFuzzer target: the run recipe reader (noisetrail-run/1, contract section 4)
// on arbitrary text. Bad input must end in InputError; a recipe that parsed
// must obey what the reader promises and survive a write/read round trip.
#include "noisetrail/errors.hpp"
#include "noisetrail/run_recipe.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace noisetrail;
    const std::filesystem::path file = "/fuzz/dir/r.run.json";
    RunSetRecipe r;
    try {
        r = parse_run_recipe(std::string(reinterpret_cast<const char*>(data), size), file);
    } catch (const InputError&) {
        return 0;
    }
    if (r.panels.empty() || r.panels.size() > 64 || r.model.empty() || (r.batch && (*r.batch < 1 || *r.batch > 1000000)))
        std::abort();
    for (const PanelRecipe& p : r.panels)
        if (p.sampler.steps < 0 || p.sampler.steps > 1000000 || !std::isfinite(p.sampler.eta) || p.sampler.eta < 0 ||
            (p.sampler.clip_x0 && !(*p.sampler.clip_x0 >= 0 && std::isfinite(*p.sampler.clip_x0))))
            std::abort();
    // What the writer writes, the reader reads back equal (write_run_recipe's promise).
    try {
        if (!(parse_run_recipe(run_recipe_text(r, file), file) == r))
            std::abort();
    } catch (const InputError&) {
        std::abort();
    }
    return 0;
}
