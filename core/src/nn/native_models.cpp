// Denoisers for the project's own networks: the card names the architecture
// ("architecture") and the weights file ("weights", written by torch::serialize).
#include "nn/native.hpp"

#include "nn/networks.hpp"
#include "noisetrail/errors.hpp"

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
    explicit NativeDenoiser(Net net) : net_(std::move(net)) {}

    at::Tensor predict(const at::Tensor& x_t, int t) override
    {
        const at::Tensor x = x_t.to(at::kFloat);
        const at::Tensor tt = at::full({x.size(0)}, t, at::TensorOptions().dtype(at::kLong).device(x.device()));
        return net_->forward(x, tt).to(at::kDouble);
    }

private:
    Net net_;
};

template <typename Net>
std::unique_ptr<Denoiser> finish(const ModelCard& card, Net net, const std::filesystem::path& weights,
                                 const at::Device& device)
{
    nn::load_weights(*net, weights, "model card " + card.path.string());
    net->eval();
    net->to(device);
    return std::make_unique<NativeDenoiser<Net>>(std::move(net));
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
    return finish(card, nn::UNet(c), weights_path(card, j), device);
}

std::unique_ptr<Denoiser> make_native_mlp(const ModelCard& card, const NoiseSchedule&, const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    const std::string where = "model card " + card.path.string();
    const nn::MlpConfig c = nn::mlp_config_from(architecture(card, j), where);
    if (card.data_shape.size() != 1 || card.data_shape[0] != c.dim)
        card_error(card, "data_shape must be [" + std::to_string(c.dim) + "] (architecture.dim)");
    return finish(card, nn::MlpDenoiser(c), weights_path(card, j), device);
}

std::unique_ptr<Denoiser> make_native_classifier(const ModelCard& card, const NoiseSchedule&, const at::Device&)
{
    card_error(card, "kind 'noisetrail-classifier' is a classifier, not a denoiser: it judges samples "
                     "(noisetrail-cli classify) and cannot sample");
}

} // namespace noisetrail::detail
