// noisetrail-cli guidance: the fidelity-diversity trade-off of classifier-free guidance
// (contract section 9; Ho & Salimans 2021, fig. 4 and table 1 for the FID/IS trade-off),
// one row per guidance scale W: class accuracy, within-class diversity and, on exact
// cards, the true p(c | x_0) and log p(x_0 | c). Every scale samples the same x_T.
#include "canvas.hpp"
#include "commands.hpp"
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/classifier.hpp"
#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <sstream>

namespace noisetrail::cli {

using namespace noisetrail::metrics;

const char* const kGuidanceHelp = R"(usage: noisetrail-cli guidance --model CARD [options]

Classifier-free guidance's trade-off, measured: for each guidance scale W, sample
each requested class from the same x_T and report how often the samples are of
that class (accuracy, mean p(c | x_0) and the class's mean log-odds
log p(c | x_0) / (1 - p(c | x_0)), which still moves where p(c | x_0) is 1 to
every printed digit) and how diverse they are within it. On an exact mixture card with
classes (ring8-classes) it also reports the true posterior p(c | x_0) and the
true log-likelihood log p(x_0 | c): W = 1 samples p(x | c) itself, W > 1 trades
likelihood under p(x | c) for a higher p(c | x_0). Image models are judged by
the classifier next to their card, with the Frechet distance of the classifier's
features to the class's bundled held-out digits (50 per class:
models/data/mnist-heldout-500_*.npy; few, so compare rows, not other tables).

  --model CARD          a conditional model card (its 'classes')
  --scales LIST         guidance scales W (default 0,1,2,3,5,7)
  --classes LIST        the classes to sample, each on its own (default: all)
  --samples N           samples per class and scale (default 500 for 2-D data, 100
                        for images)
  --sampler NAME        sampler (default ddim)
  --steps S             steps (default 50)
  --guidance-interval LO,HI
                        guide only while t (s on flow) is in [LO, HI]
  --seed N              seed of x_T (default 0): every scale and class uses it
  --out DIR             also write DIR/guidance.csv and DIR/guidance.md, and on a
                        2-D exact card DIR/guidance-class-K.png: the first class's
                        samples at each W over the true p(x | c) (grey)
  --threads N, --device cpu|cuda
  --help                this text

Exit codes: 0 success, 2 bad arguments or input files, 3 a run failed.
)";

namespace {

std::vector<double> parse_list(const std::string& flag, const std::string& text)
{
    std::vector<double> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !std::isfinite(v))
            throw InputError(flag + " must be numbers separated by commas, got '" + text + "'");
        out.push_back(v);
    }
    if (out.empty())
        throw InputError(flag + " must list at least one value");
    return out;
}

/// One panel per W: the true density p(x | c) in grey, the samples as dots, on axes
/// shared by every panel (the class's components with a margin).
void write_figure(const std::filesystem::path& path, const GaussianMixture& truth,
                  const std::vector<std::pair<double, std::vector<float>>>& runs)
{
    constexpr int P = 300, pad = 30, head = 28;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < truth.components(); ++k) {
        x0 = std::min(x0, truth.means[std::size_t(2 * k)]), x1 = std::max(x1, truth.means[std::size_t(2 * k)]);
        y0 = std::min(y0, truth.means[std::size_t(2 * k + 1)]), y1 = std::max(y1, truth.means[std::size_t(2 * k + 1)]);
    }
    const double side = std::max(x1 - x0, y1 - y0) + 1.2, cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const auto to_px = [&](double x, double y) {
        return std::pair<int, int>{int((x - cx + side / 2) / side * P), int((cy + side / 2 - y) / side * P)};
    };
    // The density once, as grey levels (log scale, so the tails show).
    std::vector<double> pts;
    pts.reserve(std::size_t(2 * P * P));
    for (int j = 0; j < P; ++j)
        for (int i = 0; i < P; ++i) {
            pts.push_back(cx - side / 2 + (i + 0.5) / P * side);
            pts.push_back(cy + side / 2 - (j + 0.5) / P * side);
        }
    const std::vector<double> ll = log_likelihood(truth, pts, P * P);
    const double top = *std::max_element(ll.begin(), ll.end());
    Canvas cv(int(runs.size()) * (P + pad) + pad, P + head + pad);
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const int ox = pad + int(r) * (P + pad), oy = head;
        for (int j = 0; j < P; ++j)
            for (int i = 0; i < P; ++i) {
                const double level = std::clamp((ll[std::size_t(j * P + i)] - top) / 12.0 + 1.0, 0.0, 1.0);
                const auto g = static_cast<std::uint8_t>(255 - 90 * level);
                cv.px(ox + i, oy + j, {g, g, g});
            }
        const auto& x = runs[r].second;
        for (std::size_t i = 0; i + 1 < x.size(); i += 2) {
            const auto [px, py] = to_px(x[i], x[i + 1]);
            if (px >= 0 && py >= 0 && px < P && py < P)
                cv.rect(ox + px - 1, oy + py - 1, ox + px, oy + py, {0x1f, 0x4e, 0x9a});
        }
        char label[32];
        std::snprintf(label, sizeof label, "W = %g", runs[r].first);
        cv.text(ox, 6, label, {0, 0, 0});
    }
    cv.save(path);
}

