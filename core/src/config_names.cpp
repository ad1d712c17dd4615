// The names of the sampling options as written in flags, recipes and sessions:
// to_string and parse_* of Spacing, Variance and Pacing. Torch-free, so the run
// recipe and session readers (and their fuzz targets, tests/fuzz) link it alone.
#include "noisetrail/errors.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/sampler_config.hpp"

namespace noisetrail {

std::string to_string(Spacing s)
{
    switch (s) {
    case Spacing::Leading: return "leading";
    case Spacing::Trailing: return "trailing";
    case Spacing::Linspace: return "linspace";
    case Spacing::Quadratic: return "quadratic";
    case Spacing::Logsnr: return "logsnr";
    }
    return "leading";
}

std::string to_string(Variance v)
{
    return v == Variance::FixedLarge ? "fixed_large" : "fixed_small";
}

std::string to_string(Pacing p)
{
    switch (p) {
    case Pacing::Lockstep: return "lockstep";
    case Pacing::Realtime: return "realtime";
    case Pacing::Sequential: return "sequential";
    }
    return "lockstep";
}

Spacing parse_spacing(const std::string& name, const std::string& what)
{
    for (Spacing s : {Spacing::Leading, Spacing::Trailing, Spacing::Linspace, Spacing::Quadratic, Spacing::Logsnr})
        if (to_string(s) == name)
            return s;
    throw InputError(what + ": unknown spacing '" + name +
                     "' (expected leading, trailing, linspace, quadratic or logsnr)");
}

Variance parse_variance(const std::string& name, const std::string& what)
{
    for (Variance v : {Variance::FixedSmall, Variance::FixedLarge})
        if (to_string(v) == name)
            return v;
    throw InputError(what + ": unknown variance '" + name + "' (expected fixed_small or fixed_large)");
}

Pacing parse_pacing(const std::string& name, const std::string& what)
{
    for (Pacing p : {Pacing::Lockstep, Pacing::Realtime, Pacing::Sequential})
        if (to_string(p) == name)
            return p;
    throw InputError(what + ": unknown pacing '" + name + "' (expected lockstep, realtime or sequential)");
}

} // namespace noisetrail
