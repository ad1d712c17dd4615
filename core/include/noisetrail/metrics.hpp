// Diversity and fidelity metrics (issue 5). Torch-free: every function takes
// plain row-major matrices, so the same code measures 2-D points, pixels or
// classifier features.
//
// Conventions
// - A "matrix" [n, d] is a std::span<const double> of n * d values, row-major
//   (one sample per row), with n and d passed alongside.
// - Logarithms are natural (entropies in nats: a uniform occupancy of K bins
//   has entropy log K).
// - Functions throw InputError for inconsistent sizes and return 0 (or NaN
//   where 0 would lie) for degenerate inputs as documented per function.
#pragma once
#include "noisetrail/model_card.hpp"
#include "noisetrail/run.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace noisetrail::metrics {

// ---------------------------------------------------------------- diversity

/// Mean pairwise Euclidean distance over the n(n-1)/2 unordered pairs:
///   (2 / (n (n-1))) sum_{i<j} ||x_i - x_j||_2.   0 when n < 2.
double mean_pairwise_distance(std::span<const double> x, int n, int d);

/// Per-coordinate standard deviation across the batch (population, 1/n):
///   s_c = sqrt((1/n) sum_i (x_ic - mean_c)^2), one value per coordinate c.
std::vector<double> coordinate_std(std::span<const double> x, int n, int d);
/// The mean over coordinates of coordinate_std (the "per-pixel std" of issue 5;
/// StepStats::x0_batch_std is the same number for x0_hat).
double mean_coordinate_std(std::span<const double> x, int n, int d);

/// Median of the pairwise Euclidean distances (the "median heuristic"
/// bandwidth of Gretton et al. 2012). 0 when n < 2.
double median_pairwise_distance(std::span<const double> x, int n, int d);

/// Vendi score (Friedman & Dieng 2023, "The Vendi Score: A Diversity
/// Evaluation Metric for Machine Learning", eq. 1) of a similarity matrix
/// K [n, n] (symmetric, positive semi-definite, K_ii = 1):
///   VS = exp(-sum_i lambda_i log lambda_i),  lambda_i the eigenvalues of K/n
/// (0 log 0 = 0). 1 for n identical samples, n for n mutually orthogonal ones.
/// Eigenvalues are computed in float64 (symmetric eigensolver).
double vendi_score(std::span<const double> kernel, int n);

/// Vendi score with the cosine kernel k(x, y) = <x, y> / (|x| |y|) on feature
/// vectors (the kernel Friedman & Dieng use on embeddings). A zero row counts
/// as orthogonal to every other row (k = 0, k(x, x) = 1). Computed from the
/// d x d Gram matrix when d < n (same non-zero eigenvalues as K/n).
double vendi_cosine(std::span<const double> features, int n, int d);

/// Vendi score with the RBF kernel k(x, y) = exp(-|x - y|^2 / (2 h^2)) on
/// coordinates, bandwidth h > 0 in data units. The bandwidth is a fixed scale,
/// never estimated from the sample under test: a data-dependent h would let a
/// collapsed sample shrink its own kernel and score as diverse. NoiseTrail uses
/// h = kDefaultRbfBandwidth (0.5) for 2-D cards, whose data lie within a few
/// units of the origin: samples closer than ~h count as "the same", a ring8
/// mode (std 0.1) is one effective sample and its neighbours (1.53 apart) are
/// nearly orthogonal, so the ideal ring8 sample scores close to 8.
inline constexpr double kDefaultRbfBandwidth = 0.5;
double vendi_rbf(std::span<const double> x, int n, int d, double bandwidth = kDefaultRbfBandwidth);

// --------------------------------------------------- classes and occupancy

/// A histogram of labels with its summaries.
struct Occupancy {
    std::vector<int> counts;  ///< one per class / component
    int covered = 0;          ///< bins with counts >= threshold (see occupancy())
    double entropy = 0.0;     ///< -sum_k p_k log p_k of p_k = counts_k / total (nats; 0 if total is 0)
    int total = 0;            ///< number of labels counted (labels < 0 are ignored)
};

/// Histogram of `labels` (each in 0..k-1; negative labels, e.g. "no component",
/// are skipped). A bin is covered when counts >= max(1, ceil(min_share * n))
/// where n = labels.size(): min_share = 0 means "at least one sample".
Occupancy occupancy(std::span<const int> labels, int k, double min_share = 0.0);

/// argmax_k per row of a probability (or logit) matrix [n, k]: the predicted classes.
std::vector<int> argmax_rows(std::span<const double> probs, int n, int k);

/// Shannon entropy (nats) of the empirical class distribution of the predicted
/// labels, and the number of classes predicted at least once: occupancy() of
/// argmax_rows(). Uniform predictions over k classes give log k and k.
Occupancy class_occupancy(std::span<const double> probs, int n, int k, double min_share = 0.0);

// ------------------------------------------ analytic isotropic Gaussian mixtures

