// noisetrail-cli reflow: 2-rectified flow (Liu et al. 2023, Algorithm 1). Draw pairs
// (x_1, x_0) with a model's deterministic ODE, then train a flow model on the straight
// lines between them, so that its paths are straighter and few Euler steps suffice.
#include "commands.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/training.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace noisetrail::cli {

const char* const kReflowHelp = R"(usage: noisetrail-cli reflow --model CARD --out DIR [options]

Straighten a model's paths (2-rectified flow, Liu et al. 2023): draw --pairs
noise/sample pairs (x_1, x_0) by solving the model's ODE from x_1 ~ N(0, I),
then train a flow-matching model on the straight lines x_s = (1 - s) x_0 + s x_1
between them. Writes the pairs (DIR/<model>-reflow-pairs-x0.npy and
-noise.npy), then the new card DIR/<model>-reflow.json with its weights, loss
log and preview. The new
model is a noisetrail-mlp for 2-D data and a noisetrail-unet for images; when
the source is a trained flow network of that kind, it starts from the source's
weights (as Liu et al. do). Run it again to resume training (the pairs are kept).

  --model CARD          the source: any card whose samples are data (flow or VP)
  --out DIR             output folder (created)
  --pairs N             pairs to draw (default 10000)
  --sampler NAME        the ODE solver for the pairs: euler, heun, dpmpp2m or ddim
                        (eta 0) (default heun)
  --steps K             its steps (default 100)
  --train-steps N       optimiser steps (default: the kind's default, halved when
                        starting from the source's weights)
  --seed N              seed of the noise and of training (default 0)
  --threads N           intra-op threads (default: libtorch's choice)
  --fresh               redraw the pairs and restart training
  --help                this text

Straightness (Liu et al. 2023, eq. 4; 0 for straight paths) of any run:
noisetrail-cli sample prints it and --dump's meta.json records it.
Exit codes: 0 done, 2 bad arguments or input files, 3 the run or training
failed, 130 interrupted (checkpoint written; rerun to resume).
)";

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_reflow_signal(int) { g_stop = true; }

} // namespace

