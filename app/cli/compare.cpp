// noisetrail-cli compare: the DDPM vs DDIM grid of issue 5 (DDIM paper, Table 1):
// DDIM eta in {0, 0.2, 0.5, 1} and DDPM sigma-hat (fixed_large) by S in
// {10, 20, 50, 100, 1000}, all cells from the same seeds, measured with
// core's metrics, cached per cell, written as CSV, Markdown and PNG plots.
#include "commands.hpp"
#include "progress.hpp"

#include "noisetrail/classifier.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/image_io.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/version.hpp"

#include <nlohmann/json.hpp>

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
#include <tuple>

namespace noisetrail::cli {

const char* const kCompareHelp = R"(usage: noisetrail-cli compare --model CARD --out DIR [options]

Run the DDPM vs DDIM comparison grid from the same seeds: DDIM with eta in
{0, 0.2, 0.5, 1} and DDPM with sigma-hat (the fixed_large variance of the DDIM
paper's Table 1) by S in {10, 20, 50, 100, 1000} steps. Every cell samples the
same x_T. Writes compare.csv, compare.md, one compare-METRIC.png per metric
(metric against S, one line per eta) and compare-cache.json into DIR; cells
already in the cache (same model, config, seed and sample count) are reused.

  --model CARD          model card (.json)
  --out DIR             output folder (created if needed)
  --samples N           samples per cell (default 1000 for 2-D data, 500 for images)
  --quick               a small grid for CI: 200 samples (64 for images), S in {10, 50}
  --steps LIST          comma-separated S values, e.g. 10,20,50 (overrides the default set)
  --etas LIST           comma-separated DDIM etas (default 0,0.2,0.5,1)
  --seed N              base seed (default 0); chunk c of a cell's samples uses seed + c
  --batch B             samples per sampling run (default: all for 2-D data, 100 for images)
  --spacing NAME        timestep spacing of every cell (default leading)
  --classifier CARD     feature network for image models (default:
                        mnist-classifier.json in the model card's folder)
  --kernel-bandwidth H  RBF bandwidth h of the 2-D Vendi score and MMD, data units (default 0.5)
  --no-cache            recompute every cell (the cache file is rewritten)
  --device cpu|cuda     where to sample (default cpu)
  --threads N           intra-op threads (default: libtorch's choice)
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
using metrics::GaussianMixture;
using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kCacheFormat = "noisetrail-compare-cache/1";
constexpr const char* kMetricsVersion = "m1"; // bump when a metric's definition changes

// ------------------------------------------------------------ grid

struct Variant {
    std::string key;   ///< CSV id: "eta0", "eta0.2", "sigma_hat"
    std::string label; ///< "DDIM eta 0", "DDPM sigma-hat"
    SamplerConfig config;
    std::array<std::uint8_t, 3> color;
};

std::string fmt(double v, const char* f = "%.6g")
{
    if (std::isnan(v))
        return "nan";
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::vector<std::string> split_list(const std::string& flag, const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            out.push_back(item);
    if (out.empty())
        throw InputError(flag + ": expected a comma-separated list, got '" + s + "'");
    return out;
}

// Tableau 10: distinct on white, ordered as matplotlib's default cycle.
constexpr std::array<std::array<std::uint8_t, 3>, 10> kPalette{{{31, 119, 180},
                                                                {255, 127, 14},
                                                                {44, 160, 44},
                                                                {214, 39, 40},
                                                                {148, 103, 189},
                                                                {140, 86, 75},
                                                                {227, 119, 194},
                                                                {127, 127, 127},
                                                                {188, 189, 34},
                                                                {23, 190, 207}}};

std::vector<Variant> make_variants(const std::vector<double>& etas, Spacing spacing)
{
    std::vector<Variant> v;
    for (double eta : etas) {
        SamplerConfig c;
        c.sampler = "ddim";
        c.eta = eta;
        c.spacing = spacing;
        v.push_back({"eta" + fmt(eta, "%g"), "DDIM eta " + fmt(eta, "%g"), c, {}});
    }
    SamplerConfig c;
    c.sampler = "ddpm";
    c.variance = Variance::FixedLarge;
    c.spacing = spacing;
    v.push_back({"sigma_hat", "DDPM sigma-hat", c, {}});
    // Etas take blue, orange, green, red, then brown...; sigma-hat is always purple.
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
        v[i].color = kPalette[(i < 4 ? i : i + 1) % kPalette.size()];
    v.back().color = kPalette[4];
    return v;
}

// ------------------------------------------------------------ metrics per model kind

enum class Kind { Mixture, DataPoints, Image, Plain };

struct MetricDef {
    std::string key;
    std::string title;
    int better; ///< +1 higher is better, -1 lower is better, 2 closest to the true-distribution row, 0 none
    const char* format;
};

std::vector<MetricDef> metric_defs(Kind kind, int components)
{
    // Vendi is judged against the real data's own score where there is a real-data row:
    // more spread than the data is noise, not diversity.
    const MetricDef vendi{"vendi", "Vendi score", 2, "%.2f"};
    const MetricDef vendi_ref{"vendi", "Vendi score (RBF)", 2, "%.2f"};
    const MetricDef straight{"straightness", "Path straightness (end-to-end / length)", 0, "%.3f"};
    const MetricDef length{"path_length", "Mean path length", 0, "%.3f"};
    const MetricDef precision{"precision", "Precision (k = 3)", +1, "%.3f"};
    const MetricDef recall{"recall", "Recall (k = 3)", +1, "%.3f"};
    switch (kind) {
    case Kind::Mixture:
        return {{"log_likelihood", "Mean log-likelihood under the true density (nats)", 2, "%.3f"},
                {"mmd2", "MMD^2 to the true mixture (RBF, unbiased)", -1, "%.4f"},
                {"mmd2_median", "MMD^2 to the true mixture, median-heuristic bandwidth", -1, "%.4f"},
                vendi_ref,
                {"components_covered", "Components covered (of " + std::to_string(components) + ", 3-sigma rule)", +1,
                 "%.0f"},
                {"occupancy_entropy", "Occupancy entropy (nats; uniform = " + fmt(std::log(components), "%.3f") + ")",
                 2, "%.3f"},
                {"high_quality", "Fraction within 3 std of a component", +1, "%.3f"},
                precision,
                recall,
                straight,
                length};
    case Kind::DataPoints:
        return {{"mmd2", "MMD^2 to the data (RBF, unbiased)", -1, "%.4f"},
                {"mmd2_median", "MMD^2 to the data, median-heuristic bandwidth", -1, "%.4f"},
                precision,
                recall,
                vendi,
                straight,
                length};
    case Kind::Image:
        return {{"fd_classifier", "FD (our classifier)", -1, "%.2f"},
                precision,
                recall,
                {"vendi", "Vendi score (cosine on classifier features)", 2, "%.2f"},
                {"classes_covered", "Classes covered", +1, "%.0f"},
                {"class_entropy", "Class entropy (nats; uniform over 10 = 2.303)", +1, "%.3f"},
                straight,
                length};
    case Kind::Plain:
        return {vendi, {"pairwise_distance", "Mean pairwise distance", +1, "%.3f"}, straight, length};
    }
    return {};
}

/// Everything a cell is measured against, prepared once per compare run.
struct Reference {
    Kind kind = Kind::Plain;
    int dim = 0;
    std::optional<GaussianMixture> mixture;
    /// Real reference set [n_points, dim] for MMD and precision/recall: 2-D points, or
    /// classifier features (dim = F) for images. At most n rows, so that precision and
    /// recall compare sets of equal size (Kynkaanniemi et al. use equal sizes).
    std::vector<double> points;
    int n_points = 0;
    /// A second, disjoint real set of the same size: the "real data" row of the tables
    /// (what a perfect sampler would score, finite-sample effects included).
    std::vector<double> truth_points;
    int n_truth = 0;
    std::string truth_label, truth_legend;
    double median_bandwidth = 0.0; ///< median heuristic on the reference points
    double kernel_bandwidth = metrics::kDefaultRbfBandwidth;
    std::shared_ptr<Classifier> classifier;
    metrics::GaussianFit feature_fit; ///< the shipped held-out feature mean and covariance
    std::string note;                 ///< how the reference was made, for the Markdown
};

/// Rows 0, 2, 4, ... and rows 1, 3, 5, ... of a pool [count, dim], each thinned
/// evenly to at most `n` rows: two disjoint real sets for reference and truth row.
std::pair<std::vector<double>, std::vector<double>> split_pool(std::span<const float> pool, int count, int dim, int n)
{
    std::pair<std::vector<double>, std::vector<double>> out;
    for (int parity = 0; parity < 2; ++parity) {
        std::vector<double>& dst = parity == 0 ? out.first : out.second;
        const int avail = (count - parity + 1) / 2;
        const int take = std::min(avail, n);
        for (int j = 0; j < take; ++j) {
            const std::size_t row = 2 * static_cast<std::size_t>(static_cast<long long>(j) * avail / take) + parity;
            dst.insert(dst.end(), pool.begin() + row * dim, pool.begin() + (row + 1) * dim);
        }
    }
    return out;
}

using Values = std::map<std::string, double>;

/// Image metrics from classifier features (and, when given, probabilities) of n images.
void measure_features(const Reference& ref, const std::vector<double>& feat, const std::vector<double>& probs, int n,
                      Values& v)
{
    const int F = ref.classifier->feature_dim(), K = ref.classifier->num_classes();
    v["fd_classifier"] = metrics::frechet_distance(metrics::fit_gaussian(feat, n, F), ref.feature_fit);
    const auto pr = metrics::precision_recall(ref.points, ref.n_points, feat, n, F, 3);
    v["precision"] = pr.precision;
    v["recall"] = pr.recall;
    v["vendi"] = metrics::vendi_cosine(feat, n, F);
    if (!probs.empty()) {
        const auto occ = metrics::class_occupancy(probs, n, K);
        v["classes_covered"] = occ.covered;
        v["class_entropy"] = occ.entropy;
    }
}

Values measure(const Reference& ref, const std::vector<float>& samples_f, int n, const metrics::TrajectoryStats& traj)
{
    Values v;
    const std::vector<double> x(samples_f.begin(), samples_f.end());
    const int d = ref.dim;
    v["straightness"] = traj.mean_straightness;
    v["path_length"] = traj.mean_path_length;
    switch (ref.kind) {
    case Kind::Mixture: {
        v["log_likelihood"] = metrics::mean_log_likelihood(*ref.mixture, x, n);
        const auto c = metrics::mixture_coverage(*ref.mixture, x, n);
        v["components_covered"] = c.occupancy.covered;
        v["occupancy_entropy"] = c.occupancy.entropy;
        v["high_quality"] = c.high_quality;
        [[fallthrough]];
    }
    case Kind::DataPoints: {
        v["mmd2"] = metrics::mmd2_rbf(x, n, ref.points, ref.n_points, d, ref.kernel_bandwidth);
        v["mmd2_median"] = metrics::mmd2_rbf(x, n, ref.points, ref.n_points, d, ref.median_bandwidth);
        const auto pr = metrics::precision_recall(ref.points, ref.n_points, x, n, d, 3);
        v["precision"] = pr.precision;
        v["recall"] = pr.recall;
        v["vendi"] = metrics::vendi_rbf(x, n, d, ref.kernel_bandwidth);
        break;
    }
    case Kind::Image: {
        const Classifier::Output out = ref.classifier->run(samples_f, n);
        measure_features(ref, std::vector<double>(out.features.begin(), out.features.end()),
                         std::vector<double>(out.probabilities.begin(), out.probabilities.end()), n, v);
        break;
    }
    case Kind::Plain:
        v["vendi"] = d <= 3 ? metrics::vendi_rbf(x, n, d, ref.kernel_bandwidth) : metrics::vendi_cosine(x, n, d);
        v["pairwise_distance"] = metrics::mean_pairwise_distance(x, n, d);
        break;
    }
    return v;
}

// ------------------------------------------------------------ cache

/// FNV-1a 64: a stable content hash for cache keys (std::hash is not guaranteed stable).
std::string fnv1a(const std::string& s)
{
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

/// What identifies a model's content: the card's text plus size and modification
/// time of every file its string fields name (weights, data, feature statistics),
/// so retraining into the same card invalidates the cache.
std::string content_fingerprint(const fs::path& card_path)
{
    std::ifstream in(card_path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::string out = text;
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    std::vector<const nlohmann::json*> todo{&j};
    while (!todo.empty()) {
        const nlohmann::json* node = todo.back();
        todo.pop_back();
        if (node->is_structured()) {
            for (const auto& child : *node)
                todo.push_back(&child);
        } else if (node->is_string()) {
            std::error_code ec;
            const fs::path f = card_path.parent_path() / node->get<std::string>();
            if (fs::is_regular_file(f, ec)) {
                const auto size = fs::file_size(f, ec);
                const auto time = fs::last_write_time(f, ec).time_since_epoch().count();
                out += "|" + node->get<std::string>() + ":" + std::to_string(size) + ":" + std::to_string(time);
            }
        }
    }
    return out;
}

nlohmann::json load_cache(const fs::path& file, bool use)
{
    nlohmann::json empty = {{"format", kCacheFormat}, {"cells", nlohmann::json::object()}};
    if (!use || !fs::exists(file))
        return empty;
    std::ifstream in(file);
    auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.value("format", "") != kCacheFormat || !j.contains("cells") || !j["cells"].is_object()) {
        std::cerr << "noisetrail-cli compare: warning: " << file.string() << " is not a compare cache; starting afresh\n";
        return empty;
    }
    return j;
}

void save_cache(const fs::path& file, const nlohmann::json& cache)
{
    const fs::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp);
        out << cache.dump(1) << '\n';
        if (!out)
            throw InputError(tmp.string() + ": cannot write file");
    }
    fs::rename(tmp, file); // atomic: an interrupted run never leaves a torn cache
}

// ------------------------------------------------------------ plots (no fonts: a 5x7 bitmap font)

/// Rows of a 5x7 glyph, top to bottom, 5 bits each (bit 4 = leftmost column).
const std::array<std::uint8_t, 7>* glyph(char ch)
{
    static const std::map<char, std::array<std::uint8_t, 7>> font{
        {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
        {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
        {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
        {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
        {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
        {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
        {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
        {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
        {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
        {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
        {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
        {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
        {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
        {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
        {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
        {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
        {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
        {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
        {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
        {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}}, {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
        {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
        {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
        {'^', {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00}}, {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
        {' ', {0, 0, 0, 0, 0, 0, 0}},
    };
    const auto it = font.find(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    return it == font.end() ? nullptr : &it->second;
}

class Canvas {
public:
    Canvas(int w, int h) : w_(w), h_(h), rgb_(static_cast<std::size_t>(w) * h * 3, 255) {}
    using Color = std::array<std::uint8_t, 3>;

    void px(int x, int y, Color c)
    {
        if (x < 0 || y < 0 || x >= w_ || y >= h_)
            return;
        std::uint8_t* p = &rgb_[(static_cast<std::size_t>(y) * w_ + x) * 3];
        p[0] = c[0], p[1] = c[1], p[2] = c[2];
    }
    void rect(int x0, int y0, int x1, int y1, Color c)
    {
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x)
                px(x, y, c);
    }
    /// A line of the given thickness (Bresenham, stamping a square brush).
    void line(int x0, int y0, int x1, int y1, Color c, int thick = 1)
    {
        const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        int err = dx + dy;
        const int r = thick / 2;
        while (true) {
            rect(x0 - r, y0 - r, x0 - r + thick - 1, y0 - r + thick - 1, c);
            if (x0 == x1 && y0 == y1)
                break;
            const int e2 = 2 * err;
            if (e2 >= dy)
                err += dy, x0 += sx;
            if (e2 <= dx)
                err += dx, y0 += sy;
        }
    }
    /// Text in the 5x7 font at `scale`; returns the width drawn. Unknown characters are skipped.
    int text(int x, int y, const std::string& s, Color c, int scale = 2)
    {
        int cx = x;
        for (char ch : s) {
            if (const auto* g = glyph(ch)) {
                for (int row = 0; row < 7; ++row)
                    for (int col = 0; col < 5; ++col)
                        if ((*g)[row] & (0x10 >> col))
                            rect(cx + col * scale, y + row * scale, cx + (col + 1) * scale - 1,
                                 y + (row + 1) * scale - 1, c);
                cx += 6 * scale;
            }
        }
        return cx - x;
    }
    static int text_width(const std::string& s, int scale = 2)
    {
        int n = 0;
        for (char ch : s)
            n += glyph(ch) ? 1 : 0;
        return n * 6 * scale;
    }
    void save(const fs::path& path) const { write_png_rgb(path, w_, h_, rgb_); }

private:
    int w_, h_;
    std::vector<std::uint8_t> rgb_;
};

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

Reference prepare_reference(const Model& model, const Args& args, int n, std::uint64_t seed, double vendi_bw)
{
    const ModelCard& card = model.card();
    Reference ref;
    ref.dim = static_cast<int>(card.data_dim());
    ref.kernel_bandwidth = vendi_bw;
    // The reference set is drawn with its own seed so it is independent of every cell's x_T.
    const std::uint64_t ref_seed = seed + 1000003;
    const auto set_bandwidth = [&] {
        const int m = std::min(ref.n_points, 2000);
        ref.median_bandwidth =
            metrics::median_pairwise_distance(std::span<const double>(ref.points).first(static_cast<std::size_t>(m) * ref.dim), m, ref.dim);
        if (!(ref.median_bandwidth > 0))
            ref.median_bandwidth = 1.0;
    };
    if (auto mix = metrics::mixture_from_card(card)) {
        ref.kind = Kind::Mixture;
        ref.mixture = std::move(mix);
        ref.n_points = n;
        ref.points = metrics::sample_mixture(*ref.mixture, n, ref_seed);
        ref.truth_points = metrics::sample_mixture(*ref.mixture, n, ref_seed + 1);
        ref.n_truth = n;
        ref.truth_label = "True mixture (exact draws)";
        ref.truth_legend = "TRUE MIXTURE";
        set_bandwidth();
        ref.note = std::to_string(n) + " fresh draws of the true mixture (seed " + std::to_string(ref_seed) +
                   "); the \"true mixture\" row measures another " + std::to_string(n) + " exact draws (seed " +
                   std::to_string(ref_seed + 1) + ")";
        return ref;
    }
    if (card.is_image()) {
        fs::path cpath = card.path.parent_path() / "mnist-classifier.json";
        if (const auto c = args.text("--classifier"))
            cpath = *c;
        if (!fs::exists(cpath))
            throw InputError("--classifier " + cpath.string() +
                             ": not found; image models are measured on the digit classifier's features "
                             "(train it with 'noisetrail-cli train --kind noisetrail-classifier')");
        ref.kind = Kind::Image;
        ref.classifier = Classifier::load(cpath);
        const auto in = ref.classifier->input_shape();
        if (in.size() != 3 || in[0] * in[1] * in[2] != card.data_dim())
            throw InputError("--classifier " + cpath.string() + ": its input shape does not match the model's data_shape");
        const Classifier::Reference r = ref.classifier->heldout_reference();
        const int F = ref.classifier->feature_dim();
        ref.dim = F; // reference sets hold features
        ref.feature_fit = {F, r.mean, r.cov};
        std::tie(ref.points, ref.truth_points) = split_pool(r.features, r.count, F, n);
        ref.n_points = static_cast<int>(ref.points.size() / F);
        ref.n_truth = static_cast<int>(ref.truth_points.size() / F);
        if (ref.n_points < 4 || ref.n_truth < 4)
            throw InputError("--classifier " + cpath.string() + ": too few held-out features for precision/recall");
        ref.truth_label = "Held-out digits (" + std::to_string(ref.n_truth) + ")";
        ref.truth_legend = "HELD-OUT DIGITS";
        ref.note = "the held-out digits' features shipped with " + cpath.filename().string() + " (" +
                   std::to_string(r.count) + " images): FD against their mean and covariance, precision/recall " +
                   "against " + std::to_string(ref.n_points) + " of them (even rows); the held-out row measures " +
                   std::to_string(ref.n_truth) + " other held-out digits (odd rows) the same way, without class " +
                   "statistics";
        return ref;
    }
    const auto j = nlohmann::json::parse(card.json_text, nullptr, false);
    if (card.kind == "empirical" && j.is_object() && j.contains("data") && j["data"].is_string()) {
        const NpyArray a = read_npy(card.resolve(j["data"].get<std::string>()));
        ref.kind = Kind::DataPoints;
        const int count = static_cast<int>(a.shape.empty() ? 0 : a.shape[0]);
        if (count < 8 || static_cast<std::int64_t>(a.f32.size()) != static_cast<std::int64_t>(count) * ref.dim)
            throw InputError(card.path.string() + ": its data set is too small to compare against");
        std::tie(ref.points, ref.truth_points) = split_pool(a.f32, count, ref.dim, n);
        ref.n_points = static_cast<int>(ref.points.size() / ref.dim);
        ref.n_truth = static_cast<int>(ref.truth_points.size() / ref.dim);
        ref.truth_label = "Data (" + std::to_string(ref.n_truth) + " points)";
        ref.truth_legend = "DATA";
        set_bandwidth();
        ref.note = "the card's data set (" + std::to_string(count) + " points): " + std::to_string(ref.n_points) +
                   " of them (even rows) as the reference, " + std::to_string(ref.n_truth) +
                   " others (odd rows) as the data row";
        return ref;
    }
    ref.kind = Kind::Plain;
    ref.note = "no reference distribution: diversity and path metrics only";
    return ref;
}

} // namespace

int cmd_compare(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--out", "--samples", "--steps", "--etas", "--seed", "--batch", "--spacing",
                     "--classifier", "--kernel-bandwidth", "--device", "--threads"},
                    {"--quick", "--no-cache", "--help"});
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
    const int threads = static_cast<int>(args.integer("--threads", 1, 1024).value_or(0));
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
    std::vector<int> steps = quick ? std::vector<int>{10, 50} : std::vector<int>{10, 20, 50, 100, 1000};
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
    const bool image = card.is_image();
    const int n = static_cast<int>(samples_flag.value_or(quick ? (image ? 64 : 200) : (image ? 500 : 1000)));
    const int batch = static_cast<int>(std::min<long long>(n, args.integer("--batch", 1, 1000000).value_or(image ? 100 : n)));
    const int D = static_cast<int>(card.data_dim());

    prepare_output_dir("--out", *out_flag);
    const fs::path out = *out_flag;
    const auto t_prep = Clock::now();
    const Reference ref = prepare_reference(*model, args, n, seed, vendi_bw);
    const std::vector<MetricDef> defs =
        metric_defs(ref.kind, ref.mixture ? ref.mixture->components() : 0);
    const auto variants = make_variants(etas, spacing);
    // The "true mixture" row: the same metrics on exact draws (no trajectory).
    Values truth;
    const std::string& truth_label = ref.truth_label;
    if (ref.n_truth > 0) {
        if (ref.kind == Kind::Image) {
            measure_features(ref, ref.truth_points, {}, ref.n_truth, truth);
        } else {
            metrics::TrajectoryStats none;
            none.mean_path_length = none.mean_straightness = none.mean_end_to_end = kNaN;
            truth = measure(ref, std::vector<float>(ref.truth_points.begin(), ref.truth_points.end()), ref.n_truth,
                            none);
        }
        truth.erase("straightness");
        truth.erase("path_length");
    }
    const auto truth_of = [&](const std::string& key) {
        const auto it = truth.find(key);
        return it == truth.end() ? kNaN : it->second;
    };
    std::cerr << "noisetrail-cli compare: " << card.name << ": " << variants.size() << " samplers x " << steps.size()
              << " step counts, " << n << " samples per cell (batch " << batch << "), reference: " << ref.note << " ("
              << fmt(std::chrono::duration<double>(Clock::now() - t_prep).count(), "%.1f") << " s)\n";

    // Cache: keyed by the model's content (card text and, for images, the classifier card),
    // the full sampler config, seed, sample count, batch and metric settings.
    std::string model_text = content_fingerprint(card.path);
    if (ref.classifier)
        model_text += content_fingerprint(ref.classifier->card_path());
    const std::string model_hash = fnv1a(model_text);
    const fs::path cache_file = out / "compare-cache.json";
    nlohmann::json cache = load_cache(cache_file, !args.has("--no-cache"));
    const auto cell_key = [&](const Variant& v, int S) {
        std::ostringstream k;
        k << "model=" << model_hash << "|sampler=" << v.config.sampler << "|eta=" << fmt(v.config.eta, "%.17g")
          << "|variance=" << to_string(v.config.variance) << "|S=" << S << "|spacing=" << to_string(spacing)
          << "|seed=" << seed << "|n=" << n << "|batch=" << batch << "|vendi_h=" << fmt(vendi_bw, "%.17g")
          << "|metrics=" << kMetricsVersion;
        return k.str();
    };

    // Work plan: cheap cells first so results appear early; time left from the
    // measured cost per sampling step plus the measured cost of measuring a cell.
    struct Cell {
        std::size_t variant;
        std::size_t step_index;
    };
    std::vector<Cell> cells;
    for (std::size_t k = 0; k < steps.size(); ++k)
        for (std::size_t i = 0; i < variants.size(); ++i)
            cells.push_back({i, k});
    long long steps_left = 0;
    int cells_left = 0;
    for (const Cell& c : cells)
        if (!cache["cells"].contains(cell_key(variants[c.variant], steps[c.step_index])))
            steps_left += steps[c.step_index], ++cells_left;
    const int chunks = (n + batch - 1) / batch;
    double sample_seconds = 0, measure_seconds = 0;
    long long steps_done = 0;
    int cells_done = 0;
    const auto t_start = Clock::now();

    std::vector<std::vector<Values>> results(variants.size(), std::vector<Values>(steps.size()));
    std::vector<std::vector<double>> seconds(variants.size(), std::vector<double>(steps.size(), kNaN));
    std::vector<std::vector<bool>> from_cache(variants.size(), std::vector<bool>(steps.size(), false));
    int index = 0;
    for (const Cell& c : cells) {
        ++index;
        const Variant& v = variants[c.variant];
        const int S = steps[c.step_index];
        const std::string key = cell_key(v, S);
        const std::string name = v.label + ", S = " + std::to_string(S);
        char head[32];
        std::snprintf(head, sizeof head, "[%d/%zu] ", index, cells.size());
        if (cache["cells"].contains(key)) {
            const auto& e = cache["cells"][key];
            for (const auto& [mk, mv] : e["metrics"].items())
                results[c.variant][c.step_index][mk] = mv.is_number() ? mv.get<double>() : kNaN;
            seconds[c.variant][c.step_index] = e.value("seconds", kNaN);
            from_cache[c.variant][c.step_index] = true;
            std::cerr << head << name << ": cached\n";
            continue;
        }
        SamplerConfig cfg = v.config;
        cfg.steps = S;
        const auto t_cell = Clock::now();
        std::vector<float> samples;
        samples.reserve(static_cast<std::size_t>(n) * D);
        double sum_len = 0, sum_e2e = 0, sum_straight = 0;
        const std::string label = head + name;
        Progress progress(S * chunks, label.c_str());
        // Without a terminal (CI logs) the bar is off: say where a long cell is every 30 s.
        const bool tty = isatty(STDERR_FILENO) != 0;
        auto last_note = Clock::now();
        for (int ch = 0; ch < chunks; ++ch) {
            RunOptions opt;
            opt.sampler = cfg;
            opt.seed = seed + static_cast<std::uint64_t>(ch); // the same x_T for every cell
            opt.batch = std::min(batch, n - ch * batch);
            opt.threads = threads;
            metrics::TrajectoryAccumulator traj(opt.batch, D);
            const FrameCallback on_frame = [&](std::shared_ptr<const StepFrame> f) {
                if (f->step == 0)
                    traj.add(std::span<const float>(f->x_t));
                traj.add(std::span<const float>(f->x_prev));
                const int done = ch * S + f->step + 1;
                progress.update(done, f->plan.t);
                if (!tty && Clock::now() - last_note > std::chrono::seconds(30)) {
                    last_note = Clock::now();
                    const double el = std::chrono::duration<double>(last_note - t_cell).count();
                    std::cerr << label << ": step " << done << "/" << S * chunks << ", ~"
                              << fmt(el / done * (S * chunks - done), "%.0f") << " s left in this cell\n";
                }
            };
            const RunResult r = run_sampler(*model, opt, on_frame);
            samples.insert(samples.end(), r.samples.begin(), r.samples.end());
            const auto t = traj.result();
            sum_len += t.mean_path_length * opt.batch;
            sum_e2e += t.mean_end_to_end * opt.batch;
            sum_straight += t.mean_straightness * opt.batch;
        }
        progress.finish();
        const double t_sampled = std::chrono::duration<double>(Clock::now() - t_cell).count();
        metrics::TrajectoryStats traj;
        traj.mean_path_length = sum_len / n;
        traj.mean_end_to_end = sum_e2e / n;
        traj.mean_straightness = sum_straight / n;
        Values vals = measure(ref, samples, n, traj);
        const double t_total = std::chrono::duration<double>(Clock::now() - t_cell).count();
        sample_seconds += t_sampled;
        measure_seconds += t_total - t_sampled;
        steps_done += S;
        ++cells_done;
        steps_left -= S;
        --cells_left;
        results[c.variant][c.step_index] = vals;
        seconds[c.variant][c.step_index] = t_total;

        nlohmann::json m = nlohmann::json::object();
        for (const auto& [mk, mv] : vals)
            m[mk] = std::isfinite(mv) ? nlohmann::json(mv) : nlohmann::json(nullptr);
        cache["cells"][key] = {{"variant", v.key}, {"steps", S}, {"metrics", m}, {"seconds", t_total}};
        save_cache(cache_file, cache);

        const double left = sample_seconds / std::max<long long>(steps_done, 1) * steps_left +
                            measure_seconds / std::max(cells_done, 1) * cells_left;
        std::cerr << head << name << ": " << fmt(t_total, "%.1f") << " s";
        for (const MetricDef& d : defs)
            if (vals.count(d.key))
                std::cerr << ", " << d.key << " " << fmt(vals[d.key], d.format);
        std::cerr << "  (" << cells_left << " cells, ~" << fmt(left, "%.0f") << " s left)\n";
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();

    // CSV: one row per cell.
    {
        std::ofstream csv(out / "compare.csv");
        csv << "variant,label,sampler,eta,variance,steps,samples,seed";
        for (const auto& d : defs)
            csv << ',' << d.key;
        csv << ",seconds,cached\n";
        for (std::size_t i = 0; i < variants.size(); ++i)
            for (std::size_t k = 0; k < steps.size(); ++k) {
                const Variant& v = variants[i];
                csv << v.key << ',' << v.label << ',' << v.config.sampler << ',' << fmt(v.config.eta, "%g") << ','
                    << (v.config.sampler == "ddpm" ? to_string(v.config.variance) : "") << ',' << steps[k] << ',' << n
                    << ',' << seed;
                for (const auto& d : defs) {
                    const auto it = results[i][k].find(d.key);
                    csv << ',' << fmt(it == results[i][k].end() ? kNaN : it->second, "%.8g");
                }
                csv << ',' << fmt(seconds[i][k], "%.3f") << ',' << (from_cache[i][k] ? 1 : 0) << '\n';
            }
        if (!truth.empty()) {
            csv << "reference," << truth_label << ",real,,,," << ref.n_truth << ',' << seed;
            for (const auto& d : defs)
                csv << ',' << fmt(truth_of(d.key), "%.8g");
            csv << ",,0\n";
        }
        if (!csv)
            throw InputError((out / "compare.csv").string() + ": cannot write file");
    }

    // Markdown and plots: one table and one PNG per metric, rows = samplers, columns = S.
    std::ostringstream md;
    md << "# DDPM vs DDIM on " << card.name << "\n\n"
       << "`noisetrail-cli compare` (NoiseTrail " << NOISETRAIL_VERSION << "): " << n
       << " samples per cell, seed " << seed << " (every cell starts from the same x_T), spacing "
       << to_string(spacing) << ". DDIM rows use eta as given; the DDPM sigma-hat row is the ancestral sampler "
       << "with the fixed_large variance (beta'), as in the DDIM paper's Table 1.\n\n"
       << "Reference: " << ref.note << ".";
    if (ref.kind == Kind::Mixture || ref.kind == Kind::DataPoints)
        md << " RBF kernels (Vendi, MMD^2) use the fixed bandwidth h = " << fmt(vendi_bw, "%g")
           << " data units; the second MMD^2 uses the median heuristic of the reference, h = "
           << fmt(ref.median_bandwidth, "%.4g")
           << ", shared by all cells (it smooths over narrow modes, so it is blind to blur).";
    if (ref.kind == Kind::Image)
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
        for (int s : steps)
            md << " S = " << s << " |";
        md << "\n|---|";
        for (std::size_t k = 0; k < steps.size(); ++k)
            md << "---:|";
        md << '\n';
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
                    table, tv, ref.truth_legend);
    }
    md << "\n## Seconds per cell (sampling + metrics)\n\n| sampler |";
    for (int s : steps)
        md << " S = " << s << " |";
    md << "\n|---|";
    for (std::size_t k = 0; k < steps.size(); ++k)
        md << "---:|";
    md << '\n';
    for (std::size_t i = 0; i < variants.size(); ++i) {
        md << "| " << variants[i].label << " |";
        for (std::size_t k = 0; k < steps.size(); ++k)
            md << ' ' << fmt(seconds[i][k], "%.2f") << (from_cache[i][k] ? " (cached)" : "") << " |";
        md << '\n';
    }
    {
        std::ofstream f(out / "compare.md");
        f << md.str();
        if (!f)
            throw InputError((out / "compare.md").string() + ": cannot write file");
    }
    std::cerr << "noisetrail-cli compare: " << cells.size() << " cells (" << cells_done << " computed, "
              << cells.size() - cells_done << " cached) in " << fmt(elapsed, "%.1f") << " s; wrote "
              << (out / "compare.md").string() << ", compare.csv and " << defs.size() << " plots\n";
    return 0;
}

} // namespace noisetrail::cli
