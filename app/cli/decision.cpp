// noisetrail-cli decision: when does a sample decide what it becomes? The class
// (digit classifier on x0_hat) or mixture component (most responsible component
// of x0_hat) at every step, for several samplers on the same x_T. Also the
// decision files that 'sample --dump' adds.
#include "dump.hpp"
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/experiments.hpp"
#include "noisetrail/npy.hpp"

#include <iostream>

namespace noisetrail::cli {

const char* const kDecisionHelp = R"(usage: noisetrail-cli decision --model CARD --out DIR [options]

Decision time: at every step each sample's x0_hat is assigned to a class (image
models: the digit classifier) or a mixture component (gaussian-mixture cards:
the most responsible component). A sample's "decision t" is the last t at
which its assignment changed (the first t of the plan if it never did).

  --model CARD          model card (.json): a gaussian-mixture card or an image model
  --out DIR             writes decision.csv (panel,sample,decision_step,decision_t,final),
                        assignment-<panel>.npy (int64 [S, B]) and decision.png: per
                        panel the samples with their assignment over t as a coloured
                        strip (t = T on the left, 0 on the right; for 2-D data the
                        paths coloured by it) and the histogram of decision t
  --panels LIST         NAME[:STEPS[:ETA]],.. (default ddpm:1000,ddim:50), all from the same x_T
  --batch B             samples (default 16 for images, 200 otherwise)
  --seed N              x_T and the samplers' noise (default 0)
  --classifier CARD     image models: the classifier (default: mnist-classifier.json
                        in the model card's folder)
)" NOISETRAIL_HELP_SAMPLER_SETTINGS NOISETRAIL_HELP_DEVICE_THREADS R"(
'sample --dump DIR' writes the same per-step assignment for its run
(DIR/assignment.npy, DIR/decision.csv) when the model has components or a classifier.
)" NOISETRAIL_HELP_EXIT_CODES;

namespace {

namespace fs = std::filesystem;
namespace ex = experiments;

void write_assignment(const fs::path& path, const ex::DecisionTrace& tr)
{
    const std::vector<std::int64_t> a(tr.assignment.begin(), tr.assignment.end());
    write_npy(path, {static_cast<std::int64_t>(tr.timesteps.size()), tr.batch}, a.data());
}

/// The assignment strip of sample b: x from t = T-1 (left) to t = 0 (right).
void draw_strip(Canvas& cv, int x, int y, int w, int h, const ex::DecisionTrace& tr, int b, int T)
{
    const int S = static_cast<int>(tr.timesteps.size());
    int k = 0;
    for (int px = 0; px < w; ++px) {
        const double t = (T - 1) * (1.0 - double(px) / std::max(1, w - 1));
        // the step whose t is the first one <= t (descending timesteps)
        while (k + 1 < S && tr.timesteps[k] > t)
            ++k;
        cv.rect(x + px, y, x + px, y + h - 1, palette(tr.assignment[k * tr.batch + b]));
    }
}

/// Histogram of decision t over [0, T) in `bins` bins, t = T on the left like the strips.
void draw_histogram(Canvas& cv, int x, int y, int w, int h, const ex::DecisionTrace& tr, int T, Canvas::Color c)
{
    const int bins = 20;
    std::vector<int> counts(bins, 0);
    for (int t : tr.decision_t)
        ++counts[std::min(bins - 1, t * bins / T)];
    const int peak = std::max(1, *std::max_element(counts.begin(), counts.end()));
    const int bw = w / bins;
    for (int i = 0; i < bins; ++i) {
        const int bar = counts[i] * h / peak;
        const int bx = x + (bins - 1 - i) * bw;
        if (bar > 0)
            cv.rect(bx + 1, y + h - bar, bx + bw - 2, y + h - 1, c);
    }
    cv.line(x, y + h, x + bins * bw, y + h, {0, 0, 0});
    cv.text(x, y + h + 6, "T=" + std::to_string(T), {90, 90, 90}, 1);
    cv.text(x + bins * bw - 24, y + h + 6, "T=0", {90, 90, 90}, 1);
    cv.text(x + bins * bw / 2 - 60, y + h + 6, "DECISION T (" + std::to_string(tr.batch) + " SAMPLES)", {90, 90, 90}, 1);
}


} // namespace

void write_decision_dump(const fs::path& dir, const Model& model, const Frames& frames)
{
    const auto assigner = ex::Assigner::for_model(model);
    if (!assigner || frames.empty())
        return; // no components and no classifier: nothing to assign to
    ex::DecisionTracker tracker(*assigner);
    for (const auto& f : frames)
        tracker.add(*f);
    const ex::DecisionTrace tr = tracker.result();
    write_assignment(dir / "assignment.npy", tr);
    auto csv = open_csv(dir / "decision.csv");
    csv << "sample,decision_step,decision_t,final\n";
    const std::vector<int> fin = tr.final_assignment();
    for (int b = 0; b < tr.batch; ++b)
        csv << b << ',' << tr.decision_step[b] << ',' << tr.decision_t[b] << ',' << fin[b] << '\n';
    csv.commit();
}

