// Training loop for the native networks (training.hpp).
#include "noisetrail/training.hpp"

#include "json_file.hpp"
#include "nn/networks.hpp"
#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/image_io.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/threads.hpp"
#include "noisetrail/version.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

namespace noisetrail {

namespace fs = std::filesystem;

namespace {

bool is_denoiser(const std::string& kind) { return kind == "noisetrail-unet" || kind == "noisetrail-mlp"; }

void write_text(const fs::path& p, const std::string& text)
{
    write_file_atomic(p, text);
}

/// Create `dir` if needed and check that we can write into it, before any work;
/// InputError naming `what` (the flag) otherwise.
void require_writable_dir(const fs::path& dir, const std::string& what)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (fs::exists(dir) && !fs::is_directory(dir))
        throw InputError(what + " " + dir.string() + ": is a file, expected a folder");
    if (ec || !fs::is_directory(dir))
        throw InputError(what + " " + dir.string() + ": cannot create folder" + (ec ? " (" + ec.message() + ")" : ""));
    // A unique probe (a fixed name races concurrent runs and may be a FIFO that blocks open()).
    check_folder_writable(dir, what);
}

/// read_npy with the flag or config key that named the file in front of its message.
NpyArray read_named(const fs::path& path, const std::string& what)
{
    try {
        return read_npy(path);
    } catch (const InputError& e) {
        throw InputError(what + ": " + e.what());
    }
}

torch::Tensor load_floats(const fs::path& path, const std::string& what)
{
    NpyArray a = read_named(path, what);
    if (a.dtype != NpyArray::DType::Float32)
        throw InputError(what + " " + path.string() + ": expected float data, got integers");
    for (float v : a.f32)
        if (!std::isfinite(v))
            throw InputError(what + " " + path.string() + ": holds non-finite values");
    return torch::from_blob(a.f32.data(), a.shape, torch::kFloat).clone();
}

torch::Tensor load_labels(const fs::path& path, std::int64_t n, int classes, const std::string& what)
{
    NpyArray a = read_named(path, what);
    if (a.dtype != NpyArray::DType::Int64 || a.shape.size() != 1 || a.shape[0] != n)
        throw InputError(what + " " + path.string() + ": expected int64 labels of shape [" + std::to_string(n) +
                         "], got " + a.shape_string());
    for (auto v : a.i64)
        if (v < 0 || v >= classes)
            throw InputError(what + " " + path.string() + ": label " + std::to_string(v) + " is outside 0.." +
                             std::to_string(classes - 1));
    return torch::from_blob(a.i64.data(), {n}, torch::kLong).clone();
}

// The network of a kind behind one interface, so the loop is shared.
struct Trainee {
    std::shared_ptr<torch::nn::Module> net, ema; // ema: null when not kept
    // denoisers; c: each example's class of a conditional network (undefined otherwise)
    std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& c)> denoise;
    nn::ClassifierNet classifier{nullptr};
    nlohmann::json architecture;
};

/// `classes`: of a conditional denoiser (0: unconditional).
Trainee make_trainee(const TrainConfig& c, const torch::Tensor& data, int classes)
{
    const std::string where = "training config";
    nlohmann::json arch = c.architecture_json.empty() ? nlohmann::json::object()
                                                      : nlohmann::json::parse(c.architecture_json);
    Trainee tr;
    if (c.kind == "noisetrail-unet") {
        arch["in_channels"] = data.size(1);
        if (classes > 0)
            arch["classes"] = classes;
        const auto cfg = nn::unet_config_from(arch, where);
        nn::UNet net(cfg), ema(cfg);
        tr.denoise = [net](const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cl) mutable {
            return net->forward(x, t, cl);
        };
        tr.net = net.ptr();
        tr.ema = ema.ptr();
        tr.architecture = nn::to_json(cfg);
    } else if (c.kind == "noisetrail-mlp") {
        arch["dim"] = data.size(1);
        if (classes > 0)
            arch["classes"] = classes;
        const auto cfg = nn::mlp_config_from(arch, where);
        nn::MlpDenoiser net(cfg), ema(cfg);
        tr.denoise = [net](const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cl) mutable {
            return net->forward(x, t, cl);
        };
        tr.net = net.ptr();
        tr.ema = ema.ptr();
        tr.architecture = nn::to_json(cfg);
    } else {
        arch["in_channels"] = data.size(1);
        arch["height"] = data.size(2);
        arch["width"] = data.size(3);
        const auto cfg = nn::classifier_config_from(arch, where);
        tr.classifier = nn::ClassifierNet(cfg);
        tr.net = tr.classifier.ptr();
        tr.architecture = nn::to_json(cfg);
    }
    if (tr.ema) {
        nn::copy_weights(*tr.net, *tr.ema);
        for (auto& p : tr.ema->parameters())
            p.set_requires_grad(false);
    }
    return tr;
}

