#include "noisetrail/model_card.hpp"

#include "json_file.hpp"
#include "noisetrail/errors.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace noisetrail {

std::string to_string(Prediction p)
{
    switch (p) {
    case Prediction::Epsilon: return "epsilon";
    case Prediction::Sample: return "sample";
    case Prediction::V: return "v";
    case Prediction::Velocity: return "velocity";
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
    return parse_model_card(detail::read_regular_file(path, "model card " + path.string()), path);
}

ModelCard parse_model_card(std::string json_text, const std::filesystem::path& path)
{
    using detail::json_integer;
    using detail::json_number;
    const std::string where = "model card " + path.string();
    ModelCard card;
    card.path = path;
    card.json_text = std::move(json_text);
    const nlohmann::json j = detail::parse_json(card.json_text, where);
    if (!j.is_object())
        throw InputError(where + ": expected a JSON object");
    const auto field = [&](const std::string& key) -> std::string { return where + ": field '" + key + "'"; };
    const auto get_string = [&](const char* key, bool required, const std::string& def = {}) {
        if (!j.contains(key)) {
            if (required)
                throw InputError(field(key) + " is missing");
            return def;
        }
        return detail::json_string(j[key], where, key);
    };
    const auto get_number = [&](const nlohmann::json& obj, const char* key, double def) {
        return obj.contains(key) ? json_number(obj[key], where, std::string("schedule.") + key) : def;
    };

    card.format = get_string("format", true);
    if (card.format != "noisetrail-model/1")
        throw InputError(field("format") + ": unsupported format '" + card.format +
                         "' (expected noisetrail-model/1)");
    card.name = get_string("name", false, path.stem().string());
    // A name is shown in titles, captions and one-line messages: a NUL cut it short
    // (C strings), a newline split the message. Control characters have no place in it.
    if (j.contains("name"))
        for (const unsigned char c : card.name)
            if (c < 0x20 || c == 0x7f) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "U+%04X", c);
                throw InputError(field("name") + " holds a control character (" + hex +
                                 "); a name is one line of printable text");
            }
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
    // Image cards may name the metric classifier that judges their samples
    // (experiments' classifier_path); checked here so a bad value is found on load.
    if (j.contains("classifier")) {
        const std::string c = get_string("classifier", false);
        if (c.empty() || std::filesystem::path(c).is_absolute())
            throw InputError(field("classifier") + " must be a card file's path relative to this card");
    }

    // Each dimension and their product bounded, so data_dim() and every
    // batch * data_dim() later cannot overflow.
    constexpr std::int64_t kMaxDataDim = std::int64_t{1} << 24; // 3 x 2048 x 2048 fits
    const char* shape_rule = " must be a non-empty array of at most 8 positive integers whose product is at most 2^24";
    if (!j.contains("data_shape") || !j["data_shape"].is_array() || j["data_shape"].empty() ||
        j["data_shape"].size() > 8)
        throw InputError(field("data_shape") + shape_rule);
    std::int64_t dim = 1;
    for (const auto& d : j["data_shape"]) {
        if (!d.is_number_integer())
            throw InputError(field("data_shape") + shape_rule);
        const long long v = json_integer(d, where, "data_shape", 1, kMaxDataDim);
        dim *= v; // both factors <= 2^24: no overflow
        if (dim > kMaxDataDim)
            throw InputError(field("data_shape") + shape_rule);
        card.data_shape.push_back(v);
    }

    const std::string pred = get_string("prediction", false, "epsilon");
    if (pred == "epsilon") card.prediction = Prediction::Epsilon;
    else if (pred == "sample") card.prediction = Prediction::Sample;
    else if (pred == "v") card.prediction = Prediction::V;
    else if (pred == "velocity") card.prediction = Prediction::Velocity;
    else
        throw InputError(field("prediction") + ": unknown prediction '" + pred +
                         "' (expected epsilon, sample, v or velocity)");

    // Contract section 8: "process" absent means vp.
    if (j.contains("process")) {
        const auto& p = j["process"];
        if (!p.is_object())
            throw InputError(field("process") + " must be an object, e.g. {\"kind\": \"flow\"}");
        const std::string pk = p.contains("kind") ? detail::json_string(p["kind"], where, "process.kind") : "";
        if (pk == "flow")
            card.schedule.process = ProcessKind::Flow;
        else if (pk != "vp")
            throw InputError(field("process.kind") + ": unknown process '" + pk + "' (expected vp or flow)");
        if (card.schedule.process == ProcessKind::Flow) {
            if (p.contains("shift")) {
                card.schedule.shift = json_number(p["shift"], where, "process.shift");
                if (!(card.schedule.shift > 0.0))
                    throw InputError(field("process.shift") + " must be a number > 0");
            }
            if (p.contains("train_steps"))
                card.schedule.train_steps =
                    static_cast<int>(json_integer(p["train_steps"], where, "process.train_steps", 1, 1000000));
            if (j.contains("schedule"))
                throw InputError(field("schedule") + ": a flow card has no schedule (process.train_steps sets T)");
            if (card.kind != "gaussian-mixture" && card.kind != "empirical" && card.kind != "noisetrail-unet" &&
                card.kind != "noisetrail-mlp")
                throw InputError(field("process") + ": the flow process is available for gaussian-mixture, "
                                 "empirical, noisetrail-unet and noisetrail-mlp cards (a TorchScript module's "
                                 "time input for flow is not defined yet)");
        } else if (p.contains("shift") || p.contains("train_steps")) {
            throw InputError(field("process") + ": shift and train_steps belong to a flow process");
        }
        for (auto it = p.begin(); it != p.end(); ++it)
            if (it.key() != "kind" && it.key() != "shift" && it.key() != "train_steps")
                throw InputError(field("process." + it.key()) + ": unknown field (expected kind, shift, train_steps)");
    }
    const bool flow = card.schedule.process == ProcessKind::Flow;
    if (flow && card.prediction == Prediction::V)
        throw InputError(field("prediction") + ": 'v' is VP's v-prediction; a flow card predicts velocity, "
                         "epsilon or sample");
    if (!flow && card.prediction == Prediction::Velocity)
        throw InputError(field("prediction") + ": 'velocity' needs \"process\": {\"kind\": \"flow\"}");

    if (j.contains("schedule")) {
        const auto& s = j["schedule"];
        if (!s.is_object())
            throw InputError(field("schedule") + " must be an object");
        if (s.contains("kind"))
            card.schedule.kind = detail::json_string(s["kind"], where, "schedule.kind");
        card.schedule.beta_start = get_number(s, "beta_start", card.schedule.beta_start);
        card.schedule.beta_end = get_number(s, "beta_end", card.schedule.beta_end);
        if (s.contains("train_steps"))
            card.schedule.train_steps =
                static_cast<int>(json_integer(s["train_steps"], where, "schedule.train_steps", 1, 1000000));
    }
    try {
        NoiseSchedule check(card.schedule);
    } catch (const InputError& e) {
        throw InputError(where + ": " + e.what());
    }

    if (j.contains("data_range")) {
        const auto& r = j["data_range"];
        if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number() ||
            !std::isfinite(r[0].get<double>()) || !std::isfinite(r[1].get<double>()) ||
            !(r[0].get<double>() < r[1].get<double>()))
            throw InputError(field("data_range") + " must be [low, high], finite numbers with low < high");
        card.data_range = std::array<double, 2>{r[0].get<double>(), r[1].get<double>()};
    }
    // Contract section 9: a conditional card names its classes. An empirical card's
    // "labels" may then be the file of its examples' classes (read by the model).
    if (j.contains("classes")) {
        const auto& c = j["classes"];
        const char* rule = " must be an array of 1 to 1000 class names (non-empty strings of at most 100 bytes)";
        if (!c.is_array() || c.empty() || c.size() > 1000)
            throw InputError(field("classes") + rule);
        for (const auto& name : c) {
            if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 100)
                throw InputError(field("classes") + rule);
            card.classes.push_back(name.get<std::string>());
        }
        if (card.kind == "noisetrail-classifier")
            throw InputError(field("classes") + ": a classifier card names its classes in 'labels'");
    }
    if (j.contains("labels") && j["labels"].is_string()) {
        if (card.kind != "empirical" || card.classes.empty())
            throw InputError(field("labels") + ": a labels file belongs to a conditional empirical card (with "
                             "'classes'); elsewhere 'labels' is an array of strings");
    } else if (j.contains("labels")) {
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
