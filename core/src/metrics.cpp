// Diversity and fidelity metrics; formulas and references are in metrics.hpp.
// Linear algebra in float64 with ATen (symmetric eigensolvers, exact distances).
#include "noisetrail/metrics.hpp"

#include "noisetrail/errors.hpp"
#include "card_json.hpp"
#include "tensor_util.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace noisetrail::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kChunk = 1024; // rows per distance block: bounds memory to kChunk x n

void check_matrix(const char* what, std::size_t size, long long n, long long d)
{
    if (n < 0 || d < 1 || static_cast<long long>(size) != n * d)
        throw InputError(std::string(what) + ": expected " + std::to_string(n) + " x " + std::to_string(d) +
                         " values, got " + std::to_string(size));
}

/// A float64 CPU view of a row-major matrix (no copy; never written to).
at::Tensor view(std::span<const double> x, std::int64_t n, std::int64_t d)
{
    return at::from_blob(const_cast<double*>(x.data()), {n, d}, at::kDouble);
}

/// Euclidean distances [a, b] computed directly (compute_mode 2: no |x|^2 + |y|^2 - 2xy
/// expansion, whose cancellation makes d(x, x) a few 1e-8 instead of 0).
at::Tensor distances(const at::Tensor& a, const at::Tensor& b)
{
    return at::cdist(a, b, 2.0, 2);
}

/// Vendi score from the eigenvalues of K/n: exp(-sum lambda log lambda), 0 log 0 = 0.
double vendi_from_eigenvalues(const at::Tensor& lambda)
{
    const at::Tensor l = lambda.clamp_min(0.0);
    return std::exp(-at::xlogy(l, l).sum().item<double>());
}

} // namespace

// ---------------------------------------------------------------- diversity

double mean_pairwise_distance(std::span<const double> x, int n, int d)
{
    check_matrix("mean_pairwise_distance", x.size(), n, d);
    if (n < 2)
        return 0.0;
    // Plain loops over unordered pairs: it runs every step in the GUI, where the
    // per-op cost of a tensor path dominates (0.3 ms for 512 2-D points this way).
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
        const double* a = x.data() + static_cast<std::size_t>(i) * d;
        double row = 0.0;
        for (int j = i + 1; j < n; ++j) {
            const double* b = x.data() + static_cast<std::size_t>(j) * d;
            double sq = 0.0;
            for (int c = 0; c < d; ++c)
                sq += (a[c] - b[c]) * (a[c] - b[c]);
            row += std::sqrt(sq);
        }
        sum += row;
    }
    return 2.0 * sum / (static_cast<double>(n) * (n - 1));
}

std::vector<double> coordinate_std(std::span<const double> x, int n, int d)
{
    check_matrix("coordinate_std", x.size(), n, d);
    std::vector<double> out(d, 0.0);
    if (n < 1)
        return out;
    for (int c = 0; c < d; ++c) {
        double mean = 0.0;
        for (int i = 0; i < n; ++i)
            mean += x[static_cast<std::size_t>(i) * d + c];
        mean /= n;
        double ss = 0.0;
        for (int i = 0; i < n; ++i) {
            const double v = x[static_cast<std::size_t>(i) * d + c] - mean;
            ss += v * v;
        }
        out[c] = std::sqrt(ss / n);
    }
    return out;
}

double mean_coordinate_std(std::span<const double> x, int n, int d)
{
    const auto s = coordinate_std(x, n, d);
    double sum = 0.0;
    for (double v : s)
        sum += v;
    return sum / d;
}

double median_pairwise_distance(std::span<const double> x, int n, int d)
{
    check_matrix("median_pairwise_distance", x.size(), n, d);
    if (n < 2)
        return 0.0;
    c10::InferenceMode guard;
    return at::pdist(view(x, n, d)).median().item<double>();
}

double vendi_score(std::span<const double> kernel, int n)
{
    check_matrix("vendi_score", kernel.size(), n, n);
    if (n < 1)
        return 0.0;
    c10::InferenceMode guard;
    const at::Tensor K = view(kernel, n, n);
    return vendi_from_eigenvalues(at::linalg_eigvalsh((K + K.t()) / (2.0 * n)));
}

