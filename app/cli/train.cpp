// noisetrail-cli train: train a native network (UNet, MLP or classifier), resumable.
#include "commands.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/training.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace noisetrail::cli {

const char* const kTrainHelp = R"(usage: noisetrail-cli train [--config FILE.json] [options]
       noisetrail-cli train --data POINTS.npy --steps N [--seed K] [--every M] --out DIR

Train one of this project's networks and write its model card, weights
(<card>.pt), loss log (<card>-loss.csv) and a preview (<card>-samples.png).
Checkpoints go to <card>.ckpt/ (or --checkpoint-dir); running the same command
again resumes from the last checkpoint (Ctrl-C writes one before stopping), and
a larger --steps continues a finished run. The same command and seed give
byte-identical weights.

Points [N, D] without --kind (and no "kind" in --config) train the MLP
(noisetrail-mlp, epsilon prediction on the linear schedule). An --out that is a
folder (no .json suffix, or an existing folder) gets DIR/model.json and, with
--every M, DIR/checkpoints/step-<n>.json: a card of the EMA weights every M
steps and at the last step, each one a model 'sample' and the GUI take; for
points also DIR/exact.json (the exact denoiser of the data, an empirical card)
and DIR/quality.csv, one row per checkpoint card and one for exact.json:
  step,kde_log_likelihood,mean_nearest_distance,data_nearest_distance,card
from --quality-samples samples (DDIM, 20 steps, eta 0, seed --seed): their mean
log density (nats) under a Gaussian kernel density of the data (bandwidth by
Scott's rule), their mean distance to the nearest data point (the exact
denoiser memorises: ~0) and, as the scale to read it against, the data's mean
distance to its nearest other point. The exact row has an empty step.

  --config FILE         JSON config; keys as the flags below without '--' and
                        with '_' for '-' (e.g. "heldout_data"), plus
                        "schedule": {...} and "architecture": {...}; paths are
                        relative to the file; flags override the file
  --kind KIND           noisetrail-unet (default; for points [N,D] noisetrail-mlp),
                        noisetrail-mlp or noisetrail-classifier
  --data FILE.npy       training data: images [N,C,H,W] in [-1,1] or points [N,D]
  --labels FILE.npy     int64 labels [N]: a classifier's targets, or for a unet/mlp
                        the classes of a class-conditional denoiser (its card gets
                        'classes'; sample it with --class K --guidance W)
  --label-dropout P     conditional denoiser: fraction trained with the null label
                        (default 0.1), so one network is also the unconditional model
  (config file only) "class_names": ["...", ...]  the card's names of classes
                        0..C-1 (default "0", "1", ...)
  --heldout-data FILE.npy, --heldout-labels FILE.npy
                        classifier: held-out set for accuracy and feature statistics
  --out CARD.json|DIR   the model card to write, or a folder for DIR/model.json (required)
  --every M             a checkpoint card every M steps and at the last (denoisers)
  --quality-samples N   points: samples per card for quality.csv (default 512, 0 = none)
  --mixture CARD.json   points: a gaussian-mixture card of the data's true density;
                        quality.csv gains mixture_log_likelihood (nats)
  --checkpoint-dir DIR  default <card without .json>.ckpt/
  --name TEXT, --description TEXT   card fields
  --schedule KIND       linear (default), scaled_linear, cosine or sigmoid
  --train-steps T       diffusion steps T (default 1000)
  --beta-start B, --beta-end B      (defaults 1e-4, 0.02)
  --architecture JSON   network hyper-parameters, e.g. '{"base_channels":32,"channel_mult":[1,2,2]}'
  --steps N             optimiser steps (unet 20000, mlp 6000, classifier 1500)
  --batch B             batch size (unet 64, mlp 512, classifier 128)
  --lr LR               peak Adam learning rate (unet 1e-3, mlp 2e-3, classifier 2e-3)
  --lr-schedule NAME    cosine (default) or constant, after a linear warm-up
  --warmup N            warm-up steps (unet 200, others 100)
  --ema DECAY           EMA decay of the shipped weights (unet 0.999, mlp 0.995, classifier 0 = none)
  --grad-clip G         max gradient norm (default 1, 0 = off)
  --seed N              random seed (default 0)
  --checkpoint-every N  steps between checkpoints (unet 250, others 500)
  --log-every N         steps per loss-log row (default 50)
  --threads N           intra-op threads, 1..4x the cores (default: libtorch's choice)
  --samples N           samples in the preview (unet 64, mlp 2000)
  --fresh               ignore an existing checkpoint and start over
  --help                this text

Progress (step, loss, samples/s, time left) goes to stderr.
Exit codes: 0 done, 2 bad arguments or input files, 3 training failed,
130 interrupted (checkpoint written; rerun to resume).
)";

namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

std::string format_seconds(double s)
{
    char buf[32];
    const long v = static_cast<long>(s + 0.5);
    if (v >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", v / 3600, (v / 60) % 60);
    else
        std::snprintf(buf, sizeof buf, "%ldm%02lds", v / 60, v % 60);
    return buf;
}

/// Whether a --config file sets "kind" (read_train_config has already checked the file).
bool config_names_kind(const std::optional<std::string>& config)
{
    if (!config)
        return false;
    std::ifstream in(*config);
    const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.contains("kind");
}

/// The exact denoiser of the training points (contract section 2, `empirical`), beside the
/// trained card and on its schedule or process: the memorising reference of quality.csv.
fs::path write_exact_card(const fs::path& trained, const fs::path& data)
{
    const auto card = nlohmann::json::parse(read_model_card(trained).json_text);
    const fs::path folder = fs::absolute(trained).parent_path();
    // Relative (the folder moves with its data) when the data lies beside or inside the
    // folder, absolute otherwise: a path that climbs to / helps nobody.
    fs::path rel = fs::absolute(data).lexically_normal().lexically_relative(folder);
    int up = 0;
    for (const auto& part : rel)
        up += part == "..";
    if (up > 1)
        rel.clear();
    nlohmann::json exact{{"format", "noisetrail-model/1"},
                         {"name", data.stem().string() + " (exact)"},
                         {"kind", "empirical"},
                         {"description", "The exact denoiser of the training set " + data.filename().string() +
                                             ": it reproduces its points (memorisation)."},
                         {"data_shape", card["data_shape"]},
                         {"prediction", card["prediction"]},
                         {"data", (rel.empty() ? fs::absolute(data) : rel).generic_string()}};
    for (const char* key : {"schedule", "process"})
        if (card.contains(key))
            exact[key] = card[key];
    const fs::path path = trained.parent_path() / "exact.json";
    write_file_atomic(path, exact.dump(2) + "\n");
    return path;
}

/// quality.csv beside the card: one row per checkpoint card of this run's schedule (by step),
/// then exact.json's. Cards left in the folder by an earlier run with another --every or more
/// steps are not this run's: skipped.
fs::path write_quality(const TrainConfig& c, int steps_done, const fs::path& mixture, int samples)
{
    const NpyArray a = read_npy_named("--data", c.data.string());
    const int m = static_cast<int>(a.shape[0]), d = static_cast<int>(a.shape[1]);
    const fs::path cards_dir = !c.cards_dir.empty() ? c.cards_dir : c.out.parent_path() / "checkpoints";
    std::vector<std::pair<long long, fs::path>> cards;
    for (const auto& e : fs::directory_iterator(cards_dir)) {
        const std::string name = e.path().filename().string();
        long long n = -1;
        char tail[8] = {};
        if (e.is_regular_file() && std::sscanf(name.c_str(), "step-%lld.%5s", &n, tail) == 2 &&
            std::string(tail) == "json" && name == "step-" + std::to_string(n) + ".json" && n <= steps_done &&
            (n % c.card_every == 0 || n == steps_done))
            cards.emplace_back(n, e.path());
    }
    std::sort(cards.begin(), cards.end());
    cards.emplace_back(-1, write_exact_card(c.out, c.data));
    std::ostringstream csv;
    csv << "step,kde_log_likelihood,mean_nearest_distance,data_nearest_distance,"
        << (mixture.empty() ? "" : "mixture_log_likelihood,") << "card\n";
    char buf[160];
    const fs::path folder = c.out.parent_path();
    for (const auto& [n, card] : cards) {
        std::fprintf(stderr, "quality of %s...\n", card.filename().string().c_str());
        const PointsQuality q = points_quality(card, a.f32, m, d, samples, c.seed, mixture);
        if (n >= 0)
            csv << q.step;
        std::snprintf(buf, sizeof buf, ",%.6g,%.6g,%.6g,", q.kde_log_likelihood, q.mean_nearest_distance,
                      q.data_nearest_distance);
        csv << buf;
        if (!mixture.empty()) {
            std::snprintf(buf, sizeof buf, "%.6g,", q.mixture_log_likelihood);
            csv << buf;
        }
        csv << card.lexically_relative(folder).generic_string() << '\n';
    }
    const fs::path path = folder / "quality.csv";
    write_file_atomic(path, csv.str());
    return path;
}

} // namespace

