#include "denoiser.hpp"
#include "nn/native.hpp"

#include "noisetrail/errors.hpp"

#include <cmath>

namespace noisetrail::detail {

DenoisedTensors to_x0_eps(Prediction p, const PathPoint& path, const at::Tensor& x_t, const at::Tensor& out,
                          std::optional<double> clip_radius)
{
    const double sa = path.alpha, s1 = path.sigma;
    DenoisedTensors d;
    switch (p) {
    case Prediction::Epsilon: // x_t = sqrt(ab) x0 + sqrt(1 - ab) eps (Ho et al. eq. 4)
        d.eps_hat = out;
        // alpha = 0 (flow, s = 1): x_t is pure noise and eps says nothing of x_0; 0 (documented).
        d.x0_hat = sa > 0.0 ? (x_t - s1 * out) / sa : at::zeros_like(x_t);
        break;
    case Prediction::Sample:
        d.x0_hat = out;
        d.eps_hat = (x_t - sa * out) / s1;
        break;
    case Prediction::V: // v = sqrt(ab) eps - sqrt(1 - ab) x0 (Salimans & Ho 2022)
        d.x0_hat = sa * x_t - s1 * out;
        d.eps_hat = s1 * x_t + sa * out;
        break;
    case Prediction::Velocity: // flow: v = eps - x0, x_s = (1 - s) x0 + s eps (contract section 8)
        d.x0_hat = x_t - s1 * out;
        d.eps_hat = x_t + sa * out;
        break;
    }
    if (clip_radius && *clip_radius > 0.0) {
        d.x0_hat = d.x0_hat.clamp(-*clip_radius, *clip_radius);
        d.eps_hat = (x_t - sa * d.x0_hat) / s1;
    }
    return d;
}

DenoisedTensors to_x0_eps(Prediction p, double ab, const at::Tensor& x_t, const at::Tensor& out,
                          std::optional<double> clip_radius)
{
    return to_x0_eps(p, PathPoint{std::sqrt(ab), std::sqrt(1.0 - ab)}, x_t, out, clip_radius);
}

at::Tensor from_x0_eps(Prediction p, const PathPoint& path, const at::Tensor& x0, const at::Tensor& eps)
{
    switch (p) {
    case Prediction::Epsilon: return eps;
    case Prediction::Sample: return x0;
    case Prediction::V: return path.alpha * eps - path.sigma * x0;
    case Prediction::Velocity: return eps - x0;
    }
    return eps;
}

at::Tensor from_x0_eps(Prediction p, double ab, const at::Tensor& x0, const at::Tensor& eps)
{
    return from_x0_eps(p, PathPoint{std::sqrt(ab), std::sqrt(1.0 - ab)}, x0, eps);
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
