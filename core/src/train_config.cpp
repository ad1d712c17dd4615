// Training configs (training.hpp): the kinds' defaults, the JSON reader and writer.
// Torch-free, so that the fuzz target of the reader (tests/fuzz/fuzz_train_config.cpp)
// builds without libtorch; a config file is hostile until parsed (json_file.hpp's limits).
#include "noisetrail/training.hpp"

#include "json_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"

#include <nlohmann/json.hpp>

namespace noisetrail {

namespace fs = std::filesystem;

fs::path training_sibling(const fs::path& card, const std::string& suffix)
{
    return card.parent_path() / (card.stem().string() + suffix);
}

TrainConfig with_defaults(TrainConfig c)
{
    const bool unet = c.kind == "noisetrail-unet", mlp = c.kind == "noisetrail-mlp",
               cls = c.kind == "noisetrail-classifier";
    if (!unet && !mlp && !cls)
        throw InputError("training config: unknown kind '" + c.kind +
                         "' (expected noisetrail-unet, noisetrail-mlp or noisetrail-classifier)");
    const auto pick = [](auto v, auto zero, auto def) { return v == zero ? def : v; };
    c.steps = pick(c.steps, 0, unet ? 20000 : mlp ? 6000 : 1500);
    c.batch = pick(c.batch, 0, unet ? 64 : mlp ? 512 : 128);
    c.lr = pick(c.lr, 0.0, unet ? 1e-3 : 2e-3);
    if (c.lr_schedule.empty())
        c.lr_schedule = "cosine";
    c.warmup_steps = pick(c.warmup_steps, -1, unet ? 200 : 100);
    c.ema_decay = pick(c.ema_decay, -1.0, unet ? 0.999 : mlp ? 0.995 : 0.0);
    c.checkpoint_every = pick(c.checkpoint_every, 0, unet ? 250 : 500);
    c.log_every = pick(c.log_every, 0, 50);
    c.sample_count = pick(c.sample_count, 0, unet ? 64 : 2000);
    if (c.name.empty())
        c.name = unet ? "Digits (UNet, trained here)" : mlp ? "Two moons (MLP, trained here)" : "Digit classifier";
    if (c.checkpoint_dir.empty() && !c.out.empty())
        c.checkpoint_dir = training_sibling(c.out, ".ckpt");
    const bool flow = c.schedule.process == ProcessKind::Flow;
    if (flow && cls)
        throw InputError("training config: 'process' belongs to a denoiser (noisetrail-unet or noisetrail-mlp)");
    if (c.level_sampling.empty() && flow)
        c.level_sampling = "uniform";
    if (!c.level_sampling.empty() && !flow)
        throw InputError("training config: 'level_sampling' needs \"process\": {\"kind\": \"flow\"}");
    if (flow && c.level_sampling != "uniform" && c.level_sampling != "logit-normal")
        throw InputError("training config: level_sampling must be uniform or logit-normal, got '" + c.level_sampling +
                         "'");
    if (!c.noise.empty() && !flow)
        throw InputError("training config: paired 'noise' (reflow) needs \"process\": {\"kind\": \"flow\"}");
    if (!c.init.empty() && cls)
        throw InputError("training config: 'init' starts a denoiser from a card's weights; not for a classifier");
    if (!cls && !c.labels.empty() && c.label_dropout < 0)
        c.label_dropout = 0.1; // Ho & Salimans 2021 trained with p_uncond 0.1-0.2
    if (c.label_dropout >= 0 && (cls || c.labels.empty()))
        throw InputError("training config: 'label_dropout' belongs to a conditional denoiser (with 'labels')");
    if (c.label_dropout >= 0 && !(c.label_dropout < 1))
        throw InputError("training config: label_dropout must be in [0, 1), got " + std::to_string(c.label_dropout));
    if (c.lr_schedule != "constant" && c.lr_schedule != "cosine")
        throw InputError("training config: lr_schedule must be constant or cosine, got '" + c.lr_schedule + "'");
    if (c.steps < 1 || c.batch < 1 || !(c.lr > 0) || c.ema_decay < 0 || c.ema_decay >= 1 || c.warmup_steps < 0)
        throw InputError("training config: steps and batch must be >= 1, lr > 0, ema_decay in [0, 1)");
    if (c.threads < 0 || c.threads > max_threads())
        throw InputError("training config: threads must be in 1.." + std::to_string(max_threads()) + ", got " +
                         std::to_string(c.threads));
    return c;
}

TrainConfig read_train_config(const fs::path& path)
{
    const std::string where = "training config " + path.string();
    // Read under json_file.hpp's limits (size, a regular file), then parsed as text.
    return parse_train_config(detail::read_regular_file(path, where), path);
}

TrainConfig parse_train_config(const std::string& text, const fs::path& path)
{
    using detail::json_integer;
    using detail::json_number;
    using detail::json_string;
    const std::string where = "training config " + path.string();
    const nlohmann::json j = detail::parse_json(text, where);
    if (!j.is_object())
        throw InputError(where + ": expected a JSON object");
    TrainConfig c;
    const fs::path dir = path.parent_path();
    const auto rel = [&](const nlohmann::json& v, const std::string& key) {
        const fs::path p(json_string(v, where, key));
        return (p.is_absolute() ? p : dir / p).lexically_normal();
    };
    // Integers range-checked before narrowing (the same ranges as the flags).
    const auto integer = [&](const nlohmann::json& v, const std::string& key, long long lo, long long hi) {
        return static_cast<int>(json_integer(v, where, key, lo, hi));
    };
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        const auto& v = it.value();
        if (k == "kind") c.kind = json_string(v, where, k);
        else if (k == "data") c.data = rel(v, k);
        else if (k == "labels") c.labels = rel(v, k);
        else if (k == "heldout_data") c.heldout_data = rel(v, k);
        else if (k == "heldout_labels") c.heldout_labels = rel(v, k);
        else if (k == "out") c.out = rel(v, k);
        else if (k == "checkpoint_dir") c.checkpoint_dir = rel(v, k);
        else if (k == "cards_dir") c.cards_dir = rel(v, k);
        else if (k == "name") c.name = json_string(v, where, k);
        else if (k == "description") c.description = json_string(v, where, k);
        else if (k == "class_names") {
            if (!v.is_array() || v.empty())
                throw InputError(where + ": field 'class_names' must be a non-empty array of strings");
            for (const auto& n : v)
                c.class_names.push_back(json_string(n, where, k));
        }
        else if (k == "architecture") {
            if (!v.is_object())
                throw InputError(where + ": field 'architecture' must be an object");
            c.architecture_json = v.dump();
        } else if (k == "schedule") {
            if (!v.is_object())
                throw InputError(where + ": field 'schedule' must be an object");
            for (auto s = v.begin(); s != v.end(); ++s) {
                const std::string sk = "schedule." + s.key();
                if (s.key() == "kind") c.schedule.kind = json_string(s.value(), where, sk);
                else if (s.key() == "beta_start") c.schedule.beta_start = json_number(s.value(), where, sk);
                else if (s.key() == "beta_end") c.schedule.beta_end = json_number(s.value(), where, sk);
                else if (s.key() == "train_steps") c.schedule.train_steps = integer(s.value(), sk, 1, 1000000);
                else throw InputError(where + ": unknown key '" + sk + "'");
            }
        } else if (k == "process") {
            // Contract section 8's card field, as the trained card will carry it.
            if (!v.is_object())
                throw InputError(where + ": field 'process' must be an object, e.g. {\"kind\": \"flow\"}");
            for (auto s = v.begin(); s != v.end(); ++s) {
                const std::string sk = "process." + s.key();
                if (s.key() == "kind") {
                    const std::string pk = json_string(s.value(), where, sk);
                    if (pk != "flow" && pk != "vp")
                        throw InputError(where + ": " + sk + ": unknown process '" + pk + "' (expected vp or flow)");
                    c.schedule.process = pk == "flow" ? ProcessKind::Flow : ProcessKind::Vp;
                } else if (s.key() == "train_steps") c.schedule.train_steps = integer(s.value(), sk, 1, 1000000);
                else if (s.key() == "shift") {
                    c.schedule.shift = json_number(s.value(), where, sk);
                    if (!(c.schedule.shift > 0))
                        throw InputError(where + ": " + sk + " must be > 0");
                } else throw InputError(where + ": unknown key '" + sk + "'");
            }
        } else if (k == "level_sampling") c.level_sampling = json_string(v, where, k);
        else if (k == "noise") c.noise = rel(v, k);
        else if (k == "label_dropout") {
            c.label_dropout = json_number(v, where, k);
            if (!(c.label_dropout >= 0 && c.label_dropout < 1))
                throw InputError(where + ": label_dropout must be in [0, 1)");
        }
        else if (k == "init") c.init = rel(v, k);
        else if (k == "steps") c.steps = integer(v, k, 1, 100000000);
        else if (k == "batch") c.batch = integer(v, k, 1, 1000000);
        else if (k == "lr") c.lr = json_number(v, where, k);
        else if (k == "lr_schedule") c.lr_schedule = json_string(v, where, k);
        else if (k == "warmup_steps") c.warmup_steps = integer(v, k, 0, 100000000);
        else if (k == "ema_decay") c.ema_decay = json_number(v, where, k);
        else if (k == "grad_clip") c.grad_clip = json_number(v, where, k);
        else if (k == "seed") c.seed = static_cast<std::uint64_t>(json_integer(v, where, k, 0, 1LL << 53));
        else if (k == "checkpoint_every") c.checkpoint_every = integer(v, k, 1, 100000000);
        else if (k == "card_every") c.card_every = integer(v, k, 0, 100000000);
        else if (k == "log_every") c.log_every = integer(v, k, 1, 100000000);
        else if (k == "threads") c.threads = integer(v, k, 1, max_threads());
        else if (k == "sample_count") c.sample_count = integer(v, k, 1, 100000);
        else throw InputError(where + ": unknown key '" + k + "'");
    }
    return c;
}

