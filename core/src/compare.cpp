// The DDPM vs DDIM comparison grid (see compare.hpp): moved here from
// app/cli/compare.cpp so that the CLI and the GUI's Compare view share the
// grid, the reference, the per-cell metrics and the cache.
#include "noisetrail/compare.hpp"
#include "noisetrail/experiments.hpp"

#include "compare_cache.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/classifier.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/fingerprint.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <tuple>

namespace noisetrail::compare {

namespace {

namespace fs = std::filesystem;
using metrics::GaussianMixture;
using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using detail::cell_from_json;
using detail::load_cache;
using detail::usable_entry;
constexpr const char* kMetricsVersion = "m1"; // bump when a metric's definition changes

std::string fmt(double v, const char* f = "%.6g")
{
    if (std::isnan(v))
        return "nan";
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}


/// Everything a cell is measured against, prepared once per compare run.
struct Reference {
    ReferenceKind kind = ReferenceKind::Plain;
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
    case ReferenceKind::Mixture: {
        v["log_likelihood"] = metrics::mean_log_likelihood(*ref.mixture, x, n);
        const auto c = metrics::mixture_coverage(*ref.mixture, x, n);
        v["components_covered"] = c.occupancy.covered;
        v["occupancy_entropy"] = c.occupancy.entropy;
        v["high_quality"] = c.high_quality;
        [[fallthrough]];
    }
    case ReferenceKind::DataPoints: {
        v["mmd2"] = metrics::mmd2_rbf(x, n, ref.points, ref.n_points, d, ref.kernel_bandwidth);
        v["mmd2_median"] = metrics::mmd2_rbf(x, n, ref.points, ref.n_points, d, ref.median_bandwidth);
        const auto pr = metrics::precision_recall(ref.points, ref.n_points, x, n, d, 3);
        v["precision"] = pr.precision;
        v["recall"] = pr.recall;
        v["vendi"] = metrics::vendi_rbf(x, n, d, ref.kernel_bandwidth);
        break;
    }
    case ReferenceKind::Image: {
        const Classifier::Output out = ref.classifier->run(samples_f, n);
        measure_features(ref, std::vector<double>(out.features.begin(), out.features.end()),
                         std::vector<double>(out.probabilities.begin(), out.probabilities.end()), n, v);
        break;
    }
    case ReferenceKind::Plain:
        v["vendi"] = d <= 3 ? metrics::vendi_rbf(x, n, d, ref.kernel_bandwidth) : metrics::vendi_cosine(x, n, d);
        v["pairwise_distance"] = metrics::mean_pairwise_distance(x, n, d);
        break;
    }
    return v;
}

// ------------------------------------------------------------ cache

// Reading the cache and its cells: compare_cache.cpp (torch-free, fuzzed).

/// Add `cells` to the cache in `file`. Concurrent runs into one folder each add their own
/// cells: the file is re-read and merged under a lock on the folder above the cache's
/// (the lock StagedFolder takes to swap that folder), then replaced atomically; no cell
/// computed by another run is lost.
void save_cache(const fs::path& file, const nlohmann::json& cells)
{
    const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
    std::error_code ec;
    const FolderLock lock(fs::weakly_canonical(fs::absolute(folder), ec).parent_path());
    nlohmann::json cache = load_cache(file, true, nullptr);
    for (const auto& [k, v] : cells.items())
        cache["cells"][k] = v;
    write_file_atomic(file, cache.dump(1) + "\n");
}

Reference prepare_reference(const Model& model, const fs::path& classifier, int n, std::uint64_t seed, double vendi_bw)
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
        ref.kind = ReferenceKind::Mixture;
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
        ref.kind = ReferenceKind::Image;
        const fs::path cpath = experiments::classifier_path(card, classifier);
        ref.classifier = experiments::classifier_for(model, cpath, "--classifier");
        const Classifier::Reference r = ref.classifier->heldout_reference();
        const int F = ref.classifier->feature_dim();
        ref.dim = F; // reference sets hold features
        ref.feature_fit = {F, r.mean, r.cov};
        std::tie(ref.points, ref.truth_points) = split_pool(r.features, r.count, F, n);
        ref.n_points = static_cast<int>(ref.points.size() / F);
        ref.n_truth = static_cast<int>(ref.truth_points.size() / F);
        if (ref.n_points < 4 || ref.n_truth < 4)
            throw InputError("--classifier " + cpath.string() + ": too few held-out features for precision/recall");
        ref.truth_label = "Held-out images (" + std::to_string(ref.n_truth) + ")";
        ref.truth_legend = "HELD-OUT IMAGES";
        ref.note = "the held-out images' features shipped with " + cpath.filename().string() + " (" +
                   std::to_string(r.count) + " images): FD against their mean and covariance, precision/recall " +
                   "against " + std::to_string(ref.n_points) + " of them (even rows); the held-out row measures " +
                   std::to_string(ref.n_truth) + " other held-out images (odd rows) the same way, without class " +
                   "statistics";
        return ref;
    }
    const auto j = nlohmann::json::parse(card.json_text, nullptr, false);
    if (card.kind == "empirical" && j.is_object() && j.contains("data") && j["data"].is_string()) {
        const NpyArray a = read_npy(card.resolve(j["data"].get<std::string>()));
        ref.kind = ReferenceKind::DataPoints;
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
    ref.kind = ReferenceKind::Plain;
    ref.note = "no reference distribution: diversity and path metrics only";
    return ref;
}

} // namespace