double vendi_cosine(std::span<const double> features, int n, int d)
{
    check_matrix("vendi_cosine", features.size(), n, d);
    if (n < 1)
        return 0.0;
    c10::InferenceMode guard;
    const at::Tensor X = view(features, n, d);
    const at::Tensor norms = X.norm(2, 1, /*keepdim=*/true);
    const at::Tensor nonzero = norms > 0;
    const at::Tensor Xn = at::where(nonzero, X / norms.clamp_min(1e-300), at::zeros_like(X));
    const auto zero_rows = n - nonzero.sum().item<std::int64_t>();
    // A zero row has k(x, x) = 1 and k(x, y) = 0: K is block diagonal with an
    // identity block, contributing eigenvalue 1/n once per zero row.
    at::Tensor lambda;
    if (d < n)
        lambda = at::linalg_eigvalsh(Xn.t().mm(Xn) / static_cast<double>(n)); // same non-zero spectrum as K/n
    else
        lambda = at::linalg_eigvalsh(Xn.mm(Xn.t()) / static_cast<double>(n));
    if (zero_rows > 0)
        lambda = at::cat({lambda, at::full({zero_rows}, 1.0 / n, lambda.options())});
    return vendi_from_eigenvalues(lambda);
}

double vendi_rbf(std::span<const double> x, int n, int d, double bandwidth)
{
    check_matrix("vendi_rbf", x.size(), n, d);
    if (!(bandwidth > 0) || !std::isfinite(bandwidth))
        throw InputError("vendi_rbf: bandwidth must be > 0");
    if (n < 1)
        return 0.0;
    c10::InferenceMode guard;
    const at::Tensor X = view(x, n, d);
    const at::Tensor K = at::exp(-distances(X, X).pow(2) / (2.0 * bandwidth * bandwidth));
    return vendi_from_eigenvalues(at::linalg_eigvalsh(K / static_cast<double>(n)));
}

// --------------------------------------------------- classes and occupancy

Occupancy occupancy(std::span<const int> labels, int k, double min_share)
{
    if (k < 1)
        throw InputError("occupancy: need at least one class");
    Occupancy o;
    o.counts.assign(k, 0);
    for (int l : labels) {
        if (l < 0)
            continue;
        if (l >= k)
            throw InputError("occupancy: label " + std::to_string(l) + " outside 0.." + std::to_string(k - 1));
        ++o.counts[l];
        ++o.total;
    }
    const double threshold = std::max(1.0, std::ceil(min_share * static_cast<double>(labels.size())));
    for (int c : o.counts) {
        if (c >= threshold)
            ++o.covered;
        if (c > 0 && o.total > 0) {
            const double p = static_cast<double>(c) / o.total;
            o.entropy -= p * std::log(p);
        }
    }
    return o;
}

std::vector<int> argmax_rows(std::span<const double> probs, int n, int k)
{
    check_matrix("argmax_rows", probs.size(), n, k);
    std::vector<int> out(n);
    for (int i = 0; i < n; ++i) {
        const auto row = probs.subspan(static_cast<std::size_t>(i) * k, k);
        out[i] = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
    }
    return out;
}

Occupancy class_occupancy(std::span<const double> probs, int n, int k, double min_share)
{
    const auto labels = argmax_rows(probs, n, k);
    return occupancy(labels, k, min_share);
}

// ------------------------------------------ analytic isotropic Gaussian mixtures