std::string to_json(const TrainConfig& c)
{
    nlohmann::json j{{"kind", c.kind},
                     {"data", c.data.string()},
                     {"out", c.out.string()},
                     {"name", c.name},
                     {"steps", c.steps},
                     {"batch", c.batch},
                     {"lr", c.lr},
                     {"lr_schedule", c.lr_schedule},
                     {"warmup_steps", c.warmup_steps},
                     {"ema_decay", c.ema_decay},
                     {"grad_clip", c.grad_clip},
                     {"seed", c.seed},
                     {"checkpoint_every", c.checkpoint_every},
                     {"log_every", c.log_every},
                     {"sample_count", c.sample_count}};
    // A recipe saved from the GUI must train the same way when read back (read_train_config).
    if (c.card_every > 0) {
        j["card_every"] = c.card_every;
        if (!c.cards_dir.empty())
            j["cards_dir"] = c.cards_dir.string();
    }
    if (c.schedule.process == ProcessKind::Flow) {
        j["process"] = {{"kind", "flow"}, {"train_steps", c.schedule.train_steps}, {"shift", c.schedule.shift}};
        j["level_sampling"] = c.level_sampling;
    } else {
        j["schedule"] = {{"kind", c.schedule.kind}, {"beta_start", c.schedule.beta_start},
                         {"beta_end", c.schedule.beta_end}, {"train_steps", c.schedule.train_steps}};
    }
    if (!c.noise.empty()) j["noise"] = c.noise.string();
    if (!c.init.empty()) j["init"] = c.init.string();
    if (!c.labels.empty()) j["labels"] = c.labels.string();
    if (c.label_dropout >= 0) j["label_dropout"] = c.label_dropout;
    if (!c.heldout_data.empty()) j["heldout_data"] = c.heldout_data.string();
    if (!c.heldout_labels.empty()) j["heldout_labels"] = c.heldout_labels.string();
    if (!c.architecture_json.empty()) j["architecture"] = nlohmann::json::parse(c.architecture_json);
    if (!c.description.empty()) j["description"] = c.description;
    if (!c.class_names.empty()) j["class_names"] = c.class_names;
    return j.dump();
}

} // namespace noisetrail
