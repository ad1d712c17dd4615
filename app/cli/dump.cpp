#include "dump.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/fields.hpp"
#include "noisetrail/image_io.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/straightness.hpp"
#include "noisetrail/version.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace noisetrail::cli {

const std::vector<std::string> kDumpNames{"xt.npy",         "x0_pred.npy",  "eps_pred.npy", "timesteps.npy",
                                          "stats.csv",      "meta.json",    "assignment.npy", "decision.csv",
                                          "x0_cond.npy",    "x0_uncond.npy"};
const std::vector<std::string> kSamplesNames{"samples.npy", "samples.png"};

namespace {

/// `ode_error`: one per frame, or empty where the column does not apply (has_exact_ode).
void write_stats_csv(const std::filesystem::path& path, const Frames& frames, const std::vector<double>& ode_error)
{
    std::ostringstream out;
    out << "step,t,t_prev,alpha_bar,alpha_bar_prev,sigma";
    for (const auto& n : step_stat_names())
        out << ',' << n;
    out << ",model_calls";
    if (!ode_error.empty())
        out << ',' << kOdeErrorColumn;
    out << '\n';
    char buf[64];
    const auto num = [&](double v) {
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return std::string(buf);
    };
    for (std::size_t k = 0; k < frames.size(); ++k) {
        const auto& f = frames[k];
        out << f->step << ',' << f->plan.t << ',' << f->plan.t_prev << ',' << num(f->plan.alpha_bar) << ','
            << num(f->plan.alpha_bar_prev) << ',' << num(f->plan.sigma);
        for (double v : step_stat_values(f->stats))
            out << ',' << num(v);
        out << ',' << f->model_calls;
        if (!ode_error.empty())
            out << ',' << num(k < ode_error.size() ? ode_error[k] : std::nan(""));
        out << '\n';
    }
    write_file_atomic(path, out.str());
}

/// Concatenate one field of every frame into a [count, B, ...] float32 .npy.
template <typename Field>
void write_stack(const std::filesystem::path& path, const Frames& frames, const std::vector<std::int64_t>& shape,
                 const std::vector<float>* first, Field field)
{
    std::vector<float> all;
    if (first)
        all.insert(all.end(), first->begin(), first->end());
    for (const auto& f : frames) {
        const std::vector<float>& v = field(*f);
        all.insert(all.end(), v.begin(), v.end());
    }
    std::vector<std::int64_t> s{static_cast<std::int64_t>(frames.size() + (first ? 1 : 0))};
    s.insert(s.end(), shape.begin(), shape.end());
    write_npy(path, s, all.data());
}

} // namespace