// Tableau 10: distinct on white, ordered as matplotlib's default cycle.
const std::array<std::array<std::uint8_t, 3>, 10> kPalette{{{31, 119, 180},
                                                                {255, 127, 14},
                                                                {44, 160, 44},
                                                                {214, 39, 40},
                                                                {148, 103, 189},
                                                                {140, 86, 75},
                                                                {227, 119, 194},
                                                                {127, 127, 127},
                                                                {188, 189, 34},
                                                                {23, 190, 207}}};


std::vector<Variant> make_variants(const std::vector<double>& etas, Spacing spacing, bool heun)
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
    if (heun) {
        SamplerConfig h;
        h.sampler = "heun";
        h.spacing = spacing;
        v.push_back({"heun", "Heun", h, kPalette[7 % kPalette.size()]});
    }
    return v;
}

int steps_within_nfe(const SamplerConfig& config, int nfe)
{
    // S steps of a sampler with two calls a step cost 2S - 1 (the last step makes one).
    return sampler_info(config.sampler).max_model_calls_per_step == 2 ? std::max(1, (nfe + 1) / 2) : nfe;
}

int Result::cell_steps(std::size_t variant, std::size_t step_index) const
{
    const int column = steps.at(step_index);
    return equal_nfe ? steps_within_nfe(variants.at(variant).config, column) : column;
}

std::vector<MetricDef> metric_defs(ReferenceKind kind, int components)
{
    // Vendi is judged against the real data's own score where there is a real-data row:
    // more spread than the data is noise, not diversity.
    const MetricDef vendi{"vendi", "Vendi score", 2, "%.2f"};
    const MetricDef vendi_ref{"vendi", "Vendi score (RBF)", 2, "%.2f"};
    const MetricDef straight{"straightness", "Path straightness (end-to-end / length; 1 = straight)", 0, "%.3f"};
    const MetricDef length{"path_length", "Mean path length", 0, "%.3f"};
    const MetricDef precision{"precision", "Precision (k = 3)", +1, "%.3f"};
    const MetricDef recall{"recall", "Recall (k = 3)", +1, "%.3f"};
    switch (kind) {
    case ReferenceKind::Mixture:
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
    case ReferenceKind::DataPoints:
        return {{"mmd2", "MMD^2 to the data (RBF, unbiased)", -1, "%.4f"},
                {"mmd2_median", "MMD^2 to the data, median-heuristic bandwidth", -1, "%.4f"},
                precision,
                recall,
                vendi,
                straight,
                length};
    case ReferenceKind::Image:
        return {{"fd_classifier", "FD (our classifier)", -1, "%.2f"},
                precision,
                recall,
                {"vendi", "Vendi score (cosine on classifier features)", 2, "%.2f"},
                {"classes_covered", "Classes covered", +1, "%.0f"},
                {"class_entropy", "Class entropy (nats; uniform over 10 = 2.303)", +1, "%.3f"},
                straight,
                length};
    case ReferenceKind::Plain:
        return {vendi, {"pairwise_distance", "Mean pairwise distance", +1, "%.3f"}, straight, length};
    }
    return {};
}



