// The frame store of one panel: every step of a run, kept for scrubbing,
// export and sessions. Display copies at reduced precision (8-bit for images;
// half for 2-D points, whose paths need sub-pixel accuracy), statistics,
// metrics and plan at full precision. 8-bit blocks are deflated (zlib level 1, run-length strategy)
// where that pays, either as they are or as the difference of their codes from
// the previous step's (consecutive steps of a 1000-step run differ little),
// with a self-contained block at least every kKeyInterval steps.
//
// Threads: one writer (the worker stepping the run) appends; any number of
// readers (the GUI thread) read at the same time without ever waiting. All
// storage for the planned steps is reserved when the store is made, a step is
// written completely and then published by one atomic count (release), and
// readers touch only published steps (acquire).
#pragma once
#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/run.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace noisetrail {

/// Which of a step's tensors: its input x_t, the predicted x0_hat, the predicted eps_hat;
/// on a guided run (contract section 9) also x0_hat of the conditional and of the
/// unconditional prediction at the same x_t, which the guided x0_hat mixes.
enum class Field { Xt = 0, X0Hat = 1, EpsHat = 2, X0Cond = 3, X0Uncond = 4 };

/// The per-step diversity metrics of one frame (issue 5), computed by the
/// recorder right after the step (recorder.hpp: computeFrameMetrics on x0_hat,
/// on the steps measuredStep selects) and stored with the step at full precision.
struct FrameMetrics {
    /// NaN everywhere until computed (a run without metrics stores these).
    metrics::StepMetrics values = nanMetrics();
    static metrics::StepMetrics nanMetrics()
    {
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        return {nan, nan, nan, nan, nan, nan, nan};
    }
    /// Mixture cards: how many samples' x0_hat each component is the most
    /// responsible for (metrics::mixture_coverage's occupancy), for the scatter;
    /// componentNear: of those, how many lie within 3 std of its mean (the
    /// "high quality" samples whose presence makes a component covered).
    std::vector<int> componentCounts, componentNear;
    /// Per sample, what its x0_hat is at this step (decision time, issue 13):
    /// the classifier's argmax class for image models, the most responsible
    /// component for mixture cards; empty when not measured (or neither applies).
    std::vector<int> assignment;
    double seconds = 0.0; ///< worker time spent on these metrics (classifier included)
};

class Trajectory {
public:
    enum class Precision { UInt8, Half };
    /// A self-contained 8-bit block at least every this many steps: decoding a
    /// step inflates at most this many blocks (~30 us each for 16 digits).
    static constexpr int kKeyInterval = 16;

    /// What is kept of a step besides its values, at full precision.
    struct StepInfo {
        int step = 0;
        PlanStep plan;
        StepStats stats;
        FrameMetrics metrics; ///< NaN if not computed
        /// A guided step stored x0_cond (every step of a guided run) and x0_uncond
        /// (only inside the guidance interval: it is not evaluated elsewhere).
        bool hasCond = false, hasUncond = false;
    };

    /// An empty store (no plan): size() 0, never finished.
    Trajectory() = default;
    /// A store for one run: `shape` is [B, *data_shape], `timesteps` the plan.
    /// `x_T`, when given, is the run's starting noise, shown before the first
    /// step arrives; otherwise it comes with step 0.
    Trajectory(std::vector<std::int64_t> shape, std::vector<int> timesteps, Precision precision,
               std::span<const float> x_T = {});
    Trajectory(const Trajectory&) = delete;
    Trajectory& operator=(const Trajectory&) = delete;

    // ------------------------------------------------------------ the writer

    /// Append the next step (frame.step must equal size()) and publish it.
    /// `metrics`, when given, are the worker's per-step metrics of this frame.
    /// Throws std::invalid_argument for a step out of order, too many steps or
    /// a frame of another size. Only one thread may append.
    void append(const StepFrame& frame, const FrameMetrics* metrics = nullptr);

    // ------------------------------------------------------------ readers (any thread)

