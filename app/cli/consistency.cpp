// noisetrail-cli consistency: one x_T, each sampler at several step counts
// (DDIM paper sec. 5.2, Fig. 5), plus "early stop is not fewer steps": x0_hat
// after k steps of the longest run beside the k-step run's samples.
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/experiments.hpp"
#include "noisetrail/npy.hpp"

#include <iostream>

namespace noisetrail::cli {

const char* const kConsistencyHelp = R"(usage: noisetrail-cli consistency --model CARD --out DIR [options]

Consistency across step counts (DDIM paper sec. 5.2): the same x_T sampled by
each sampler at every S of --steps; the number is the mean distance of each
S's samples to the largest S's samples of the same sampler (classifier
features for images, coordinates for 2-D data). DDIM (eta 0) keeps the
high-level sample whatever S; DDPM does not. The same runs give the early-stop
comparison: x0_hat after k steps of the longest run (a preview) against the
final samples of a k-step run.

  --model CARD          model card (.json)
  --out DIR             writes consistency.csv (sampler,steps,mean_distance,space),
                        early_stop.csv (sampler,k,preview_t,preview_distance; the
                        sampler is the longest run, its preview at step k set beside
                        the k-step run's samples), samplers as NAME:STEPS[:ETA],
                        consistency.png, early_stop.png, xT.npy and
                        samples.npy [samplers, steps, B, *data_shape]
  --samplers LIST       sampler names, each NAME[:0[:ETA]] (default ddim,ddpm);
                        their steps come from --steps
  --steps LIST          step counts, ascending (default 10,20,50,100,1000)
  --batch B             samples (default 8 for images, 100 otherwise)
  --seed N              x_T and the samplers' noise (default 0)
  --init-noise FILE     x_T as a float32 .npy [B, *data_shape]
  --classifier CARD     image models: the feature network (default:
                        mnist-classifier.json in the model card's folder)
)" NOISETRAIL_HELP_SAMPLER_SETTINGS NOISETRAIL_HELP_DEVICE_THREADS R"(
)" NOISETRAIL_HELP_EXIT_CODES;

namespace fs = std::filesystem;
namespace ex = experiments;

int cmd_consistency(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--out", "--samplers", "--steps", "--batch", "--seed", "--init-noise", "--classifier",
                     "--spacing", "--variance", "--clip-x0", "--device", "--threads"},
                    {"--help"});
    if (print_help(args, kConsistencyHelp))
        return 0;
    const std::string out_flag = required_text(args, "--out", "DIR");
    ex::ConsistencyOptions opt;
    opt.samplers = experiments::parse_sampler_list(args.text("--samplers").value_or("ddim,ddpm"),
                                                   sampler_settings_from(args), "--samplers");
    opt.seed = seed_from(args);
    opt.threads = threads_from(args);
    if (const auto c = args.text("--classifier"))
        opt.classifier = *c;
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int T = model->schedule().train_steps();
    opt.steps = parse_int_list("--steps", args.text("--steps").value_or("10,20,50,100,1000"), 1, T);
    if (!std::is_sorted(opt.steps.begin(), opt.steps.end()) ||
        std::adjacent_find(opt.steps.begin(), opt.steps.end()) != opt.steps.end())
        throw InputError("--steps: the step counts must be distinct and ascending");
    opt.batch = static_cast<int>(args.integer("--batch", 1, 100000).value_or(card.is_image() ? 8 : 100));
    if (const auto f = args.text("--init-noise")) {
        NpyArray a = read_npy(*f);
        const std::size_t D = static_cast<std::size_t>(card.data_dim());
        if (a.dtype != NpyArray::DType::Float32 || a.shape.size() != card.data_shape.size() + 1 || a.f32.empty() ||
            a.f32.size() % D != 0)
            throw InputError("--init-noise " + *f + ": expected float32 [B, *data_shape], got " + a.shape_string());
        opt.init_noise = std::move(a.f32);
    }
    for (SamplerConfig& c : opt.samplers) {
        c.steps = opt.steps.front();
        validate(c, T);
    }
    StagedFolder out_stage(out_flag, "--out", {"xT.npy", "samples.npy", "consistency.csv", "early_stop.csv", "consistency.png", "early_stop.png"}); // swapped in whole (docs/CLI.md)
    const fs::path out = out_stage.path();

    int total = 0;
    for (int s : opt.steps)
        total += s;
    Progress progress(total * static_cast<int>(opt.samplers.size()), "sampling");
    const ex::Consistency r =
        ex::consistency(*model, opt, [&](const ex::Progress& p) { progress.update(p.done, 0); });
    progress.finish();

    write_npy(out / "xT.npy", r.shape, r.x_T.data());
    std::vector<float> all;
    for (const auto& v : r.samples)
        for (const auto& s : v)
            all.insert(all.end(), s.begin(), s.end());
    std::vector<std::int64_t> shape = r.shape;
    shape.insert(shape.begin(), {static_cast<std::int64_t>(r.samples.size()), static_cast<std::int64_t>(r.steps.size())});
    write_npy(out / "samples.npy", shape, all.data());
    // The tables and figures as core describes them: the GUI's Experiments view shows the same.
    write_report(out, ex::consistency_report(*model, r));
    for (std::size_t v = 0; v < r.samples.size(); ++v) {
        std::cerr << "noisetrail-cli consistency: " << sampler_label(opt.samplers[v], std::nullopt)
                  << " mean distance to S=" << r.steps.back() << ":";
        for (std::size_t i = 0; i < r.steps.size(); ++i)
            std::cerr << " S=" << r.steps[i] << " " << num(r.distance[v][i], "%.4g");
        std::cerr << '\n';
    }
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli consistency: batch " << r.shape[0] << " ("
              << (r.space == ex::DistanceSpace::ClassifierFeatures ? "classifier_features" : "coordinates")
              << "), files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
