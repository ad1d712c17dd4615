#include "samplers/sampler.hpp"

#include "noisetrail/errors.hpp"

namespace noisetrail::detail {

const std::vector<SamplerUnit>& sampler_registry()
{
    static const std::vector<SamplerUnit> units{
        ddpm_sampler(),
        ddim_sampler(),
        heun_sampler(),
        dpmpp2m_sampler(),
    };
    return units;
}

const SamplerUnit& find_sampler(const std::string& name)
{
    for (const SamplerUnit& u : sampler_registry())
        if (u.info.name == name)
            return u;
    std::string known;
    for (const SamplerUnit& u : sampler_registry())
        known += (known.empty() ? "" : ", ") + u.info.name;
    throw InputError("--sampler: unknown sampler '" + name + "' (expected " + known + ")");
}

} // namespace noisetrail::detail
