// The metric classifier behind the torch-free Classifier API.
#include "noisetrail/classifier.hpp"

#include "json_file.hpp"
#include "nn/networks.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/npy.hpp"

#include <algorithm>

namespace noisetrail {

struct Classifier::Impl {
    ModelCard card;
    nlohmann::json json;
    nn::ClassifierConfig config;
    nn::ClassifierNet net{nullptr};
    double accuracy = -1.0;
};

Classifier::Classifier() : impl_(std::make_unique<Impl>()) {}
Classifier::~Classifier() = default;

std::shared_ptr<Classifier> Classifier::load(const std::filesystem::path& card_path)
{
    std::shared_ptr<Classifier> c(new Classifier());
    Impl& m = *c->impl_;
    m.card = read_model_card(card_path);
    const std::string where = "model card " + card_path.string();
    if (m.card.kind != "noisetrail-classifier")
        throw InputError(where + ": kind is '" + m.card.kind + "', expected noisetrail-classifier");
    m.json = nlohmann::json::parse(m.card.json_text);
    if (!m.json.contains("architecture"))
        throw InputError(where + ": field 'architecture' (the network's hyper-parameters) is missing");
    m.config = nn::classifier_config_from(m.json["architecture"], where);
    const auto& s = m.card.data_shape;
    if (s.size() != 3 || s[0] != m.config.in_channels || s[1] != m.config.height || s[2] != m.config.width)
        throw InputError(where + ": data_shape does not match architecture (in_channels, height, width)");
    if (!m.json.contains("weights") || !m.json["weights"].is_string())
        throw InputError(where + ": field 'weights' (the weights file of the network) is missing");
    m.net = nn::ClassifierNet(m.config);
    nn::load_weights(*m.net, m.card.resolve(m.json["weights"].get<std::string>()), where);
    m.net->eval();
    if (m.json.contains("accuracy") && m.json["accuracy"].is_object() && m.json["accuracy"].contains("heldout"))
        m.accuracy = detail::json_number(m.json["accuracy"]["heldout"], where, "accuracy.heldout");
    if (m.card.labels.empty())
        for (int i = 0; i < m.config.classes; ++i)
            m.card.labels.push_back(std::to_string(i));
    return c;
}

const std::string& Classifier::name() const { return impl_->card.name; }
const std::filesystem::path& Classifier::card_path() const { return impl_->card.path; }
std::vector<std::int64_t> Classifier::input_shape() const { return impl_->card.data_shape; }
int Classifier::num_classes() const { return impl_->config.classes; }
int Classifier::feature_dim() const { return impl_->config.feature_dim; }
const std::vector<std::string>& Classifier::labels() const { return impl_->card.labels; }
double Classifier::heldout_accuracy() const { return impl_->accuracy; }

Classifier::Output Classifier::run(std::span<const float> images, int n) const
{
    const auto& s = impl_->card.data_shape;
    const std::int64_t D = s[0] * s[1] * s[2];
    if (n < 0 || static_cast<std::int64_t>(images.size()) != n * D)
        throw InputError("classifier " + impl_->card.path.string() + ": got " + std::to_string(images.size()) +
                         " values for " + std::to_string(n) + " images of " + std::to_string(D));
    c10::InferenceMode guard;
    Output out;
    out.probabilities.reserve(static_cast<std::size_t>(n) * num_classes());
    out.features.reserve(static_cast<std::size_t>(n) * feature_dim());
    for (int i = 0; i < n; i += 256) {
        const int b = std::min(256, n - i);
        const torch::Tensor x =
            torch::from_blob(const_cast<float*>(images.data()) + i * D, {b, s[0], s[1], s[2]}, torch::kFloat);
        const auto o = impl_->net->forward(x);
        const torch::Tensor p = torch::softmax(o.logits, 1).contiguous();
        const torch::Tensor f = o.features.contiguous();
        out.probabilities.insert(out.probabilities.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
        out.features.insert(out.features.end(), f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }
    return out;
}

std::vector<int> Classifier::predict(std::span<const float> images, int n) const
{
    const auto p = probabilities(images, n);
    const int K = num_classes();
    std::vector<int> cls(n);
    for (int i = 0; i < n; ++i)
        cls[i] = static_cast<int>(std::max_element(p.begin() + i * K, p.begin() + (i + 1) * K) - (p.begin() + i * K));
    return cls;
}

Classifier::Reference Classifier::heldout_reference() const
{
    const std::string where = "model card " + impl_->card.path.string();
    const auto& j = impl_->json;
    if (!j.contains("features") || !j["features"].is_object())
        throw InputError(where + ": field 'features' (held-out feature statistics) is missing");
    const auto file = [&](const char* key) {
        if (!j["features"].contains(key) || !j["features"][key].is_string())
            throw InputError(where + ": field 'features." + std::string(key) + "' is missing");
        try {
            return read_npy(impl_->card.resolve(j["features"][key].get<std::string>()));
        } catch (const InputError& e) {
            throw InputError(where + ": " + e.what());
        }
    };
    const std::int64_t F = feature_dim();
    const NpyArray mean = file("heldout_mean"), cov = file("heldout_cov"), feats = file("heldout_features");
    if (mean.shape != std::vector<std::int64_t>{F} || cov.shape != std::vector<std::int64_t>{F, F} ||
        feats.shape.size() != 2 || feats.shape[1] != F)
        throw InputError(where + ": feature statistics do not have feature_dim " + std::to_string(F));
    Reference r;
    r.mean.assign(mean.f32.begin(), mean.f32.end());
    r.cov.assign(cov.f32.begin(), cov.f32.end());
    r.features = feats.f32;
    r.count = static_cast<int>(feats.shape[0]);
    return r;
}

ClassSummary summarise(const Classifier& classifier, std::span<const float> images, int n)
{
    const auto p = classifier.probabilities(images, n);
    const int K = classifier.num_classes();
    ClassSummary s;
    s.n = n;
    s.histogram.assign(K, 0);
    for (int i = 0; i < n; ++i) {
        const auto first = p.begin() + i * K;
        const auto top = std::max_element(first, first + K);
        s.mean_top_probability += *top;
        ++s.histogram[top - first];
    }
    if (n > 0) {
        s.mean_top_probability /= n;
        s.min_class_fraction = double(*std::min_element(s.histogram.begin(), s.histogram.end())) / n;
        s.max_class_fraction = double(*std::max_element(s.histogram.begin(), s.histogram.end())) / n;
    }
    return s;
}

} // namespace noisetrail
