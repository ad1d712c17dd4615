// The denoiser interface's shared parts: per-sample timesteps.
#include "denoiser.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace noisetrail::detail {

at::Tensor Denoiser::predict(const at::Tensor& x_t, int t)
{
    return predict(x_t, timesteps(x_t.size(0), t));
}

at::Tensor timesteps(std::int64_t batch, int t)
{
    return at::full({batch}, static_cast<std::int64_t>(t), at::TensorOptions().dtype(at::kLong));
}

at::Tensor predict_grouped(const at::Tensor& x_t, const at::Tensor& t,
                           const std::function<at::Tensor(const at::Tensor& x, int t)>& predict_one)
{
    const at::Tensor tc = t.to(at::kCPU, at::kLong).contiguous();
    const std::int64_t B = x_t.size(0);
    if (tc.numel() != B)
        throw std::invalid_argument("predict: t has " + std::to_string(tc.numel()) + " entries for a batch of " +
                                    std::to_string(B));
    const std::int64_t* tp = tc.data_ptr<std::int64_t>();
    if (std::all_of(tp, tp + B, [&](std::int64_t v) { return v == tp[0]; }))
        return predict_one(x_t, static_cast<int>(tp[0]));
    at::Tensor out = at::empty_like(x_t);
    const at::Tensor uniq = std::get<0>(at::_unique(tc));
    for (std::int64_t k = 0; k < uniq.numel(); ++k) {
        const std::int64_t tv = uniq.data_ptr<std::int64_t>()[k];
        const at::Tensor rows = at::nonzero(tc == tv).flatten().to(x_t.device());
        out.index_copy_(0, rows, predict_one(x_t.index_select(0, rows), static_cast<int>(tv)));
    }
    return out;
}

at::Tensor predict_grouped_class(
    const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c, std::int64_t null_label,
    const std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t, std::int64_t label)>& predict_one)
{
    const std::int64_t B = x_t.size(0);
    if (!c.defined())
        return predict_one(x_t, t, null_label);
    const at::Tensor cc = c.to(at::kCPU, at::kLong).contiguous();
    if (cc.numel() != B)
        throw std::invalid_argument("predict: c has " + std::to_string(cc.numel()) + " entries for a batch of " +
                                    std::to_string(B));
    const std::int64_t* cp = cc.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < B; ++i)
        if (cp[i] < 0 || cp[i] > null_label)
            throw std::invalid_argument("predict: class " + std::to_string(cp[i]) + " is outside 0.." +
                                        std::to_string(null_label));
    if (std::all_of(cp, cp + B, [&](std::int64_t v) { return v == cp[0]; }))
        return predict_one(x_t, t, cp[0]);
    at::Tensor out = at::empty_like(x_t);
    const at::Tensor uniq = std::get<0>(at::_unique(cc));
    for (std::int64_t k = 0; k < uniq.numel(); ++k) {
        const std::int64_t label = uniq.data_ptr<std::int64_t>()[k];
        const at::Tensor rows_cpu = at::nonzero(cc == label).flatten();
        const at::Tensor rows = rows_cpu.to(x_t.device());
        out.index_copy_(0, rows, predict_one(x_t.index_select(0, rows), t.index_select(0, rows_cpu.to(t.device())), label));
    }
    return out;
}

at::Tensor time_input(std::int64_t batch, const PlanStep& s, bool prev)
{
    if (s.process == ProcessKind::Flow)
        return at::full({batch}, prev ? noise_level_prev(s) : s.level, at::TensorOptions().dtype(at::kDouble));
    return timesteps(batch, prev ? s.t_prev : s.t);
}

at::Tensor predict_grouped_level(const at::Tensor& x_t, const at::Tensor& t,
                                 const std::function<at::Tensor(const at::Tensor& x, double s)>& predict_one)
{
    const at::Tensor tc = t.to(at::kCPU, at::kDouble).contiguous();
    const std::int64_t B = x_t.size(0);
    if (tc.numel() != B)
        throw std::invalid_argument("predict: s has " + std::to_string(tc.numel()) + " entries for a batch of " +
                                    std::to_string(B));
    const double* tp = tc.data_ptr<double>();
    if (std::all_of(tp, tp + B, [&](double v) { return v == tp[0]; }))
        return predict_one(x_t, tp[0]);
    at::Tensor out = at::empty_like(x_t);
    const at::Tensor uniq = std::get<0>(at::_unique(tc));
    for (std::int64_t k = 0; k < uniq.numel(); ++k) {
        const double sv = uniq.data_ptr<double>()[k];
        const at::Tensor rows = at::nonzero(tc == sv).flatten().to(x_t.device());
        out.index_copy_(0, rows, predict_one(x_t.index_select(0, rows), sv));
    }
    return out;
}

} // namespace noisetrail::detail
