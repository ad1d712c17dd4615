// The DDPM vs DDIM comparison grid of issue 5 (DDIM paper, Table 1), shared by
// `noisetrail-cli compare` and the GUI's Compare view. Torch-free and Qt-free.
//
// DDIM eta in {0, 0.2, 0.5, 1} and DDPM sigma-hat (fixed_large) by S in
// {10, 20, 50, 100, 1000}; every cell samples the same x_T (chunk c of a
// cell's samples uses seed + c) and is measured with core's metrics against a
// reference chosen by the model's kind (true mixture, data set, or the digit
// classifier's held-out features). Finished cells are cached in a JSON file
// ("noisetrail-compare-cache/1") keyed by the model's content (SHA-256 of the
// card and the files it names, and of the classifier card for images: see
// fingerprint.hpp; never paths or modification times, so a cache travels with
// a clone or a copy), the sampler config, seed, sample count, batch and metric
// settings, so re-running with more cells reuses the finished ones.
#pragma once
#include "noisetrail/model.hpp"
#include "noisetrail/sampler_config.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace noisetrail::compare {

/// What the cells are measured against (decides the metric set).
enum class ReferenceKind {
    Mixture,    ///< gaussian-mixture cards: exact draws of the true mixture
    DataPoints, ///< empirical 2-D cards: the card's data set
    Image,      ///< image models: the digit classifier's held-out features
    Plain       ///< nothing to compare with: diversity and path metrics only
};

/// One row of the table: a sampler configuration (steps filled in per cell).
struct Variant {
    std::string key;   ///< CSV id: "eta0", "eta0.2", "sigma_hat"
    std::string label; ///< "DDIM eta 0", "DDPM sigma-hat"
    SamplerConfig config;
    std::array<std::uint8_t, 3> color; ///< Tableau 10; sigma-hat always purple
};

/// One measured quantity of a cell.
struct MetricDef {
    std::string key;
    std::string title;
    int better;         ///< +1 higher is better, -1 lower, 2 closest to the reference row, 0 none
    const char* format; ///< printf format for tables
};

using Values = std::map<std::string, double>;

/// The Tableau 10 palette used for variants (matplotlib's default cycle).
extern const std::array<std::array<std::uint8_t, 3>, 10> kPalette;

/// The rows: DDIM at each eta, then DDPM sigma-hat; with `heun` (equal cost, Options::equal_nfe)
/// a Heun row last.
std::vector<Variant> make_variants(const std::vector<double>& etas, Spacing spacing, bool heun = false);
/// Equal cost (issue 22): the steps a sampler takes within `nfe` model calls. One call a
/// step: nfe; Heun's S steps cost 2S - 1 calls (its last step is Euler only), so
/// (nfe + 1) / 2: Heun at S steps is paired with DDIM at 2S - 1.
int steps_within_nfe(const SamplerConfig& config, int nfe);
std::vector<MetricDef> metric_defs(ReferenceKind kind, int components);

/// The step counts S of the grid, named once for the CLI and the GUI: the full
/// grid (the DDIM paper's Table 1 columns, up to T = 1000) and the quick one
/// (seconds instead of minutes; CI and the GUI's Quick box).
inline const std::vector<int> kFullSteps{10, 20, 50, 100, 1000};
inline const std::vector<int> kQuickSteps{10, 20};

/// The committed cache of a bundled card: <card folder>/../docs/compare-<card stem>/compare-cache.json
/// (what `noisetrail-cli compare --out docs/compare-<stem>` writes; installed the same way
/// under share/noisetrail/). The one rule by which the CLI and the GUI find it; the path
/// may not exist.
std::filesystem::path committed_cache(const std::filesystem::path& card_path);

/// Cache files larger than this are not read (a warning says so): a full grid is ~15 KB.
constexpr std::uintmax_t kMaxCacheBytes = 32u << 20;

