#include "noisetrail/model_card.hpp"

#include "noisetrail/errors.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

namespace noisetrail {

std::string to_string(Prediction p)
{
    switch (p) {
    case Prediction::Epsilon: return "epsilon";
    case Prediction::Sample: return "sample";
    case Prediction::V: return "v";
    }
    return "epsilon";
}

const std::vector<std::string>& model_kinds()
{
    static const std::vector<std::string> kinds{"gaussian-mixture", "empirical", "torchscript",
                                                "noisetrail-unet", "noisetrail-mlp",
                                                "noisetrail-classifier"};
    return kinds;
}

bool ModelCard::is_image() const
{
    if (data_shape.size() == 2)
        return data_shape[0] >= 4 && data_shape[1] >= 4;
    return data_shape.size() == 3 && (data_shape[0] == 1 || data_shape[0] == 3) && data_shape[1] >= 4 &&
           data_shape[2] >= 4;
}

std::int64_t ModelCard::data_dim() const
{
    std::int64_t n = 1;
    for (auto d : data_shape)
        n *= d;
    return n;
}

std::optional<double> ModelCard::default_clip() const
{
    if (!data_range)
        return std::nullopt;
    return std::max(std::abs((*data_range)[0]), std::abs((*data_range)[1]));
}

std::filesystem::path ModelCard::resolve(const std::string& relative) const
{
    const std::filesystem::path p(relative);
    return p.is_absolute() ? p : path.parent_path() / p;
}

ModelCard read_model_card(const std::filesystem::path& path)
{
    const std::string where = "model card " + path.string();
    std::ifstream in(path);
    if (!in)
        throw InputError(where + ": cannot open file");
    std::stringstream buf;
    buf << in.rdbuf();
    ModelCard card;
    card.path = path;
    card.json_text = buf.str();

    nlohmann::json j;
    try {
        j = nlohmann::json::parse(card.json_text);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() holds "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
        std::string msg = e.what();
        const auto cut = msg.find("] ");
        throw InputError(where + ": malformed JSON: " + (cut == std::string::npos ? msg : msg.substr(cut + 2)));
    }
    if (!j.is_object())
        throw InputError(where + ": expected a JSON object");
    const auto field = [&](const char* key) -> std::string { return where + ": field '" + key + "'"; };
    const auto get_string = [&](const char* key, bool required, const std::string& def = {}) {
        if (!j.contains(key)) {
            if (required)
                throw InputError(field(key) + " is missing");
            return def;
        }
        if (!j[key].is_string())
            throw InputError(field(key) + " must be a string");
        return j[key].get<std::string>();
    };
    const auto get_number = [&](const nlohmann::json& obj, const char* key, double def) {
        if (!obj.contains(key))
            return def;
        if (!obj[key].is_number() || !std::isfinite(obj[key].get<double>()))
            throw InputError(field(key) + " must be a finite number");
        return obj[key].get<double>();
    };

    card.format = get_string("format", true);
    if (card.format != "noisetrail-model/1")
        throw InputError(field("format") + ": unsupported format '" + card.format +
                         "' (expected noisetrail-model/1)");
    card.name = get_string("name", false, path.stem().string());
    card.kind = get_string("kind", true);
    bool known = false;
    for (const auto& k : model_kinds())
        known = known || k == card.kind;
    if (!known) {
        std::string list;
        for (const auto& k : model_kinds())
            list += (list.empty() ? "" : ", ") + k;
        throw InputError(field("kind") + ": unknown kind '" + card.kind + "' (expected " + list + ")");
    }
    card.description = get_string("description", false);

    if (!j.contains("data_shape") || !j["data_shape"].is_array() || j["data_shape"].empty())
        throw InputError(field("data_shape") + " must be a non-empty array of positive integers");
    for (const auto& d : j["data_shape"]) {
        if (!d.is_number_integer() || d.get<long long>() < 1 || d.get<long long>() > 1 << 20)
            throw InputError(field("data_shape") + " must be a non-empty array of positive integers");
        card.data_shape.push_back(d.get<long long>());
    }

    const std::string pred = get_string("prediction", false, "epsilon");
    if (pred == "epsilon") card.prediction = Prediction::Epsilon;
    else if (pred == "sample") card.prediction = Prediction::Sample;
    else if (pred == "v") card.prediction = Prediction::V;
    else
        throw InputError(field("prediction") + ": unknown prediction '" + pred +
                         "' (expected epsilon, sample or v)");

    if (j.contains("schedule")) {
        const auto& s = j["schedule"];
        if (!s.is_object())
            throw InputError(field("schedule") + " must be an object");
        if (s.contains("kind")) {
            if (!s["kind"].is_string())
                throw InputError(field("schedule") + ": 'kind' must be a string");
            card.schedule.kind = s["kind"].get<std::string>();
        }
        card.schedule.beta_start = get_number(s, "beta_start", card.schedule.beta_start);
        card.schedule.beta_end = get_number(s, "beta_end", card.schedule.beta_end);
        const double T = get_number(s, "train_steps", card.schedule.train_steps);
        if (T != std::floor(T) || T < 1 || T > 1000000)
            throw InputError(field("schedule") + ": 'train_steps' must be an integer in 1..1000000");
        card.schedule.train_steps = static_cast<int>(T);
    }
    try {
        NoiseSchedule check(card.schedule);
    } catch (const InputError& e) {
        throw InputError(where + ": " + e.what());
    }

    if (j.contains("data_range")) {
        const auto& r = j["data_range"];
        if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number() ||
            !(r[0].get<double>() < r[1].get<double>()))
            throw InputError(field("data_range") + " must be [low, high] with low < high");
        card.data_range = std::array<double, 2>{r[0].get<double>(), r[1].get<double>()};
    }
    if (j.contains("labels")) {
        if (!j["labels"].is_array())
            throw InputError(field("labels") + " must be an array of strings");
        for (const auto& l : j["labels"]) {
            if (!l.is_string())
                throw InputError(field("labels") + " must be an array of strings");
            card.labels.push_back(l.get<std::string>());
        }
    }
    return card;
}

} // namespace noisetrail