/// p(x) = sum_k w_k N(x; mu_k, s_k^2 I) in `dim` dimensions (contract section 2).
struct GaussianMixture {
    int dim = 0;
    std::vector<double> weights; ///< K, normalised to sum 1
    std::vector<double> means;   ///< [K, dim] row-major
    std::vector<double> stds;    ///< K, s_k >= 0
    /// K, each component's class on a conditional card (contract section 9's
    /// mixture.classes); empty otherwise.
    std::vector<int> classes;
    int components() const { return static_cast<int>(weights.size()); }
};

/// p(x | c): the components of class c, weights renormalised (contract section 9).
/// InputError when the mixture has no classes or none of class c.
GaussianMixture class_mixture(const GaussianMixture& mix, int c);

/// The mixture of a `gaussian-mixture` card (weights normalised, a single std
/// broadcast); std::nullopt for other kinds. InputError for a malformed mixture.
std::optional<GaussianMixture> mixture_from_card(const ModelCard& card);

/// n exact draws from the mixture, row-major [n, dim], reproducible from `seed`
/// (libtorch's CPU generator, like initial_noise).
std::vector<double> sample_mixture(const GaussianMixture& mix, int n, std::uint64_t seed);

/// log p(x) of each row under the mixture, via log-sum-exp of
///   log w_k - (dim/2) log(2 pi s_k^2) - |x - mu_k|^2 / (2 s_k^2).
/// A component with s_k = 0 is treated as s_k = 1e-6 (a point mass has no density).
std::vector<double> log_likelihood(const GaussianMixture& mix, std::span<const double> x, int n);
/// Mean of log_likelihood over the rows (nats per sample).
double mean_log_likelihood(const GaussianMixture& mix, std::span<const double> x, int n);

/// The most responsible component of each row, argmax_k w_k N(x; mu_k, s_k^2 I).
std::vector<int> most_responsible(const GaussianMixture& mix, std::span<const double> x, int n);

/// Mode coverage in the sense of the GAN mode-collapse literature on the ring
/// of Gaussians (Srivastava et al. 2017, VEEGAN, section 5.1):
/// - every sample is assigned to its most responsible component;
/// - a sample is "high quality" when it lies within 3 s_k of that component's
///   mean (|x - mu_k| <= 3 s_k; 98.9% of a 2-D component's own mass);
/// - a component is covered when it holds >= max(1, ceil(min_share * n)) high
///   quality samples (min_share = 0: at least one, as in VEEGAN).
/// `occupancy` counts all samples by their most responsible component (its
/// entropy is the occupancy entropy; log K for a uniform occupancy of K
/// components); `covered` follows the rule above.
struct MixtureCoverage {
    Occupancy occupancy;       ///< all samples, by most responsible component; covered per the 3-sigma rule
    double high_quality = 0.0; ///< fraction of samples within 3 s_k of their component
    std::vector<int> high_quality_counts; ///< per component: its samples within 3 s_k of its mean
};
MixtureCoverage mixture_coverage(const GaussianMixture& mix, std::span<const double> x, int n,
                                 double min_share = 0.0);

// ------------------------------------------------ kernel density and memorisation

/// Scott's rule for the bandwidth of an isotropic Gaussian kernel density of `data`
/// [m, d]: Scott's normal reference rule h_c = s_c m^(-1/(d+4)) (D. W. Scott 1992,
/// "Multivariate Density Estimation", Wiley; the "scott" factor of scipy.stats.gaussian_kde),
/// with one scale for every coordinate, the root mean of the coordinate variances:
///   h = sqrt((1/d) sum_c s_c^2) * m^(-1/(d+4)),  s_c^2 the sample variance (1/(m-1)).
/// 0 when m < 2.
double scott_bandwidth(std::span<const double> data, int m, int d);

/// Mean log density (nats per row) of the rows of x [n, d] under the isotropic Gaussian
/// kernel density of `data` [m, d] with bandwidth h > 0:
///   log p(x) = log (1/m) sum_j N(x; y_j, h^2 I)
///            = logsumexp_j(-|x - y_j|^2 / (2 h^2)) - log m - (d/2) log(2 pi h^2),
/// computed with log-sum-exp, so far-away rows give large negative numbers, never -inf.
/// NaN when n = 0; InputError when m < 1 or h <= 0.
double kde_mean_log_likelihood(std::span<const double> x, int n, std::span<const double> data, int m, int d,
                               double bandwidth);

/// Each row of x [n, d]: its Euclidean distance to the nearest row of `data` [m, d]. The
/// memorisation measure: samples of the exact denoiser of a finite set sit on its points
/// (~0), a network that generalises puts them between. InputError when m < 1.
std::vector<double> nearest_distances(std::span<const double> x, int n, std::span<const double> data, int m, int d);
/// Each row of `data` [m, d]: its distance to the nearest OTHER row (a duplicate gives 0),
/// the scale of the set's own spacing that nearest_distances of samples compare against.
/// InputError when m < 2.
std::vector<double> nearest_other_distances(std::span<const double> data, int m, int d);

