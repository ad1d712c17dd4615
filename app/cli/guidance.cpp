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

/// The exact p(x | c) of each class of a conditional mixture card (weights renormalised),
/// and each class's prior p(c) = the sum of its components' weights.
struct ClassMixtures {
    std::vector<GaussianMixture> of_class;
    std::vector<double> prior;
};

std::optional<ClassMixtures> class_mixtures(const ModelCard& card)
{
    const auto mix = mixture_from_card(card);
    if (!mix || !card.is_conditional())
        return std::nullopt;
    const auto j = nlohmann::json::parse(card.json_text);
    const auto& classes = j.at("mixture").at("classes"); // validated when the model loaded
    ClassMixtures out;
    for (std::size_t c = 0; c < card.classes.size(); ++c) {
        GaussianMixture m;
        m.dim = mix->dim;
        double total = 0;
        for (int k = 0; k < mix->components(); ++k)
            if (classes[std::size_t(k)].get<std::size_t>() == c) {
                m.weights.push_back(mix->weights[std::size_t(k)]);
                m.stds.push_back(mix->stds[std::size_t(k)]);
                m.means.insert(m.means.end(), mix->means.begin() + k * mix->dim, mix->means.begin() + (k + 1) * mix->dim);
                total += mix->weights[std::size_t(k)];
            }
        for (double& w : m.weights)
            w /= total;
        out.of_class.push_back(std::move(m));
        out.prior.push_back(total);
    }
    return out;
}