void write_dump(const std::filesystem::path& d, const Run& run, const Frames& frames, const DumpMeta& info)
{
    const Model& model = *run.model();
    const ModelCard& card = model.card();
    const RunOptions& opt = run.options();
    const auto& shape = run.shape();
    write_stack(d / "xt.npy", frames, shape, &run.x_T(), [](const StepFrame& f) -> const auto& { return f.x_prev; });
    write_stack(d / "x0_pred.npy", frames, shape, nullptr, [](const StepFrame& f) -> const auto& { return f.x0_hat; });
    write_stack(d / "eps_pred.npy", frames, shape, nullptr, [](const StepFrame& f) -> const auto& { return f.eps_hat; });
    // A guided run (contract section 9): the two predictions it mixed, as x0_hat.
    if (is_guided(opt.sampler) && !frames.empty()) {
        write_stack(d / "x0_cond.npy", frames, shape, nullptr, [](const StepFrame& f) -> const auto& { return f.x0_cond; });
        write_stack(d / "x0_uncond.npy", frames, shape, nullptr,
                    [](const StepFrame& f) -> const auto& { return f.x0_uncond; });
    }
    // VP: int64 t; flow: float64 s (contract section 8).
    const bool flow = model.schedule().process() == ProcessKind::Flow;
    std::vector<std::int64_t> ts;
    std::vector<double> levels;
    for (const auto& s : run.plan().steps) {
        ts.push_back(s.t);
        levels.push_back(noise_level(s));
    }
    if (flow)
        write_npy(d / "timesteps.npy", {static_cast<std::int64_t>(levels.size())}, levels.data());
    else
        write_npy(d / "timesteps.npy", {static_cast<std::int64_t>(ts.size())}, ts.data());
    // Exact cards, deterministic samplers: the distance from the exact ODE path (contract
    // section 10), computed here only, where the column is written: runs without --dump
    // never pay for the reference integration.
    write_stats_csv(d / "stats.csv", frames, ode_errors(run, frames));
    write_decision_dump(d, model, frames);

    nlohmann::json meta;
    meta["noisetrail_version"] = NOISETRAIL_VERSION;
    meta["command"] = info.command;
    meta["model_card"] = std::filesystem::absolute(card.path).string();
    meta["model_fingerprint"] = run.recipe().fingerprint;
    meta["model"] = nlohmann::json::parse(card.json_text);
    meta["sampler"] = {{"sampler", opt.sampler.sampler},
                       {"steps", run.plan().size()},
                       {"eta", opt.sampler.eta},
                       {"spacing", to_string(resolved_spacing(opt.sampler))},
                       {"variance", to_string(opt.sampler.variance)},
                       {"description", describe(opt.sampler, model.schedule().train_steps(), model.schedule().process())}};
    const double clip = *run.recipe().sampler.clip_x0; // resolved: the radius used, 0 when off
    meta["sampler"]["clip_x0"] = clip > 0 ? nlohmann::json(clip) : nlohmann::json(nullptr);
    if (card.is_conditional()) {
        const Guidance& g = opt.sampler.guidance;
        meta["sampler"]["classes"] = g.classes;
        meta["sampler"]["guidance"] = guidance_scale(opt.sampler);
        meta["sampler"]["guidance_interval"] =
            g.interval ? nlohmann::json{(*g.interval)[0], (*g.interval)[1]} : nlohmann::json(nullptr);
    }
    meta["seed"] = opt.seed;
    meta["batch"] = shape[0];
    meta["init_noise"] = info.init_noise ? nlohmann::json(*info.init_noise) : nlohmann::json(nullptr);
    meta["device"] = model.device();
    meta["threads"] = opt.threads;
    meta["timesteps"] = flow ? nlohmann::json(levels) : nlohmann::json(ts);
    meta["process"] = to_string(model.schedule().process());
    meta["plan_warnings"] = run.plan().warnings;
    meta["seconds"] = info.seconds;
    StraightnessMeter straightness;
    for (const auto& f : frames)
        straightness.add(*f);
    meta["straightness"] = straightness.value(); // Liu et al. 2023, eq. 4 (straightness.hpp)
    for (const auto& [k, v] : info.extra.items())
        meta[k] = v;
    write_file_atomic(d / "meta.json", meta.dump(2) + "\n");
}

void write_samples(const std::filesystem::path& dir, const Model& model, const std::vector<std::int64_t>& shape,
                   const std::vector<float>& samples)
{
    const ModelCard& card = model.card();
    write_npy(dir / "samples.npy", shape, samples.data());
    const int B = static_cast<int>(shape[0]);
    if (card.is_image()) {
        const auto& s = card.data_shape;
        const int C = s.size() == 3 ? static_cast<int>(s[0]) : 1;
        const int H = static_cast<int>(s[s.size() - 2]), W = static_cast<int>(s[s.size() - 1]);
        const auto range = card.data_range.value_or(std::array<double, 2>{-1.0, 1.0});
        write_image_grid(dir / "samples.png", samples, B, C, H, W, range[0], range[1]);
    } else if (card.is_2d_points()) {
        write_scatter_png(dir / "samples.png", samples, B);
    }
}

} // namespace noisetrail::cli