int cmd_train(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--config", "--kind", "--data", "--labels", "--label-dropout", "--heldout-data", "--heldout-labels", "--out",
                     "--checkpoint-dir", "--name", "--description", "--schedule", "--train-steps", "--beta-start",
                     "--beta-end", "--architecture", "--steps", "--batch", "--lr", "--lr-schedule", "--warmup",
                     "--ema", "--grad-clip", "--seed", "--checkpoint-every", "--log-every", "--threads",
                     "--samples", "--every", "--quality-samples", "--mixture"},
                    {"--fresh", "--help"});
    if (args.has("--help")) {
        std::cout << kTrainHelp;
        return 0;
    }
    TrainConfig c;
    if (const auto f = args.text("--config"))
        c = read_train_config(*f);
    if (auto v = args.text("--kind")) c.kind = *v;
    if (auto v = args.text("--data")) c.data = *v;
    if (auto v = args.text("--labels")) c.labels = *v;
    if (auto v = args.number("--label-dropout")) c.label_dropout = *v;
    if (auto v = args.text("--heldout-data")) c.heldout_data = *v;
    if (auto v = args.text("--heldout-labels")) c.heldout_labels = *v;
    if (auto v = args.text("--out")) {
        // A folder (no .json suffix, or one that exists): its model.json; cards_dir's default
        // (<out's folder>/checkpoints) then lands in it.
        const fs::path out = *v;
        c.out = out.extension() != ".json" || fs::is_directory(out) ? out / "model.json" : out;
    }
    if (auto v = args.text("--checkpoint-dir")) c.checkpoint_dir = *v;
    if (auto v = args.text("--name")) c.name = *v;
    if (auto v = args.text("--description")) c.description = *v;
    if (auto v = args.text("--schedule")) c.schedule.kind = *v;
    if (auto v = args.integer("--train-steps", 1, 1000000)) c.schedule.train_steps = static_cast<int>(*v);
    if (auto v = args.number("--beta-start")) c.schedule.beta_start = *v;
    if (auto v = args.number("--beta-end")) c.schedule.beta_end = *v;
    if (auto v = args.text("--architecture")) {
        if (!nlohmann::json::accept(*v) || !nlohmann::json::parse(*v).is_object())
            throw InputError("--architecture must be a JSON object, e.g. '{\"base_channels\":32}'");
        c.architecture_json = *v;
    }
    if (auto v = args.integer("--steps", 1, 100000000)) c.steps = static_cast<int>(*v);
    if (auto v = args.integer("--batch", 1, 1000000)) c.batch = static_cast<int>(*v);
    if (auto v = args.number("--lr")) {
        if (!(*v > 0))
            throw InputError("--lr must be > 0");
        c.lr = *v;
    }
    if (auto v = args.text("--lr-schedule")) c.lr_schedule = *v;
    if (auto v = args.integer("--warmup", 0, 100000000)) c.warmup_steps = static_cast<int>(*v);
    if (auto v = args.number("--ema")) {
        if (!(*v >= 0 && *v < 1))
            throw InputError("--ema must be in [0, 1)");
        c.ema_decay = *v;
    }
    if (auto v = args.number("--grad-clip")) c.grad_clip = *v;
    if (auto v = args.integer("--seed", 0, (1LL << 53))) c.seed = static_cast<std::uint64_t>(*v);
    if (auto v = args.integer("--checkpoint-every", 1, 100000000)) c.checkpoint_every = static_cast<int>(*v);
    if (auto v = args.integer("--log-every", 1, 100000000)) c.log_every = static_cast<int>(*v);
    if (const int t = threads_from(args)) c.threads = t;
    if (auto v = args.integer("--samples", 1, 100000)) c.sample_count = static_cast<int>(*v);
    if (auto v = args.integer("--every", 1, 100000000)) c.card_every = static_cast<int>(*v);
    const int quality_samples = static_cast<int>(args.integer("--quality-samples", 0, 100000).value_or(512));
    const fs::path mixture = args.text("--mixture").value_or("");
    if (!args.has("--kind") && !config_names_kind(args.text("--config")) && !c.data.empty() &&
        read_npy_named("--data", c.data.string()).shape.size() == 2)
        c.kind = "noisetrail-mlp"; // points: the 2-D MLP, whatever the default kind
    // Checked before training, not after it.
    if ((args.has("--mixture") || args.has("--quality-samples")) && (c.card_every == 0 || c.kind != "noisetrail-mlp"))
        throw InputError("--mixture and --quality-samples measure the checkpoint cards of points: they need --every "
                         "and points data (noisetrail-mlp)");
    if (!mixture.empty() && !metrics::mixture_from_card(read_model_card(mixture)))
        throw InputError("--mixture " + mixture.string() + ": not a gaussian-mixture card");
    c.fresh = args.has("--fresh");
    c.command = "noisetrail-cli train";
    for (const auto& a : argv)
        c.command += " " + (a.find_first_of(" '\"{}") == std::string::npos ? a : "'" + a + "'");
    if (c.out.empty())
        throw InputError("--out CARD.json is required (or 'out' in --config)");

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
    std::string last_phase;
    const TrainCallback progress = [&](const TrainProgress& p) {
        const auto now = std::chrono::steady_clock::now();
        const bool phase_change = p.phase != last_phase;
        // A terminal gets a live line; a log file one line every 15 s.
        if (!phase_change && p.step < p.steps && now - last < (tty ? std::chrono::milliseconds(200) : std::chrono::seconds(15)))
            return;
        last = now;
        last_phase = p.phase;
        if (!p.checkpoint_card.empty()) {
            std::fprintf(stderr, "%scheckpoint card %s\n", tty ? "\n" : "", p.checkpoint_card.string().c_str());
            return;
        }
        if (p.phase != "training") {
            std::fprintf(stderr, "%s%s...\n", tty ? "\n" : "", p.phase.c_str());
            return;
        }
        std::fprintf(stderr, "%sstep %d/%d  loss %.4f  %.0f samples/s  elapsed %s  left %s%s", tty ? "\r" : "",
                     p.step, p.steps, p.loss, p.samples_per_s, format_seconds(p.seconds).c_str(),
                     format_seconds(p.seconds_left).c_str(), tty ? "   " : "\n");
        std::fflush(stderr);
    };
    const TrainResult r = train(c, progress, &g_stop);
    if (r.cancelled) {
        std::fprintf(stderr, "\ninterrupted at step %d; checkpoint written, rerun the same command to resume\n",
                     r.steps_done);
        return 130;
    }
    std::cout << "card: " << r.card.string() << "\nweights: " << r.weights.string()
              << "\nloss log: " << r.loss_log.string() << '\n';
    if (!r.preview.empty())
        std::cout << "preview: " << r.preview.string() << '\n';
    std::cout << "steps: " << r.steps_done << (r.resumed_from ? " (resumed at " + std::to_string(r.resumed_from) + ")" : "")
              << "\ntraining time: " << format_seconds(r.seconds) << "\nfinal loss: " << r.final_loss << '\n';
    if (r.accuracy >= 0)
        std::cout << "held-out accuracy: " << r.accuracy << '\n';
    if (c.card_every > 0 && c.kind == "noisetrail-mlp" && quality_samples > 0)
        std::cout << "quality: " << write_quality(c, r.steps_done, mixture, quality_samples).string() << '\n';
    return 0;
}

} // namespace noisetrail::cli
