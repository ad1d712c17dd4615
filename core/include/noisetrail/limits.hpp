// Limits on what a flag or a file may ask of the machine (one home for each).
#pragma once
#include "noisetrail/errors.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

namespace noisetrail {

/// Most intra-op threads accepted (--threads, a training config's "threads"):
/// 4x the cores. More only oversubscribes: 1024 threads made a 5-step run 40x slower.
inline int max_threads()
{
    return 4 * std::max(1u, std::thread::hardware_concurrency());
}

namespace detail {
inline std::atomic<std::uint64_t>& memory_budget_bytes()
{
    static std::atomic<std::uint64_t> bytes{std::uint64_t{1} << 30};
    return bytes;
}
} // namespace detail

/// The memory budget: the most memory that one thing a small file or a flag asks
/// for may make us allocate (a network a card describes, a TorchScript archive
/// inflated, a sampling plan, an export's frames, a batch's working tensors). It is
/// checked before allocating, so a 1 KB card cannot take gigabytes. Default 1 GiB;
/// noisetrail-cli --max-memory-mib sets it. (.npy arrays, whose size is
/// real data on disk, have their own limit: npy_size_limit(), --max-input-mib.)
inline std::uint64_t memory_budget()
{
    return detail::memory_budget_bytes().load();
}
inline void set_memory_budget(std::uint64_t bytes)
{
    detail::memory_budget_bytes().store(bytes);
}

/// "N MiB", rounded up.
inline std::string mib_text(double bytes)
{
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.0f MiB", std::max(1.0, std::ceil(bytes / (1024.0 * 1024.0))));
    return buf;
}

/// Throw InputError "<what> would need N MiB, over the memory budget of M MiB
/// (noisetrail-cli --max-memory-mib raises it)" when `bytes` (an estimate made
/// before allocating; a double, so that no product of hostile sizes can wrap)
/// exceeds memory_budget(). `what` names the file and the field or the flag.
inline void check_memory_budget(const std::string& what, double bytes)
{
    if (!(bytes <= static_cast<double>(memory_budget())))
        throw InputError(what + " would need " + mib_text(bytes) + ", over the memory budget of " +
                         mib_text(static_cast<double>(memory_budget())) +
                         " (noisetrail-cli --max-memory-mib raises it)");
}

} // namespace noisetrail