int cmd_decision(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--out", "--panels", "--batch", "--seed", "--classifier", "--spacing", "--variance",
                     "--clip-x0", "--device", "--threads"},
                    {"--help"});
    if (print_help(args, kDecisionHelp))
        return 0;
    const std::string out_flag = required_text(args, "--out", "DIR");
    const SamplerConfig base = sampler_settings_from(args);
    const std::vector<SamplerConfig> panels =
        experiments::parse_sampler_list(args.text("--panels").value_or("ddpm:1000,ddim:50"), base, "--panels");
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int T = model->schedule().train_steps();
    const auto assigner = ex::Assigner::for_model(*model, args.text("--classifier").value_or(""));
    if (!assigner)
        throw InputError("--model " + card.path.string() +
                         ": decision time needs a gaussian-mixture card (components) or an image model with "
                         "a classifier (--classifier)");
    const int batch = static_cast<int>(args.integer("--batch", 1, 100000).value_or(card.is_image() ? 16 : 200));
    int total = 0;
    for (const SamplerConfig& c : panels) {
        validate(c, T);
        total += resolved_steps(c, T);
    }
    StagedFolder out_stage(out_flag, "--out", {"decision.csv", "assignment-*", "decision.png"}); // swapped in whole (docs/CLI.md)
    const fs::path out = out_stage.path();

    ex::DecisionOptions opt;
    opt.panels = panels;
    opt.batch = batch;
    opt.seed = seed_from(args);
    opt.threads = threads_from(args);
    Progress progress(total, "sampling");
    const ex::Decision r = ex::decision(*model, *assigner, opt, [&](const ex::Progress& p) { progress.update(p.done, 0); });
    progress.finish();
    const std::vector<ex::DecisionTrace>& traces = r.traces;
    const std::vector<std::vector<float>>&samples = r.samples, &paths = r.paths; // paths: 2-D only, [S+1, B, 2]

    {
        auto csv = open_csv(out / "decision.csv");
        csv << "panel,sample,decision_step,decision_t,final\n";
        for (std::size_t p = 0; p < panels.size(); ++p) {
            const auto fin = traces[p].final_assignment();
            for (int b = 0; b < batch; ++b)
                csv << p << ',' << b << ',' << traces[p].decision_step[b] << ',' << traces[p].decision_t[b] << ','
                    << fin[b] << '\n';
            write_assignment(out / ("assignment-" + std::to_string(p) + ".npy"), traces[p]);
        }
        csv.commit();
    }

    const int P = static_cast<int>(panels.size());
    if (card.is_image()) {
        const ImageGeometry g = image_geometry(card);
        const int n = std::min(batch, 16), zoom = 2, gap = 4, tw = g.W * zoom, th = g.H * zoom, strip = 10;
        const int hist_h = 70, block = 30 + th + 4 + strip + 16 + hist_h + 30;
        const int width = std::max(n * (tw + gap) + 2 * gap, 640);
        Canvas cv(width, P * block + gap);
        const std::size_t D = g.size();
        for (int p = 0; p < P; ++p) {
            const int y = gap + p * block;
            cv.text(gap, y + 4, figure_label(panels[p], T) + ", MEDIAN DECISION T " + std::to_string(ex::summarise(traces[p]).median_t),
                    {0, 0, 0}, 2);
            for (int b = 0; b < n; ++b) {
                const int x = gap + b * (tw + gap);
                draw_image(cv, x, y + 30, samples[p].data() + b * D, g, zoom, g.lo, g.hi);
                draw_strip(cv, x, y + 30 + th + 4, tw, strip, traces[p], b, T);
            }
            draw_histogram(cv, gap, y + 30 + th + 4 + strip + 16, width - 2 * gap - 20, hist_h, traces[p], T, {90, 90, 90});
        }
        // Legend of the strip colours: one swatch per class, at the top right.
        const auto labels = assigner->labels();
        int lx = width - gap - static_cast<int>(labels.size()) * 22;
        for (std::size_t k = 0; k < labels.size(); ++k, lx += 22) {
            cv.rect(lx, gap + 4, lx + 8, gap + 14, palette(static_cast<int>(k)));
            cv.text(lx + 10, gap + 6, labels[k].substr(0, 1), {0, 0, 0}, 1);
        }
        cv.save(out / "decision.png");
    } else if (card.is_2d_points()) {
        std::vector<std::span<const float>> sets;
        for (const auto& s : paths)
            sets.emplace_back(s);
        const auto [lo, hi] = point_range(sets);
        const int size = 400, hist_h = 70;
        Canvas cv(P * (size + 40) + 40, 50 + size + 30 + hist_h + 30);
        for (int p = 0; p < P; ++p) {
            const PointPanel panel{40 + p * (size + 40), 50, size, lo, hi};
            panel.frame(cv, figure_label(panels[p], T) + ", MEDIAN DECISION T " + std::to_string(ex::summarise(traces[p]).median_t));
            const ex::DecisionTrace& tr = traces[p];
            const int S = static_cast<int>(tr.timesteps.size());
            for (int k = 0; k < S; ++k)
                for (int b = 0; b < batch; ++b) {
                    const float* a = paths[p].data() + (static_cast<std::size_t>(k) * batch + b) * 2;
                    const float* c = a + static_cast<std::size_t>(batch) * 2;
                    panel.segment(cv, a[0], a[1], c[0], c[1], palette(tr.assignment[k * batch + b]));
                }
            draw_histogram(cv, panel.x, 50 + size + 30, size, hist_h, tr, T, {90, 90, 90});
        }
        cv.save(out / "decision.png");
    }
    for (std::size_t p = 0; p < panels.size(); ++p)
        std::cerr << "noisetrail-cli decision: " << describe(panels[p], T) << ": median decision t "
                  << ex::summarise(traces[p]).median_t << '\n';
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli decision: batch " << batch << ", files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
