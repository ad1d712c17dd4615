// Stand-in for the sampler registry (core/src/samplers/registry.cpp), which is
// torch code the lean fuzz build cannot link: the recipe reader only asks
// whether a sampler name is registered. The names come from the registry's own
// list (samplers/sampler_list.hpp); the error is the registry's.
#include "noisetrail/errors.hpp"
#include "noisetrail/sampler_config.hpp"
#include "samplers/sampler_list.hpp"

#include <vector>

namespace noisetrail {

const SamplerInfo& sampler_info(const std::string& name)
{
#define NOISETRAIL_NAME_INFO(n) SamplerInfo{.name = #n, .title = #n},
    static const std::vector<SamplerInfo> infos{NOISETRAIL_SAMPLERS(NOISETRAIL_NAME_INFO)};
#undef NOISETRAIL_NAME_INFO
    std::string known;
    for (const SamplerInfo& u : infos) {
        if (u.name == name)
            return u;
        known += (known.empty() ? "" : ", ") + u.name;
    }
    throw InputError("--sampler: unknown sampler '" + name + "' (expected " + known + ")");
}

} // namespace noisetrail
