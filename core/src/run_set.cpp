#include "noisetrail/run_set.hpp"

#include "run_impl.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/noise_axis.hpp"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

namespace noisetrail {

// to_string and parse_pacing: config_names.cpp (torch-free, beside the other option names).

// Merge policy. MergePolicy::Auto merges where Denoiser::merging_pays(rows) says so,
// decided by measurement (bench/bench_run_set.cpp, 25 pairs of one call at 2B rows vs
// two calls at B, and whole 2 x DDIM 50 sets; this 2-core CPU, 1 intra-op thread,
// loaded by other builds, so the figures are rough):
//   digit UNet, B = 16           pairs 1.37 (1.08-1.99), sets 1.25  -> not on the CPU
//   two-moons MLP, B = 1000      pairs 0.96 (0.56-1.89), sets 1.00  -> not on the CPU
//   ring8 mixture, B = 64        pairs 0.72,             sets 0.48  -> merge
//                  B = 1000      pairs 0.96                          -> neutral
//                  B = 4096      pairs 1.03 (0.12-5.79), sets 1.16  -> not (merged rows > 2048)
//   500 digits (empirical), B=16 pairs 0.60 (0.15-2.15), sets 0.51  -> merge
// (ratio < 1: merging pays). Networks on a GPU (native or TorchScript) merge: a larger
// batch fills the device better (not measured here: no GPU on this machine).
// Merging never changes the samples of the analytic models (row-wise arithmetic;
// tests/core/tst_run_set.cpp); a float32 network may differ by rounding.
// Heun's second evaluation happens inside its step, at t_prev, and is never
// merged: only the first evaluation of the runs a tick advances is shared.
struct RunSet::Impl {
    std::vector<std::shared_ptr<Run>> runs;
    Pacing pacing = Pacing::Lockstep;
    MergePolicy merge = MergePolicy::Auto;
    int ticks = 0;
    int denoiser_calls = 0;
    int merges = 0;

