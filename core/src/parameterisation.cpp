#include "denoiser.hpp"
#include "nn/native.hpp"

#include "noisetrail/errors.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace noisetrail::detail {

DenoisedTensors to_x0_eps(Prediction p, double ab, const at::Tensor& x_t, const at::Tensor& out,
                          std::optional<double> clip_radius)
{
    const double sa = std::sqrt(ab), s1 = std::sqrt(1.0 - ab);
    DenoisedTensors d;
    switch (p) {
    case Prediction::Epsilon: // x_t = sqrt(ab) x0 + sqrt(1 - ab) eps (Ho et al. eq. 4)
        d.eps_hat = out;
        d.x0_hat = (x_t - s1 * out) / sa;
        break;
    case Prediction::Sample:
        d.x0_hat = out;
        d.eps_hat = (x_t - sa * out) / s1;
        break;
    case Prediction::V: // v = sqrt(ab) eps - sqrt(1 - ab) x0 (Salimans & Ho 2022)
        d.x0_hat = sa * x_t - s1 * out;
        d.eps_hat = s1 * x_t + sa * out;
        break;
    }
    if (clip_radius && *clip_radius > 0.0) {
        d.x0_hat = d.x0_hat.clamp(-*clip_radius, *clip_radius);
        d.eps_hat = (x_t - sa * d.x0_hat) / s1;
    }
    return d;
}

at::Tensor from_x0_eps(Prediction p, double ab, const at::Tensor& x0, const at::Tensor& eps)
{
    switch (p) {
    case Prediction::Epsilon: return eps;
    case Prediction::Sample: return x0;
    case Prediction::V: return std::sqrt(ab) * eps - std::sqrt(1.0 - ab) * x0;
    }
    return eps;
}

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

at::Device parse_device(const std::string& name)
{
    if (name == "cpu")
        return at::kCPU;
    if (name == "cuda") {
        if (!at::hasCUDA())
            throw InputError("--device cuda: this build of libtorch has no CUDA support or no GPU is visible");
        return at::Device(at::kCUDA, 0);
    }
    throw InputError("--device: unknown device '" + name + "' (expected cpu or cuda)");
}

std::unique_ptr<Denoiser> make_denoiser(const ModelCard& card, const NoiseSchedule& schedule,
                                        const at::Device& device)
{
    if (card.kind == "gaussian-mixture")
        return make_gaussian_mixture(card, schedule, device);
    if (card.kind == "empirical")
        return make_empirical(card, schedule, device);
    if (card.kind == "torchscript")
        return make_torchscript(card, schedule, device);
    if (card.kind == "noisetrail-unet")
        return make_native_unet(card, schedule, device);
    if (card.kind == "noisetrail-mlp")
        return make_native_mlp(card, schedule, device);
    if (card.kind == "noisetrail-classifier")
        return make_native_classifier(card, schedule, device);
    throw InputError("model card " + card.path.string() + ": kind '" + card.kind +
                     "' is not supported by this build");
}

} // namespace noisetrail::detail
