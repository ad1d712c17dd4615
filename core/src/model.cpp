#include "noisetrail/model.hpp"

#include "denoiser.hpp"
#include "noisetrail/errors.hpp"
#include "tensor_util.hpp"

#include <c10/core/InferenceMode.h>

namespace noisetrail {

Model::Model(ModelCard card, std::unique_ptr<detail::Denoiser> denoiser, std::string device)
    : card_(std::move(card)), schedule_(card_.schedule), denoiser_(std::move(denoiser)), device_(std::move(device))
{
}

Model::~Model() = default;

std::shared_ptr<Model> Model::load(const std::filesystem::path& card_path, const std::string& device,
                                   const CodeTrust& trust)
{
    c10::InferenceMode guard;
    const at::Device dev = detail::parse_device(device);
    ModelCard card = read_model_card(card_path);
    if (card.kind == "torchscript")
        detail::check_code_trust(card, trust); // before libtorch reads a byte of the module
    const NoiseSchedule schedule(card.schedule);
    auto denoiser = detail::make_denoiser(card, schedule, dev);
    return std::shared_ptr<Model>(new Model(std::move(card), std::move(denoiser), device));
}

namespace {
class Unavailable final : public detail::Denoiser {
public:
    explicit Unavailable(std::filesystem::path card) : card_(std::move(card)) {}
    at::Tensor predict(const at::Tensor&, const at::Tensor&, const at::Tensor&) override
    {
        throw InputError("model card " + card_.string() +
                         ": not available here (a saved run is replayed without its model); open the card to run again");
    }

private:
    std::filesystem::path card_;
};
class FromFunction final : public detail::Denoiser {
public:
    FromFunction(std::filesystem::path card, Model::PredictFunction f) : card_(std::move(card)), f_(std::move(f)) {}
    // A plain function of (x_t, t): it has no class input, so a conditional card's
    // classes are not passed on (tests wrap unconditional models this way).
    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor&) override
    {
        const std::vector<double> x = detail::to_doubles(x_t.to(at::kCPU));
        const at::Tensor tc = t.to(at::kCPU).to(at::kLong).contiguous();
        const std::span<const std::int64_t> ts(tc.data_ptr<std::int64_t>(), std::size_t(tc.numel()));
        const std::vector<double> out = f_(x, ts);
        if (out.size() != x.size())
            throw InputError("model card " + card_.string() + ": the denoiser function returned " +
                             std::to_string(out.size()) + " values for " + std::to_string(x.size()));
        return detail::to_tensor(std::span<const double>(out), x_t.sizes().vec()).to(x_t.device());
    }

private:
    std::filesystem::path card_;
    Model::PredictFunction f_;
};
} // namespace

std::shared_ptr<Model> Model::from_function(ModelCard card, PredictFunction predict)
{
    auto denoiser = std::make_unique<FromFunction>(card.path, std::move(predict));
    return std::shared_ptr<Model>(new Model(std::move(card), std::move(denoiser), "cpu"));
}

std::shared_ptr<Model> Model::replay(ModelCard card)
{
    auto denoiser = std::make_unique<Unavailable>(card.path);
    return std::shared_ptr<Model>(new Model(std::move(card), std::move(denoiser), "cpu"));
}

Denoised Model::denoise(std::span<const double> x_t, int batch, int t) const
{
    c10::InferenceMode guard;
    if (t < 0 || t >= schedule_.train_steps())
        throw InputError("timestep " + std::to_string(t) + " is outside 0.." +
                         std::to_string(schedule_.train_steps() - 1));
    const auto shape = detail::batch_shape(card_, batch);
    if (static_cast<std::int64_t>(x_t.size()) != batch * card_.data_dim())
        throw InputError("x_t has " + std::to_string(x_t.size()) + " values, expected batch * data size");
    const at::Tensor x = detail::to_tensor(x_t, shape).to(detail::parse_device(device_));
    if (schedule_.process() == ProcessKind::Flow) {
        // The grid index t stands for s = (t + 1) / T (noise_schedule.hpp).
        const double s = schedule_.flow_level(t);
        const at::Tensor level = at::full({batch}, s, at::TensorOptions().dtype(at::kDouble));
        const auto d = detail::to_x0_eps(card_.prediction, PathPoint{1.0 - s, s}, x, denoiser_->predict(x, level), {});
        return {detail::to_doubles(d.x0_hat), detail::to_doubles(d.eps_hat)};
    }
    const auto d = detail::to_x0_eps(card_.prediction, schedule_.alpha_bar(t), x, denoiser_->predict(x, t), {});
    return {detail::to_doubles(d.x0_hat), detail::to_doubles(d.eps_hat)};
}

} // namespace noisetrail