int default_samples(const ModelCard& card, bool quick)
{
    const bool image = card.is_image();
    return quick ? (image ? 64 : 200) : (image ? 500 : 1000);
}

int default_batch(const ModelCard& card, int samples)
{
    return card.is_image() ? std::min(samples, 100) : samples;
}

double Result::truth_of(const std::string& key) const
{
    const auto it = truth.find(key);
    return it == truth.end() ? kNaN : it->second;
}

double Result::value(std::size_t variant, std::size_t step_index, const std::string& key) const
{
    if (variant >= cells.size() || step_index >= cells[variant].size())
        return kNaN;
    const auto& v = cells[variant][step_index].values;
    const auto it = v.find(key);
    return it == v.end() ? kNaN : it->second;
}

namespace {

fs::path classifier_path(const ModelCard& card, const Options& o)
{
    return experiments::classifier_path(card, o.classifier);
}

/// The model part of every cache key: the content fingerprint of the card (its bytes and
/// those of every file it names) and, for images, of the classifier card the cells are
/// measured with. No path or modification time enters, so a cache stays valid in a clone.
std::string model_hash(const Model& model, const Options& o)
{
    const ModelCard& card = model.card();
    std::string part = "model=" + content_fingerprint(card);
    if (card.is_image() && !metrics::mixture_from_card(card)) {
        const fs::path c = classifier_path(card, o);
        std::error_code ec;
        if (fs::exists(c, ec))
            part += "|classifier=" + content_fingerprint(read_model_card(c));
    }
    return part;
}

std::string cell_key(const std::string& hash, const Variant& v, int S, const Options& o, int n, int batch)
{
    std::ostringstream k;
    k << hash << "|sampler=" << v.config.sampler << "|eta=" << fmt(v.config.eta, "%.17g")
      << "|variance=" << to_string(v.config.variance) << "|S=" << S << "|spacing=" << to_string(o.spacing)
      << "|seed=" << o.seed << "|n=" << n << "|batch=" << batch << "|vendi_h=" << fmt(o.kernel_bandwidth, "%.17g")
      << "|metrics=" << kMetricsVersion;
    return k.str();
}

/// A key without its model part ("|sampler=...|metrics=m1"): the same cell of any content.
std::string key_tail(const std::string& key)
{
    const auto pos = key.find("|sampler=");
    return pos == std::string::npos ? std::string() : key.substr(pos);
}

/// Cells of this grid that the caches hold only for other content of this model (by
/// the model name stored with each cell; cells written before names were stored count
/// too, since a cache file belongs to one model's folder or stem).
int count_stale(const nlohmann::json& cells, const std::vector<std::string>& wanted_keys, const std::string& name)
{
    std::map<std::string, const std::string*> wanted; // tail -> key
    for (const std::string& k : wanted_keys)
        wanted[key_tail(k)] = &k;
    std::map<std::string, bool> seen;
    for (const auto& [k, v] : cells.items()) {
        const auto it = wanted.find(key_tail(k));
        if (it == wanted.end() || cells.contains(*it->second))
            continue;
        if (v.is_object() && v.contains("model") && v["model"] != name)
            continue;
        seen[it->first] = true;
    }
    return static_cast<int>(seen.size());
}

void validate(const Model& model, const Options& o)
{
    if (o.samples < 4)
        throw InputError("--samples must be >= 4");
    if (!(o.kernel_bandwidth > 0))
        throw InputError("--kernel-bandwidth must be > 0");
    if (o.steps.empty() || o.etas.empty())
        throw InputError("compare: the grid needs at least one step count and one eta");
    const int T = model.schedule().train_steps();
    for (int s : o.steps)
        if (s < 1 || s > T)
            throw InputError("--steps: S = " + std::to_string(s) + " exceeds the model's " + std::to_string(T) +
                             " train steps");
}

ReferenceKind kind_of(const ModelCard& card)
{
    if (metrics::mixture_from_card(card))
        return ReferenceKind::Mixture;
    if (card.is_image())
        return ReferenceKind::Image;
    const auto j = nlohmann::json::parse(card.json_text, nullptr, false);
    if (card.kind == "empirical" && j.is_object() && j.contains("data") && j["data"].is_string())
        return ReferenceKind::DataPoints;
    return ReferenceKind::Plain;
}

/// Cells of every cache (the writable one first), merged: the first holding a key wins.
nlohmann::json merged_cells(const Options& o, std::vector<std::string>* warnings)
{
    nlohmann::json cells = nlohmann::json::object();
    std::vector<fs::path> files;
    if (!o.cache_file.empty())
        files.push_back(o.cache_file);
    files.insert(files.end(), o.read_only_caches.begin(), o.read_only_caches.end());
    for (const fs::path& f : files) {
        const nlohmann::json c = load_cache(f, o.use_cache, warnings);
        for (const auto& [k, v] : c["cells"].items())
            if (!cells.contains(k))
                cells[k] = v;
    }
    return cells;
}

/// The reference row: the same metrics on the other real set (no trajectory).
Values truth_row(const Reference& ref)
{
    Values truth;
    if (ref.n_truth <= 0)
        return truth;
    if (ref.kind == ReferenceKind::Image) {
        measure_features(ref, ref.truth_points, {}, ref.n_truth, truth);
    } else {
        metrics::TrajectoryStats none;
        none.mean_path_length = none.mean_straightness = none.mean_end_to_end = kNaN;
        truth = measure(ref, std::vector<float>(ref.truth_points.begin(), ref.truth_points.end()), ref.n_truth,
                        none);
    }
    truth.erase("straightness");
    truth.erase("path_length");
    return truth;
}

Result cached_cells(const Model& model, const Options& o);

} // namespace

