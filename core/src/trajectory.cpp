#include "noisetrail/trajectory.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/render.hpp" // to_string(Field)

#include <c10/util/Half.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace noisetrail {

namespace {
// Keep a deflated 8-bit block only when it saves at least this share: noisy
// blocks (x_t at high noise, eps_hat) barely compress, clean digits do.
constexpr double kDeflateKeepRatio = 0.9;
} // namespace

namespace {
/// Shannon's bound for a code of the bytes taken one at a time, sum n_c log2(N / n_c)
/// bits: what deflate's Huffman stage cannot beat without string matches.
double order0_bytes(const std::vector<std::uint8_t>& raw)
{
    std::array<std::size_t, 256> count{};
    for (const std::uint8_t c : raw)
        ++count[c];
    const double n = double(raw.size());
    double bits = 0;
    for (const std::size_t c : count)
        if (c)
            bits += double(c) * std::log2(n / double(c));
    return bits / 8;
}

/// One deflate stream per thread, reset between blocks: deflateInit2 allocates
/// about 260 KiB of window and hash tables, for blocks of 12 KiB.
class Deflater {
public:
    Deflater()
    {
        // Level 1 with the run-length strategy (matches at distance 1 only) then
        // Huffman codes: on the digit UNet's blocks (batch 16, codes and step
        // differences of x_t, x0_hat, eps_hat over DDPM 1000) 0.64 of the raw size
        // in 86 us of CPU a block, against 0.69 in 137 us for level 1's default
        // strategy (issue 14): noise has no long repeats for LZ77 to find, and
        // clean digits are runs of background.
        ok_ = deflateInit2(&z_, 1, Z_DEFLATED, 15, 8, Z_RLE) == Z_OK;
    }
    ~Deflater()
    {
        if (ok_)
            deflateEnd(&z_);
    }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    /// `raw` deflated (a zlib stream); empty when it does not fit in `limit` bytes.
    std::vector<std::uint8_t> operator()(const std::vector<std::uint8_t>& raw, std::size_t limit)
    {
        if (!ok_ || deflateReset(&z_) != Z_OK)
            return {};
        std::vector<std::uint8_t> z(deflateBound(&z_, uLong(raw.size())));
        z_.next_in = const_cast<Bytef*>(raw.data());
        z_.avail_in = uInt(raw.size());
        z_.next_out = z.data();
        z_.avail_out = uInt(z.size());
        if (deflate(&z_, Z_FINISH) != Z_STREAM_END || z_.total_out >= limit)
            return {};
        z.resize(z_.total_out);
        z.shrink_to_fit();
        return z;
    }

private:
    z_stream z_{};
    bool ok_ = false;
};

/// Deflate `raw`; empty when it does not fit in `limit` bytes. Noise (x_t at
/// high noise, its step differences) has no runs, so where its one-byte entropy
/// alone exceeds `limit` the deflate is skipped: it would only be thrown away.
std::vector<std::uint8_t> deflated(const std::vector<std::uint8_t>& raw, std::size_t limit)
{
    if (order0_bytes(raw) >= double(limit))
        return {};
    thread_local Deflater deflater;
    return deflater(raw, limit);
}
} // namespace

Trajectory::Trajectory(std::vector<std::int64_t> shape, std::vector<int> timesteps, Precision precision,
                       std::span<const float> x_T)
    : precision_(precision), shape_(std::move(shape)), timesteps_(std::move(timesteps))
{
    values_ = shape_.empty() ? 0 : 1;
    for (auto d : shape_)
        values_ *= std::size_t(d);
    const std::size_t S = timesteps_.size();
    info_.resize(S);
    xt_.resize(S + 1);
    x0_.resize(S);
    eps_.resize(S);
    x0Cond_.resize(S);
    x0Uncond_.resize(S);
    if (!x_T.empty()) {
        xt_[0] = encode(x_T, &xtChain_);
        startGiven_ = true;
    }
}