std::optional<GaussianMixture> mixture_from_card(const ModelCard& card)
{
    if (card.kind != "gaussian-mixture")
        return std::nullopt;
    const auto bad = [&](const std::string& what) {
        throw InputError(card.path.string() + ": " + what);
    };
    const auto j = nlohmann::json::parse(card.json_text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("mixture") || !j["mixture"].is_object())
        bad("field 'mixture' is missing (weights, means, stds)");
    const auto& m = j["mixture"];
    GaussianMixture g;
    g.dim = static_cast<int>(card.data_dim());
    if (!m.contains("means") || !m["means"].is_array() || m["means"].empty())
        bad("'mixture.means' must be a non-empty array");
    const int K = static_cast<int>(m["means"].size());
    for (const auto& mu : m["means"])
        if (!detail::read_mean(mu, card.data_shape, g.means))
            bad("each of 'mixture.means' must have " + std::to_string(g.dim) +
                " numbers, flat or nested to the data shape");
    g.weights.assign(K, 1.0 / K);
    if (m.contains("weights")) {
        if (!m["weights"].is_array() || static_cast<int>(m["weights"].size()) != K)
            bad("'mixture.weights' must have one entry per component");
        double total = 0.0;
        for (int k = 0; k < K; ++k) {
            if (!m["weights"][k].is_number() || !(m["weights"][k].get<double>() >= 0))
                bad("'mixture.weights' must be numbers >= 0");
            g.weights[k] = m["weights"][k].get<double>();
            total += g.weights[k];
        }
        if (!(total > 0))
            bad("'mixture.weights' sum to zero");
        for (double& w : g.weights)
            w /= total;
    }
    if (!m.contains("stds") || !m["stds"].is_array())
        bad("'mixture.stds' must be an array");
    const auto& js = m["stds"];
    if (js.size() == 1 || static_cast<int>(js.size()) == K) {
        for (int k = 0; k < K; ++k) {
            const auto& s = js[js.size() == 1 ? 0 : k];
            if (!s.is_number() || !(s.get<double>() >= 0))
                bad("'mixture.stds' must be numbers >= 0");
            g.stds.push_back(s.get<double>());
        }
    } else {
        bad("'mixture.stds' must have one entry per component");
    }
    if (card.is_conditional() && m.contains("classes")) {
        const auto& jc = m["classes"];
        if (!jc.is_array() || static_cast<int>(jc.size()) != K)
            bad("'mixture.classes' must have one class index per component");
        for (const auto& c : jc) {
            if (!c.is_number_integer() || c.get<std::int64_t>() < 0 ||
                c.get<std::int64_t>() >= static_cast<std::int64_t>(card.classes.size()))
                bad("'mixture.classes' must be class indices 0.." + std::to_string(card.classes.size() - 1));
            g.classes.push_back(static_cast<int>(c.get<std::int64_t>()));
        }
    }
    return g;
}

GaussianMixture class_mixture(const GaussianMixture& mix, int c)
{
    GaussianMixture m;
    m.dim = mix.dim;
    double total = 0;
    for (int k = 0; k < mix.components() && k < static_cast<int>(mix.classes.size()); ++k)
        if (mix.classes[std::size_t(k)] == c) {
            m.weights.push_back(mix.weights[std::size_t(k)]);
            m.stds.push_back(mix.stds[std::size_t(k)]);
            m.means.insert(m.means.end(), mix.means.begin() + std::ptrdiff_t(k) * mix.dim,
                           mix.means.begin() + std::ptrdiff_t(k + 1) * mix.dim);
            m.classes.push_back(c);
            total += mix.weights[std::size_t(k)];
        }
    if (m.weights.empty() || !(total > 0))
        throw InputError("the mixture has no component of class " + std::to_string(c));
    for (double& w : m.weights)
        w /= total;
    return m;
}

namespace {

struct MixtureTensors {
    at::Tensor log_w, mu, s; // [K], [K, D], [K]
};

MixtureTensors tensors_of(const GaussianMixture& mix)
{
    const auto K = static_cast<std::int64_t>(mix.components());
    if (K < 1 || mix.dim < 1 || static_cast<std::int64_t>(mix.means.size()) != K * mix.dim ||
        static_cast<std::int64_t>(mix.stds.size()) != K)
        throw InputError("GaussianMixture: inconsistent sizes");
    const auto opts = at::TensorOptions().dtype(at::kDouble);
    return {at::tensor(mix.weights, opts).log(), at::tensor(mix.means, opts).reshape({K, mix.dim}),
            at::tensor(mix.stds, opts).clamp_min(1e-6)};
}

/// log w_k + log N(x_i; mu_k, s_k^2 I), [n, K]; also the squared distances.
at::Tensor component_log_density(const GaussianMixture& mix, std::span<const double> x, int n, at::Tensor* sq_out)
{
    check_matrix("mixture", x.size(), n, mix.dim);
    const MixtureTensors t = tensors_of(mix);
    const at::Tensor sq = distances(view(x, n, mix.dim), t.mu).pow(2);
    const at::Tensor var = t.s.pow(2);
    if (sq_out)
        *sq_out = sq;
    return t.log_w - 0.5 * mix.dim * at::log(2.0 * std::numbers::pi * var) - sq / (2.0 * var);
}

} // namespace

