// noisetrail-cli interpolate: slerp between two starting noises, each point
// decoded with each sampler (DDIM paper sec. 5.3, Fig. 6; slerp from App. D).
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/experiments.hpp"
#include "noisetrail/npy.hpp"

#include <iostream>

namespace noisetrail::cli {

const char* const kInterpolateHelp = R"(usage: noisetrail-cli interpolate --model CARD --out DIR [options]

Interpolate in x_T (DDIM paper sec. 5.3): two starting noises z0, z1, the
spherical interpolation slerp(z0, z1, a) = sin((1-a) theta)/sin theta z0 +
sin(a theta)/sin theta z1 at a = 0, 1/(k-1), .., 1, and each point decoded with
each sampler. DDIM (eta 0) morphs smoothly; DDPM's own noise makes a jumble.

  --model CARD          model card (.json)
  --out DIR             writes interpolation.png (a strip per sampler), xT.npy
                        [k, *data_shape], samples.npy [samplers, k, *data_shape] and
                        interpolation.csv (sampler,index,alpha,xt_norm,change: sampler as
                        NAME:STEPS[:ETA], change the RMS
                        change per dimension from the previous point's sample)
  --samplers LIST       NAME[:STEPS[:ETA]],.. (default ddim:50,ddpm:1000)
  --points K            points on the path, 2..1000 (default 10)
  --seed N              z0, z1 = the first two noises of this seed; also the
                        samplers' noise (default 0)
  --noise FILE.npy      z0, z1 as a float32 [2, *data_shape] file instead
)" NOISETRAIL_HELP_SAMPLER_SETTINGS NOISETRAIL_HELP_DEVICE_THREADS R"(
)" NOISETRAIL_HELP_EXIT_CODES;

namespace fs = std::filesystem;
namespace ex = experiments;

int cmd_interpolate(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--out", "--samplers", "--points", "--seed", "--noise", "--spacing", "--variance",
                     "--clip-x0", "--device", "--threads"},
                    {"--help"});
    if (print_help(args, kInterpolateHelp))
        return 0;
    const std::string out_flag = required_text(args, "--out", "DIR");
    ex::InterpolationOptions opt;
    opt.points = static_cast<int>(args.integer("--points", 2, 1000).value_or(10));
    opt.seed = seed_from(args);
    opt.threads = threads_from(args);
    const SamplerConfig base = sampler_settings_from(args);
    opt.samplers = experiments::parse_sampler_list(args.text("--samplers").value_or("ddim:50,ddpm:1000"), base, "--samplers");
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int T = model->schedule().train_steps();
    for (const SamplerConfig& c : opt.samplers)
        validate(c, T);
    const std::size_t D = static_cast<std::size_t>(card.data_dim());
    std::vector<float> z;
    if (const auto f = args.text("--noise")) {
        NpyArray a = read_npy(*f);
        if (a.dtype != NpyArray::DType::Float32 || a.shape.empty() || a.shape[0] != 2 ||
            static_cast<std::size_t>(a.numel()) != 2 * D)
            throw InputError("--noise " + *f + ": expected float32 [2, *data_shape] (" + std::to_string(2 * D) +
                             " values), got " + a.shape_string());
        z = std::move(a.f32);
    } else {
        z = initial_noise(card.data_shape, 2, opt.seed);
    }
    StagedFolder out_stage(out_flag, "--out", {"xT.npy", "samples.npy", "interpolation.csv", "interpolation.png"}); // swapped in whole (docs/CLI.md)
    const fs::path out = out_stage.path();

    int total = 0;
    for (const SamplerConfig& c : opt.samplers)
        total += resolved_steps(c, T);
    Progress progress(total, "decoding");
    const ex::Interpolation r =
        ex::interpolate(*model, std::span<const float>(z.data(), D), std::span<const float>(z.data() + D, D), opt,
                        [&](const ex::Progress& p) { progress.update(p.done, 0); });
    progress.finish();

    const int k = opt.points;
    std::vector<std::int64_t> shape = r.shape;
    write_npy(out / "xT.npy", shape, r.x_T.data());
    std::vector<float> all;
    for (const auto& s : r.samples)
        all.insert(all.end(), s.begin(), s.end());
    shape.insert(shape.begin(), static_cast<std::int64_t>(r.samples.size()));
    write_npy(out / "samples.npy", shape, all.data());
    // The table and figure as core describes them: the GUI's Experiments view shows the same.
    write_report(out, ex::interpolation_report(*model, r));
    for (std::size_t s = 0; s < r.samples.size(); ++s) {
        double total_change = 0;
        for (double c : ex::neighbour_change(r.samples[s], k))
            total_change += c;
        std::cerr << "noisetrail-cli interpolate: " << describe(opt.samplers[s], T)
                  << ": mean RMS change between neighbours " << total_change / (k - 1) << '\n';
    }
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli interpolate: " << k << " points, files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
