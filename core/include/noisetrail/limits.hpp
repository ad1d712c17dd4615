// Limits on what a flag or a file may ask of the machine (one home for each).
#pragma once
#include <algorithm>
#include <thread>

namespace noisetrail {

/// Most intra-op threads accepted (--threads, a training config's "threads"):
/// 4x the cores. More only oversubscribes: 1024 threads made a 5-step run 40x slower.
inline int max_threads()
{
    return 4 * std::max(1u, std::thread::hardware_concurrency());
}

} // namespace noisetrail
