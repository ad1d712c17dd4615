// noisetrail-cli compare: the DDPM vs DDIM grid of issue 5 (DDIM paper, Table 1):
// DDIM eta in {0, 0.2, 0.5, 1} and DDPM sigma-hat (fixed_large) by S in
// {10, 20, 50, 100, 1000}, all cells from the same seeds, measured with
// core's metrics, cached per cell, written as CSV, Markdown and PNG plots.
// The grid, its reference, the per-cell metrics and the cache live in core
// (noisetrail/compare.hpp, shared with the GUI's Compare view); this file
// parses flags, reports progress and writes the tables and plots.
#include "commands.hpp"
#include "canvas.hpp"
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/image_io.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/version.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <memory>

namespace noisetrail::cli {

const char* const kCompareHelp = R"(usage: noisetrail-cli compare --model CARD --out DIR [options]

Run the DDPM vs DDIM comparison grid from the same seeds: DDIM with eta in
{0, 0.2, 0.5, 1} and DDPM with sigma-hat (the fixed_large variance of the DDIM
paper's Table 1) by S in {10, 20, 50, 100, 1000} steps. Every cell samples the
same x_T. Writes compare.csv, compare.md, one compare-METRIC.png per metric
(metric against S, one line per eta) and compare-cache.json into DIR; cells
already in the cache (same model content, config, seed and sample count) are
reused, and so are those of the committed cache of a bundled card
(docs/compare-<card name>/, read only). A cell cached for other content of the
model (its card or weights changed) is recomputed, and a note says so.

  --model CARD          model card (.json), or the name of a bundled card (ring8)
  --out DIR             output folder (created if needed)
  --samples N           samples per cell (default 1000 for 2-D data, 500 for images)
  --quick               a small grid for CI: 200 samples (64 for images), S in {10, 20}
  --steps LIST          comma-separated S values, e.g. 10,20,50 (overrides the default set)
  --etas LIST           comma-separated DDIM etas (default 0,0.2,0.5,1)
  --seed N              base seed (default 0); chunk c of a cell's samples uses seed + c
  --batch B             samples per sampling run (default: all for 2-D data, 100 for images)
  --spacing NAME        timestep spacing of every cell (default leading)
  --classifier CARD     feature network for image models (default:
                        mnist-classifier.json in the model card's folder)
  --kernel-bandwidth H  RBF bandwidth h of the 2-D Vendi score and MMD, data units (default 0.5)
  --no-cache            recompute every cell (the cache file is rewritten)
  --equal-nfe           equal cost: the columns (--steps) are budgets of model calls
                        (NFE), a Heun row joins, and each row takes the steps that fit:
                        Heun's S steps cost 2S - 1 calls, so Heun 10 stands beside DDIM 19
  --device cpu|cuda     where to sample (default cpu)
  --threads N           intra-op threads, 1..4x the cores (default: the free cores,
                        1 for 2-D data)
  --help                this text

Metrics (formulas and references in core/include/noisetrail/metrics.hpp):
  2-D Gaussian mixtures: mean log-likelihood under the true density, MMD^2
    (unbiased, RBF with h = --kernel-bandwidth; also with the median-heuristic h
    of the reference) and precision/recall (k = 3) against fresh draws of the
    true mixture, Vendi (RBF, same h), components covered (3-sigma rule),
    occupancy entropy, path straightness and length. A "true mixture" row
    measures another set of exact draws: the values a perfect sampler gets.
  Other 2-D cards with data (empirical): MMD^2, precision/recall against the data.
  Image models: FD (our classifier) to the held-out digits' features -- a
    Frechet distance on our classifier's features, not the Inception FID --,
    precision/recall (k = 3) against held-out features, Vendi (cosine on
    features), classes covered and class entropy of predicted labels.

Exit codes: 0 success, 2 bad arguments or input files, 3 a run failed.
)";

namespace {

namespace fs = std::filesystem;
using compare::kPalette;
using compare::MetricDef;
using compare::ReferenceKind;
using compare::Values;
using compare::Variant;
using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt(double v, const char* f = "%.6g")
{
    if (std::isnan(v))
        return "nan";
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

/// Tick step 1, 2 or 5 times a power of ten giving about `target` ticks.
double nice_step(double range, int target = 5)
{
    const double raw = range / target;
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= raw)
            return m * p;
    return 10 * p;
}

/// One metric against S (log axis), one coloured line per variant, legend on the right.
void plot_metric(const fs::path& path, const MetricDef& metric, const std::vector<int>& steps,
                 const std::vector<Variant>& variants, const std::vector<std::vector<double>>& values,
                 double truth, const std::string& truth_label)
{
    const int W = 900, H = 500, left = 90, right = 220, top = 50, bottom = 70, xpad = 24;
    const int pw = W - left - right, ph = H - top - bottom;
    Canvas cv(W, H);
    const Canvas::Color black{0, 0, 0}, grid{225, 225, 225}, dark{90, 90, 90};

    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& row : values)
        for (double v : row)
            if (std::isfinite(v))
                lo = std::min(lo, v), hi = std::max(hi, v);
    if (std::isfinite(truth))
        lo = std::min(lo, truth), hi = std::max(hi, truth);
    if (!std::isfinite(lo))
        lo = 0, hi = 1;
    if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
        const double pad = std::max(0.5, std::abs(hi) * 0.1);
        lo -= pad, hi += pad;
    }
    const double step = nice_step(hi - lo);
    lo = std::floor(lo / step) * step;
    hi = std::ceil(hi / step) * step;
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));

    const double lx0 = std::log10(std::max(1, steps.front())), lx1 = std::log10(std::max(1, steps.back()));
    const auto X = [&](int s) {
        return lx1 > lx0 ? left + xpad + static_cast<int>(std::lround((std::log10(s) - lx0) / (lx1 - lx0) * (pw - 2 * xpad)))
                         : left + pw / 2;
    };
    const auto Y = [&](double v) { return top + static_cast<int>(std::lround((hi - v) / (hi - lo) * ph)); };

    cv.text(left, 15, metric.title, black, 2);
    for (double v = lo; v <= hi + step * 1e-6; v += step) {
        const int y = Y(v);
        cv.line(left, y, left + pw, y, grid);
        const std::string label = fmt(std::abs(v) < step * 1e-6 ? 0.0 : v, ("%." + std::to_string(decimals) + "f").c_str());
        cv.text(left - 8 - Canvas::text_width(label), y - 7, label, dark);
    }
    for (int s : steps) {
        const int x = X(s);
        cv.line(x, top, x, top + ph, grid);
        const std::string label = std::to_string(s);
        cv.text(x - Canvas::text_width(label) / 2, top + ph + 10, label, dark);
    }
    const std::string xl = "STEPS S (LOG SCALE)";
    cv.text(left + pw / 2 - Canvas::text_width(xl) / 2, top + ph + 40, xl, black);
    cv.line(left, top, left, top + ph, black);
    cv.line(left, top + ph, left + pw, top + ph, black);

    const Canvas::Color truth_colour{110, 110, 110};
    if (std::isfinite(truth)) // dashed: the value of exact draws from the true distribution
        for (int x = left + 1; x < left + pw; x += 14)
            cv.line(x, Y(truth), std::min(x + 7, left + pw - 1), Y(truth), truth_colour, 2);
    for (std::size_t i = 0; i < variants.size(); ++i) {
        const auto c = variants[i].color;
        int px = -1, py = -1;
        for (std::size_t k = 0; k < steps.size(); ++k) {
            const double v = values[i][k];
            if (!std::isfinite(v)) {
                px = -1;
                continue;
            }
            const int x = X(steps[k]), y = Y(v);
            if (px >= 0)
                cv.line(px, py, x, y, c, 3);
            cv.rect(x - 4, y - 4, x + 4, y + 4, c);
            px = x, py = y;
        }
    }
    // Legend block: swatch and name per variant.
    const int lx = left + pw + 20;
    int ly = top + 10;
    for (const auto& v : variants) {
        cv.rect(lx, ly, lx + 22, ly + 13, v.color);
        cv.text(lx + 30, ly, v.label, black);
        ly += 26;
    }
    if (std::isfinite(truth)) {
        cv.line(lx, ly + 7, lx + 8, ly + 7, truth_colour, 2);
        cv.line(lx + 14, ly + 7, lx + 22, ly + 7, truth_colour, 2);
        cv.text(lx + 30, ly, truth_label, black);
        ly += 26;
    }
    std::string note = metric.better == 1 ? "HIGHER IS BETTER"
                       : metric.better < 0 ? "LOWER IS BETTER"
                       : metric.better == 2 ? "CLOSEST TO THE TRUE VALUE IS BEST"
                                            : "";
    if (!note.empty())
        cv.text(lx, ly + 10, note, dark, 1);
    cv.save(path);
}

