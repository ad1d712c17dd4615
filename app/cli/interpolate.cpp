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

namespace {

namespace fs = std::filesystem;
namespace ex = experiments;

Canvas::Color ramp(double a)
{
    // blue (a = 0) to red (a = 1) through purple
    const auto b = palette(0), r = palette(3);
    Canvas::Color c;
    for (int i = 0; i < 3; ++i)
        c[i] = static_cast<std::uint8_t>(std::lround((1 - a) * b[i] + a * r[i]));
    return c;
}

void write_image_figure(const fs::path& path, const ModelCard& card, const ex::Interpolation& r,
                        const std::vector<std::string>& labels)
{
    const ImageGeometry g = image_geometry(card);
    const int k = static_cast<int>(r.alphas.size()), zoom = 3, gap = 6, label_w = 190;
    const int tw = g.W * zoom, th = g.H * zoom;
    const int rows = 1 + static_cast<int>(r.samples.size());
    Canvas cv(label_w + k * (tw + gap) + gap, 24 + rows * (th + gap) + gap);
    const std::size_t D = g.size();
    for (int i = 0; i < k; ++i)
        cv.text(label_w + i * (tw + gap), 6, "A=" + num(r.alphas[i], "%.2f"), {90, 90, 90}, 1);
    const auto put_row = [&](int row, const std::string& label, const float* images, double lo, double hi) {
        const int y = 24 + row * (th + gap);
        cv.text(gap, y + th / 2 - 7, label, {0, 0, 0}, 2);
        for (int i = 0; i < k; ++i)
            draw_image(cv, label_w + i * (tw + gap), y, images + i * D, g, zoom, lo, hi);
    };
    put_row(0, "X_T (SLERP)", r.x_T.data(), -3.0, 3.0);
    for (std::size_t s = 0; s < r.samples.size(); ++s)
        put_row(static_cast<int>(s) + 1, labels[s], r.samples[s].data(), g.lo, g.hi);
    cv.save(path);
}

void write_points_figure(const fs::path& path, const ex::Interpolation& r, const std::vector<std::string>& labels)
{
    const int k = static_cast<int>(r.alphas.size()), panels = 1 + static_cast<int>(r.samples.size());
    std::vector<std::span<const float>> sets;
    for (const auto& s : r.samples)
        sets.emplace_back(s);
    const auto [lo, hi] = point_range(sets);
    const auto [tlo, thi] = point_range({r.x_T});
    Canvas cv(panels * 340 + 30, 400);
    for (int p = 0; p < panels; ++p) {
        const std::vector<float>& pts = p == 0 ? r.x_T : r.samples[p - 1];
        const PointPanel panel{30 + p * 340, 50, 300, p == 0 ? tlo : lo, p == 0 ? thi : hi};
        panel.frame(cv, p == 0 ? "X_T (SLERP)" : labels[p - 1]);
        for (int i = 0; i + 1 < k; ++i)
            panel.segment(cv, pts[2 * i], pts[2 * i + 1], pts[2 * i + 2], pts[2 * i + 3], {190, 190, 190});
        for (int i = 0; i < k; ++i)
            panel.dot(cv, pts[2 * i], pts[2 * i + 1], ramp(r.alphas[i]), 3);
    }
    cv.text(30, 375, "COLOUR: A = 0 (BLUE) TO A = 1 (RED), JOINED IN ORDER", {90, 90, 90}, 1);
    cv.save(path);
}

} // namespace

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
    std::vector<std::string> labels;
    for (const SamplerConfig& c : opt.samplers) {
        validate(c, T);
        labels.push_back(figure_label(c, T));
    }
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
    auto csv = open_csv(out / "interpolation.csv");
    csv << "sampler,index,alpha,xt_norm,change\n";
    for (std::size_t s = 0; s < r.samples.size(); ++s) {
        const std::vector<double> change = ex::neighbour_change(r.samples[s], k); // [k - 1]
        double total_change = 0;
        for (int i = 0; i < k; ++i) {
            double norm = 0;
            for (std::size_t j = 0; j < D; ++j)
                norm += double(r.x_T[i * D + j]) * r.x_T[i * D + j];
            if (i > 0)
                total_change += change[i - 1];
            csv << experiments::sampler_spec(opt.samplers[s], T) << ',' << i << ',' << num(r.alphas[i], "%.6g") << ','
                << num(std::sqrt(norm)) << ',' << (i > 0 ? num(change[i - 1]) : "nan") << '\n';
        }
        std::cerr << "noisetrail-cli interpolate: " << describe(opt.samplers[s], T)
                  << ": mean RMS change between neighbours " << total_change / (k - 1) << '\n';
    }
    csv.commit();
    if (card.is_image())
        write_image_figure(out / "interpolation.png", card, r, labels);
    else if (card.is_2d_points())
        write_points_figure(out / "interpolation.png", r, labels);
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli interpolate: " << k << " points, files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