std::vector<double> sample_mixture(const GaussianMixture& mix, int n, std::uint64_t seed)
{
    c10::InferenceMode guard;
    const MixtureTensors t = tensors_of(mix);
    if (n < 1)
        return {};
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor comp = at::multinomial(t.log_w.exp(), n, /*replacement=*/true, gen);
    const at::Tensor eps = at::randn({n, mix.dim}, gen, at::TensorOptions().dtype(at::kDouble));
    const at::Tensor s = at::tensor(mix.stds, at::TensorOptions().dtype(at::kDouble)).index_select(0, comp);
    return detail::to_doubles(t.mu.index_select(0, comp) + s.unsqueeze(1) * eps);
}

std::vector<double> log_likelihood(const GaussianMixture& mix, std::span<const double> x, int n)
{
    if (n < 1)
        return {};
    c10::InferenceMode guard;
    return detail::to_doubles(at::logsumexp(component_log_density(mix, x, n, nullptr), 1));
}

double mean_log_likelihood(const GaussianMixture& mix, std::span<const double> x, int n)
{
    if (n < 1)
        return kNaN;
    const auto ll = log_likelihood(mix, x, n);
    double sum = 0.0;
    for (double v : ll)
        sum += v;
    return sum / n;
}

namespace {

/// Most responsible component of each row (argmax_k log w_k + log N(x; mu_k, s_k^2 I),
/// s_k = 0 taken as 1e-6) and the squared distance to its mean, in plain loops:
/// K x n work that runs every step in the GUI.
void assign_components(const GaussianMixture& mix, std::span<const double> x, int n, std::vector<int>& comp,
                       std::vector<double>& sq_dist)
{
    check_matrix("mixture", x.size(), n, mix.dim);
    const int K = mix.components(), d = mix.dim;
    std::vector<double> bias(K), inv2var(K);
    for (int k = 0; k < K; ++k) {
        const double s = std::max(mix.stds[k], 1e-6);
        bias[k] = std::log(mix.weights[k]) - 0.5 * d * std::log(2.0 * std::numbers::pi * s * s);
        inv2var[k] = 1.0 / (2.0 * s * s);
    }
    comp.assign(n, -1);
    sq_dist.assign(n, 0.0);
    for (int i = 0; i < n; ++i) {
        const double* p = x.data() + static_cast<std::size_t>(i) * d;
        double best = -std::numeric_limits<double>::infinity();
        for (int k = 0; k < K; ++k) {
            const double* mu = mix.means.data() + static_cast<std::size_t>(k) * d;
            double sq = 0.0;
            for (int c = 0; c < d; ++c)
                sq += (p[c] - mu[c]) * (p[c] - mu[c]);
            const double logp = bias[k] - sq * inv2var[k];
            if (comp[i] < 0 || logp > best) {
                best = logp;
                comp[i] = k;
                sq_dist[i] = sq;
            }
        }
    }
}

} // namespace

std::vector<int> most_responsible(const GaussianMixture& mix, std::span<const double> x, int n)
{
    std::vector<int> comp;
    std::vector<double> sq;
    assign_components(mix, x, n, comp, sq);
    return comp;
}

MixtureCoverage mixture_coverage(const GaussianMixture& mix, std::span<const double> x, int n, double min_share)
{
    MixtureCoverage out;
    const int K = mix.components();
    out.occupancy = occupancy({}, std::max(K, 1));
    out.high_quality_counts.assign(std::max(K, 0), 0);
    if (n < 1)
        return out;
    std::vector<int> comp;
    std::vector<double> sq;
    assign_components(mix, x, n, comp, sq);
    std::vector<int> good(n);
    int hq_count = 0;
    for (int i = 0; i < n; ++i) {
        const bool hq = comp[i] >= 0 && std::sqrt(sq[i]) <= 3.0 * mix.stds[comp[i]];
        good[i] = hq ? comp[i] : -1;
        if (hq) {
            ++hq_count;
            ++out.high_quality_counts[comp[i]];
        }
    }
    out.occupancy = occupancy(comp, K);
    out.occupancy.covered = occupancy(good, K, min_share).covered; // threshold uses n, all samples
    out.high_quality = static_cast<double>(hq_count) / n;
    return out;
}

// ------------------------------------------------ kernel density and memorisation

