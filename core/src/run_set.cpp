#include "noisetrail/run_set.hpp"

#include "noisetrail/errors.hpp"

#include <stdexcept>

namespace noisetrail {

std::string to_string(Pacing p)
{
    switch (p) {
    case Pacing::Lockstep: return "lockstep";
    case Pacing::Realtime: return "realtime";
    case Pacing::Sequential: return "sequential";
    }
    return "lockstep";
}

Pacing parse_pacing(const std::string& name, const std::string& what)
{
    for (Pacing p : {Pacing::Lockstep, Pacing::Realtime, Pacing::Sequential})
        if (to_string(p) == name)
            return p;
    throw InputError(what + ": unknown pacing '" + name + "' (expected lockstep, realtime or sequential)");
}

struct RunSet::Impl {};

RunSet::RunSet(std::vector<std::shared_ptr<Run>>, Pacing, MergePolicy) { throw std::logic_error("RunSet: not yet implemented"); }
RunSet::~RunSet() = default;
RunSet::RunSet(RunSet&&) noexcept = default;
RunSet& RunSet::operator=(RunSet&&) noexcept = default;

} // namespace noisetrail
