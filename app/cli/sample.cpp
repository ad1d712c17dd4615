// noisetrail-cli sample: run one sampler, write samples (--out) and every step (--dump).
#include "commands.hpp"
#include "progress.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/image_io.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/version.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace noisetrail::cli {

const char* const kSampleHelp = R"(usage: noisetrail-cli sample --model CARD [options]

Sample from a model with DDPM or DDIM and write the results.

  --model CARD          model card (.json)
  --sampler NAME        ddpm (default) or ddim
  --steps S             sampling steps, 1..T (default: T for ddpm, 50 for ddim)
  --eta E               DDIM eta >= 0 (default 0: deterministic)
  --spacing NAME        leading (default), trailing, linspace or quadratic
  --variance NAME       DDPM variance: fixed_small (default) or fixed_large
  --clip-x0 R           clip x0_hat to [-R, R]; 'off' disables (default: R = 1 for
                        image models with a data_range, off otherwise)
  --seed N              random seed for x_T and the sampler noise (default 0)
  --batch B             number of samples (default 16 for images, 1000 otherwise)
  --init-noise FILE     x_T as a float32 .npy of shape [B, *data_shape]
  --device cpu|cuda     where to run (default cpu)
  --threads N           intra-op threads, 1..4x the cores (default: libtorch's choice)
  --out DIR             write the final samples: samples.npy plus samples.png
                        (a grid for images, a scatter for 2-D data)
  --dump DIR            write every step: xt.npy [S+1,B,...], x0_pred.npy and
                        eps_pred.npy [S,B,...], timesteps.npy, stats.csv, meta.json
  --help                this text

Exit codes: 0 success, 2 bad arguments or input files, 3 the run failed.
)";

namespace {

void write_stats_csv(const std::filesystem::path& path, const std::vector<std::shared_ptr<const StepFrame>>& frames)
{
    std::ofstream out(path);
    if (!out)
        throw InputError(path.string() + ": cannot write file");
    out << "step,t,t_prev,alpha_bar,alpha_bar_prev,sigma";
    for (const auto& n : step_stat_names())
        out << ',' << n;
    out << '\n';
    char buf[64];
    const auto num = [&](double v) {
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return std::string(buf);
    };
    for (const auto& f : frames) {
        out << f->step << ',' << f->plan.t << ',' << f->plan.t_prev << ',' << num(f->plan.alpha_bar) << ','
            << num(f->plan.alpha_bar_prev) << ',' << num(f->plan.sigma);
        for (double v : step_stat_values(f->stats))
            out << ',' << num(v);
        out << '\n';
    }
}

/// Concatenate one field of every frame into a [count, B, ...] float32 .npy.
template <typename Field>
void write_stack(const std::filesystem::path& path, const std::vector<std::shared_ptr<const StepFrame>>& frames,
                 const std::vector<std::int64_t>& shape, const std::vector<float>* first, Field field)
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

void write_samples(const std::filesystem::path& dir, const Model& model, const RunResult& r)
{
    const ModelCard& card = model.card();
    write_npy(dir / "samples.npy", r.shape, r.samples.data());
    const int B = static_cast<int>(r.shape[0]);
    if (card.is_image()) {
        const auto& s = card.data_shape;
        const int C = s.size() == 3 ? static_cast<int>(s[0]) : 1;
        const int H = static_cast<int>(s[s.size() - 2]), W = static_cast<int>(s[s.size() - 1]);
        const auto range = card.data_range.value_or(std::array<double, 2>{-1.0, 1.0});
        write_image_grid(dir / "samples.png", r.samples, B, C, H, W, range[0], range[1]);
    } else if (card.is_2d_points()) {
        write_scatter_png(dir / "samples.png", r.samples, B);
    }
}

} // namespace