int cmd_reflow(const std::vector<std::string>& argv)
{
    const Args args(argv, {"--model", "--out", "--pairs", "--sampler", "--steps", "--train-steps", "--seed",
                           "--threads", "--device"},
                    {"--fresh", "--help"});
    if (print_help(args, kReflowHelp))
        return 0;
    const std::filesystem::path out = required_text(args, "--out", "DIR");
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int pairs = static_cast<int>(args.integer("--pairs", 2, 10000000).value_or(10000));
    SamplerConfig ode;
    ode.sampler = args.text("--sampler").value_or("heun");
    if (ode.sampler != "euler" && ode.sampler != "heun" && ode.sampler != "dpmpp2m" && ode.sampler != "ddim")
        throw InputError("--sampler " + ode.sampler + ": the pairs need a deterministic ODE solver (euler, heun, "
                         "dpmpp2m or ddim with eta 0)");
    ode.steps = static_cast<int>(args.integer("--steps", 1, 100000).value_or(100));
    ode.eta = 0.0;
    const std::uint64_t seed = seed_from(args);
    const int threads = threads_from(args);

    const bool points = card.data_shape.size() == 1, images = card.data_shape.size() == 3;
    if (!points && !images)
        throw InputError("--model " + card.path.string() + ": reflow trains an MLP on points [D] or a UNet on "
                         "images [C, H, W]; data_shape has rank " + std::to_string(card.data_shape.size()));
    const nlohmann::json source = nlohmann::json::parse(card.json_text);
    TrainConfig c;
    c.kind = points ? "noisetrail-mlp" : "noisetrail-unet";
    // A flow network of the same kind is fine-tuned; any other source only lends its samples.
    const bool warm_start = source.value("kind", "") == c.kind && model->schedule().process() == ProcessKind::Flow;
    if (source.value("kind", "") == c.kind && source.contains("architecture") && source["architecture"].is_object())
        c.architecture_json = source["architecture"].dump();
    if (warm_start)
        c.init = card.path;
    c.schedule.process = ProcessKind::Flow;
    c.schedule.train_steps = model->schedule().process() == ProcessKind::Flow ? model->schedule().train_steps() : 1000;
    c.level_sampling = "uniform";
    c.seed = seed;
    c.threads = threads;
    c.fresh = args.has("--fresh");
    const std::string stem = card.path.stem().string();
    c.out = out / (stem + "-reflow.json");
    c.data = out / (stem + "-reflow-pairs-x0.npy");
    c.noise = out / (stem + "-reflow-pairs-noise.npy");
    c.name = card.name + " (2-rectified)";
    c.description = "2-rectified flow (Liu et al. 2023) of '" + card.name + "': trained on " +
                    std::to_string(pairs) + " pairs drawn with " + describe(ode, model->schedule().train_steps(), model->schedule().process()) +
                    (warm_start ? ", starting from its weights." : ".");
    c = with_defaults(c);
    if (auto v = args.integer("--train-steps", 1, 100000000))
        c.steps = static_cast<int>(*v);
    else if (warm_start)
        c.steps /= 2;
    c.command = "noisetrail-cli reflow";
    for (const auto& a : argv)
        c.command += " " + a;
    std::filesystem::create_directories(out);

    // ---- pairs, drawn in chunks (a whole batch of images would not fit) and kept for a resume
    std::int64_t dim = 1;
    for (const auto d : card.data_shape)
        dim *= d;
    check_memory_budget("--pairs " + std::to_string(pairs), 2.0 * 4.0 * double(pairs) * double(dim));
    std::signal(SIGINT, on_reflow_signal);
    std::signal(SIGTERM, on_reflow_signal);
    if (c.fresh || !std::filesystem::exists(c.data) || !std::filesystem::exists(c.noise)) {
        std::vector<float> x0, x1;
        x0.reserve(static_cast<std::size_t>(pairs * dim));
        x1.reserve(static_cast<std::size_t>(pairs * dim));
        const int chunk = points ? 4096 : 64;
        for (int done = 0, k = 0; done < pairs; done += chunk, ++k) {
            RunOptions ro;
            ro.sampler = ode;
            ro.batch = std::min(chunk, pairs - done);
            ro.seed = seed * 1000003ULL + static_cast<std::uint64_t>(k); // a chunk's own noise
            ro.threads = threads;
            const RunResult r = run_sampler(*model, ro, {}, &g_stop);
            if (r.cancelled)
                return 130;
            x1.insert(x1.end(), r.x_T.begin(), r.x_T.end());
            x0.insert(x0.end(), r.samples.begin(), r.samples.end());
            std::fprintf(stderr, "\rpairs %d/%d", done + ro.batch, pairs);
        }
        std::fprintf(stderr, "\n");
        std::vector<std::int64_t> shape{pairs};
        shape.insert(shape.end(), card.data_shape.begin(), card.data_shape.end());
        write_npy(c.noise, shape, x1.data());
        write_npy(c.data, shape, x0.data()); // last: its presence means both are complete
    }

    // ---- training (resumable, as `train`)
    std::fprintf(stderr, "training %s for %d steps%s\n", c.kind.c_str(), c.steps,
                 warm_start ? " from the source's weights" : "");
    const TrainResult r = train(c, {}, &g_stop);
    if (r.cancelled) {
        std::fprintf(stderr, "interrupted at step %d; rerun the same command to resume\n", r.steps_done);
        return 130;
    }
    // Record where the model came from, next to what train() wrote.
    nlohmann::json made = nlohmann::json::parse(std::ifstream(r.card)); // train() just wrote it
    made["reflow"] = {{"source", card.path.filename().string()},
                      {"source_name", card.name},
                      {"pairs", pairs},
                      {"ode", describe(ode, model->schedule().train_steps(), model->schedule().process())},
                      {"seed", seed},
                      {"warm_start", warm_start}};
    write_file_atomic(r.card, made.dump(2) + "\n");
    std::cout << "card: " << r.card.string() << "\npairs: " << c.data.string() << ", " << c.noise.string()
              << "\nsteps: " << r.steps_done << "\nfinal loss: " << r.final_loss << '\n';
    return 0;
}

} // namespace noisetrail::cli