/// What must agree for a checkpoint to be resumed (steps may grow).
nlohmann::json signature(const TrainConfig& c, const nlohmann::json& arch)
{
    const nlohmann::json j = nlohmann::json::parse(to_json(c));
    nlohmann::json sig{{"kind", c.kind},       {"data", fs::absolute(c.data).lexically_normal().string()},
                       {"architecture", arch}, {"schedule", j.value("schedule", nlohmann::json())},
                       {"batch", c.batch},     {"seed", c.seed},
                       {"lr", c.lr},           {"ema_decay", c.ema_decay}};
    // Only a flow run adds its own keys, so VP checkpoints made before flow still resume.
    if (j.contains("process")) {
        sig["process"] = j["process"];
        sig["level_sampling"] = c.level_sampling;
        sig["noise"] = c.noise.empty() ? "" : fs::absolute(c.noise).lexically_normal().string();
    }
    if (is_denoiser(c.kind) && !c.labels.empty()) { // conditional denoisers only: older checkpoints still resume
        sig["labels"] = fs::absolute(c.labels).lexically_normal().string();
        sig["label_dropout"] = c.label_dropout;
    }
    return sig;
}

double learning_rate(const TrainConfig& c, int step)
{
    if (step < c.warmup_steps)
        return c.lr * (step + 1) / c.warmup_steps;
    if (c.lr_schedule == "cosine") {
        const double p = double(step - c.warmup_steps) / std::max(1, c.steps - c.warmup_steps);
        return c.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, p)));
    }
    return c.lr;
}

struct LossRow {
    int step;
    double loss, lr, seconds, samples_per_s;
};

void write_loss_csv(const fs::path& p, const std::vector<LossRow>& rows)
{
    std::ostringstream s;
    s << "step,loss,lr,seconds,samples_per_s\n";
    char buf[160];
    for (const auto& r : rows) {
        std::snprintf(buf, sizeof buf, "%d,%.6g,%.6g,%.1f,%.1f\n", r.step, r.loss, r.lr, r.seconds, r.samples_per_s);
        s << buf;
    }
    write_text(p, s.str());
}

std::vector<LossRow> read_loss_csv(const fs::path& p, int up_to_step)
{
    std::vector<LossRow> rows;
    std::error_code ec;
    if (!fs::exists(p, ec))
        return rows; // an older checkpoint without a log: the curve restarts
    // About 40 bytes a row: 256 MiB is millions of rows, far more than any run logs.
    std::istringstream in(detail::read_regular_file(p, "checkpoint loss log " + p.string(), std::uintmax_t{256} << 20));
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        LossRow r{};
        long long step = -1;
        if (std::sscanf(line.c_str(), "%lld,%lf,%lf,%lf,%lf", &step, &r.loss, &r.lr, &r.seconds, &r.samples_per_s) == 5 &&
            step >= 0 && step <= up_to_step) {
            r.step = static_cast<int>(step);
            rows.push_back(r);
        }
    }
    return rows;
}

std::int64_t parameter_count(torch::nn::Module& m)
{
    std::int64_t n = 0;
    for (const auto& p : m.parameters())
        n += p.numel();
    return n;
}

} // namespace

// ---------------------------------------------------------------- training