double scott_bandwidth(std::span<const double> data, int m, int d)
{
    check_matrix("scott_bandwidth", data.size(), m, d);
    if (m < 2)
        return 0.0;
    double variance = 0.0; // the sample variances (1/(m-1)) summed over coordinates
    for (const double s : coordinate_std(data, m, d))
        variance += s * s * m / (m - 1); // coordinate_std divides by m
    return std::sqrt(variance / d) * std::pow(double(m), -1.0 / (d + 4));
}

double kde_mean_log_likelihood(std::span<const double> x, int n, std::span<const double> data, int m, int d,
                               double bandwidth)
{
    check_matrix("kde_mean_log_likelihood (x)", x.size(), n, d);
    check_matrix("kde_mean_log_likelihood (data)", data.size(), m, d);
    if (m < 1)
        throw InputError("kde_mean_log_likelihood: the data set is empty");
    if (!(bandwidth > 0) || !std::isfinite(bandwidth))
        throw InputError("kde_mean_log_likelihood: bandwidth must be > 0, got " + std::to_string(bandwidth));
    if (n == 0)
        return kNaN;
    const double inv2h2 = 1.0 / (2.0 * bandwidth * bandwidth);
    const double norm = -std::log(double(m)) - 0.5 * d * std::log(2.0 * std::numbers::pi * bandwidth * bandwidth);
    std::vector<double> e(static_cast<std::size_t>(m));
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
        const double* a = x.data() + static_cast<std::size_t>(i) * d;
        double top = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < m; ++j) {
            const double* b = data.data() + static_cast<std::size_t>(j) * d;
            double sq = 0.0;
            for (int c = 0; c < d; ++c)
                sq += (a[c] - b[c]) * (a[c] - b[c]);
            e[static_cast<std::size_t>(j)] = -sq * inv2h2;
            top = std::max(top, e[static_cast<std::size_t>(j)]);
        }
        double sum = 0.0; // log-sum-exp: the largest term is exp(0) = 1, so no underflow to log 0
        for (double v : e)
            sum += std::exp(v - top);
        total += top + std::log(sum) + norm;
    }
    return total / n;
}

std::vector<double> nearest_distances(std::span<const double> x, int n, std::span<const double> data, int m, int d)
{
    check_matrix("nearest_distances (x)", x.size(), n, d);
    check_matrix("nearest_distances (data)", data.size(), m, d);
    if (m < 1)
        throw InputError("nearest_distances: the data set is empty");
    std::vector<double> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const double* a = x.data() + static_cast<std::size_t>(i) * d;
        double best = std::numeric_limits<double>::infinity();
        for (int j = 0; j < m; ++j) {
            const double* b = data.data() + static_cast<std::size_t>(j) * d;
            double sq = 0.0;
            for (int c = 0; c < d && sq < best; ++c)
                sq += (a[c] - b[c]) * (a[c] - b[c]);
            best = std::min(best, sq);
        }
        out[static_cast<std::size_t>(i)] = std::sqrt(best);
    }
    return out;
}

std::vector<double> nearest_other_distances(std::span<const double> data, int m, int d)
{
    check_matrix("nearest_other_distances", data.size(), m, d);
    if (m < 2)
        throw InputError("nearest_other_distances: needs at least 2 rows, got " + std::to_string(m));
    std::vector<double> out(static_cast<std::size_t>(m));
    for (int i = 0; i < m; ++i) {
        const double* a = data.data() + static_cast<std::size_t>(i) * d;
        double best = std::numeric_limits<double>::infinity();
        for (int j = 0; j < m; ++j) {
            if (j == i)
                continue;
            const double* b = data.data() + static_cast<std::size_t>(j) * d;
            double sq = 0.0;
            for (int c = 0; c < d && sq < best; ++c)
                sq += (a[c] - b[c]) * (a[c] - b[c]);
            best = std::min(best, sq);
        }
        out[static_cast<std::size_t>(i)] = std::sqrt(best);
    }
    return out;
}

// ------------------------------------------------------------ fidelity

GaussianFit fit_gaussian(std::span<const double> x, int n, int d)
{
    check_matrix("fit_gaussian", x.size(), n, d);
    GaussianFit g;
    g.dim = d;
    g.mean.assign(d, 0.0);
    g.cov.assign(static_cast<std::size_t>(d) * d, 0.0);
    if (n < 1)
        return g;
    c10::InferenceMode guard;
    const at::Tensor X = view(x, n, d);
    const at::Tensor mu = X.mean(0);
    g.mean = detail::to_doubles(mu);
    if (n > 1) {
        const at::Tensor Xc = X - mu;
        g.cov = detail::to_doubles(Xc.t().mm(Xc) / static_cast<double>(n - 1));
    }
    return g;
}

