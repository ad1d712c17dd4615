#include "trajectory.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace noisetrail::ui {

void Trajectory::reset(std::vector<std::int64_t> shape, std::vector<int> timesteps, Precision precision)
{
    precision_ = precision;
    shape_ = std::move(shape);
    timesteps_ = std::move(timesteps);
    values_ = 1;
    for (auto d : shape_)
        values_ *= std::size_t(d);
    if (shape_.empty())
        values_ = 0;
    info_.clear();
    blocks_.clear();
    final_ = {};
    finished_ = false;
    info_.reserve(timesteps_.size());
    blocks_.reserve(timesteps_.size() * 3);
}

void Trajectory::encode(const std::vector<float>& src, Block& b) const
{
    if (src.size() != values_)
        throw std::invalid_argument("Trajectory: frame has " + std::to_string(src.size()) +
                                    " values, expected " + std::to_string(values_));
    if (precision_ == Precision::Half) {
        b.f16.resize(src.size());
        qFloatToFloat16(b.f16.data(), src.data(), qsizetype(src.size()));
        return;
    }
    // 8-bit with a per-block affine range: what a screen can show anyway.
    float lo = 0.f, hi = 0.f;
    if (!src.empty()) {
        auto [mn, mx] = std::minmax_element(src.begin(), src.end());
        lo = *mn;
        hi = *mx;
    }
    b.lo = lo;
    b.scale = hi > lo ? (hi - lo) / 255.f : 0.f;
    const float inv = b.scale > 0 ? 1.f / b.scale : 0.f;
    b.u8.resize(src.size());
    for (std::size_t i = 0; i < src.size(); ++i)
        b.u8[i] = std::uint8_t((src[i] - lo) * inv + 0.5f); // in [0, 255.5): no clamp needed
}

float Trajectory::value(const Block& b, std::size_t i) const
{
    if (precision_ == Precision::Half)
        return float(b.f16[i]);
    return b.lo + float(b.u8[i]) * b.scale;
}

void Trajectory::append(const StepFrame& frame, const FrameMetrics* metrics)
{
    if (frame.step != size())
        throw std::invalid_argument("Trajectory: step " + std::to_string(frame.step) + " arrived, expected " +
                                    std::to_string(size()));
    if (size() >= plannedSteps())
        throw std::invalid_argument("Trajectory: more steps than planned");
    Block blocks[3];
    encode(frame.x_t, blocks[0]);
    encode(frame.x0_hat, blocks[1]);
    encode(frame.eps_hat, blocks[2]);
    for (auto& b : blocks)
        blocks_.push_back(std::move(b));
    info_.push_back({frame.step, frame.plan, frame.stats, metrics ? *metrics : FrameMetrics{}});
    if (size() == plannedSteps()) {
        encode(frame.x_prev, final_);
        finished_ = true;
    }
}

const Trajectory::Block& Trajectory::block(int step, Field field) const
{
    if (step == size() && finished_) {
        if (field == Field::Xt)
            return final_;
        step = size() - 1;
    }
    if (step < 0 || step >= size())
        throw std::out_of_range("Trajectory: no step " + std::to_string(step));
    return blocks_[std::size_t(step) * 3 + std::size_t(field)];
}

void Trajectory::decode(int step, Field field, std::vector<float>& out) const
{
    const Block& b = block(step, field);
    out.resize(values_);
    if (precision_ == Precision::Half) {
        qFloatFromFloat16(out.data(), b.f16.data(), qsizetype(values_));
        return;
    }
    for (std::size_t i = 0; i < values_; ++i)
        out[i] = b.lo + float(b.u8[i]) * b.scale;
}

float Trajectory::xtValue(int step, std::size_t index) const { return value(block(step, Field::Xt), index); }

std::size_t Trajectory::bytes() const
{
    std::size_t n = sizeof(*this) + info_.capacity() * sizeof(StepInfo) + blocks_.capacity() * sizeof(Block);
    for (const auto& i : info_)
        n += (i.metrics.componentCounts.capacity() + i.metrics.componentNear.capacity()) * sizeof(int);
    auto blockBytes = [](const Block& b) { return b.u8.capacity() + b.f16.capacity() * sizeof(qfloat16); };
    for (const auto& b : blocks_)
        n += blockBytes(b);
    return n + blockBytes(final_);
}

} // namespace noisetrail::ui
