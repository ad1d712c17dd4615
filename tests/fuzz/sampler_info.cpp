// Stand-in for the sampler registry (core/src/samplers/registry.cpp), which is
// torch code the lean fuzz build cannot link: the recipe reader only asks
// whether a sampler name is registered. Same names, same error as the registry.
#include "noisetrail/errors.hpp"
#include "noisetrail/sampler_config.hpp"

#include <vector>

namespace noisetrail {

const SamplerInfo& sampler_info(const std::string& name)
{
    static const std::vector<SamplerInfo> infos{
        {"ddpm", "DDPM"}, {"ddim", "DDIM"}, {"heun", "Heun"}, {"dpmpp2m", "DPM-Solver++(2M)"}};
    for (const SamplerInfo& u : infos)
        if (u.name == name)
            return u;
    throw InputError("--sampler: unknown sampler '" + name + "' (expected ddpm, ddim, heun, dpmpp2m)");
}

} // namespace noisetrail