double frechet_distance(const GaussianFit& a, const GaussianFit& b)
{
    const int d = a.dim;
    if (d < 1 || b.dim != d || a.mean.size() != static_cast<std::size_t>(d) ||
        b.mean.size() != static_cast<std::size_t>(d) || a.cov.size() != static_cast<std::size_t>(d) * d ||
        b.cov.size() != static_cast<std::size_t>(d) * d)
        throw InputError("frechet_distance: the two Gaussians must have the same dimension (" + std::to_string(a.dim) +
                         " vs " + std::to_string(b.dim) + ")");
    c10::InferenceMode guard;
    const auto opts = at::TensorOptions().dtype(at::kDouble);
    const at::Tensor mu1 = at::tensor(a.mean, opts), mu2 = at::tensor(b.mean, opts);
    at::Tensor S1 = at::tensor(a.cov, opts).reshape({d, d}), S2 = at::tensor(b.cov, opts).reshape({d, d});
    S1 = (S1 + S1.t()) / 2;
    S2 = (S2 + S2.t()) / 2;
    // S1^1/2 = V diag(sqrt(max(lambda, 0))) V^T from the symmetric eigendecomposition of S1.
    const auto [l1, V1] = at::linalg_eigh(S1);
    const at::Tensor R1 = V1.mm(at::diag(l1.clamp_min(0.0).sqrt())).mm(V1.t());
    at::Tensor M = R1.mm(S2).mm(R1); // symmetric PSD, so tr sqrt(M) = sum sqrt(eigenvalues)
    M = (M + M.t()) / 2;
    const double tr_sqrt = at::linalg_eigvalsh(M).clamp_min(0.0).sqrt().sum().item<double>();
    const double diff = (mu1 - mu2).pow(2).sum().item<double>();
    const double fd = diff + S1.trace().item<double>() + S2.trace().item<double>() - 2.0 * tr_sqrt;
    return std::max(fd, 0.0);
}

namespace {

/// Distance from each row of X to its k-th nearest neighbour in X other than itself.
at::Tensor knn_radii(const at::Tensor& X, int k)
{
    const auto n = X.size(0);
    std::vector<at::Tensor> parts;
    for (std::int64_t i = 0; i < n; i += kChunk) {
        const at::Tensor D = distances(X.slice(0, i, std::min(n, i + kChunk)), X);
        // The (k+1)-th smallest: the smallest is the row itself (distance 0).
        parts.push_back(std::get<0>(D.kthvalue(k + 1, 1)));
    }
    return at::cat(parts);
}

/// Fraction of rows of Q inside at least one ball (centre P_j, radius r_j).
double fraction_inside(const at::Tensor& Q, const at::Tensor& P, const at::Tensor& r)
{
    const auto n = Q.size(0);
    std::int64_t inside = 0;
    for (std::int64_t i = 0; i < n; i += kChunk) {
        const at::Tensor D = distances(Q.slice(0, i, std::min(n, i + kChunk)), P);
        inside += (D <= r.unsqueeze(0)).any(1).sum().item<std::int64_t>();
    }
    return static_cast<double>(inside) / static_cast<double>(n);
}

} // namespace

PrecisionRecall precision_recall(std::span<const double> real, int n_real, std::span<const double> generated,
                                 int n_generated, int d, int k)
{
    check_matrix("precision_recall (real)", real.size(), n_real, d);
    check_matrix("precision_recall (generated)", generated.size(), n_generated, d);
    if (k < 1 || n_real < k + 1 || n_generated < k + 1)
        throw InputError("precision_recall: need k >= 1 and at least k + 1 = " + std::to_string(k + 1) +
                         " samples in each set");
    c10::InferenceMode guard;
    const at::Tensor R = view(real, n_real, d), G = view(generated, n_generated, d);
    PrecisionRecall pr;
    pr.precision = fraction_inside(G, R, knn_radii(R, k));
    pr.recall = fraction_inside(R, G, knn_radii(G, k));
    return pr;
}

