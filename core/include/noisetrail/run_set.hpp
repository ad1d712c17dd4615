// Several runs (panels) advanced together under a pacing policy, sharing
// denoiser calls where that pays (contract section 4, DESIGN "Data flow").
#pragma once
#include "noisetrail/run.hpp"

#include <memory>
#include <string>
#include <vector>

namespace noisetrail {

/// Which runs a tick advances.
enum class Pacing {
    /// The unfinished runs whose next timestep is the highest still pending:
    /// every panel is at the same noise level at every moment, and a 1000-step
    /// and a 50-step panel reach t = 0 in the same tick. The default.
    Lockstep,
    /// Every unfinished run advances one step per tick: fewer steps finish sooner.
    Realtime,
    /// Run 0 to its end, then run 1, ... (one step per tick).
    Sequential,
};

std::string to_string(Pacing p); ///< "lockstep", "realtime", "sequential"
/// Parse a name as written on the command line; InputError naming `what` otherwise.
Pacing parse_pacing(const std::string& name, const std::string& what = "--pacing");

/// Whether runs of the same model due in one tick share one denoiser call
/// (their batches concatenated, the output split; each sample keeps its own t).
enum class MergePolicy {
    Auto,   ///< merge only where measurement says it pays (see run_set.cpp)
    Always,
    Never,
};

/// One step computed by a tick: which run (panel) and its frame.
struct TickFrame {
    int panel = 0;
    std::shared_ptr<const StepFrame> frame;
};

/// N runs advanced by tick(). The runs usually share one x_T (make_run_set
/// builds them so), but the set does not require it. Not thread-safe: one
/// thread ticks a set; frames it returns are immutable and may be shared.
class RunSet {
public:
    /// InputError if `runs` is empty or holds a null run.
    RunSet(std::vector<std::shared_ptr<Run>> runs, Pacing pacing = Pacing::Lockstep,
           MergePolicy merge = MergePolicy::Auto);
    ~RunSet();
    RunSet(RunSet&&) noexcept;
    RunSet& operator=(RunSet&&) noexcept;

    int size() const;
    Run& run(int i);
    const Run& run(int i) const;
    const std::shared_ptr<Run>& run_ptr(int i) const;
    Pacing pacing() const;
    MergePolicy merge_policy() const;

    bool done() const; ///< every run done
    /// The runs the next tick will advance, in increasing order, without
    /// computing anything; empty when done.
    std::vector<int> next_panels() const;
    /// Advance next_panels() by one step each and return their frames in panel
    /// order (the order they were computed). Throws RunError as Run::step does;
    /// std::logic_error when done.
    std::vector<TickFrame> tick();

    int ticks() const;          ///< ticks so far
    /// Denoiser (model) calls made so far: a merged call counts once; second
    /// evaluations inside a step (Heun) count as their own calls.
    int denoiser_calls() const;
    int merges() const;         ///< calls so far that served more than one run

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace noisetrail
