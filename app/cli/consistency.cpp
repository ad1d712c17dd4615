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

namespace {

namespace fs = std::filesystem;
namespace ex = experiments;

std::string upper(std::string s)
{
    for (char& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

void write_consistency_images(const fs::path& path, const ModelCard& card, const ex::Consistency& r,
                              const std::vector<std::string>& names)
{
    const ImageGeometry g = image_geometry(card);
    const int B = std::min<int>(static_cast<int>(r.shape[0]), 8), zoom = 2, gap = 5, label_w = 260;
    const int tw = g.W * zoom, th = g.H * zoom, S = static_cast<int>(r.steps.size());
    const int V = static_cast<int>(r.samples.size()), block = S * (th + gap) + 16;
    Canvas cv(label_w + B * (tw + gap) + gap, V * block + gap);
    const std::size_t D = g.size();
    for (int v = 0; v < V; ++v)
        for (int i = 0; i < S; ++i) {
            const int y = gap + v * block + i * (th + gap);
            cv.text(gap, y + th / 2 - 7, names[v] + " " + std::to_string(r.steps[i]), palette(v == 0 ? 0 : 4), 2);
            cv.text(gap + 150, y + th / 2 - 4, "D " + num(r.distance[v][i], "%.3g"), {90, 90, 90}, 1);
            for (int b = 0; b < B; ++b)
                draw_image(cv, label_w + b * (tw + gap), y, r.samples[v][i].data() + b * D, g, zoom, g.lo, g.hi);
        }
    cv.save(path);
}

void write_early_stop_images(const fs::path& path, const ModelCard& card, const ex::Consistency& r,
                             const std::vector<std::string>& names)
{
    const ImageGeometry g = image_geometry(card);
    const int B = std::min<int>(static_cast<int>(r.shape[0]), 8), zoom = 2, gap = 5, label_w = 300;
    const int tw = g.W * zoom, th = g.H * zoom, K = static_cast<int>(r.steps.size()) - 1;
    const int V = static_cast<int>(r.samples.size()), block = 2 * K * (th + gap) + 16;
    Canvas cv(label_w + B * (tw + gap) + gap, std::max(1, V * block) + gap);
    const std::size_t D = g.size();
    const int longest = r.steps.back();
    for (int v = 0; v < V; ++v)
        for (int i = 0; i < K; ++i)
            for (int pass = 0; pass < 2; ++pass) {
                const int y = gap + v * block + (2 * i + pass) * (th + gap);
                const std::string label =
                    pass == 0 ? names[v] + " " + std::to_string(r.steps[i]) + "/" + std::to_string(longest) + " X0_HAT"
                              : names[v] + " " + std::to_string(r.steps[i]) + " STEPS";
                cv.text(gap, y + th / 2 - 7, label, pass == 0 ? Canvas::Color{120, 120, 120} : palette(v == 0 ? 0 : 4), 2);
                if (pass == 0)
                    cv.text(gap, y + th / 2 + 9, "T = " + std::to_string(r.preview_t[v][i]), {120, 120, 120}, 1);
                const auto& imgs = pass == 0 ? r.previews[v][i] : r.samples[v][i];
                for (int b = 0; b < B; ++b)
                    draw_image(cv, label_w + b * (tw + gap), y, imgs.data() + b * D, g, zoom, g.lo, g.hi);
            }
    cv.save(path);
}

void write_consistency_points(const fs::path& path, const ex::Consistency& r, const std::vector<std::string>& names)
{
    const int B = static_cast<int>(r.shape[0]), S = static_cast<int>(r.steps.size()), V = static_cast<int>(r.samples.size());
    std::vector<std::span<const float>> sets;
    for (const auto& v : r.samples)
        for (const auto& s : v)
            sets.emplace_back(s);
    const auto [lo, hi] = point_range(sets);
    Canvas cv(V * 440 + 40, 520);
    for (int v = 0; v < V; ++v) {
        const PointPanel p{40 + v * 440, 50, 400, lo, hi};
        p.frame(cv, names[v] + ", D TO S=" + std::to_string(r.steps.back()) + ": " + num(r.distance[v][0], "%.2f") +
                        " AT S=" + std::to_string(r.steps[0]));
        for (int b = 0; b < B; ++b)
            for (int i = 0; i + 1 < S; ++i) {
                const float* a = r.samples[v][i].data() + 2 * b;
                const float* c = r.samples[v][i + 1].data() + 2 * b;
                p.segment(cv, a[0], a[1], c[0], c[1], {200, 200, 200});
            }
        for (int i = 0; i < S; ++i)
            for (int b = 0; b < B; ++b)
                p.dot(cv, r.samples[v][i][2 * b], r.samples[v][i][2 * b + 1], palette(i), 2);
    }
    swatch_legend(cv, 40, 478, r.steps, "S=");
    cv.text(40, 500, "GREY LINES JOIN THE SAMPLES OF ONE X_T ACROSS S", {90, 90, 90}, 1);
    cv.save(path);
}

void write_early_stop_points(const fs::path& path, const ex::Consistency& r, const std::vector<std::string>& names)
{
    const int B = static_cast<int>(r.shape[0]), K = static_cast<int>(r.steps.size()) - 1, V = static_cast<int>(r.samples.size());
    std::vector<std::span<const float>> sets;
    for (int v = 0; v < V; ++v)
        for (int i = 0; i < K; ++i)
            sets.emplace_back(r.samples[v][i]), sets.emplace_back(r.previews[v][i]);
    const auto [lo, hi] = point_range(sets);
    Canvas cv(V * 440 + 40, 520);
    for (int v = 0; v < V; ++v) {
        const PointPanel p{40 + v * 440, 50, 400, lo, hi};
        p.frame(cv, names[v] + ": PREVIEW AT K OF " + std::to_string(r.steps.back()));
        for (int i = 0; i < K; ++i)
            for (int b = 0; b < B; ++b) {
                const float* pre = r.previews[v][i].data() + 2 * b;
                const float* s = r.samples[v][i].data() + 2 * b;
                p.segment(cv, pre[0], pre[1], s[0], s[1], {215, 215, 215});
            }
        for (int i = 0; i < K; ++i)
            for (int b = 0; b < B; ++b) {
                const float* pre = r.previews[v][i].data() + 2 * b;
                const float* s = r.samples[v][i].data() + 2 * b;
                p.dot(cv, pre[0], pre[1], palette(i), 3);
                p.dot(cv, pre[0], pre[1], {255, 255, 255}, 1);
                p.dot(cv, s[0], s[1], palette(i), 2);
            }
    }
    swatch_legend(cv, 40, 478, std::vector<int>(r.steps.begin(), r.steps.begin() + K), "K=");
    cv.text(40, 500, "HOLLOW: X0_HAT AFTER K STEPS OF THE LONGEST RUN. SOLID: FINAL SAMPLE OF A K-STEP RUN FROM THE SAME X_T", {90, 90, 90}, 1);
    cv.save(path);
}

} // namespace

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
    std::vector<std::string> names;
    for (SamplerConfig& c : opt.samplers) {
        c.steps = opt.steps.front();
        validate(c, T);
        std::string n = upper(c.sampler);
        if (c.sampler == "ddim" && c.eta != 0.0)
            n += " ETA " + num(c.eta, "%g");
        names.push_back(n);
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
    const char* space = r.space == ex::DistanceSpace::ClassifierFeatures ? "classifier_features" : "coordinates";
    {
        auto csv = open_csv(out / "consistency.csv");
        csv << "sampler,steps,mean_distance,space\n";
        for (std::size_t v = 0; v < r.samples.size(); ++v)
            for (std::size_t i = 0; i < r.steps.size(); ++i) {
                SamplerConfig c = opt.samplers[v];
                c.steps = r.steps[i];
                csv << experiments::sampler_spec(c, T) << ',' << r.steps[i] << ',' << num(r.distance[v][i], "%.9g") << ',' << space
                    << '\n';
            }
        csv.commit();
    }
    {
        auto csv = open_csv(out / "early_stop.csv");
        csv << "sampler,k,preview_t,preview_distance\n";
        for (std::size_t v = 0; v < r.samples.size(); ++v)
            for (std::size_t i = 0; i < r.steps.size(); ++i) {
                SamplerConfig c = opt.samplers[v];
                c.steps = r.steps.back();
                csv << experiments::sampler_spec(c, T) << ',' << r.steps[i] << ',' << r.preview_t[v][i] << ','
                    << num(r.preview_distance[v][i], "%.9g") << '\n';
            }
        csv.commit();
    }
    if (card.is_image()) {
        write_consistency_images(out / "consistency.png", card, r, names);
        write_early_stop_images(out / "early_stop.png", card, r, names);
    } else if (card.is_2d_points()) {
        write_consistency_points(out / "consistency.png", r, names);
        write_early_stop_points(out / "early_stop.png", r, names);
    }
    for (std::size_t v = 0; v < r.samples.size(); ++v) {
        std::cerr << "noisetrail-cli consistency: " << names[v] << " mean distance to S=" << r.steps.back() << ":";
        for (std::size_t i = 0; i < r.steps.size(); ++i)
            std::cerr << " S=" << r.steps[i] << " " << num(r.distance[v][i], "%.4g");
        std::cerr << '\n';
    }
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli consistency: batch " << r.shape[0] << " (" << space << "), files in " << out_flag
              << '\n';
    return 0;
}

} // namespace noisetrail::cli