Result cached_compare(const Model& model, const Options& o)
{
    Result res = cached_cells(model, o);
    const Reference ref = prepare_reference(model, o.classifier, o.samples, o.seed, o.kernel_bandwidth);
    res.truth = truth_row(ref);
    res.n_truth = ref.n_truth;
    res.note = ref.note;
    res.truth_label = ref.truth_label;
    res.truth_legend = ref.truth_legend;
    res.median_bandwidth = ref.median_bandwidth;
    return res;
}

namespace {
Result cached_cells(const Model& model, const Options& o)
{
    validate(model, o);
    const ModelCard& card = model.card();
    Result res;
    res.kind = kind_of(card);
    const auto mix = metrics::mixture_from_card(card);
    res.components = mix ? mix->components() : 0;
    res.model_name = card.name;
    res.variants = make_variants(o.etas, o.spacing, o.equal_nfe);
    res.steps = o.steps;
    res.equal_nfe = o.equal_nfe;
    res.metrics = metric_defs(res.kind, res.components);
    res.samples = o.samples;
    res.batch = o.batch > 0 ? std::min(o.batch, o.samples) : default_batch(card, o.samples);
    res.seed = o.seed;
    res.spacing = o.spacing;
    res.kernel_bandwidth = o.kernel_bandwidth;
    res.cells.assign(res.variants.size(), std::vector<Cell>(res.steps.size()));
    const std::string hash = model_hash(model, o);
    const nlohmann::json cells = merged_cells(o, &res.warnings);
    std::vector<std::string> keys;
    std::string why;
    for (std::size_t i = 0; i < res.variants.size(); ++i)
        for (std::size_t k = 0; k < res.steps.size(); ++k) {
            keys.push_back(cell_key(hash, res.variants[i], res.cell_steps(i, k), o, res.samples, res.batch));
            if (const nlohmann::json* e = usable_entry(cells, keys.back(), &res.warnings))
                res.cells[i][k] = *cell_from_json(*e, &why);
        }
    res.stale = count_stale(cells, keys, card.name);
    return res;
}
} // namespace

fs::path committed_cache(const fs::path& card_path)
{
    return card_path.parent_path() / ".." / "docs" / ("compare-" + card_path.stem().string()) / "compare-cache.json";
}

std::map<int, int> cached_sample_counts(const Model& model, const Options& o)
{
    std::map<int, int> out;
    const std::string prefix = model_hash(model, o) + "|sampler=";
    const nlohmann::json cells = merged_cells(o, nullptr);
    for (const auto& [k, v] : cells.items()) {
        if (k.rfind(prefix, 0) != 0)
            continue;
        const auto pos = k.find("|n=");
        if (pos == std::string::npos)
            continue;
        out[std::atoi(k.c_str() + pos + 3)] += 1;
    }
    return out;
}