struct Options {
    std::vector<double> etas{0.0, 0.2, 0.5, 1.0};
    std::vector<int> steps = kFullSteps; ///< sorted, unique, each in 1..T
    int samples = 1000;                            ///< per cell (>= 4)
    int batch = 0;                                 ///< samples per sampling run; 0: all (capped at samples)
    std::uint64_t seed = 0;
    Spacing spacing = Spacing::Leading;
    /// Image models: the classifier card; empty: mnist-classifier.json in the model card's folder.
    std::filesystem::path classifier;
    double kernel_bandwidth = 0.5; ///< RBF bandwidth of the 2-D Vendi score and MMD
    int threads = 0;               ///< intra-op threads; 0: default_threads(card) (threads.hpp)
    /// Read and write finished cells here (empty: no cache).
    std::filesystem::path cache_file;
    bool use_cache = true; ///< false: ignore what the cache holds (it is still rewritten)
    /// Further caches that are only read (e.g. the CLI's under docs/ for the GUI).
    std::vector<std::filesystem::path> read_only_caches;
    /// Equal cost (issue 22): `steps` are budgets of model calls (NFE), a Heun row joins,
    /// and each row takes steps_within_nfe of its column (Heun 10 steps beside DDIM 19).
    bool equal_nfe = false;
};

/// Defaults of the CLI: 1000 samples for 2-D data, 500 for images; quick: 200 / 64.
int default_samples(const ModelCard& card, bool quick);
/// Default batch: all samples for 2-D data, 100 for images (capped at samples).
int default_batch(const ModelCard& card, int samples);

/// One cell's outcome.
struct Cell {
    Values values;
    double seconds = 0.0; ///< sampling + metrics (as when it was computed, for cached cells)
    bool cached = false;
    bool done = false; ///< false: not reached (cancelled before it)
};

struct Result;

/// Progress events, in order: for each cell CellStarted, then (unless cached)
/// Step events, then CellFinished.
struct Progress {
    enum class Event { Prepared, CellStarted, Step, CellFinished };
    Event event = Event::Prepared;
    int cell = 0;           ///< 0-based index in the work order (cheap cells first)
    int cells = 0;          ///< total cells
    std::size_t variant = 0, step_index = 0;
    int steps = 0;          ///< S of this cell
    int done = 0, total = 0; ///< sampling steps done / total in this cell (all chunks)
    int t = 0;              ///< timestep of the last step
    bool cached = false;    ///< CellStarted / CellFinished: taken from the cache
    const Cell* result = nullptr; ///< CellFinished
    double seconds_left = 0.0;    ///< estimate for the cells still to compute (CellFinished)
    int cells_left = 0;           ///< cells still to compute (CellFinished)
    double seconds_prepare = 0.0; ///< Prepared: time to build the reference
    std::vector<std::string> warnings; ///< Prepared: e.g. an unreadable cache file
    const Result* grid = nullptr; ///< the grid so far (variants, steps, note...), valid during the call
};
using ProgressCallback = std::function<void(const Progress&)>;

/// The whole grid.
struct Result {
    ReferenceKind kind = ReferenceKind::Plain;
    int components = 0; ///< mixture components (Mixture)
    std::string model_name;
    std::vector<Variant> variants;
    std::vector<int> steps;
    std::vector<MetricDef> metrics;
    std::vector<std::vector<Cell>> cells; ///< [variant][step_index]
    /// The reference row: the same metrics on another real set (exact draws, data,
    /// held-out digits); empty when there is none.
    Values truth;
    int n_truth = 0;
    std::string truth_label, truth_legend; ///< "True mixture (exact draws)", "TRUE MIXTURE"
    std::string note;                      ///< how the reference was made, in words
    double median_bandwidth = 0.0;
    int samples = 0, batch = 0;
    std::uint64_t seed = 0;
    Spacing spacing = Spacing::Leading;
    double kernel_bandwidth = 0.5;
    bool equal_nfe = false; ///< Options::equal_nfe: `steps` are model-call budgets
    bool cancelled = false;
    int computed = 0; ///< cells computed in this call (the rest cached or not reached)
    /// Cells of this grid that a cache holds for other content of the model (its card
    /// or a weight file changed since): not used; computing recomputes them.
    int stale = 0;
    /// Cache problems met on reading (unreadable or oversized file, a malformed cell:
    /// skipped), one line each.
    std::vector<std::string> warnings;
    double seconds = 0.0;

