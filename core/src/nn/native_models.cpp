// Denoisers for the project's own networks: the card names the architecture
// ("architecture") and the weights file ("weights", written by torch::serialize).
#include "nn/native.hpp"

#include "nn/networks.hpp"
#include "noisetrail/errors.hpp"

#include <cmath>

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
    NativeDenoiser(Net net, bool on_gpu, double bytes_per_sample, double flow_time_scale)
        : net_(std::move(net)), on_gpu_(on_gpu), bytes_per_sample_(bytes_per_sample),
          flow_time_scale_(flow_time_scale)
    {
    }

    // The networks embed t per sample (sinusoidal embedding of each entry of t). A flow
    // network was trained on s T (training.cpp), so the level s arrives scaled by T.
    // A conditional network takes each sample's class (the null label when c is undefined).
    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c) override
    {
        const at::Tensor x = x_t.to(at::kFloat);
        if (flow_time_scale_ > 0)
            return net_->forward(x, (t.to(x.device(), at::kDouble) * flow_time_scale_).to(at::kFloat), c)
                .to(at::kDouble);
        return net_->forward(x, t.to(x.device(), at::kLong), c).to(at::kDouble);
    }

    // On a GPU one larger batch fills the device better; on this project's CPU
    // a batch-32 UNet forward costs about 1.2x two batch-16 forwards (issue 8),
    // so merging does not pay there (figures in run_set.cpp).
    bool merging_pays(std::int64_t) const override { return on_gpu_; }

    double bytes_per_sample() const override { return bytes_per_sample_; }

private:
    Net net_;
    bool on_gpu_;
    double bytes_per_sample_;
    double flow_time_scale_; // T for a flow card, 0 for VP
};

/// Before the network is built: the weights file stores every float32 parameter of
/// the architecture, so an architecture far larger than the file was not made for
/// it, and building it first would allocate for nothing (the memory budget itself
/// is checked when the architecture is parsed, networks.cpp). Small mismatches are
/// left to load_weights, whose message names the tensor that does not fit.
void check_weights_size(const ModelCard& card, const std::filesystem::path& weights, std::int64_t params)
{
    const double bytes = 4.0 * double(params);
    const auto mib = [](double b) { return std::to_string(static_cast<long long>(b / (1 << 20))) + " MiB"; };
    std::error_code ec;
    const auto size = std::filesystem::file_size(weights, ec); // a missing file: load_weights says so
    constexpr double kSlack = 64.0 * (1 << 20);
    if (!ec && std::filesystem::is_regular_file(weights, ec) && bytes > double(size) + kSlack)
        card_error(card, "field 'architecture' asks for " + mib(bytes) + " of parameters, but the weights file " +
                             weights.string() + " holds " + mib(double(size)) +
                             " (weights made for a smaller architecture?)");
}

template <typename Net>
std::unique_ptr<Denoiser> finish(const ModelCard& card, const NoiseSchedule& schedule, Net net,
                                 const std::filesystem::path& weights, const at::Device& device,
                                 double bytes_per_sample)
{
    nn::load_weights(*net, weights, "model card " + card.path.string());
    net->eval();
    net->to(device);
    const double flow_scale = schedule.process() == ProcessKind::Flow ? schedule.train_steps() : 0.0;
    return std::make_unique<NativeDenoiser<Net>>(std::move(net), device.is_cuda(), bytes_per_sample, flow_scale);
}

/// A conditional network's class embedding has one row per class of the card, plus the null label.
void check_classes(const ModelCard& card, int network_classes)
{
    if (network_classes != static_cast<int>(card.classes.size()))
        card_error(card, "field 'architecture.classes' is " + std::to_string(network_classes) + " but the card names " +
                             std::to_string(card.classes.size()) + " classes ('classes')");
}

/// Working memory of one sample's forward pass (Denoiser::bytes_per_sample): float32
/// feature maps, channels x pixels at each resolution level (halved per level), about
/// ten maps' worth alive at once. Measured: 726 KB a sample for the digits UNet
/// (88 KB of maps) at batch 256, December 2026.
double unet_bytes_per_sample(const nn::UNetConfig& c, const std::vector<std::int64_t>& shape)
{
    double values = 0, h = static_cast<double>(shape[1]), w = static_cast<double>(shape[2]);
    for (const int m : c.channel_mult) {
        values += static_cast<double>(c.base_channels) * m * h * w;
        h = std::ceil(h / 2);
        w = std::ceil(w / 2);
    }
    return 10.0 * 4.0 * values;
}

/// The same for the MLP: about sixteen hidden-wide float32 vectors (measured 6.0 KB a
/// sample with 128 hidden units).
double mlp_bytes_per_sample(const nn::MlpConfig& c)
{
    return 4.0 * (16.0 * c.hidden + 2.0 * c.time_dim);
}

} // namespace

std::unique_ptr<Denoiser> make_native_unet(const ModelCard& card, const NoiseSchedule& schedule,
                                           const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    const std::string where = "model card " + card.path.string();
    const nn::UNetConfig c = nn::unet_config_from(architecture(card, j), where);
    if (card.data_shape.size() != 3 || card.data_shape[0] != c.in_channels)
        card_error(card, "data_shape must be [C, H, W] with C = architecture.in_channels (" +
                             std::to_string(c.in_channels) + ")");
    check_classes(card, c.classes);
    const auto weights = weights_path(card, j);
    check_weights_size(card, weights, nn::parameter_count(c));
    return finish(card, schedule, nn::UNet(c), weights, device, unet_bytes_per_sample(c, card.data_shape));
}

std::unique_ptr<Denoiser> make_native_mlp(const ModelCard& card, const NoiseSchedule& schedule,
                                          const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    const std::string where = "model card " + card.path.string();
    const nn::MlpConfig c = nn::mlp_config_from(architecture(card, j), where);
    if (card.data_shape.size() != 1 || card.data_shape[0] != c.dim)
        card_error(card, "data_shape must be [" + std::to_string(c.dim) + "] (architecture.dim)");
    check_classes(card, c.classes);
    const auto weights = weights_path(card, j);
    check_weights_size(card, weights, nn::parameter_count(c));
    return finish(card, schedule, nn::MlpDenoiser(c), weights, device, mlp_bytes_per_sample(c));
}

std::unique_ptr<Denoiser> make_native_classifier(const ModelCard& card, const NoiseSchedule&, const at::Device&)
{
    card_error(card, "kind 'noisetrail-classifier' is a classifier, not a denoiser: it judges samples "
                     "(noisetrail-cli classify) and cannot sample");
}

} // namespace noisetrail::detail