Trajectory::Block Trajectory::encode(std::span<const float> src, ChainState* chain) const
{
    if (src.size() != values_)
        throw std::invalid_argument("Trajectory: frame has " + std::to_string(src.size()) + " values, expected " +
                                    std::to_string(values_));
    Block b;
    if (precision_ == Precision::Half) {
        b.data.resize(src.size() * sizeof(c10::Half));
        auto* h = reinterpret_cast<c10::Half*>(b.data.data());
        for (std::size_t i = 0; i < src.size(); ++i)
            h[i] = c10::Half(src[i]); // round to nearest even
        return b;
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
    std::vector<std::uint8_t> codes(src.size());
    for (std::size_t i = 0; i < src.size(); ++i)
        codes[i] = std::uint8_t((src[i] - lo) * inv + 0.5f); // in [0, 255.5): no clamp needed
    // The smallest of: the codes, deflated codes, deflated differences from the
    // previous step's codes. Noise barely deflates; clean digits and slowly
    // changing steps do. Lossless either way: the codes come back exactly.
    const auto keep = std::size_t(kDeflateKeepRatio * double(codes.size()));
    std::vector<std::uint8_t> best = deflated(codes, keep);
    b.coding = best.empty() ? Coding::Raw : Coding::Deflated;
    if (chain && !chain->codes.empty() && chain->sinceKey + 1 < kKeyInterval) {
        std::vector<std::uint8_t> diff(codes.size());
        for (std::size_t i = 0; i < codes.size(); ++i)
            diff[i] = std::uint8_t(codes[i] - chain->codes[i]); // mod 256
        std::vector<std::uint8_t> z = deflated(diff, best.empty() ? keep : best.size());
        if (!z.empty()) {
            best = std::move(z);
            b.coding = Coding::Delta;
        }
    }
    if (chain) {
        chain->sinceKey = b.coding == Coding::Delta ? chain->sinceKey + 1 : 0;
        chain->codes = codes;
    }
    b.data = b.coding == Coding::Raw ? std::move(codes) : std::move(best);
    return b;
}

bool Trajectory::codes(const std::vector<Block>& chain, std::size_t k, std::vector<std::uint8_t>& out) const
{
    const Block& b = chain[k];
    if (b.coding == Coding::Raw) {
        out = b.data;
        return out.size() == values_;
    }
    // Inflated here, when shown, and nowhere else: a session's reader keeps its blocks
    // as stored, so a damaged one is found now (the caller says which frame).
    std::vector<std::uint8_t> raw(values_);
    uLongf n = uLongf(values_);
    if (uncompress(raw.data(), &n, b.data.data(), uLong(b.data.size())) != Z_OK || n != values_)
        return false;
    if (b.coding == Coding::Deflated) {
        out = std::move(raw);
        return true;
    }
    // A Delta block always follows another block of its chain, a key at most kKeyInterval back.
    if (k == 0 || !codes(chain, k - 1, out))
        return false;
    for (std::size_t i = 0; i < values_; ++i)
        out[i] = std::uint8_t(out[i] + raw[i]);
    return true;
}

bool Trajectory::decodeBlock(const std::vector<Block>& chain, std::size_t k, std::vector<float>& out) const
{
    const Block& b = chain[k];
    out.resize(values_);
    if (precision_ == Precision::Half) {
        if (b.data.size() != values_ * sizeof(c10::Half))
            return false;
        const auto* h = reinterpret_cast<const c10::Half*>(b.data.data());
        for (std::size_t i = 0; i < values_; ++i)
            out[i] = float(h[i]);
        return true;
    }
    std::vector<std::uint8_t> c;
    if (!codes(chain, k, c))
        return false;
    for (std::size_t i = 0; i < values_; ++i)
        out[i] = b.lo + float(c[i]) * b.scale;
    return true;
}

InputError Trajectory::damaged(int step, Field field) const
{
    return InputError("the stored frames are damaged: " + to_string(field) + " of step " + std::to_string(step + 1) +
                      " of " + std::to_string(plannedSteps()) + " does not decode");
}

void Trajectory::append(const StepFrame& frame, const FrameMetrics* metrics)
{
    const int k = published_.load(std::memory_order_relaxed); // only this thread writes it
    if (k >= plannedSteps())
        throw std::invalid_argument("Trajectory: more steps than planned (" + std::to_string(plannedSteps()) + ")");
    if (frame.step != k)
        throw std::invalid_argument("Trajectory: step " + std::to_string(frame.step) + " arrived, expected " +
                                    std::to_string(k));
    for (const auto* v : {&frame.x_t, &frame.x0_hat, &frame.eps_hat, &frame.x_prev})
        if (v->size() != values_)
            throw std::invalid_argument("Trajectory: frame has " + std::to_string(v->size()) + " values, expected " +
                                        std::to_string(values_));
    if (k == 0 && !startGiven_)
        xt_[0] = encode(frame.x_t, &xtChain_);
    // x_t of step k + 1 is x_prev of step k (derive, don't store twice).
    x0_[std::size_t(k)] = encode(frame.x0_hat, &x0Chain_);
    eps_[std::size_t(k)] = encode(frame.eps_hat, &epsChain_);
    xt_[std::size_t(k) + 1] = encode(frame.x_prev, &xtChain_);
    // A guided step's two predictions; x0_uncond is NaN outside the guidance interval
    // (run.hpp). A chain restarts with a self-contained block after a step without one.
    const auto optional = [&](const std::vector<float>& v, std::vector<Block>& blocks, ChainState& chain) {
        const bool present = v.size() == values_ && !(values_ > 0 && std::isnan(v[0]));
        if (present)
            blocks[std::size_t(k)] = encode(v, &chain);
        else
            chain = {};
        return present;
    };
    const bool hasCond = optional(frame.x0_cond, x0Cond_, x0CondChain_);
    const bool hasUncond = optional(frame.x0_uncond, x0Uncond_, x0UncondChain_);
    info_[std::size_t(k)] = {frame.step, frame.plan, frame.stats, metrics ? *metrics : FrameMetrics{}, hasCond,
                             hasUncond};
    published_.store(k + 1, std::memory_order_release);
}

const Trajectory::StepInfo& Trajectory::info(int step) const
{
    if (step < 0 || step >= size())
        throw std::out_of_range("Trajectory: no step " + std::to_string(step));
    return info_[std::size_t(step)];
}

std::pair<const std::vector<Trajectory::Block>*, std::size_t> Trajectory::block(int step, Field field) const
{
    const int n = size();
    if (field == Field::Xt) {
        if (step < 0 || step > n || !(startGiven_ || n > 0))
            throw std::out_of_range("Trajectory: no x_t for step " + std::to_string(step));
        return {&xt_, std::size_t(step)};
    }
    if (step == n && n > 0 && n == plannedSteps())
        step = n - 1; // the final samples come with the last step's predictions
    if (step < 0 || step >= n)
        throw std::out_of_range("Trajectory: no step " + std::to_string(step));
    const auto& i = info_[std::size_t(step)];
    switch (field) {
    case Field::X0Cond:
        if (!i.hasCond)
            throw std::out_of_range("Trajectory: step " + std::to_string(step) + " is not guided");
        return {&x0Cond_, std::size_t(step)};
    case Field::X0Uncond:
        if (!i.hasUncond)
            throw std::out_of_range("Trajectory: step " + std::to_string(step) + " has no unconditional prediction");
        return {&x0Uncond_, std::size_t(step)};
    case Field::EpsHat:
        return {&eps_, std::size_t(step)};
    default:
        return {&x0_, std::size_t(step)};
    }
}

bool Trajectory::has(int step, Field field) const
{
    try {
        block(step, field);
        return true;
    } catch (const std::out_of_range&) {
        return false;
    }
}

void Trajectory::decode(int step, Field field, std::vector<float>& out) const
{
    const auto [chain, k] = block(step, field);
    if (!decodeBlock(*chain, k, out))
        throw damaged(step, field);
}

float Trajectory::xtValue(int step, std::size_t index) const
{
    const auto [chain, k] = block(step, Field::Xt);
    const Block& b = (*chain)[k];
    if (index >= values_)
        throw std::out_of_range("Trajectory: no value " + std::to_string(index));
    if (precision_ == Precision::Half) {
        c10::Half h;
        std::memcpy(&h, b.data.data() + index * sizeof(c10::Half), sizeof h);
        return float(h);
    }
    if (b.coding == Coding::Raw)
        return b.lo + float(b.data[index]) * b.scale;
    std::vector<float> all; // images only; their views decode whole blocks instead
    if (!decodeBlock(*chain, k, all))
        throw damaged(step, Field::Xt);
    return all[index];
}

std::size_t Trajectory::bytes() const
{
    const int n = size();
    std::size_t total = sizeof(*this) + info_.capacity() * sizeof(StepInfo) +
                        (xt_.capacity() + x0_.capacity() + eps_.capacity() + x0Cond_.capacity() + x0Uncond_.capacity()) *
                            sizeof(Block) +
                        (shape_.capacity() * sizeof(std::int64_t)) + timesteps_.capacity() * sizeof(int);
    for (int k = 0; k < n; ++k) {
        const auto& m = info_[std::size_t(k)].metrics;
        total += (m.componentCounts.capacity() + m.componentNear.capacity() + m.assignment.capacity()) * sizeof(int);
        total += x0_[std::size_t(k)].data.capacity() + eps_[std::size_t(k)].data.capacity() +
                 xt_[std::size_t(k) + 1].data.capacity() + x0Cond_[std::size_t(k)].data.capacity() +
                 x0Uncond_[std::size_t(k)].data.capacity();
    }
    if (hasStart())
        total += xt_[0].data.capacity();
    return total;
}

} // namespace noisetrail