struct Row {
    double w = 0;
    double accuracy = 0;        ///< fraction judged as the requested class
    double class_prob = 0;      ///< mean p(c | x_0): exact, or the classifier's
    /// Mean log-odds of the class, log p(c | x_0) - log(1 - p(c | x_0)): how deep in the class's
    /// territory samples lie, where p(c | x_0) itself is 1 to the last digit (exact cards).
    double log_odds = 0;
    double log_lik = NAN;       ///< mean true log p(x_0 | c) (exact cards)
    double pairwise = 0;        ///< mean pairwise distance within a class (data units)
    double vendi = 0;           ///< Vendi score within a class (RBF on points, cosine on features)
    double fd = NAN;            ///< Frechet distance of features to the class's held-out digits
};

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

    // How a sample is judged: the exact class mixtures, or the classifier on images.
    const auto exact = class_mixtures(card);
    std::shared_ptr<Classifier> classifier;
    std::vector<int> class_of_label; // card class -> classifier output index
    std::vector<GaussianFit> heldout_fit(card.classes.size());
    if (image) {
        classifier = experiments::classifier_for(*model, {}, "the model's classifier");
        for (const auto& name : card.classes) {
            const auto& labels = classifier->labels();
            const auto it = std::find(labels.begin(), labels.end(), name);
            if (it == labels.end())
                throw InputError("class '" + name + "' of " + card.path.string() + " is not one of the classifier's (" +
                                 classifier->card_path().string() + ")");
            class_of_label.push_back(int(it - labels.begin()));
        }
        // The bundled held-out digits of each class (features of the same classifier).
        const auto data_dir = card.path.parent_path() / "data";
        try {
            const NpyArray images = read_npy(data_dir / "mnist-heldout-500_images.npy");
            const NpyArray labels = read_npy(data_dir / "mnist-heldout-500_labels.npy");
            const std::size_t D = std::size_t(card.data_dim());
            if (images.f32.size() == labels.i64.size() * D) {
                const auto feats = classifier->features(images.f32, int(labels.i64.size()));
                const std::size_t F = std::size_t(classifier->feature_dim());
                for (std::size_t c = 0; c < card.classes.size(); ++c) {
                    std::vector<double> f;
                    for (std::size_t i = 0; i < labels.i64.size(); ++i)
                        if (labels.i64[i] == class_of_label[c])
                            f.insert(f.end(), feats.begin() + long(i * F), feats.begin() + long((i + 1) * F));
                    if (f.size() >= 2 * F)
                        heldout_fit[c] = fit_gaussian(f, int(f.size() / F), int(F));
                }
            }
        } catch (const InputError&) {
            // No bundled held-out digits next to the card: the FD column stays empty.
        }
    } else if (!exact) {
        throw InputError("--model " + card.path.string() + ": guidance is measured on exact mixture cards with classes "
                         "or on image models with a classifier next to the card");
    }

    std::vector<Row> rows;
    std::vector<std::pair<double, std::vector<float>>> figure_runs; // the first class's samples per W
    ::noisetrail::cli::Progress progress(int(scales.size() * classes.size()));
    int done = 0;
    for (double w : scales) {
        Row row;
        row.w = w;
        for (int c : classes) {
            RunOptions o;
            o.sampler = base;
            o.sampler.guidance.classes = {c};
            o.sampler.guidance.scale = w;
            o.batch = n;
            o.seed = seed;
            o.threads = threads;
            const RunResult r = run_sampler(*model, o);
            const std::vector<double> x(r.samples.begin(), r.samples.end());
            if (c == classes.front() && exact && card.is_2d_points())
                figure_runs.emplace_back(w, r.samples);
            const int d = int(card.data_dim());
            row.pairwise += mean_pairwise_distance(x, n, d) / classes.size();
            if (exact) {
                // True posterior p(c | x_0) from the class mixtures and priors (Bayes).
                const std::size_t C = exact->of_class.size();
                std::vector<std::vector<double>> ll(C);
                for (std::size_t k = 0; k < C; ++k)
                    ll[k] = log_likelihood(exact->of_class[k], x, n);
                double acc = 0, post = 0, lik = 0;
                for (int i = 0; i < n; ++i) {
                    double mx = -INFINITY;
                    std::size_t best = 0;
                    for (std::size_t k = 0; k < C; ++k) {
                        const double v = ll[k][std::size_t(i)] + std::log(exact->prior[k]);
                        if (v > mx) {
                            mx = v;
                            best = k;
                        }
                    }
                    double z = 0;
                    for (std::size_t k = 0; k < C; ++k)
                        z += std::exp(ll[k][std::size_t(i)] + std::log(exact->prior[k]) - mx);
                    const double own = ll[std::size_t(c)][std::size_t(i)] + std::log(exact->prior[std::size_t(c)]);
                    post += std::exp(own - mx) / z;
                    double others = -INFINITY; // log sum over the other classes, stably
                    for (std::size_t k = 0; k < C; ++k)
                        if (k != std::size_t(c)) {
                            const double v = ll[k][std::size_t(i)] + std::log(exact->prior[k]);
                            others = std::max(others, v) + std::log1p(std::exp(-std::abs(others - v)));
                        }
                    row.log_odds += (own - others) / n / classes.size();
                    acc += best == std::size_t(c);
                    lik += ll[std::size_t(c)][std::size_t(i)];
                }
                row.accuracy += acc / n / classes.size();
                row.class_prob += post / n / classes.size();
                row.log_lik = (std::isnan(row.log_lik) ? 0.0 : row.log_lik) + lik / n / classes.size();
                row.vendi += vendi_rbf(x, n, d) / classes.size();
            } else {
                const auto out = classifier->run(r.samples, n);
                const int K = classifier->num_classes(), target = class_of_label[std::size_t(c)];
                double acc = 0, prob = 0;
                for (int i = 0; i < n; ++i) {
                    const float* p = out.probabilities.data() + std::size_t(i) * std::size_t(K);
                    acc += int(std::max_element(p, p + K) - p) == target;
                    prob += p[target];
                    const double pt = std::clamp(double(p[target]), 1e-12, 1.0 - 1e-12);
                    row.log_odds += std::log(pt / (1.0 - pt)) / n / classes.size();
                }
                row.accuracy += acc / n / classes.size();
                row.class_prob += prob / n / classes.size();
                const std::vector<double> f(out.features.begin(), out.features.end());
                const int F = classifier->feature_dim();
                row.vendi += vendi_cosine(f, n, F) / classes.size();
                if (heldout_fit[std::size_t(c)].dim > 0)
                    row.fd = (std::isnan(row.fd) ? 0.0 : row.fd) +
                             frechet_distance(fit_gaussian(f, n, F), heldout_fit[std::size_t(c)]) / classes.size();
            }
            progress.update(++done, 0);
        }
        rows.push_back(row);
    }
    progress.finish();

    // One table, as CSV and Markdown.
    std::ostringstream csv, md;
    const std::string lik_head = exact ? "log p(x0|c)" : "FD to held-out class";
    csv << "guidance,accuracy,class_probability,class_log_odds," << (exact ? "log_likelihood" : "frechet_distance")
        << ",pairwise_distance,vendi\n";
    md << "| W | accuracy | " << (exact ? "true p(c|x0)" : "classifier p(c|x0)") << " | class log-odds | "
       << lik_head << " | pairwise distance | Vendi |\n|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const Row& r : rows) {
        const double third = exact ? r.log_lik : r.fd;
        csv << fmt(r.w, "%g") << ',' << fmt(r.accuracy) << ',' << fmt(r.class_prob) << ',' << fmt(r.log_odds, "%.6g")
            << ',' << fmt(third) << ','
            << fmt(r.pairwise) << ',' << fmt(r.vendi) << '\n';
        md << "| " << fmt(r.w, "%g") << " | " << fmt(r.accuracy, "%.3f") << " | " << fmt(r.class_prob, "%.3f") << " | "
           << fmt(r.log_odds, "%.1f") << " | "
           << fmt(third, "%.3f") << " | " << fmt(r.pairwise, "%.3f") << " | " << fmt(r.vendi, "%.2f") << " |\n";
    }
    std::ostringstream head;
    head << card.name << ": " << describe(base, model->schedule().train_steps(), model->schedule().process()) << ", "
         << n << " samples per class, " << classes.size() << (classes.size() == 1 ? " class" : " classes") << ", seed "
         << seed << "\n\n";
    std::cout << head.str() << md.str();
    if (out_dir) {
        write_file_atomic(std::filesystem::path(*out_dir) / "guidance.csv", csv.str());
        write_file_atomic(std::filesystem::path(*out_dir) / "guidance.md", head.str() + md.str());
        if (!figure_runs.empty())
            write_figure(std::filesystem::path(*out_dir) / ("guidance-class-" + std::to_string(classes.front()) + ".png"),
                         exact->of_class[std::size_t(classes.front())], figure_runs);
    }
    return 0;
}

} // namespace noisetrail::cli