Result run_compare(const Model& model, const Options& o, const ProgressCallback& progress,
                   const std::atomic<bool>* cancel)
{
    validate(model, o);
    const ModelCard& card = model.card();
    const int n = o.samples;
    const int batch = o.batch > 0 ? std::min(o.batch, n) : default_batch(card, n);
    const int D = static_cast<int>(card.data_dim());
    const auto t_prep = Clock::now();
    const Reference ref = prepare_reference(model, o.classifier, n, o.seed, o.kernel_bandwidth);

    Result res;
    res.kind = ref.kind;
    res.components = ref.mixture ? ref.mixture->components() : 0;
    res.model_name = card.name;
    res.metrics = metric_defs(ref.kind, res.components);
    res.variants = make_variants(o.etas, o.spacing, o.equal_nfe);
    res.steps = o.steps;
    res.equal_nfe = o.equal_nfe;
    res.samples = n;
    res.batch = batch;
    res.seed = o.seed;
    res.spacing = o.spacing;
    res.kernel_bandwidth = o.kernel_bandwidth;
    res.note = ref.note;
    res.truth_label = ref.truth_label;
    res.truth_legend = ref.truth_legend;
    res.median_bandwidth = ref.median_bandwidth;
    res.n_truth = ref.n_truth;
    res.cells.assign(res.variants.size(), std::vector<Cell>(res.steps.size()));
    res.truth = truth_row(ref);

    // Cache: keyed by the model's content (see model_hash), the full sampler config,
    // seed, sample count, batch and metric settings.
    const std::string hash = model_hash(model, o);
    Progress ev;
    ev.grid = &res;
    ev.seconds_prepare = std::chrono::duration<double>(Clock::now() - t_prep).count();
    nlohmann::json cache = o.cache_file.empty() ? detail::empty_cache()
                                                : load_cache(o.cache_file, o.use_cache, &ev.warnings);
    // A folder, a FIFO or a device in the cache's place is never replaced: the cells are
    // then not cached (load_cache warned that it is not used).
    bool write_cache = !o.cache_file.empty();
    if (write_cache) {
        std::error_code ec;
        const auto st = fs::status(o.cache_file, ec);
        if (fs::exists(st) && !fs::is_regular_file(st)) {
            write_cache = false;
            ev.warnings.push_back("compare: warning: " + o.cache_file.string() +
                                  ": not a regular file; the computed cells are not cached");
        }
    }
    nlohmann::json read_only = nlohmann::json::object();
    for (const fs::path& f : o.read_only_caches) {
        const nlohmann::json c = load_cache(f, o.use_cache, &ev.warnings);
        for (const auto& [k, v] : c["cells"].items())
            if (!read_only.contains(k))
                read_only[k] = v;
    }
    const auto cached_entry = [&](const std::string& key) -> const nlohmann::json* {
        if (const nlohmann::json* e = usable_entry(cache["cells"], key, nullptr))
            return e;
        return usable_entry(read_only, key, nullptr);
    };
    {
        std::vector<std::string> keys;
        nlohmann::json all = read_only;
        for (const auto& [k, v] : cache["cells"].items())
            all[k] = v;
        for (std::size_t i = 0; i < res.variants.size(); ++i)
            for (std::size_t k = 0; k < res.steps.size(); ++k) {
                keys.push_back(cell_key(hash, res.variants[i], res.cell_steps(i, k), o, n, batch));
                usable_entry(all, keys.back(), &ev.warnings); // warns once about a malformed cell
            }
        res.stale = count_stale(all, keys, card.name);
        if (res.stale > 0)
            ev.warnings.push_back("compare: " + std::to_string(res.stale) +
                                  " cached cells were measured on other content of this model (its card or a "
                                  "file it names changed since): recomputing them");
    }
    res.warnings = ev.warnings;

    // Work plan: cheap cells first so results appear early; time left from the
    // measured cost per sampling step plus the measured cost of measuring a cell.
    struct Todo {
        std::size_t variant;
        std::size_t step_index;
    };
    std::vector<Todo> todo;
    for (std::size_t k = 0; k < res.steps.size(); ++k)
        for (std::size_t i = 0; i < res.variants.size(); ++i)
            todo.push_back({i, k});
    long long steps_left = 0;
    int cells_left = 0;
    for (const Todo& c : todo)
        if (const int S = res.cell_steps(c.variant, c.step_index);
            !cached_entry(cell_key(hash, res.variants[c.variant], S, o, n, batch)))
            steps_left += S, ++cells_left;
    const int chunks = (n + batch - 1) / batch;
    double sample_seconds = 0, measure_seconds = 0;
    long long steps_done = 0;
    const auto t_start = Clock::now();
    ev.event = Progress::Event::Prepared;
    ev.cells = static_cast<int>(todo.size());
    ev.cells_left = cells_left;
    if (progress)
        progress(ev);
    ev.warnings.clear();

    for (std::size_t index = 0; index < todo.size(); ++index) {
        const Todo& c = todo[index];
        if (cancel && cancel->load()) {
            res.cancelled = true;
            break;
        }
        const Variant& v = res.variants[c.variant];
        const int S = res.cell_steps(c.variant, c.step_index);
        const std::string key = cell_key(hash, v, S, o, n, batch);
        Cell& cell = res.cells[c.variant][c.step_index];
        ev.cell = static_cast<int>(index);
        ev.variant = c.variant;
        ev.step_index = c.step_index;
        ev.steps = S;
        ev.done = 0;
        ev.total = S * chunks;
        ev.result = nullptr;
        if (const nlohmann::json* e = cached_entry(key)) {
            std::string why;
            cell = *cell_from_json(*e, &why);
            ev.cached = true;
            ev.event = Progress::Event::CellStarted;
            if (progress)
                progress(ev);
            ev.event = Progress::Event::CellFinished;
            ev.result = &cell;
            if (progress)
                progress(ev);
            continue;
        }
        ev.cached = false;
        ev.event = Progress::Event::CellStarted;
        if (progress)
            progress(ev);
        SamplerConfig cfg = v.config;
        cfg.steps = S;
        const auto t_cell = Clock::now();
        std::vector<float> samples;
        samples.reserve(static_cast<std::size_t>(n) * D);
        double sum_len = 0, sum_e2e = 0, sum_straight = 0;
        bool stopped = false;
        for (int ch = 0; ch < chunks && !stopped; ++ch) {
            RunOptions opt;
            opt.sampler = cfg;
            opt.seed = o.seed + static_cast<std::uint64_t>(ch); // the same x_T for every cell
            opt.batch = std::min(batch, n - ch * batch);
            opt.threads = o.threads;
            metrics::TrajectoryAccumulator traj(opt.batch, D);
            const FrameCallback on_frame = [&](std::shared_ptr<const StepFrame> f) {
                if (f->step == 0)
                    traj.add(std::span<const float>(f->x_t));
                traj.add(std::span<const float>(f->x_prev));
                ev.event = Progress::Event::Step;
                ev.done = ch * S + f->step + 1;
                ev.t = f->plan.t;
                if (progress)
                    progress(ev);
            };
            const RunResult r = run_sampler(model, opt, on_frame, cancel);
            if (r.cancelled) {
                stopped = true;
                break;
            }
            samples.insert(samples.end(), r.samples.begin(), r.samples.end());
            const auto t = traj.result();
            sum_len += t.mean_path_length * opt.batch;
            sum_e2e += t.mean_end_to_end * opt.batch;
            sum_straight += t.mean_straightness * opt.batch;
        }
        if (stopped) {
            res.cancelled = true;
            break;
        }
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
        ++res.computed;
        steps_left -= S;
        --cells_left;
        cell.values = vals;
        cell.seconds = t_total;
        cell.cached = false;
        cell.done = true;

        if (!o.cache_file.empty()) {
            nlohmann::json m = nlohmann::json::object();
            for (const auto& [mk, mv] : vals)
                m[mk] = std::isfinite(mv) ? nlohmann::json(mv) : nlohmann::json(nullptr);
            nlohmann::json entry = {{"model", card.name}, {"variant", v.key}, {"steps", S}, {"metrics", m},
                                    {"seconds", t_total}};
            cache["cells"][key] = entry;
            if (write_cache) {
                nlohmann::json one = nlohmann::json::object();
                one[key] = std::move(entry);
                save_cache(o.cache_file, one);
            }
        }
        ev.event = Progress::Event::CellFinished;
        ev.result = &cell;
        ev.cells_left = cells_left;
        ev.seconds_left = sample_seconds / std::max<long long>(steps_done, 1) * steps_left +
                          measure_seconds / std::max(res.computed, 1) * cells_left;
        if (progress)
            progress(ev);
    }
    res.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    return res;
}
} // namespace noisetrail::compare

