// The frame store of one panel: every step of a run, kept for scrubbing.
// Display copies at reduced precision (8-bit for images, half for 2-D points,
// whose paths need sub-pixel accuracy), statistics and plan at full precision.
// Scrubbing reads from here and never re-runs the model.
#pragma once
#include "frame_metrics.hpp"
#include "noisetrail/run.hpp"

#include <QtCore/qfloat16.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace noisetrail::ui {

enum class Field { Xt = 0, X0Hat = 1, EpsHat = 2 };

class Trajectory {
public:
    enum class Precision { UInt8, Half };

    /// What is kept of a step besides its values.
    struct StepInfo {
        int step = 0;
        PlanStep plan;
        StepStats stats;
        FrameMetrics metrics; ///< per-step diversity metrics, full precision (NaN if not computed)
    };

    Trajectory() = default;
    /// Start a new run: `shape` is [B, *data_shape], `timesteps` the plan.
    void reset(std::vector<std::int64_t> shape, std::vector<int> timesteps, Precision precision);
    void clear() { reset({}, {}, precision_); }

    /// Append the next step (frame.step must equal size()); the last step
    /// also stores its output, the final samples.
    /// `metrics`, when given, are the worker's per-step metrics of this frame.
    void append(const StepFrame& frame, const FrameMetrics* metrics = nullptr);

    int size() const { return int(info_.size()); }
    int plannedSteps() const { return int(timesteps_.size()); }
    bool finished() const { return finished_; }
    bool empty() const { return info_.empty(); }
    const std::vector<int>& timesteps() const { return timesteps_; }
    const std::vector<std::int64_t>& shape() const { return shape_; }
    int batch() const { return shape_.empty() ? 0 : int(shape_[0]); }
    std::size_t valuesPerStep() const { return values_; }
    Precision precision() const { return precision_; }
    const StepInfo& info(int step) const { return info_.at(step); }

    /// Decode one field of one step into `out` (resized to valuesPerStep()).
    /// `step == size()` on a finished run gives the final samples for Xt
    /// (and the last step's x0_hat / eps_hat for the other fields).
    void decode(int step, Field field, std::vector<float>& out) const;
    /// One value of x_t, for paths (step == size() reads the final samples).
    float xtValue(int step, std::size_t index) const;

    /// Bytes held (values and records), for the memory figure in the report.
    std::size_t bytes() const;

private:
    struct Block {
        std::vector<std::uint8_t> u8;
        std::vector<qfloat16> f16;
        float lo = 0.f, scale = 0.f; // u8 value v stands for lo + v * scale
    };
    void encode(const std::vector<float>& src, Block& b) const;
    float value(const Block& b, std::size_t i) const;
    const Block& block(int step, Field field) const;

    Precision precision_ = Precision::UInt8;
    std::vector<std::int64_t> shape_;
    std::vector<int> timesteps_;
    std::size_t values_ = 0;
    std::vector<StepInfo> info_;
    std::vector<Block> blocks_; // 3 per step: x_t, x0_hat, eps_hat
    Block final_;               // x_prev of the last step
    bool finished_ = false;
};

} // namespace noisetrail::ui
