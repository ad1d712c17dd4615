// Run-set benchmark (issue 8): what lockstep pacing and merged denoiser calls cost.
// Prints, in one run, side by side:
//   1. DDPM 1000 alone vs lockstep DDPM 1000 + DDIM 50 on the digit UNet, batch 16
//      (the GUI's default comparison; target ratio <= 1.1);
//   2. four DDIM 50 panels (eta 0, 0.2, 0.5, 1) as one run set vs one after another;
//   3. merged vs separate denoiser calls: pairs of (one call at batch 2B) and (two
//      calls at batch B), and whole run sets with MergePolicy::Always vs Never,
//      for the UNet (B = 16), ring8 (B = 64, 1000, 4096), the two-moons MLP (B = 1000) and the
//      500-digit exact card (B = 16). These figures decide MergePolicy::Auto.
// Timings alternate the compared variants so machine load hits both alike.
//
// usage: noisetrail-bench-runset [--quick] [--repeats N] [--pairs N] [--threads N]
//   --quick: DDPM 200 + DDIM 10 in part 1 (same 20:1 step ratio) and DDIM 10 panels in 2-3.
#include "denoiser.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run_set.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace noisetrail;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(const std::function<void()>& f)
{
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string card_path(const char* name)
{
    return std::string(NOISETRAIL_SOURCE_DIR) + "/models/" + name;
}

SamplerConfig config(const std::string& sampler, int steps, double eta = 0.0)
{
    SamplerConfig c;
    c.sampler = sampler;
    c.steps = steps;
    c.eta = eta;
    return c;
}

/// A run set of `configs` on one model (shared x_T from the seed), stepped to the end.
struct SetResult {
    double seconds = 0;
    int ticks = 0, calls = 0, merges = 0;
};

SetResult run_set(const std::shared_ptr<Model>& model, const std::vector<SamplerConfig>& configs, int batch,
                  Pacing pacing, MergePolicy merge, int threads)
{
    std::vector<std::shared_ptr<Run>> runs;
    for (const auto& c : configs) {
        RunOptions o;
        o.sampler = c;
        o.batch = batch;
        o.seed = 1;
        o.threads = threads;
        runs.push_back(std::make_shared<Run>(model, o));
    }
    RunSet set(std::move(runs), pacing, merge);
    SetResult r;
    r.seconds = seconds([&] {
        while (!set.done())
            (void)set.tick();
    });
    r.ticks = set.ticks();
    r.calls = set.denoiser_calls();
    r.merges = set.merges();
    return r;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Pairs of (one predict at batch 2B) vs (two predicts at batch B) at mid-schedule t.
void merge_pairs(const char* label, const std::shared_ptr<Model>& model, int B, int pairs)
{
    c10::InferenceMode guard;
    std::vector<std::int64_t> shape{2 * B};
    shape.insert(shape.end(), model->card().data_shape.begin(), model->card().data_shape.end());
    const at::Tensor x2 = at::randn(shape, at::kDouble);
    const auto halves = x2.split(B, 0);
    const at::Tensor a = halves[0].contiguous(), b = halves[1].contiguous();
    noisetrail::detail::Denoiser& d = model->denoiser();
    const int t = 500;
    (void)d.predict(x2, t); // warm-up
    std::vector<double> ratios;
    for (int i = 0; i < pairs; ++i) {
        const double merged = seconds([&] { (void)d.predict(x2, t); });
        const double separate = seconds([&] {
            (void)d.predict(a, t);
            (void)d.predict(b, t);
        });
        ratios.push_back(merged / separate);
    }
    std::printf("  %-28s one call at batch %5d / two at %5d: median %.2f (%.2f-%.2f, %d pairs)\n", label, 2 * B, B,
                median(ratios), *std::min_element(ratios.begin(), ratios.end()),
                *std::max_element(ratios.begin(), ratios.end()), pairs);
}

void merge_sets(const char* label, const std::shared_ptr<Model>& model, int B, int steps, int repeats, int threads)
{
    const std::vector<SamplerConfig> two{config("ddim", steps, 0.0), config("ddim", steps, 1.0)};
    std::vector<double> always, never;
    SetResult ra, rn;
    for (int i = 0; i < repeats; ++i) {
        ra = run_set(model, two, B, Pacing::Lockstep, MergePolicy::Always, threads);
        rn = run_set(model, two, B, Pacing::Lockstep, MergePolicy::Never, threads);
        always.push_back(ra.seconds);
        never.push_back(rn.seconds);
    }
    std::printf("  %-28s 2 x DDIM %d, batch %d: merged %.3f s (%d calls), separate %.3f s (%d calls), ratio %.2f\n",
                label, steps, B, median(always), ra.calls, median(never), rn.calls, median(always) / median(never));
}

} // namespace

int main(int argc, char** argv)
{
    bool quick = false;
    int repeats = 3, pairs = 25, threads = 0;
    for (int i = 1; i < argc; ++i) {
        const auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
        if (!std::strcmp(argv[i], "--quick"))
            quick = true;
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::max(1, next());
        else if (!std::strcmp(argv[i], "--pairs"))
            pairs = std::max(1, next());
        else if (!std::strcmp(argv[i], "--threads"))
            threads = next();
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--repeats N] [--pairs N] [--threads N]\n", argv[0]);
            return 2;
        }
    }
    if (threads > 0)
        at::set_num_threads(threads);
    const int ddpm_steps = quick ? 200 : 1000, ddim_steps = quick ? 10 : 50;
    const auto unet = Model::load(card_path("mnist-unet.json"));
    const auto ring = Model::load(card_path("ring8.json"));
    const auto mlp = Model::load(card_path("two-moons-mlp.json"));
    const auto digits = Model::load(card_path("mnist-500-exact.json"));
    std::printf("noisetrail run-set benchmark, %d intra-op threads, %d repeats (medians)%s\n", at::get_num_threads(),
                repeats, quick ? ", --quick" : "");

    // 1. The default comparison under lockstep vs DDPM alone.
    {
        std::vector<double> alone, both;
        SetResult rb;
        for (int i = 0; i < repeats; ++i) {
            alone.push_back(run_set(unet, {config("ddpm", ddpm_steps)}, 16, Pacing::Lockstep, MergePolicy::Auto,
                                    threads).seconds);
            rb = run_set(unet, {config("ddpm", ddpm_steps), config("ddim", ddim_steps)}, 16, Pacing::Lockstep,
                         MergePolicy::Auto, threads);
            both.push_back(rb.seconds);
        }
        std::printf("1. digit UNet, batch 16: DDPM %d alone %.2f s; lockstep DDPM %d + DDIM %d %.2f s "
                    "(%d ticks, %d calls, %d shared); ratio %.3f (target <= 1.1)\n",
                    ddpm_steps, median(alone), ddpm_steps, ddim_steps, median(both), rb.ticks, rb.calls, rb.merges,
                    median(both) / median(alone));
    }
    // 2. Four DDIM panels in one set vs one after another.
    {
        std::vector<SamplerConfig> four;
        for (double eta : {0.0, 0.2, 0.5, 1.0})
            four.push_back(config("ddim", ddim_steps, eta));
        std::vector<double> set_s, seq_s;
        SetResult rs;
        for (int i = 0; i < repeats; ++i) {
            rs = run_set(unet, four, 16, Pacing::Lockstep, MergePolicy::Auto, threads);
            set_s.push_back(rs.seconds);
            double seq = 0;
            for (const auto& c : four)
                seq += run_set(unet, {c}, 16, Pacing::Lockstep, MergePolicy::Auto, threads).seconds;
            seq_s.push_back(seq);
        }
        std::printf("2. digit UNet, batch 16: 4 x DDIM %d (eta 0, 0.2, 0.5, 1) lockstep set %.2f s (%d calls, %d "
                    "shared); one after another %.2f s; ratio %.3f (target <= 1)\n",
                    ddim_steps, median(set_s), rs.calls, rs.merges, median(seq_s), median(set_s) / median(seq_s));
    }
    // 3. Merging: per call, and whole run sets.
    std::printf("3. merged vs separate denoiser calls (ratio < 1: merging pays)\n");
    merge_pairs("digit UNet", unet, 16, pairs);
    merge_pairs("ring8 (exact mixture)", ring, 64, pairs);
    merge_pairs("ring8 (exact mixture)", ring, 1000, pairs);
    merge_pairs("ring8 (exact mixture)", ring, 4096, pairs);
    merge_pairs("two-moons MLP", mlp, 1000, pairs);
    merge_pairs("500 digits (exact)", digits, 16, pairs);
    merge_sets("digit UNet", unet, 16, ddim_steps, repeats, threads);
    merge_sets("ring8 (exact mixture)", ring, 64, ddim_steps, repeats, threads);
    merge_sets("ring8 (exact mixture)", ring, 4096, ddim_steps, repeats, threads);
    merge_sets("two-moons MLP", mlp, 1000, ddim_steps, repeats, threads);
    merge_sets("500 digits (exact)", digits, 16, ddim_steps, repeats, threads);
    return 0;
}