/// A table cell: empty where the column does not apply (NaN).
std::string fmt(double v, const char* f = "%.4f") { return std::isnan(v) ? std::string() : num(v, f); }

} // namespace

int cmd_guidance(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--scales", "--classes", "--samples", "--sampler", "--steps", "--guidance-interval",
                     "--seed", "--out", "--threads", "--device"},
                    {"--help"});
    if (print_help(args, kGuidanceHelp))
        return 0;
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    if (!card.is_conditional())
        throw InputError("--model " + card.path.string() + ": the card names no classes; guidance needs a conditional "
                         "model (e.g. models/ring8-classes.json)");
    const std::vector<double> scales = parse_list("--scales", args.text("--scales").value_or("0,1,2,3,5,7"));
    std::vector<int> classes;
    if (const auto list = args.text("--classes")) {
        for (double v : parse_list("--classes", *list)) {
            if (v != std::floor(v) || v < 0 || v >= double(card.classes.size()))
                throw InputError("--classes must be class indices 0.." + std::to_string(card.classes.size() - 1));
            classes.push_back(int(v));
        }
    } else {
        for (int c = 0; c < int(card.classes.size()); ++c)
            classes.push_back(c);
    }
    const bool image = card.is_image();
    const int n = static_cast<int>(args.integer("--samples", 2, 100000).value_or(image ? 100 : 500));
    SamplerConfig base;
    base.sampler = args.text("--sampler").value_or("ddim");
    base.steps = static_cast<int>(args.integer("--steps", 1, 1000000).value_or(50));
    base.guidance.interval = guidance_from(args).interval; // --classes here lists runs, not a cycle
    const auto seed = static_cast<std::uint64_t>(args.integer("--seed", 0, 1LL << 53).value_or(0));
    const int threads = threads_from(args);
    const auto out_dir = args.text("--out");
    if (out_dir)
        prepare_output_dir("--out", *out_dir);

    compare::GuidanceOptions go;
    go.scales = scales;
    go.classes = classes;
    go.samples = n;
    go.sampler = base;
    go.seed = seed;
    go.threads = threads;
    std::unique_ptr<::noisetrail::cli::Progress> progress;
    const compare::GuidanceResult res = compare::run_guidance(*model, go, [&](int done, int total) {
        if (!progress)
            progress = std::make_unique<::noisetrail::cli::Progress>(total);
        progress->update(done, 0);
    });
    if (progress)
        progress->finish();

    // One table, as CSV and Markdown: the columns are core's (compare::guidance_metric_defs).
    std::ostringstream csv, md;
    csv << "guidance";
    md << "| W |";
    for (const auto& m : res.metrics) {
        csv << ',' << m.key;
        std::string title; // a '|' in a title ("p(c|x0)") would split a Markdown cell
        for (char ch : m.title)
            title += ch == '|' ? std::string("\\|") : std::string(1, ch);
        md << ' ' << title << " |";
    }
    csv << '\n';
    md << "\n|---:|";
    for (std::size_t i = 0; i < res.metrics.size(); ++i)
        md << "---:|";
    md << '\n';
    for (const auto& r : res.rows) {
        csv << fmt(r.w, "%g");
        md << "| " << fmt(r.w, "%g") << " |";
        for (const auto& m : res.metrics) {
            const double v = r.values.at(m.key);
            csv << ',' << fmt(v, "%.6g");
            md << ' ' << fmt(v, m.format) << " |";
        }
        csv << '\n';
        md << '\n';
    }
    std::ostringstream head;
    head << card.name << ": " << describe(base, model->schedule().train_steps(), model->schedule().process()) << ", "
         << n << " samples per class, " << classes.size() << (classes.size() == 1 ? " class" : " classes") << ", seed "
         << seed << "\n\n";
    std::cout << head.str() << md.str();
    if (out_dir) {
        write_file_atomic(std::filesystem::path(*out_dir) / "guidance.csv", csv.str());
        write_file_atomic(std::filesystem::path(*out_dir) / "guidance.md", head.str() + md.str());
        if (res.exact && !res.first_class_samples.empty()) {
            std::vector<std::pair<double, std::vector<float>>> runs;
            for (std::size_t i = 0; i < res.rows.size() && i < res.first_class_samples.size(); ++i)
                runs.emplace_back(res.rows[i].w, res.first_class_samples[i]);
            const int c = res.classes.front();
            write_figure(std::filesystem::path(*out_dir) / ("guidance-class-" + std::to_string(c) + ".png"),
                         class_mixture(*mixture_from_card(card), c), runs);
        }
    }
    return 0;
}

} // namespace noisetrail::cli
