// noisetrail-cli train: train a native network (UNet, MLP or classifier), resumable.
#include "commands.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/training.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace noisetrail::cli {

const char* const kTrainHelp = R"(usage: noisetrail-cli train [--config FILE.json] [options]

Train one of this project's networks and write its model card, weights
(<card>.pt), loss log (<card>-loss.csv) and a preview (<card>-samples.png).
Checkpoints go to <card>.ckpt/ (or --checkpoint-dir); running the same command
again resumes from the last checkpoint (Ctrl-C writes one before stopping), and
a larger --steps continues a finished run.

  --config FILE         JSON config; keys as the flags below without '--' and
                        with '_' for '-' (e.g. "heldout_data"), plus
                        "schedule": {...} and "architecture": {...}; paths are
                        relative to the file; flags override the file
  --kind KIND           noisetrail-unet (default), noisetrail-mlp or noisetrail-classifier
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
  --out CARD.json       the model card to write (required)
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

} // namespace

int cmd_train(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--config", "--kind", "--data", "--labels", "--label-dropout", "--heldout-data", "--heldout-labels", "--out",
                     "--checkpoint-dir", "--name", "--description", "--schedule", "--train-steps", "--beta-start",
                     "--beta-end", "--architecture", "--steps", "--batch", "--lr", "--lr-schedule", "--warmup",
                     "--ema", "--grad-clip", "--seed", "--checkpoint-every", "--log-every", "--threads",
                     "--samples"},
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
    if (auto v = args.text("--out")) c.out = *v;
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
    return 0;
}

} // namespace noisetrail::cli