int cmd_sample(const std::vector<std::string>& argv)
{
    std::set<std::string> valued = kSamplerFlags;
    valued.insert({"--seed", "--batch", "--init-noise", "--threads", "--out", "--dump"});
    const Args args(argv, valued, {"--help"});
    if (args.has("--help")) {
        std::cout << kSampleHelp;
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
    opt.batch = static_cast<int>(batch_flag.value_or(card.is_image() ? 16 : 1000));

    if (const auto file = args.text("--init-noise")) {
        NpyArray a = read_npy_named("--init-noise", *file);
        if (a.dtype != NpyArray::DType::Float32)
            throw InputError("--init-noise " + *file + ": expected float32 (or float64) data, got integers");
        bool ok = a.shape.size() == card.data_shape.size() + 1 && !a.shape.empty() && a.shape[0] >= 1;
        for (std::size_t i = 0; ok && i < card.data_shape.size(); ++i)
            ok = a.shape[i + 1] == card.data_shape[i];
        if (!ok) {
            std::string want = "[B";
            for (auto d : card.data_shape)
                want += ", " + std::to_string(d);
            throw InputError("--init-noise " + *file + ": shape " + a.shape_string() + " does not match " + want +
                             "] (the model's data_shape)");
        }
        if (a.shape[0] > kMaxBatch)
            throw InputError("--init-noise " + *file + ": holds " + std::to_string(a.shape[0]) +
                             " samples, more than the batch limit of " + std::to_string(kMaxBatch));
        if (batch_flag && *batch_flag != a.shape[0])
            std::cerr << "noisetrail-cli: note: --batch " << *batch_flag << " ignored; --init-noise has batch "
                      << a.shape[0] << '\n';
        opt.init_noise = std::move(a.f32);
    }

    // Check the plan and the output folders before any work.
    const SamplingPlan plan = make_plan(model->schedule(), opt.sampler);
    for (const auto& w : plan.warnings)
        std::cerr << "noisetrail-cli: warning: " << w << '\n';
    const auto out_dir = args.text("--out");
    const auto dump_dir = args.text("--dump");
    if (out_dir)
        prepare_output_dir("--out", *out_dir);
    if (dump_dir)
        prepare_output_dir("--dump", *dump_dir);

    std::vector<std::shared_ptr<const StepFrame>> frames;
    Progress progress(plan.size());
    const FrameCallback keep = [&](std::shared_ptr<const StepFrame> f) {
        progress.update(f->step + 1, f->plan.t);
        if (dump_dir)
            frames.push_back(std::move(f));
    };
    const RunResult r = run_sampler(*model, opt, keep);
    progress.finish();

    if (out_dir)
        write_samples(*out_dir, *model, r);
    if (dump_dir) {
        namespace fs = std::filesystem;
        const fs::path d = *dump_dir;
        const auto& shape = r.shape;
        write_stack(d / "xt.npy", frames, shape, &r.x_T, [](const StepFrame& f) -> const auto& { return f.x_prev; });
        write_stack(d / "x0_pred.npy", frames, shape, nullptr, [](const StepFrame& f) -> const auto& { return f.x0_hat; });
        write_stack(d / "eps_pred.npy", frames, shape, nullptr, [](const StepFrame& f) -> const auto& { return f.eps_hat; });
        std::vector<std::int64_t> ts;
        for (const auto& s : r.plan.steps)
            ts.push_back(s.t);
        write_npy(d / "timesteps.npy", {static_cast<std::int64_t>(ts.size())}, ts.data());
        write_stats_csv(d / "stats.csv", frames);

        nlohmann::json meta;
        meta["noisetrail_version"] = NOISETRAIL_VERSION;
        meta["command"] = "sample";
        meta["model_card"] = fs::absolute(card.path).string();
        meta["model"] = nlohmann::json::parse(card.json_text);
        meta["sampler"] = {{"sampler", opt.sampler.sampler},
                           {"steps", r.plan.size()},
                           {"eta", opt.sampler.eta},
                           {"spacing", to_string(opt.sampler.spacing)},
                           {"variance", to_string(opt.sampler.variance)},
                           {"description", describe(opt.sampler, model->schedule().train_steps())}};
        // The radius actually used: the flag's, else the card's default; "off" when none.
        const auto clip = opt.sampler.clip_x0 ? (*opt.sampler.clip_x0 > 0 ? opt.sampler.clip_x0 : std::nullopt)
                                              : card.default_clip();
        meta["sampler"]["clip_x0"] = clip ? nlohmann::json(*clip) : nlohmann::json("off");
        meta["seed"] = opt.seed;
        meta["batch"] = r.shape[0];
        meta["init_noise"] = args.text("--init-noise") ? nlohmann::json(*args.text("--init-noise")) : nlohmann::json(nullptr);
        meta["device"] = model->device();
        meta["threads"] = opt.threads;
        meta["timesteps"] = ts;
        meta["plan_warnings"] = plan.warnings;
        meta["seconds"] = r.seconds_total;
        std::ofstream m(d / "meta.json");
        m << meta.dump(2) << '\n';
        if (!m)
            throw InputError((d / "meta.json").string() + ": cannot write file");
    }
    std::cerr << "noisetrail-cli: " << describe(opt.sampler, model->schedule().train_steps()) << ", batch "
              << r.shape[0] << ": " << r.seconds_total << " s";
    if (out_dir)
        std::cerr << ", samples in " << *out_dir;
    if (dump_dir)
        std::cerr << ", steps in " << *dump_dir;
    std::cerr << '\n';
    return 0;
}

} // namespace noisetrail::cli