// ------------------------------------------------------------ fidelity

/// Mean and covariance of a sample (covariance with 1/(n-1), like numpy.cov
/// and pytorch-fid). A given mean/covariance (e.g. held-out features shipped
/// with a classifier) can be filled in directly.
struct GaussianFit {
    int dim = 0;
    std::vector<double> mean; ///< dim
    std::vector<double> cov;  ///< [dim, dim] row-major, symmetric
};
GaussianFit fit_gaussian(std::span<const double> x, int n, int d);

/// Frechet distance between N(mu1, S1) and N(mu2, S2) (Dowson & Landau 1982;
/// the FID of Heusel et al. 2017, eq. 6, on whatever features are given):
///   d^2 = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2.
/// The matrix square roots come from symmetric eigendecompositions in float64
/// (negative round-off eigenvalues clamped to 0), which is stable where
/// scipy.linalg.sqrtm of the non-symmetric S1 S2 is not. Clamped at >= 0.
double frechet_distance(const GaussianFit& a, const GaussianFit& b);

/// Improved precision and recall (Kynkaanniemi et al. 2019, NeurIPS, eq. 1-2),
/// k-NN radii with k = 3 by default:
///   f(x, Y) = 1 if |x - y| <= |y - NN_k(y, Y)| for some y in Y;
///   precision = mean over generated x of f(x, real), recall = mean over real y of f(y, generated),
/// where NN_k(y, Y) is y's k-th nearest neighbour in Y other than itself.
/// Needs at least k + 1 rows in each set.
struct PrecisionRecall {
    double precision = 0.0;
    double recall = 0.0;
};
PrecisionRecall precision_recall(std::span<const double> real, int n_real, std::span<const double> generated,
                                 int n_generated, int d, int k = 3);

/// Unbiased squared maximum mean discrepancy (Gretton et al. 2012, JMLR, eq. 3)
/// with the RBF kernel k(x, y) = exp(-|x - y|^2 / (2 h^2)):
///   MMD_u^2 = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
///             - 2/(mn) sum_{i,j} k(x_i, y_j).
/// Can be slightly negative for equal distributions. Bandwidth: the caller's
/// fixed h; NoiseTrail's compare uses the median heuristic computed once on the
/// reference sample (median_pairwise_distance of the true-distribution draws),
/// so every cell of a table shares one kernel.
double mmd2_rbf(std::span<const double> x, int m, std::span<const double> y, int n, int d, double bandwidth);

// ------------------------------------------------------------ trajectories

/// Path length and straightness of each sample's trajectory x_T -> ... -> x_0:
///   L_i = sum_k |x_i^(k+1) - x_i^(k)|,  E_i = |x_i^(last) - x_i^(first)|,
///   straightness_i = E_i / L_i (1 for a straight path; 1 when L_i = 0),
/// averaged over the samples. Feed states in order with add(); no state is kept
/// besides the first and the previous one, so 1000-step image runs are cheap.
struct TrajectoryStats {
    double mean_path_length = 0.0;
    double mean_end_to_end = 0.0;
    double mean_straightness = 0.0;
    int samples = 0;
    int states = 0;
};
class TrajectoryAccumulator {
public:
    TrajectoryAccumulator(int n, int d);
    void add(std::span<const float> state);   ///< one state [n, d]
    void add(std::span<const double> state);
    TrajectoryStats result() const;

private:
    int n_, d_, states_ = 0;
    std::vector<double> first_, prev_, length_;
};
/// The same from a whole stack of states [states, n, d] (e.g. xt.npy of a --dump).
TrajectoryStats trajectory_stats(std::span<const double> states, int num_states, int n, int d);

// ------------------------------------------------------------ per step

/// Batch statistics of one step, on x0_hat: what the recorder stores per measured
/// step (recorder.hpp, computeFrameMetrics). NaN where not applicable.
struct StepMetrics {
    double pairwise_distance = 0.0;   ///< mean_pairwise_distance
    double coordinate_std = 0.0;      ///< mean_coordinate_std ("per-pixel std" for images)
    double vendi = 0.0;               ///< cosine on classifier features if measured with one; else RBF
                                      ///< on coordinates (data_dim <= 3); else cosine on the raw vectors
    double components_covered = 0.0;  ///< mixture_coverage().occupancy.covered (NaN without mixture)
    double occupancy_entropy = 0.0;   ///< entropy of component occupancy, nats (NaN without mixture)
    double class_entropy = 0.0;       ///< entropy of predicted classes, nats (NaN without classifier)
    double classes_covered = 0.0;     ///< classes predicted at least once (NaN without classifier)
};

/// Column names and values in the same order (like step_stat_names()).
const std::vector<std::string>& step_metric_names();
std::vector<double> step_metric_values(const StepMetrics& m);

} // namespace noisetrail::metrics
