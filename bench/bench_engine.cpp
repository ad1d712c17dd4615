// Engine benchmark: 1000-step DDPM on the 8-component ring card, batch 4096.
// Prints wall time, time per step, and the engine's overhead against a bare loop
// of denoiser calls measured in the same process (the baseline).
#include "denoiser.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/threads.hpp"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace noisetrail;

int main(int argc, char** argv)
{
    prepare_process(argc, argv, ThreadUse::Batch); // the allocator as the CLI runs it
    const std::string card = argc > 1 ? argv[1] : std::string(NOISETRAIL_SOURCE_DIR) + "/models/ring8.json";
    const int batch = argc > 2 ? std::atoi(argv[2]) : 4096;
    const int threads = argc > 3 ? std::atoi(argv[3]) : 0;
    if (threads > 0)
        at::set_num_threads(threads);
    const auto model = Model::load(card);
    RunOptions opt;
    opt.sampler.sampler = "ddpm";
    opt.sampler.steps = 1000;
    opt.batch = batch;
    opt.seed = 1;
    opt.threads = threads;

    // Baseline: the denoiser alone at the plan's timesteps, on a fixed input.
    const SamplingPlan plan = make_plan(model->schedule(), opt.sampler);
    double bare = 0;
    {
        c10::InferenceMode guard;
        std::vector<std::int64_t> shape{batch};
        shape.insert(shape.end(), model->card().data_shape.begin(), model->card().data_shape.end());
        const at::Tensor x = at::randn(shape, at::kDouble);
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& s : plan.steps)
            (void)model->denoiser().predict(x, s.t);
        bare = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    // The engine with a frame consumer, as the CLI and GUI run it (frames built, stats computed).
    std::size_t frames = 0;
    const RunResult r = run_sampler(*model, opt, [&](std::shared_ptr<const StepFrame>) { ++frames; });
    // The engine without frames (CLI without --dump still builds frames for progress; this is the floor).
    const RunResult q = run_sampler(*model, opt);

    std::printf("model %s, DDPM 1000 steps, batch %d, threads %d\n", model->card().name.c_str(), batch,
                at::get_num_threads());
    std::printf("  baseline: bare denoiser loop   %8.3f s  (%.3f ms/step)\n", bare, 1e3 * bare / plan.size());
    std::printf("  engine, frames + stats         %8.3f s  (%.3f ms/step), denoiser %.3f s, outside %.1f%%\n",
                r.seconds_total, 1e3 * r.seconds_total / plan.size(), r.seconds_denoiser,
                100.0 * (r.seconds_total - r.seconds_denoiser) / r.seconds_total);
    std::printf("  engine, no frame consumer      %8.3f s  (%.3f ms/step), denoiser %.3f s, outside %.1f%%\n",
                q.seconds_total, 1e3 * q.seconds_total / plan.size(), q.seconds_denoiser,
                100.0 * (q.seconds_total - q.seconds_denoiser) / q.seconds_total);
    std::printf("  ratio engine/baseline: %.2f (frames) %.2f (no frames); %zu frames\n", r.seconds_total / bare,
                q.seconds_total / bare, frames);
    return 0;
}