// ---------------------------------------------------------------- guidance

namespace noisetrail::compare {

std::vector<MetricDef> guidance_metric_defs(bool exact)
{
    std::vector<MetricDef> d{
        {"accuracy", "accuracy", +1, "%.3f"},
        {"class_probability", exact ? "true p(c|x0)" : "classifier p(c|x0)", +1, "%.3f"},
        {"class_log_odds", "class log-odds", +1, "%.1f"},
    };
    if (exact)
        d.push_back({"log_likelihood", "log p(x0|c) (nats)", +1, "%.3f"});
    else
        d.push_back({"frechet_distance", "FD to held-out class", -1, "%.1f"});
    d.push_back({"pairwise_distance", "pairwise distance", +1, "%.3f"});
    d.push_back({"vendi", "Vendi score", +1, "%.2f"});
    return d;
}

namespace {

/// Each class's exact p(x | c) and prior p(c) (the sum of its components' weights).
struct ClassMixtures {
    std::vector<GaussianMixture> of_class;
    std::vector<double> prior;
};

std::optional<ClassMixtures> class_mixtures(const ModelCard& card)
{
    const auto mix = metrics::mixture_from_card(card);
    if (!mix || !card.is_conditional() || mix->classes.empty())
        return std::nullopt;
    ClassMixtures out;
    for (int c = 0; c < int(card.classes.size()); ++c) {
        double prior = 0;
        for (int k = 0; k < mix->components(); ++k)
            prior += mix->classes[std::size_t(k)] == c ? mix->weights[std::size_t(k)] : 0.0;
        out.of_class.push_back(metrics::class_mixture(*mix, c));
        out.prior.push_back(prior);
    }
    return out;
}

/// log(sum exp(v)) over the entries of v except `skip` (-inf when none).
double log_sum_exp_except(const std::vector<double>& v, std::size_t skip)
{
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < v.size(); ++k)
        if (k != skip)
            m = std::max(m, v[k]);
    if (!std::isfinite(m))
        return m;
    double s = 0;
    for (std::size_t k = 0; k < v.size(); ++k)
        if (k != skip)
            s += std::exp(v[k] - m);
    return m + std::log(s);
}

} // namespace