double mmd2_rbf(std::span<const double> x, int m, std::span<const double> y, int n, int d, double bandwidth)
{
    check_matrix("mmd2_rbf (x)", x.size(), m, d);
    check_matrix("mmd2_rbf (y)", y.size(), n, d);
    if (m < 2 || n < 2)
        throw InputError("mmd2_rbf: need at least 2 samples in each set");
    if (!(bandwidth > 0) || !std::isfinite(bandwidth))
        throw InputError("mmd2_rbf: bandwidth must be > 0");
    c10::InferenceMode guard;
    const at::Tensor X = view(x, m, d), Y = view(y, n, d);
    const double g = 1.0 / (2.0 * bandwidth * bandwidth);
    // Sums of k over blocks of rows; the diagonals (k = 1) are removed for the within-set terms.
    const auto kernel_sum = [&](const at::Tensor& A, const at::Tensor& B) {
        double s = 0.0;
        for (std::int64_t i = 0; i < A.size(0); i += kChunk)
            s += at::exp(-g * distances(A.slice(0, i, std::min(A.size(0), i + kChunk)), B).pow(2)).sum().item<double>();
        return s;
    };
    const double kxx = (kernel_sum(X, X) - m) / (static_cast<double>(m) * (m - 1));
    const double kyy = (kernel_sum(Y, Y) - n) / (static_cast<double>(n) * (n - 1));
    const double kxy = kernel_sum(X, Y) / (static_cast<double>(m) * n);
    return kxx + kyy - 2.0 * kxy;
}

// ------------------------------------------------------------ trajectories

TrajectoryAccumulator::TrajectoryAccumulator(int n, int d) : n_(n), d_(d)
{
    if (n < 1 || d < 1)
        throw InputError("TrajectoryAccumulator: need n >= 1 and d >= 1");
    length_.assign(n, 0.0);
}

void TrajectoryAccumulator::add(std::span<const float> state)
{
    std::vector<double> v(state.begin(), state.end());
    add(std::span<const double>(v));
}

void TrajectoryAccumulator::add(std::span<const double> state)
{
    check_matrix("TrajectoryAccumulator::add", state.size(), n_, d_);
    if (states_ == 0) {
        first_.assign(state.begin(), state.end());
    } else {
        for (int i = 0; i < n_; ++i) {
            double ss = 0.0;
            for (int c = 0; c < d_; ++c) {
                const std::size_t j = static_cast<std::size_t>(i) * d_ + c;
                const double v = state[j] - prev_[j];
                ss += v * v;
            }
            length_[i] += std::sqrt(ss);
        }
    }
    prev_.assign(state.begin(), state.end());
    ++states_;
}

TrajectoryStats TrajectoryAccumulator::result() const
{
    TrajectoryStats r;
    r.samples = n_;
    r.states = states_;
    if (states_ == 0)
        return r;
    for (int i = 0; i < n_; ++i) {
        double ss = 0.0;
        for (int c = 0; c < d_; ++c) {
            const std::size_t j = static_cast<std::size_t>(i) * d_ + c;
            const double v = prev_[j] - first_[j];
            ss += v * v;
        }
        const double e = std::sqrt(ss);
        r.mean_path_length += length_[i];
        r.mean_end_to_end += e;
        r.mean_straightness += length_[i] > 0 ? e / length_[i] : 1.0;
    }
    r.mean_path_length /= n_;
    r.mean_end_to_end /= n_;
    r.mean_straightness /= n_;
    return r;
}

TrajectoryStats trajectory_stats(std::span<const double> states, int num_states, int n, int d)
{
    check_matrix("trajectory_stats", states.size(), static_cast<long long>(num_states) * n, d);
    TrajectoryAccumulator acc(n, d);
    const std::size_t size = static_cast<std::size_t>(n) * d;
    for (int s = 0; s < num_states; ++s)
        acc.add(states.subspan(s * size, size));
    return acc.result();
}

// ------------------------------------------------------------ per step

const std::vector<std::string>& step_metric_names()
{
    static const std::vector<std::string> names{"pairwise_distance", "coordinate_std",   "vendi",
                                                "components_covered", "occupancy_entropy", "class_entropy",
                                                "classes_covered"};
    return names;
}

std::vector<double> step_metric_values(const StepMetrics& m)
{
    return {m.pairwise_distance, m.coordinate_std,  m.vendi,          m.components_covered,
            m.occupancy_entropy, m.class_entropy, m.classes_covered};
}

} // namespace noisetrail::metrics