// ------------------------------------------------------------ tables

std::string colour_name(const std::array<std::uint8_t, 3>& c)
{
    static const std::map<std::array<std::uint8_t, 3>, std::string> names{
        {kPalette[0], "blue"},  {kPalette[1], "orange"}, {kPalette[2], "green"},   {kPalette[3], "red"},
        {kPalette[4], "purple"}, {kPalette[5], "brown"}, {kPalette[6], "pink"},    {kPalette[7], "grey"},
        {kPalette[8], "olive"}, {kPalette[9], "cyan"}};
    const auto it = names.find(c);
    return it == names.end() ? "?" : it->second;
}

} // namespace

int cmd_compare(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--out", "--samples", "--steps", "--etas", "--seed", "--batch", "--spacing",
                     "--classifier", "--kernel-bandwidth", "--device", "--threads"},
                    {"--quick", "--no-cache", "--equal-nfe", "--help"});
    if (args.has("--help")) {
        std::cout << kCompareHelp;
        return 0;
    }
    const auto out_flag = args.text("--out");
    if (!out_flag)
        throw InputError("--out DIR is required (tables, plots and the cache go there)");
    const bool quick = args.has("--quick");
    const auto samples_flag = args.integer("--samples", 4, 1000000);
    const std::uint64_t seed = static_cast<std::uint64_t>(args.integer("--seed", 0, (1LL << 40)).value_or(0));
    const int threads = threads_from(args);
    const double vendi_bw = args.number("--kernel-bandwidth").value_or(metrics::kDefaultRbfBandwidth);
    if (!(vendi_bw > 0))
        throw InputError("--kernel-bandwidth must be > 0");
    const Spacing spacing = args.text("--spacing") ? parse_spacing(*args.text("--spacing")) : Spacing::Leading;
    std::vector<double> etas{0.0, 0.2, 0.5, 1.0};
    if (const auto s = args.text("--etas")) {
        etas.clear();
        for (const auto& e : split_list("--etas", *s)) {
            std::size_t used = 0;
            double v = -1;
            try {
                v = std::stod(e, &used);
            } catch (const std::exception&) {
            }
            if (used != e.size() || !(v >= 0) || !std::isfinite(v))
                throw InputError("--etas: '" + e + "' is not a number >= 0");
            etas.push_back(v);
        }
    }
    std::vector<int> steps = quick ? compare::kQuickSteps : compare::kFullSteps;
    if (const auto s = args.text("--steps")) {
        steps.clear();
        for (const auto& e : split_list("--steps", *s)) {
            std::size_t used = 0;
            int v = 0;
            try {
                v = std::stoi(e, &used);
            } catch (const std::exception&) {
            }
            if (used != e.size() || v < 1)
                throw InputError("--steps: '" + e + "' is not a step count >= 1");
            steps.push_back(v);
        }
        std::sort(steps.begin(), steps.end());
        steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
    }

    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int T = model->schedule().train_steps();
    for (int s : steps)
        if (s > T)
            throw InputError("--steps: S = " + std::to_string(s) + " exceeds the model's " + std::to_string(T) +
                             " train steps");
    const int n = static_cast<int>(samples_flag.value_or(compare::default_samples(card, quick)));
    const int batch = static_cast<int>(
        std::min<long long>(n, args.integer("--batch", 1, 1000000).value_or(compare::default_batch(card, n))));

    prepare_output_dir("--out", *out_flag);
    const fs::path out = *out_flag;
    compare::Options opt;
    opt.etas = etas;
    opt.steps = steps;
    opt.samples = n;
    opt.batch = batch;
    opt.seed = seed;
    opt.spacing = spacing;
    if (const auto c = args.text("--classifier"))
        opt.classifier = *c;
    opt.kernel_bandwidth = vendi_bw;
    opt.threads = threads;
    opt.equal_nfe = args.has("--equal-nfe");
    opt.cache_file = out / "compare-cache.json";
    opt.use_cache = !args.has("--no-cache");
    std::error_code ec;
    if (const fs::path committed = compare::committed_cache(card.path);
        fs::exists(committed, ec) && !fs::equivalent(committed.parent_path(), out, ec))
        opt.read_only_caches.push_back(committed);

    // Progress on stderr: a bar on a terminal; without one (CI logs) a note every 30 s.
    const bool tty = isatty(STDERR_FILENO) != 0;
    std::unique_ptr<Progress> bar;
    std::string label, name;
    auto t_cell = Clock::now(), last_note = t_cell;
    const auto on_progress = [&](const compare::Progress& p) {
        const compare::Result& g = *p.grid;
        switch (p.event) {
        case compare::Progress::Event::Prepared:
            std::cerr << "noisetrail-cli compare: " << card.name << ": " << g.variants.size() << " samplers x "
                      << g.steps.size() << " step counts, " << n << " samples per cell (batch " << batch
                      << "), reference: " << g.note << " (" << fmt(p.seconds_prepare, "%.1f") << " s)\n";
            for (const auto& w : p.warnings)
                std::cerr << w << '\n';
            break;
        case compare::Progress::Event::CellStarted: {
            char head[32];
            std::snprintf(head, sizeof head, "[%d/%d] ", p.cell + 1, p.cells);
            name = g.variants[p.variant].label + ", S = " + std::to_string(p.steps);
            label = head + name;
            if (p.cached) {
                std::cerr << label << ": cached\n";
                break;
            }
            bar = std::make_unique<Progress>(p.total, label.c_str());
            t_cell = last_note = Clock::now();
            break;
        }
        case compare::Progress::Event::Step:
            bar->update(p.done, p.t);
            if (!tty && Clock::now() - last_note > std::chrono::seconds(30)) {
                last_note = Clock::now();
                const double el = std::chrono::duration<double>(last_note - t_cell).count();
                std::cerr << label << ": step " << p.done << "/" << p.total << ", ~"
                          << fmt(el / p.done * (p.total - p.done), "%.0f") << " s left in this cell\n";
            }
            break;
        case compare::Progress::Event::CellFinished: {
            if (p.cached)
                break;
            bar->finish();
            bar.reset();
            const auto& vals = p.result->values;
            std::cerr << label << ": " << fmt(p.result->seconds, "%.1f") << " s";
            for (const MetricDef& d : g.metrics)
                if (const auto it = vals.find(d.key); it != vals.end())
                    std::cerr << ", " << d.key << " " << fmt(it->second, d.format);
            std::cerr << "  (" << p.cells_left << " cells, ~" << fmt(p.seconds_left, "%.0f") << " s left)\n";
            break;
        }
        }
    };
    const compare::Result res = compare::run_compare(*model, opt, on_progress);
    const std::vector<MetricDef>& defs = res.metrics;
    const auto& variants = res.variants;
    const std::string& truth_label = res.truth_label;
    const auto truth_of = [&](const std::string& key) { return res.truth_of(key); };
    const bool has_truth = !res.truth.empty();
    const int cells_done = res.computed;
    const std::size_t cell_count = variants.size() * steps.size();
    std::vector<std::vector<Values>> results(variants.size(), std::vector<Values>(steps.size()));
    std::vector<std::vector<double>> seconds(variants.size(), std::vector<double>(steps.size(), kNaN));
    std::vector<std::vector<bool>> from_cache(variants.size(), std::vector<bool>(steps.size(), false));
    for (std::size_t i = 0; i < variants.size(); ++i)
        for (std::size_t k = 0; k < steps.size(); ++k) {
            results[i][k] = res.cells[i][k].values;
            seconds[i][k] = res.cells[i][k].done ? res.cells[i][k].seconds : kNaN;
            from_cache[i][k] = res.cells[i][k].cached;
        }
    const double elapsed = res.seconds;

    // CSV: one row per cell.
    {
        std::ostringstream csv;
        csv << "variant,label,sampler,eta,variance,steps,samples,seed";
        for (const auto& d : defs)
            csv << ',' << d.key;
        csv << ",seconds,cached\n";
        for (std::size_t i = 0; i < variants.size(); ++i)
            for (std::size_t k = 0; k < steps.size(); ++k) {
                const Variant& v = variants[i];
                csv << v.key << ',' << v.label << ',' << v.config.sampler << ',' << fmt(v.config.eta, "%g") << ','
                    << (sampler_info(v.config.sampler).uses_variance ? to_string(v.config.variance) : "") << ',' << res.cell_steps(i, k) << ',' << n
                    << ',' << seed;
                for (const auto& d : defs) {
                    const auto it = results[i][k].find(d.key);
                    csv << ',' << fmt(it == results[i][k].end() ? kNaN : it->second, "%.8g");
                }
                csv << ',' << fmt(seconds[i][k], "%.3f") << ',' << (from_cache[i][k] ? 1 : 0) << '\n';
            }
        if (has_truth) {
            csv << "reference," << truth_label << ",real,,,," << res.n_truth << ',' << seed;
            for (const auto& d : defs)
                csv << ',' << fmt(truth_of(d.key), "%.8g");
            csv << ",,0\n";
        }
        write_file_atomic(out / "compare.csv", csv.str());
    }

    // Markdown and plots: one table and one PNG per metric, rows = samplers, columns = S.
    std::ostringstream md;
    md << "# DDPM vs DDIM on " << card.name << "\n\n"
       << "`noisetrail-cli compare` (NoiseTrail " << NOISETRAIL_VERSION << "): " << n
       << " samples per cell, seed " << seed << " (every cell starts from the same x_T), spacing "
       << to_string(spacing) << ". DDIM rows use eta as given; the DDPM sigma-hat row is the ancestral sampler "
       << "with the fixed_large variance (beta'), as in the DDIM paper's Table 1.\n\n"
       << (res.equal_nfe ? "Equal cost: the columns are budgets of model calls (NFE); each row takes the steps that "
                           "fit (Heun's S steps cost 2S - 1 calls: Heun " +
                               std::to_string(res.cell_steps(variants.size() - 1, 0)) + " steps stand under NFE " +
                               std::to_string(steps.front()) + "; compare.csv's steps column says each row's).\n\n"
                         : "")
       << "Reference: " << res.note << ".";
    if (res.kind == ReferenceKind::Mixture || res.kind == ReferenceKind::DataPoints)
        md << " RBF kernels (Vendi, MMD^2) use the fixed bandwidth h = " << fmt(vendi_bw, "%g")
           << " data units; the second MMD^2 uses the median heuristic of the reference, h = "
           << fmt(res.median_bandwidth, "%.4g")
           << ", shared by all cells (it smooths over narrow modes, so it is blind to blur).";
    if (res.kind == ReferenceKind::Image)
        md << " \"FD (our classifier)\" is a Frechet distance on the features of this project's digit classifier: "
              "it is not the Inception FID and is not comparable with published FIDs.";
    md << "\n\nPlot colours: ";
    for (std::size_t i = 0; i < variants.size(); ++i)
        md << (i ? ", " : "") << variants[i].label << " " << colour_name(variants[i].color);
    md << ". Best value per column in bold.\n";
    for (const MetricDef& d : defs) {
        const double tv = truth_of(d.key);
        const int better = d.better == 2 && !std::isfinite(tv) ? 0 : d.better;
        md << "\n## " << d.title
           << (better == 1    ? " (higher is better)"
               : better < 0   ? " (lower is better)"
               : better == 2  ? " (closest to the row \"" + truth_label + "\" is best)"
                              : "")
           << "\n\n![" << d.key << "](compare-" << d.key << ".png)\n\n| sampler |";
        markdown_step_columns(md, steps, res.equal_nfe ? "NFE" : "S");
        std::vector<std::vector<double>> table(variants.size(), std::vector<double>(steps.size(), kNaN));
        for (std::size_t i = 0; i < variants.size(); ++i)
            for (std::size_t k = 0; k < steps.size(); ++k)
                if (const auto it = results[i][k].find(d.key); it != results[i][k].end())
                    table[i][k] = it->second;
        for (std::size_t i = 0; i < variants.size(); ++i) {
            md << "| " << variants[i].label << " |";
            for (std::size_t k = 0; k < steps.size(); ++k) {
                // Bold the best of the column: highest, lowest, or closest to the true row.
                const auto score = [&](double v) { return better == 2 ? -std::abs(v - tv) : better > 0 ? v : -v; };
                bool best = better != 0 && std::isfinite(table[i][k]);
                for (std::size_t j = 0; best && j < variants.size(); ++j)
                    if (std::isfinite(table[j][k]) && fmt(table[j][k], d.format) != fmt(table[i][k], d.format) &&
                        score(table[j][k]) > score(table[i][k]))
                        best = false;
                const std::string s = fmt(table[i][k], d.format);
                md << ' ' << (best ? "**" + s + "**" : s) << " |";
            }
            md << '\n';
        }
        if (std::isfinite(tv)) {
            md << "| *" << truth_label << "* |";
            for (std::size_t k = 0; k < steps.size(); ++k)
                md << " *" << fmt(tv, d.format) << "* |";
            md << '\n';
        }
        plot_metric(out / ("compare-" + d.key + ".png"), MetricDef{d.key, d.title, better, d.format}, steps, variants,
                    table, tv, res.truth_legend);
    }
    md << "\n## Seconds per cell (sampling + metrics)\n\n| sampler |";
    markdown_step_columns(md, steps, res.equal_nfe ? "NFE" : "S");
    for (std::size_t i = 0; i < variants.size(); ++i) {
        md << "| " << variants[i].label << " |";
        for (std::size_t k = 0; k < steps.size(); ++k)
            md << ' ' << fmt(seconds[i][k], "%.2f") << (from_cache[i][k] ? " (cached)" : "") << " |";
        md << '\n';
    }
    {
        write_file_atomic(out / "compare.md", md.str());
    }
    std::cerr << "noisetrail-cli compare: " << cell_count << " cells (" << cells_done << " computed, "
              << cell_count - cells_done << " cached) in " << fmt(elapsed, "%.1f") << " s; wrote "
              << (out / "compare.md").string() << ", compare.csv and " << defs.size() << " plots\n";
    return 0;
}

} // namespace noisetrail::cli
