// Denoisers for the project's own networks: the card names the architecture
// ("architecture") and the weights file ("weights", written by torch::serialize).
#include "nn/native.hpp"

#include "nn/networks.hpp"
#include "noisetrail/errors.hpp"

#include <unistd.h>

namespace noisetrail::detail {

namespace {

[[noreturn]] void card_error(const ModelCard& card, const std::string& what)
{
    throw InputError("model card " + card.path.string() + ": " + what);
}

std::filesystem::path weights_path(const ModelCard& card, const nlohmann::json& j)
{
    if (!j.contains("weights") || !j["weights"].is_string())
        card_error(card, "field 'weights' (the weights file of the network) is missing");
    return card.resolve(j["weights"].get<std::string>());
}

const nlohmann::json& architecture(const ModelCard& card, const nlohmann::json& j)
{
    if (!j.contains("architecture"))
        card_error(card, "field 'architecture' (the network's hyper-parameters) is missing");
    return j["architecture"];
}

// The network runs in float32 (its training precision); the sampler's float64
// x_t is cast in and the prediction cast back.
template <typename Net>
class NativeDenoiser final : public Denoiser {
public:
    NativeDenoiser(Net net, bool on_gpu) : net_(std::move(net)), on_gpu_(on_gpu) {}

    // The networks embed t per sample (sinusoidal embedding of each entry of t).
    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override
    {
        const at::Tensor x = x_t.to(at::kFloat);
        return net_->forward(x, t.to(x.device(), at::kLong)).to(at::kDouble);
    }

    // On a GPU one larger batch fills the device better; on this project's CPU
    // a batch-32 UNet forward costs about 1.2x two batch-16 forwards (issue 8),
    // so merging does not pay there (figures in run_set.cpp).
    bool merging_pays(std::int64_t) const override { return on_gpu_; }

private:
    Net net_;
    bool on_gpu_;
};

/// Before the network is built (libtorch allocates every parameter then, and a card asking
/// for the largest architecture ends in its raw "can't allocate memory"): `min_params`, a
/// lower bound on the architecture's float32 parameters, must fit in the weights file,
/// which stores every one of them, and in a memory budget (half the machine's memory).
void check_size(const ModelCard& card, const std::filesystem::path& weights, double min_params)
{
    const double bytes = 4.0 * min_params;
    const auto mib = [](double b) { return std::to_string(static_cast<long long>(b / (1 << 20))) + " MiB"; };
    const double budget = 0.5 * double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
    if (budget > 0 && bytes > budget)
        card_error(card, "field 'architecture' asks for at least " + mib(bytes) +
                             " of parameters, more than the memory budget of " + mib(budget) +
                             " (half of this machine's memory)");
    std::error_code ec;
    const auto size = std::filesystem::file_size(weights, ec); // a missing file: load_weights says so
    if (!ec && std::filesystem::is_regular_file(weights, ec) && bytes > double(size))
        card_error(card, "field 'architecture' asks for at least " + mib(bytes) + " of parameters, but the weights file " +
                             weights.string() + " holds " + mib(double(size)) +
                             " (weights made for a smaller architecture?)");
}

template <typename Net>
std::unique_ptr<Denoiser> finish(const ModelCard& card, Net net, const std::filesystem::path& weights,
                                 const at::Device& device)
{
    nn::load_weights(*net, weights, "model card " + card.path.string());
    net->eval();
    net->to(device);
    return std::make_unique<NativeDenoiser<Net>>(std::move(net), device.is_cuda());
}

} // namespace

std::unique_ptr<Denoiser> make_native_unet(const ModelCard& card, const NoiseSchedule&, const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    const std::string where = "model card " + card.path.string();
    const nn::UNetConfig c = nn::unet_config_from(architecture(card, j), where);
    if (card.data_shape.size() != 3 || card.data_shape[0] != c.in_channels)
        card_error(card, "data_shape must be [C, H, W] with C = architecture.in_channels (" +
                             std::to_string(c.in_channels) + ")");
    // Lower bound: the second 3x3 convolution of each level's down and up block (nn::UNet).
    double min_params = 0;
    for (int m : c.channel_mult)
        min_params += 2 * 9 * double(c.base_channels * m) * double(c.base_channels * m);
    const auto weights = weights_path(card, j);
    check_size(card, weights, min_params);
    return finish(card, nn::UNet(c), weights, device);
}

std::unique_ptr<Denoiser> make_native_mlp(const ModelCard& card, const NoiseSchedule&, const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    const std::string where = "model card " + card.path.string();
    const nn::MlpConfig c = nn::mlp_config_from(architecture(card, j), where);
    if (card.data_shape.size() != 1 || card.data_shape[0] != c.dim)
        card_error(card, "data_shape must be [" + std::to_string(c.dim) + "] (architecture.dim)");
    // Lower bound: the three hidden x hidden layers of each block (nn::MlpDenoiser).
    const auto weights = weights_path(card, j);
    check_size(card, weights, 3.0 * c.blocks * double(c.hidden) * double(c.hidden));
    return finish(card, nn::MlpDenoiser(c), weights, device);
}

std::unique_ptr<Denoiser> make_native_classifier(const ModelCard& card, const NoiseSchedule&, const at::Device&)
{
    card_error(card, "kind 'noisetrail-classifier' is a classifier, not a denoiser: it judges samples "
                     "(noisetrail-cli classify) and cannot sample");
}

} // namespace noisetrail::detail
