// noisetrail-cli sample: run one sampler, write samples (--out) and every step (--dump).
#include "commands.hpp"
#include "dump.hpp"
#include "progress.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/straightness.hpp"

#include <chrono>
#include <optional>
#include <iostream>

namespace noisetrail::cli {

const char* const kSampleHelp = R"(usage: noisetrail-cli sample --model CARD [options]

Sample from a model with one sampler and write the results.

  --model CARD          model card (.json)
@SAMPLER_FLAGS@
  --clip-x0 R           clip x0_hat to [-R, R]; 'off' disables (default: R = 1 for
                        image models with a data_range, off otherwise)
  --seed N              random seed for x_T and the sampler noise (default 0)
  --batch B             number of samples (default 16 for images, 1000 otherwise)
  --init-noise FILE     x_T as a float32 .npy of shape [B, *data_shape]
  --device cpu|cuda     where to run (default cpu)
  --threads N           intra-op threads, 1..4x the cores (default: the free cores,
                        1 for 2-D data)
  --out DIR             write the final samples: samples.npy plus samples.png
                        (a grid for images, a scatter for 2-D data)
  --dump DIR            write every step: xt.npy [S+1,B,...], x0_pred.npy and
                        eps_pred.npy [S,B,...], timesteps.npy, stats.csv (with the
                        model calls of each step and, for exact cards and
                        deterministic samplers, ode_error: the distance from the
                        exact ODE path), meta.json
  --help                this text

Exit codes: 0 success, 2 bad arguments or input files, 3 the run failed.
)";

int cmd_sample(const std::vector<std::string>& argv)
{
    std::set<std::string> valued = kSamplerFlags;
    valued.insert({"--seed", "--batch", "--init-noise", "--threads", "--out", "--dump"});
    const Args args(argv, valued, {"--help"});
    if (args.has("--help")) {
        std::cout << help_text(kSampleHelp);
        return 0;
    }
    RunOptions opt;
    opt.sampler = sampler_config_from(args);
    opt.seed = static_cast<std::uint64_t>(args.integer("--seed", 0, (1LL << 53)).value_or(0));
    opt.threads = threads_from(args);
    constexpr long long kMaxBatch = 1000000;
    const auto batch_flag = args.integer("--batch", 1, kMaxBatch);
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    opt.batch = static_cast<int>(batch_flag.value_or(default_batch(card)));

    if (const auto file = args.text("--init-noise")) {
        std::vector<float> x_T = read_initial_noise(*file, card.data_shape, "--init-noise " + *file);
        const auto file_batch = static_cast<long long>(x_T.size() / card.data_dim());
        if (file_batch > kMaxBatch)
            throw InputError("--init-noise " + *file + ": holds " + std::to_string(file_batch) +
                             " samples, more than the batch limit of " + std::to_string(kMaxBatch));
        if (batch_flag && *batch_flag != file_batch)
            std::cerr << "noisetrail-cli: note: --batch " << *batch_flag << " ignored; --init-noise has batch "
                      << file_batch << '\n';
        opt.init_noise = std::move(x_T);
    }

    // Check the plan and the output folders before any work.
    const SamplingPlan plan = make_plan(model->schedule(), opt.sampler);
    for (const auto& w : plan.warnings)
        std::cerr << "noisetrail-cli: warning: " << w << '\n';
    const auto out_dir = args.text("--out");
    const auto dump_dir = args.text("--dump");
    // Each folder is written aside and swapped in whole (docs/CLI.md, "Outputs").
    std::optional<StagedFolder> out_stage, dump_stage;
    if (out_dir)
        out_stage.emplace(*out_dir, "--out", kSamplesNames);
    if (dump_dir)
        dump_stage.emplace(*dump_dir, "--dump", kDumpNames);

    const auto t_start = std::chrono::steady_clock::now();
    Run run(model, opt);
    Frames frames;
    StraightnessMeter straightness;
    Progress progress(plan.size());
    while (!run.done()) {
        auto f = run.step();
        progress.update(f->step + 1, f->plan.t);
        straightness.add(*f);
        if (dump_dir)
            frames.push_back(std::move(f));
    }
    progress.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

    if (out_stage) {
        write_samples(out_stage->path(), *model, run.shape(), run.samples());
        commit_output_dir(*out_stage);
    }
    if (dump_stage) {
        write_dump(dump_stage->path(), run, frames,
                   {.command = "sample", .init_noise = args.text("--init-noise"), .seconds = seconds});
        commit_output_dir(*dump_stage);
    }
    std::cerr << "noisetrail-cli: " << describe(opt.sampler, model->schedule().train_steps(), model->schedule().process()) << ", batch "
              << run.shape()[0] << ": " << seconds << " s, straightness " << straightness.value();
    if (out_dir)
        std::cerr << ", samples in " << *out_dir;
    if (dump_dir)
        std::cerr << ", steps in " << *dump_dir;
    std::cerr << '\n';
    return 0;
}

} // namespace noisetrail::cli