GuidanceResult run_guidance(const Model& model, const GuidanceOptions& o,
                            const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel)
{
    const ModelCard& card = model.card();
    if (!card.is_conditional())
        throw InputError(card.path.string() + ": the card names no classes; guidance needs a conditional model "
                         "(e.g. models/ring8-classes.json)");
    if (o.scales.empty())
        throw InputError("guidance: no guidance scales to measure");
    for (double w : o.scales)
        if (!std::isfinite(w))
            throw InputError("guidance: the guidance scales must be finite numbers");
    GuidanceResult res;
    res.classes = o.classes;
    if (res.classes.empty())
        for (int c = 0; c < int(card.classes.size()); ++c)
            res.classes.push_back(c);
    for (int c : res.classes)
        if (c < 0 || c >= int(card.classes.size()))
            throw InputError("guidance: classes must be class indices 0.." + std::to_string(card.classes.size() - 1));
    const bool image = card.is_image();
    const int n = o.samples > 0 ? o.samples : image ? 100 : 500;
    if (n < 2)
        throw InputError("guidance: at least 2 samples per class are needed");
    res.samples = n;

    // How a sample is judged: the exact class mixtures, or the classifier on images.
    const auto exact = class_mixtures(card);
    res.exact = exact.has_value();
    res.metrics = guidance_metric_defs(res.exact);
    std::shared_ptr<Classifier> classifier;
    std::vector<int> class_of_label; // card class -> classifier output index
    std::vector<metrics::GaussianFit> heldout_fit(card.classes.size());
    if (!exact && image) {
        classifier = experiments::classifier_for(model, {}, "the model's classifier");
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
                        heldout_fit[c] = metrics::fit_gaussian(f, int(f.size() / F), int(F));
                }
            }
        } catch (const InputError&) {
            // No bundled held-out digits next to the card: the FD column stays empty.
        }
    } else if (!exact) {
        throw InputError(card.path.string() + ": guidance is measured on exact mixture cards with classes or on image "
                         "models with a classifier next to the card");
    }

    const int total = int(o.scales.size() * res.classes.size());
    const double per = 1.0 / double(res.classes.size());
    int done = 0;
    for (double w : o.scales) {
        GuidanceRow row;
        row.w = w;
        Values& v = row.values;
        for (const auto& m : res.metrics)
            v[m.key] = 0.0;
        for (int c : res.classes) {
            RunOptions ro;
            ro.sampler = o.sampler;
            ro.sampler.guidance.classes = {c};
            ro.sampler.guidance.scale = w;
            ro.batch = n;
            ro.seed = o.seed;
            ro.threads = o.threads;
            const RunResult r = run_sampler(model, ro, {}, cancel);
            if (r.cancelled || r.samples.empty()) {
                res.cancelled = true;
                return res;
            }
            const std::vector<double> x(r.samples.begin(), r.samples.end());
            if (c == res.classes.front() && card.is_2d_points())
                res.first_class_samples.push_back(r.samples);
            const int d = int(card.data_dim());
            v["pairwise_distance"] += metrics::mean_pairwise_distance(x, n, d) * per;
            if (exact) {
                // The true posterior p(c | x_0) from the class mixtures and priors (Bayes' rule).
                const std::size_t C = exact->of_class.size();
                std::vector<std::vector<double>> ll(C);
                for (std::size_t k = 0; k < C; ++k)
                    ll[k] = metrics::log_likelihood(exact->of_class[k], x, n);
                double acc = 0, post = 0, lik = 0, odds = 0;
                std::vector<double> joint(C);
                for (int i = 0; i < n; ++i) {
                    for (std::size_t k = 0; k < C; ++k)
                        joint[k] = ll[k][std::size_t(i)] + std::log(exact->prior[k]);
                    const std::size_t best = std::size_t(std::max_element(joint.begin(), joint.end()) - joint.begin());
                    const double own = joint[std::size_t(c)];
                    const double others = log_sum_exp_except(joint, std::size_t(c));
                    post += 1.0 / (1.0 + std::exp(others - own));
                    odds += own - others;
                    acc += best == std::size_t(c);
                    lik += ll[std::size_t(c)][std::size_t(i)];
                }
                v["accuracy"] += acc / n * per;
                v["class_probability"] += post / n * per;
                v["class_log_odds"] += odds / n * per;
                v["log_likelihood"] += lik / n * per;
                v["vendi"] += metrics::vendi_rbf(x, n, d) * per;
            } else {
                const auto out = classifier->run(r.samples, n);
                const int K = classifier->num_classes(), target = class_of_label[std::size_t(c)];
                double acc = 0, prob = 0, odds = 0;
                for (int i = 0; i < n; ++i) {
                    const float* p = out.probabilities.data() + std::size_t(i) * std::size_t(K);
                    acc += int(std::max_element(p, p + K) - p) == target;
                    prob += p[target];
                    const double pt = std::clamp(double(p[target]), 1e-12, 1.0 - 1e-12);
                    odds += std::log(pt / (1.0 - pt));
                }
                v["accuracy"] += acc / n * per;
                v["class_probability"] += prob / n * per;
                v["class_log_odds"] += odds / n * per;
                const std::vector<double> f(out.features.begin(), out.features.end());
                const int F = classifier->feature_dim();
                v["vendi"] += metrics::vendi_cosine(f, n, F) * per;
                if (heldout_fit[std::size_t(c)].dim > 0 && !std::isnan(v["frechet_distance"]))
                    v["frechet_distance"] +=
                        metrics::frechet_distance(metrics::fit_gaussian(f, n, F), heldout_fit[std::size_t(c)]) * per;
                else
                    v["frechet_distance"] = kNaN; // a class without held-out digits: no average
            }
            if (progress)
                progress(++done, total);
        }
        res.rows.push_back(std::move(row));
    }
    return res;
}

} // namespace noisetrail::compare