namespace {

/// Held-out accuracy and features of the classifier (eval mode, batched).
struct Evaluation {
    double accuracy = -1.0;
    torch::Tensor features; // [N, F] float32
};

Evaluation evaluate(nn::ClassifierNet& net, const torch::Tensor& x, const torch::Tensor& y)
{
    torch::NoGradGuard no_grad;
    net->eval();
    std::vector<torch::Tensor> feats;
    std::int64_t correct = 0;
    for (std::int64_t i = 0; i < x.size(0); i += 500) {
        const auto o = net->forward(x.slice(0, i, std::min(x.size(0), i + 500)));
        feats.push_back(o.features);
        if (y.defined())
            correct += o.logits.argmax(1).eq(y.slice(0, i, std::min(x.size(0), i + 500))).sum().item<std::int64_t>();
    }
    Evaluation e;
    e.features = torch::cat(feats, 0);
    if (y.defined())
        e.accuracy = double(correct) / double(x.size(0));
    return e;
}

/// Random shifts of up to `pad` pixels (background -1), per sample: a cheap
/// augmentation that makes the classifier robust to off-centre samples.
torch::Tensor random_shift(const torch::Tensor& x, int pad)
{
    const auto B = x.size(0), H = x.size(2), W = x.size(3);
    const torch::Tensor padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, -1.0);
    const torch::Tensor off = torch::randint(0, 2 * pad + 1, {B, 2}, torch::kLong);
    const auto a = off.accessor<int64_t, 2>();
    std::vector<torch::Tensor> out;
    out.reserve(B);
    for (std::int64_t b = 0; b < B; ++b)
        out.push_back(padded[b].narrow(1, a[b][0], H).narrow(2, a[b][1], W));
    return torch::stack(out, 0);
}

} // namespace