    double truth_of(const std::string& key) const;
    /// The steps of a cell: steps[step_index], or with equal_nfe what the row's sampler
    /// takes within that many model calls (steps_within_nfe).
    int cell_steps(std::size_t variant, std::size_t step_index) const;
    /// value of a metric in a cell (NaN if absent)
    double value(std::size_t variant, std::size_t step_index, const std::string& key) const;
};

/// Run (or read from the cache) every cell. Calls `progress` from the calling
/// thread and checks `cancel` between sampling steps: a cancelled call returns
/// what was finished (cells not reached have done = false) with cancelled = true.
/// Throws InputError for bad options or a missing classifier, RunError when a run fails.
Result run_compare(const Model& model, const Options& options, const ProgressCallback& progress = {},
                   const std::atomic<bool>* cancel = nullptr);

/// Only what the caches already hold for these options, plus the reference row
/// (no sampling: the reference set and its metrics take well under a second for
/// 2-D cards and the digit classifier's shipped features): for a view that opens at once.
Result cached_compare(const Model& model, const Options& options);

/// The sample counts for which a cache holds cells of this model (with the other
/// options as given), with how many cells each: lets a view default to them.
std::map<int, int> cached_sample_counts(const Model& model, const Options& options);

// ---------------------------------------------------------------- guidance (contract section 9)

/// The fidelity-diversity trade-off of classifier-free guidance (Ho & Salimans 2021,
/// fig. 4 and table 1), one row per guidance scale W. Each class is sampled on its
/// own from the same x_T at every W and judged against that class: by the card's
/// exact class mixtures (gaussian-mixture cards with classes: the true p(c | x_0),
/// log p(x_0 | c)) or by the classifier next to an image card (its p(c | x_0) and
/// the Frechet distance of its features to the class's bundled held-out digits).
struct GuidanceOptions {
    std::vector<double> scales{0, 1, 2, 3, 5, 7};
    std::vector<int> classes; ///< empty: every class of the card
    int samples = 0;          ///< per class and W; 0: 500 for 2-D cards, 100 for images
    /// Sampler, steps, spacing and guidance interval (the class and W are set per run).
    SamplerConfig sampler = [] {
        SamplerConfig c;
        c.sampler = "ddim";
        c.steps = 50;
        return c;
    }();
    std::uint64_t seed = 0;
    int threads = 0;
};

/// One W: each value averaged over the classes (NaN where it does not apply).
struct GuidanceRow {
    double w = 0;
    Values values; ///< keys of guidance_metric_defs
};

struct GuidanceResult {
    bool exact = false; ///< judged by the card's exact class mixtures (else the classifier)
    std::vector<int> classes;
    int samples = 0;
    std::vector<MetricDef> metrics; ///< guidance_metric_defs(exact)
    std::vector<GuidanceRow> rows;  ///< one per W reached, in the order asked
    /// 2-D cards: the first class's final samples at each W of `rows` (for figures).
    std::vector<std::vector<float>> first_class_samples;
    bool cancelled = false;
};

/// The columns of the table, one home for the CLI and the GUI: accuracy,
/// class_probability, class_log_odds, then log_likelihood (exact) or
/// frechet_distance (classifier), pairwise_distance, vendi.
std::vector<MetricDef> guidance_metric_defs(bool exact);

/// Sample and measure every W (classes x scales runs of `samples`). `progress(done,
/// total)` after each run, from the calling thread; `cancel` is checked between
/// sampling steps (a cancelled call returns the rows finished, cancelled = true).
/// InputError for an unconditional card, a card that cannot be judged, or bad options.
GuidanceResult run_guidance(const Model& model, const GuidanceOptions& options,
                            const std::function<void(int done, int total)>& progress = {},
                            const std::atomic<bool>* cancel = nullptr);

} // namespace noisetrail::compare