    bool should_merge(const Model& m, std::int64_t merged_batch) const
    {
        return merge == MergePolicy::Always ||
               (merge == MergePolicy::Auto && m.denoiser().merging_pays(merged_batch));
    }
};

RunSet::RunSet(std::vector<std::shared_ptr<Run>> runs, Pacing pacing, MergePolicy merge)
    : impl_(std::make_unique<Impl>())
{
    if (runs.empty())
        throw InputError("a run set needs at least one run");
    for (const auto& r : runs)
        if (!r)
            throw InputError("a run set cannot hold a null run");
    impl_->runs = std::move(runs);
    impl_->pacing = pacing;
    impl_->merge = merge;
}

RunSet::~RunSet() = default;
RunSet::RunSet(RunSet&&) noexcept = default;
RunSet& RunSet::operator=(RunSet&&) noexcept = default;

int RunSet::size() const { return static_cast<int>(impl_->runs.size()); }
Run& RunSet::run(int i) { return *impl_->runs.at(i); }
const Run& RunSet::run(int i) const { return *impl_->runs.at(i); }
const std::shared_ptr<Run>& RunSet::run_ptr(int i) const { return impl_->runs.at(i); }
Pacing RunSet::pacing() const { return impl_->pacing; }
MergePolicy RunSet::merge_policy() const { return impl_->merge; }
int RunSet::ticks() const { return impl_->ticks; }
int RunSet::denoiser_calls() const { return impl_->denoiser_calls; }
int RunSet::merges() const { return impl_->merges; }

bool RunSet::done() const
{
    return std::all_of(impl_->runs.begin(), impl_->runs.end(), [](const auto& r) { return r->done(); });
}

std::vector<int> RunSet::next_panels() const
{
    const auto& runs = impl_->runs;
    std::vector<int> out;
    switch (impl_->pacing) {
    case Pacing::Lockstep: {
        // The highest pending noise level goes next: no panel ever runs ahead in noise level.
        // Levels compare on the shared noise axis (noise_axis.hpp): flow panels beside VP ones
        // meet at equal SNR; among VP panels it is their t.
        std::vector<const NoiseSchedule*> schedules;
        for (const auto& r : runs)
            schedules.push_back(&r->model()->schedule());
        const NoiseSchedule& reference = *axis_reference(schedules);
        const auto level = [&](int i) {
            const int t = runs[i]->next_t();
            return t < 0 ? -1 : axis_t(*schedules[std::size_t(i)], t, reference);
        };
        int t_max = -1;
        for (int i = 0; i < size(); ++i)
            t_max = std::max(t_max, level(i));
        if (t_max < 0)
            break;
        for (int i = 0; i < size(); ++i)
            if (level(i) == t_max)
                out.push_back(i);
        break;
    }
    case Pacing::Realtime:
        for (int i = 0; i < size(); ++i)
            if (!runs[i]->done())
                out.push_back(i);
        break;
    case Pacing::Sequential:
        for (int i = 0; i < size(); ++i)
            if (!runs[i]->done()) {
                out.push_back(i);
                break;
            }
        break;
    }
    return out;
}

std::vector<TickFrame> RunSet::tick()
{
    const std::vector<int> panels = next_panels();
    if (panels.empty())
        throw std::logic_error("RunSet::tick: every run is done");
    c10::InferenceMode guard;
    auto& runs = impl_->runs;

    // Group the panels due now by model object; a group that merges gets one call.
    std::map<int, at::Tensor> shared_out; // panel -> its rows of a merged call
    std::vector<bool> grouped(runs.size(), false);
    for (std::size_t a = 0; a < panels.size(); ++a) {
        const int i = panels[a];
        if (grouped[i])
            continue;
        const Model& m = *runs[i]->model();
        // A guided run evaluates twice per step in its own call_model: never merged.
        if (impl_->merge == MergePolicy::Never || !runs[i]->impl_->mergeable())
            continue;
        std::vector<int> group{i};
        std::int64_t rows = runs[i]->shape()[0];
        for (std::size_t b = a + 1; b < panels.size(); ++b)
            if (runs[panels[b]]->model().get() == &m && runs[panels[b]]->impl_->mergeable()) {
                group.push_back(panels[b]);
                rows += runs[panels[b]]->shape()[0];
            }
        if (group.size() < 2 || !impl_->should_merge(m, rows))
            continue;
        std::vector<at::Tensor> xs, ts, cs;
        std::vector<std::int64_t> sizes;
        for (int g : group) {
            Run::Impl& r = *runs[g]->impl_;
            xs.push_back(r.x);
            ts.push_back(detail::time_input(r.shape[0], r.current()));
            if (r.classes.defined()) // one model: every run of the group is conditional, or none
                cs.push_back(r.classes);
            sizes.push_back(r.shape[0]);
            grouped[g] = true;
        }
        Run::Impl& first = *runs[i]->impl_;
        first.apply_threads();
        const auto t0 = std::chrono::steady_clock::now();
        at::Tensor out;
        try {
            out = m.denoiser().predict(at::cat(xs, 0), at::cat(ts, 0), cs.empty() ? at::Tensor() : at::cat(cs, 0));
        } catch (const InputError&) {
            throw;
        } catch (const std::exception& e) {
            first.model_failed(e);
        }
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::vector<at::Tensor> parts = out.split_with_sizes(sizes, 0);
        const double total = static_cast<double>(out.size(0));
        for (std::size_t k = 0; k < group.size(); ++k) {
            Run::Impl& r = *runs[group[k]]->impl_;
            r.seconds_denoiser += dt * sizes[k] / total; // the shared call's time, split by batch
            ++r.model_calls;
            shared_out[group[k]] = parts[k];
        }
        ++impl_->denoiser_calls;
        ++impl_->merges;
    }

    std::vector<TickFrame> frames;
    for (int i : panels) {
        Run::Impl& r = *runs[i]->impl_;
        r.apply_threads();
        at::Tensor out;
        if (const auto it = shared_out.find(i); it != shared_out.end()) {
            out = it->second;
        } else {
            out = r.call_model(r.x, detail::time_input(r.shape[0], r.current()), true);
            ++impl_->denoiser_calls;
        }
        const int calls_mid = r.model_calls;
        frames.push_back({i, r.finish_step(out, true)});
        impl_->denoiser_calls += r.model_calls - calls_mid; // evaluations within the step (Heun)
    }
    ++impl_->ticks;
    return frames;
}

} // namespace noisetrail