TrainResult train(const TrainConfig& config_in, const TrainCallback& on_progress, const std::atomic<bool>* cancel)
{
    using Clock = std::chrono::steady_clock;
    TrainConfig c = with_defaults(config_in);
    if (c.out.empty())
        throw InputError("training config: the output card path ('out', --out) is required");
    if (c.out.extension() != ".json")
        throw InputError("--out " + c.out.string() + ": the output card must be a .json file");
    if (c.data.empty())
        throw InputError("training config: the data file ('data', --data) is required");
    // Output folders checked before any work: a failure after hours of training helps nobody.
    require_writable_dir(c.out.parent_path().empty() ? fs::path(".") : c.out.parent_path(), "--out");
    require_writable_dir(c.checkpoint_dir, "--checkpoint-dir");
    if (c.card_every < 0)
        throw InputError("training config: card_every (--every) must be >= 0, got " + std::to_string(c.card_every));
    if (c.card_every > 0 && !is_denoiser(c.kind))
        throw InputError("training config: checkpoint cards (card_every, --every) are for denoisers, not " + c.kind);
    const fs::path cards_dir = !c.cards_dir.empty()                ? c.cards_dir
                               : c.out.parent_path().empty() ? fs::path("checkpoints")
                                                             : c.out.parent_path() / "checkpoints";
    if (c.card_every > 0)
        require_writable_dir(cards_dir, "checkpoint cards folder");
    if (c.threads > 0) {
        torch::set_num_threads(c.threads);
        // OpenBLAS (libtorch's BLAS here) runs its own workers, one per core, which spin in
        // sched_yield between calls: the MLP's Linear layers are all BLAS calls, so its idle
        // workers took a core from a 1-thread run (77,000 sched_yield in 200 steps of the
        // two-moons MLP). As many BLAS threads as intra-op threads. With threads = 0 the
        // process's own policy stands (the GUI keeps one BLAS thread).
        set_blas_threads(c.threads);
    }
    const bool denoiser = is_denoiser(c.kind);
    const bool flow = c.schedule.process == ProcessKind::Flow;

    // ---- data
    const torch::Tensor data = load_floats(c.data, "--data");
    const auto N = data.size(0);
    if (c.kind == "noisetrail-mlp" && data.dim() != 2)
        throw InputError("--data " + c.data.string() + ": expected points [N, D], got rank " + std::to_string(data.dim()));
    if (c.kind != "noisetrail-mlp" && data.dim() != 4)
        throw InputError("--data " + c.data.string() + ": expected images [N, C, H, W], got rank " +
                         std::to_string(data.dim()));
    if (N < 2)
        throw InputError("--data " + c.data.string() + ": needs at least 2 examples");
    torch::Tensor paired_noise; // reflow: example i flows to paired_noise[i]
    if (!c.noise.empty()) {
        paired_noise = load_floats(c.noise, "--noise");
        if (paired_noise.sizes() != data.sizes())
            throw InputError("noise " + c.noise.string() + ": shape does not match the data's (one noise per example)");
    }
    torch::Tensor labels, held_x, held_y;
    int classes = 10;
    if (!c.architecture_json.empty()) {
        const auto a = nlohmann::json::parse(c.architecture_json);
        if (a.contains("classes") && a["classes"].is_number_integer()) // validated with the architecture later
            classes = static_cast<int>(std::clamp<long long>(a["classes"].get<long long>(), 1, 1 << 20));
    }
    const bool conditional = denoiser && !c.labels.empty();
    if (conditional) {
        // A class-conditional denoiser (contract section 9): classes 0..C-1, C from the
        // architecture or the largest label; C is the null label.
        const bool given = !c.architecture_json.empty() && nlohmann::json::parse(c.architecture_json).contains("classes");
        labels = load_labels(c.labels, N, given ? classes : 1000, "--labels");
        if (!given)
            classes = static_cast<int>(labels.max().item<std::int64_t>()) + 1;
    }
    if (!c.class_names.empty() && !conditional && c.kind != "noisetrail-classifier")
        throw InputError("training config: 'class_names' belongs to a model with classes (with 'labels')");
    // Checked before training, not when the card is written hours later.
    if (!c.class_names.empty() && int(c.class_names.size()) != classes)
        throw InputError("training config: 'class_names' names " + std::to_string(c.class_names.size()) +
                         " classes, the model has " + std::to_string(classes));
    if (c.kind == "noisetrail-classifier") {
        if (c.labels.empty())
            throw InputError("training config: a classifier needs 'labels' (--labels)");
        labels = load_labels(c.labels, N, classes, "--labels");
        if (!c.heldout_data.empty()) {
            held_x = load_floats(c.heldout_data, "--heldout-data");
            if (held_x.dim() != 4 || held_x.sizes().slice(1) != data.sizes().slice(1))
                throw InputError("--heldout-data " + c.heldout_data.string() + ": shape does not match --data");
            if (c.heldout_labels.empty())
                throw InputError("training config: 'heldout_data' needs 'heldout_labels'");
            held_y = load_labels(c.heldout_labels, held_x.size(0), classes, "--heldout-labels");
        }
    }

    // libtorch seeds its default generator non-deterministically: seed it so the
    // initial weights, and hence the whole run, follow from `seed`.
    torch::manual_seed(c.seed);
    Trainee tr = make_trainee(c, data, conditional ? classes : 0);
    if (!c.init.empty()) {
        // Start from another card's weights (a resumed checkpoint overrides them below).
        const std::string where = "init card " + c.init.string();
        const nlohmann::json ic = detail::read_json_file(c.init, where);
        if (!ic.is_object() || ic.value("kind", "") != c.kind || !ic.contains("weights") || !ic["weights"].is_string())
            throw InputError(where + ": expected a " + c.kind + " card with 'weights'");
        if (ic.value("architecture", nlohmann::json()) != tr.architecture)
            throw InputError(where + ": its architecture differs from the one trained here");
        nn::load_weights(*tr.net, c.init.parent_path() / ic["weights"].get<std::string>(), where);
        if (tr.ema)
            nn::copy_weights(*tr.net, *tr.ema);
    }
    std::vector<torch::Tensor> params = tr.net->parameters();
    torch::optim::Adam opt(params, torch::optim::AdamOptions(c.lr));
    const NoiseSchedule schedule(c.schedule); // flow: only T is used
    const torch::Tensor ab = torch::tensor(schedule.alpha_bars(), torch::kDouble);
    const torch::Tensor sqrt_ab = ab.sqrt().to(torch::kFloat), sqrt_1m_ab = (1.0 - ab).sqrt().to(torch::kFloat);
    const int T = schedule.train_steps();

    // ---- resume
    const fs::path state_file = c.checkpoint_dir / "state.json";
    const nlohmann::json sig = signature(c, tr.architecture);
    int start = 0;
    double seconds_before = 0.0;
    std::vector<LossRow> rows;
    if (!c.fresh && fs::exists(state_file)) {
        const std::string state_where = "checkpoint " + state_file.string();
        const nlohmann::json st = detail::read_json_file(state_file, state_where);
        if (!st.is_object() || !st.contains("step") || !st.contains("seconds"))
            throw InputError(state_where + ": expected an object with 'step' and 'seconds'; delete the folder or "
                                           "pass --fresh");
        if (st.value("signature", nlohmann::json()) != sig)
            throw InputError("checkpoint " + c.checkpoint_dir.string() +
                             " was made with a different config (kind, data, architecture, schedule, batch, seed, "
                             "lr or ema_decay); delete it or pass --fresh");
        const std::string where = "checkpoint " + c.checkpoint_dir.string();
        nn::load_weights(*tr.net, c.checkpoint_dir / "net.pt", where);
        if (tr.ema)
            nn::load_weights(*tr.ema, c.checkpoint_dir / "ema.pt", where);
        try {
            torch::load(opt, (c.checkpoint_dir / "optimizer.pt").string());
        } catch (const c10::Error&) {
            throw InputError(where + ": optimizer.pt is unreadable; delete the folder or pass --fresh");
        }
        // A corrupt step (1e12, -1) must not wrap into a negative start.
        start = static_cast<int>(detail::json_integer(st["step"], state_where, "step", 0, 2147483647));
        seconds_before = detail::json_number(st["seconds"], state_where, "seconds");
        rows = read_loss_csv(c.checkpoint_dir / "loss.csv", start);
    }
    TrainResult result;
    result.resumed_from = start;
    result.card = c.out;
    result.loss_log = training_sibling(c.out, "-loss.csv");

    const auto save_checkpoint = [&](int step, double seconds) {
        nn::save_weights(*tr.net, c.checkpoint_dir / "net.pt");
        if (tr.ema)
            nn::save_weights(*tr.ema, c.checkpoint_dir / "ema.pt");
        torch::save(opt, (c.checkpoint_dir / "optimizer.pt").string());
        write_loss_csv(c.checkpoint_dir / "loss.csv", rows);
        write_loss_csv(result.loss_log, rows); // the live curve, next to the card
        write_text(state_file, nlohmann::json{{"step", step}, {"seconds", seconds}, {"signature", sig},
                                              {"config", nlohmann::json::parse(to_json(c))}}
                                   .dump(1));
    };

    // ---- the card: one builder for the final card and the checkpoint cards
    std::vector<std::int64_t> data_shape(data.sizes().begin() + 1, data.sizes().end());
    std::vector<std::string> names = c.class_names;
    for (int i = int(names.size()); i < classes; ++i)
        names.push_back(std::to_string(i));
    const auto make_card = [&](int steps_done, double seconds, double final_loss, const std::string& weights_file) {
        nlohmann::json card{{"format", "noisetrail-model/1"}, {"name", c.name}, {"kind", c.kind}};
        if (!c.description.empty())
            card["description"] = c.description;
        card["data_shape"] = data_shape;
        if (flow) {
            card["prediction"] = "velocity";
            card["process"] = nlohmann::json::parse(to_json(c))["process"];
        } else if (denoiser) {
            card["prediction"] = "epsilon";
            card["schedule"] = nlohmann::json::parse(to_json(c))["schedule"];
        }
        if (c.kind != "noisetrail-mlp") {
            card["data_range"] = {-1, 1};
        }
        if (conditional)
            card["classes"] = names;
        if (c.kind == "noisetrail-classifier")
            card["labels"] = names;
        card["weights"] = weights_file;
        card["architecture"] = tr.architecture;
        nlohmann::json training{{"command", c.command},
                                {"config", nlohmann::json::parse(to_json(c))},
                                {"data", c.data.filename().string() + " (" + std::to_string(N) + " examples)"},
                                {"steps", steps_done},
                                {"batch", c.batch},
                                {"seconds", std::round(seconds)},
                                {"threads", torch::get_num_threads()},
                                {"final_loss", final_loss},
                                {"loss", c.kind == "noisetrail-classifier" ? "cross-entropy"
                                         : flow ? "conditional flow matching, velocity v = eps - x_0 on the linear path "
                                                  "(Lipman et al. 2023), s ~ " + c.level_sampling +
                                                      (paired_noise.defined() ? ", paired noise (reflow)" : "")
                                                : "L_simple (Ho et al. 2020, eq. 14)"},
                                {"parameters", parameter_count(*tr.net)},
                                {"noisetrail_version", NOISETRAIL_VERSION}};
        if (conditional)
            training["conditioning"] = "class-conditional on " + c.labels.filename().string() + ", classes 0.." +
                                       std::to_string(classes - 1) + "; label dropout " + std::to_string(c.label_dropout) +
                                       " to the null label " + std::to_string(classes) +
                                       " (classifier-free guidance, Ho & Salimans 2021)";
        if (tr.ema)
            training["weights_are"] = "EMA of the training weights, decay " + std::to_string(c.ema_decay);
        card["training"] = training;
        return card;
    };

    // ---- loop
    TrainProgress prog;
    prog.steps = c.steps;
    const auto session_start = Clock::now();
    auto window_start = session_start;
    double window_loss = 0.0, smooth = std::nan(""), step_rate = 0.0;
    int window_n = 0, step = start;
    tr.net->train();
    const auto now_seconds = [&] {
        return seconds_before + std::chrono::duration<double>(Clock::now() - session_start).count();
    };
    // A conditional denoiser's classes for the batch, each replaced by the null label with
    // probability label_dropout (Ho & Salimans 2021, Alg. 1); drawn after the step's other
    // draws, so unconditional runs draw exactly what they drew before.
    const auto class_batch = [&](const torch::Tensor& idx) -> torch::Tensor {
        if (!conditional)
            return {};
        const torch::Tensor cl = labels.index_select(0, idx);
        return torch::where(torch::rand({idx.size(0)}) < c.label_dropout, torch::full_like(cl, classes), cl);
    };
    int last_card = -1;
    // A card of the EMA weights at step n, beside its weights, both written atomically.
    const auto write_checkpoint_card = [&](int n, double seconds, double loss) {
        const std::string stem = "step-" + std::to_string(n);
        const fs::path weights = cards_dir / (stem + ".pt"), card_path = cards_dir / (stem + ".json");
        nn::save_weights(tr.ema ? *tr.ema : *tr.net, weights);
        nlohmann::json card = make_card(n, seconds, loss, weights.filename().string());
        card["name"] = c.name + ", step " + std::to_string(n);
        card["training"]["checkpoint_of"] = c.out.filename().string();
        write_text(card_path, card.dump(2) + "\n");
        last_card = n;
        if (on_progress) {
            prog.phase = "checkpoint card";
            prog.step = n;
            prog.checkpoint_card = card_path;
            on_progress(prog);
            prog.checkpoint_card.clear();
        }
    };
    for (; step < c.steps; ++step) {
        if (cancel && cancel->load()) {
            result.cancelled = true;
            // The stop is a point of training too: a card of where it stopped (cheap), so
            // "the final model" of a stopped run can be sampled.
            if (c.card_every > 0 && step > start && last_card != step)
                write_checkpoint_card(step, now_seconds(), smooth);
            break;
        }
        // Seed per step: a resumed run draws exactly what an uninterrupted one would.
        torch::manual_seed(c.seed * 1000003ULL + static_cast<std::uint64_t>(step));
        const double lr = learning_rate(c, step);
        for (auto& g : opt.param_groups())
            static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);

        const torch::Tensor idx = torch::randint(0, N, {c.batch}, torch::kLong);
        torch::Tensor x0 = data.index_select(0, idx);
        torch::Tensor loss;
        if (flow) {
            // Conditional flow matching with the linear path (Lipman et al. 2023, eq. 22-23;
            // Liu et al. 2023, eq. 1): x_s = (1 - s) x0 + s eps, regress v = eps - x0. The
            // network sees s T, so its time embedding spans the range a VP network's does.
            const torch::Tensor s = c.level_sampling == "logit-normal" ? torch::sigmoid(torch::randn({c.batch}))
                                                                       : torch::rand({c.batch});
            const torch::Tensor eps =
                paired_noise.defined() ? paired_noise.index_select(0, idx) : torch::randn_like(x0);
            std::vector<int64_t> bshape(x0.dim(), 1);
            bshape[0] = c.batch;
            const torch::Tensor sb = s.view(bshape);
            const torch::Tensor xs = (1.0 - sb) * x0 + sb * eps;
            loss = torch::mse_loss(tr.denoise(xs, s * double(T), class_batch(idx)), eps - x0);
        } else if (denoiser) {
            // L_simple (Ho et al. 2020, eq. 14): t ~ U{0..T-1}, eps ~ N(0, I),
            // x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps (eq. 4), regress eps.
            const torch::Tensor t = torch::randint(0, T, {c.batch}, torch::kLong);
            const torch::Tensor eps = torch::randn_like(x0);
            std::vector<int64_t> bshape(x0.dim(), 1);
            bshape[0] = c.batch;
            const torch::Tensor xt = sqrt_ab.index_select(0, t).view(bshape) * x0 +
                                     sqrt_1m_ab.index_select(0, t).view(bshape) * eps;
            loss = torch::mse_loss(tr.denoise(xt, t, class_batch(idx)), eps);
        } else {
            x0 = random_shift(x0, 2);
            loss = torch::cross_entropy_loss(tr.classifier->forward(x0).logits, labels.index_select(0, idx));
        }
        opt.zero_grad();
        loss.backward();
        if (c.grad_clip > 0)
            torch::nn::utils::clip_grad_norm_(params, c.grad_clip);
        opt.step();
        if (tr.ema) {
            // EMA of the weights (used for sampling), with the usual warm-up so early
            // averages are not dominated by the random initialisation.
            torch::NoGradGuard no_grad;
            const double d = std::min(c.ema_decay, (1.0 + step) / (10.0 + step));
            auto ep = tr.ema->parameters();
            for (std::size_t i = 0; i < ep.size(); ++i)
                ep[i].mul_(d).add_(params[i].detach(), 1.0 - d);
        }

        const double l = loss.item<double>();
        if (!std::isfinite(l))
            throw RunError("training loss became non-finite at step " + std::to_string(step), step, -1);
        smooth = std::isnan(smooth) ? l : 0.98 * smooth + 0.02 * l;
        window_loss += l;
        ++window_n;
        const int done = step + 1;
        const double secs = now_seconds();
        const double session_steps = done - start;
        const double session_secs = std::chrono::duration<double>(Clock::now() - session_start).count();
        step_rate = session_secs > 0 ? session_steps / session_secs : 0.0;
        if (done % c.log_every == 0 || done == c.steps) {
            const double wsecs = std::chrono::duration<double>(Clock::now() - window_start).count();
            rows.push_back({done, window_loss / window_n, lr, secs, wsecs > 0 ? window_n * c.batch / wsecs : 0.0});
            window_loss = 0.0;
            window_n = 0;
            window_start = Clock::now();
        }
        if (on_progress) {
            prog.phase = "training";
            prog.step = done;
            prog.loss = smooth;
            prog.samples_per_s = step_rate * c.batch;
            prog.seconds = secs;
            prog.seconds_left = step_rate > 0 ? (c.steps - done) / step_rate : 0.0;
            on_progress(prog);
        }
        if (done % c.checkpoint_every == 0 && done < c.steps)
            save_checkpoint(done, secs);
        if (c.card_every > 0 && (done % c.card_every == 0 || done == c.steps))
            write_checkpoint_card(done, secs, smooth);
    }
    result.steps_done = step;
    result.seconds = now_seconds();
    result.final_loss = rows.empty() ? smooth : rows.back().loss;
    save_checkpoint(step, result.seconds);
    if (result.cancelled)
        return result;

    // ---- outputs: weights, extra files, card, preview
    const auto report = [&](const char* phase) {
        if (on_progress) {
            prog.phase = phase;
            on_progress(prog);
        }
    };
    fs::create_directories(c.out.parent_path().empty() ? fs::path(".") : c.out.parent_path());
    result.weights = training_sibling(c.out, ".pt");
    nn::save_weights(tr.ema ? *tr.ema : *tr.net, result.weights);
    write_loss_csv(result.loss_log, rows);

    nlohmann::json card = make_card(step, result.seconds, result.final_loss, result.weights.filename().string());
    card["training"]["loss_curve"] = result.loss_log.filename().string();

    if (c.kind == "noisetrail-classifier" && held_x.defined()) {
        report("evaluating");
        const Evaluation e = evaluate(tr.classifier, held_x, held_y);
        result.accuracy = e.accuracy;
        // Feature statistics of the held-out set, the reference of Frechet distances.
        const torch::Tensor f = e.features.to(torch::kDouble);
        const torch::Tensor mean = f.mean(0);
        const torch::Tensor centred = f - mean;
        const torch::Tensor cov = centred.t().matmul(centred) / double(f.size(0) - 1);
        const auto F = f.size(1);
        const auto write_f = [&](const std::string& suffix, const torch::Tensor& t) {
            const torch::Tensor t32 = t.to(torch::kFloat).contiguous();
            write_npy(training_sibling(c.out, suffix), std::vector<std::int64_t>(t32.sizes().begin(), t32.sizes().end()),
                      t32.data_ptr<float>());
            return training_sibling(c.out, suffix).filename().string();
        };
        card["accuracy"] = {{"heldout", e.accuracy}, {"heldout_examples", held_x.size(0)},
                            {"heldout_data", c.heldout_data.filename().string()}};
        card["features"] = {{"dim", F},
                            {"layer", "fc (penultimate, after ReLU)"},
                            {"heldout_mean", write_f("-features-mean.npy", mean)},
                            {"heldout_cov", write_f("-features-cov.npy", cov)},
                            {"heldout_features", write_f("-features-heldout.npy", e.features)}};
    }
    write_text(c.out, card.dump(2) + "\n");

    if (denoiser) {
        report("sampling");
        const auto model = Model::load(c.out);
        RunOptions ro;
        ro.seed = c.seed;
        ro.batch = c.sample_count;
        if (flow) {
            ro.sampler.sampler = "euler";
            ro.sampler.steps = c.kind == "noisetrail-unet" ? 50 : 100;
        } else if (c.kind == "noisetrail-unet") {
            ro.sampler.sampler = "ddim";
            ro.sampler.steps = 50;
        } else {
            ro.sampler.sampler = "ddpm";
        }
        if (conditional) { // the conditional model (W = 1), classes in order
            for (int k = 0; k < classes; ++k)
                ro.sampler.guidance.classes.push_back(k);
        }
        const RunResult r = run_sampler(*model, ro);
        result.preview = training_sibling(c.out, "-samples.png");
        if (c.kind == "noisetrail-unet")
            write_image_grid(result.preview, r.samples, ro.batch, static_cast<int>(data_shape[0]),
                             static_cast<int>(data_shape[1]), static_cast<int>(data_shape[2]), -1.0, 1.0, 3);
        else if (data_shape[0] == 2)
            write_scatter_png(result.preview, r.samples, ro.batch);
        card["training"]["samples"] = result.preview.filename().string() + " (" + describe(ro.sampler, T, c.schedule.process) +
                                      ", seed " + std::to_string(c.seed) + ")";
        write_text(c.out, card.dump(2) + "\n");
    }
    report("done");
    return result;
}