    /// Published steps.
    int size() const { return published_.load(std::memory_order_acquire); }
    int plannedSteps() const { return int(timesteps_.size()); }
    bool finished() const { return plannedSteps() > 0 && size() == plannedSteps(); }
    bool empty() const { return size() == 0; }
    /// x_T is known (given when the store was made, or with step 0).
    bool hasStart() const { return startGiven_ || size() > 0; }
    const std::vector<int>& timesteps() const { return timesteps_; }
    const std::vector<std::int64_t>& shape() const { return shape_; }
    int batch() const { return shape_.empty() ? 0 : int(shape_[0]); }
    std::size_t valuesPerStep() const { return values_; }
    Precision precision() const { return precision_; }
    /// A published step's record (step < size()).
    const StepInfo& info(int step) const;

    /// Decode one field of one step into `out` (resized to valuesPerStep()).
    /// x_t is known for step 0..size() once hasStart(): x_t of step k + 1 is
    /// x_prev of step k, so `step == size()` gives the newest state (the final
    /// samples on a finished run). x0_hat and eps_hat are known for published
    /// steps; on a finished run `step == size()` gives the last step's; x0_cond
    /// and x0_uncond only where has() says so (std::out_of_range elsewhere).
    /// Throws std::out_of_range otherwise, and InputError "the stored frames are
    /// damaged: ..." (naming the field and step) when the step's block does not decode:
    /// a session's blocks are inflated here, when shown, not when it is read, so a
    /// damaged file is found now. Every view catches it and shows the message.
    void decode(int step, Field field, std::vector<float>& out) const;
    /// Whether decode(step, field) has a value: x0_cond and x0_uncond only where the
    /// run was guided and (x0_uncond) the step inside the guidance interval.
    bool has(int step, Field field) const;
    /// One value of x_t (same steps and errors as decode), for paths.
    float xtValue(int step, std::size_t index) const;

    /// Bytes held (values and records), for the memory figures.
    std::size_t bytes() const;

private:
    friend struct TrajectoryCodec; // sessions (session.cpp) save and restore the stored blocks exactly
    enum class Coding : std::uint8_t {
        Raw,      ///< 8-bit codes or half floats as they are
        Deflated, ///< deflated 8-bit codes
        Delta,    ///< deflated (codes - the previous block's codes) mod 256
    };
    struct Block {
        std::vector<std::uint8_t> data;
        float lo = 0.f, scale = 0.f; ///< 8-bit code v stands for lo + v * scale
        Coding coding = Coding::Raw;
    };
    /// The writer's side of one chain of blocks (x_t, x0_hat or eps_hat):
    /// the last block's 8-bit codes and the steps since a self-contained block.
    struct ChainState {
        std::vector<std::uint8_t> codes;
        int sinceKey = 0;
    };
    Block encode(std::span<const float> src, ChainState* chain) const;
    /// The 8-bit codes of block k of `chain` (following Delta blocks back to their key).
    /// False when a block of the chain does not inflate to its size (a damaged session).
    bool codes(const std::vector<Block>& chain, std::size_t k, std::vector<std::uint8_t>& out) const;
    bool decodeBlock(const std::vector<Block>& chain, std::size_t k, std::vector<float>& out) const;
    InputError damaged(int step, Field field) const;
    std::pair<const std::vector<Block>*, std::size_t> block(int step, Field field) const;

    Precision precision_ = Precision::UInt8;
    std::vector<std::int64_t> shape_;
    std::vector<int> timesteps_;
    std::size_t values_ = 0;
    bool startGiven_ = false;
    // Sized for every planned step up front: never reallocated while readers read.
    std::vector<StepInfo> info_;  // S
    std::vector<Block> xt_;       // S + 1: x_t of each step, then the final samples
    std::vector<Block> x0_, eps_; // S
    std::vector<Block> x0Cond_, x0Uncond_; // S; empty blocks where StepInfo says none
    std::atomic<int> published_{0};
    ChainState xtChain_, x0Chain_, epsChain_, x0CondChain_, x0UncondChain_; // the writer's only
};

} // namespace noisetrail