// ---------------------------------------------------------------- quality of a points card

PointsQuality points_quality(const fs::path& card, std::span<const float> data, int m, int d, int samples,
                             std::uint64_t seed, const fs::path& mixture_card)
{
    if (m < 2 || d < 1 || data.size() != static_cast<std::size_t>(m) * static_cast<std::size_t>(d))
        throw InputError("points quality: expected data of at least 2 points [m, d], got " +
                         std::to_string(data.size()) + " values for m = " + std::to_string(m) + ", d = " +
                         std::to_string(d));
    if (samples < 1)
        throw InputError("points quality: samples must be >= 1, got " + std::to_string(samples));
    const auto model = Model::load(card);
    const ModelCard& mc = model->card();
    if (!mc.is_denoiser() || mc.data_shape != std::vector<std::int64_t>{d})
        throw InputError("points quality: " + card.string() + " is not a denoiser of " + std::to_string(d) +
                         "-D points like the data");
    PointsQuality q;
    const nlohmann::json j = nlohmann::json::parse(mc.json_text, nullptr, false);
    if (j.is_object() && j.contains("training") && j["training"].is_object() && j["training"].contains("steps") &&
        j["training"]["steps"].is_number_integer())
        q.step = static_cast<int>(std::clamp<long long>(j["training"]["steps"].get<long long>(), 0, 2147483647));

    // The quick sample: DDIM with 20 steps, eta 0 (deterministic given x_T).
    RunOptions ro;
    ro.sampler.sampler = "ddim";
    ro.sampler.steps = 20;
    ro.sampler.eta = 0.0;
    ro.seed = seed;
    ro.batch = samples;
    const RunResult r = run_sampler(*model, ro);
    const std::vector<double> x(r.samples.begin(), r.samples.end());
    const std::vector<double> y(data.begin(), data.end());

    q.kde_log_likelihood =
        metrics::kde_mean_log_likelihood(x, samples, y, m, d, metrics::scott_bandwidth(y, m, d));
    const auto mean = [](const std::vector<double>& v) {
        double s = 0.0;
        for (double e : v)
            s += e;
        return v.empty() ? std::nan("") : s / double(v.size());
    };
    q.mean_nearest_distance = mean(metrics::nearest_distances(x, samples, y, m, d));
    q.data_nearest_distance = mean(metrics::nearest_other_distances(y, m, d));
    if (!mixture_card.empty()) {
        const auto mix = metrics::mixture_from_card(read_model_card(mixture_card));
        if (!mix)
            throw InputError("points quality: " + mixture_card.string() + " is not a gaussian-mixture card");
        if (mix->dim != d)
            throw InputError("points quality: " + mixture_card.string() + " is a mixture in " +
                             std::to_string(mix->dim) + " dimensions, the data has " + std::to_string(d));
        q.mixture_log_likelihood = metrics::mean_log_likelihood(*mix, x, samples);
    }
    return q;
}

} // namespace noisetrail
