#include "frame_metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <span>

namespace noisetrail::ui {

namespace {

/// The evenly strided subset of step_metrics (row floor(j B / m), j < m).
std::vector<double> subset(std::span<const double> rows, int B, int dim, int m)
{
    m = m > 0 ? std::min(B, m) : B;
    std::vector<double> out;
    out.reserve(std::size_t(m) * dim);
    for (int j = 0; j < m; ++j) {
        const std::size_t r = std::size_t(static_cast<long long>(j) * B / m);
        out.insert(out.end(), rows.begin() + r * dim, rows.begin() + (r + 1) * dim);
    }
    return out;
}

} // namespace

bool measuredStep(int step, int steps, bool everyStep)
{
    const int k = std::max(1, steps / kMetricPoints);
    return everyStep || step % k == 0 || step == steps - 1;
}

bool hasValues(const metrics::StepMetrics& m)
{
    for (double v : {m.pairwise_distance, m.coordinate_std, m.vendi, m.components_covered, m.occupancy_entropy,
                     m.class_entropy, m.classes_covered})
        if (!std::isnan(v))
            return true;
    return false;
}

metrics::StepMetricsOptions frameMetricsOptions(const metrics::GaussianMixture* mixture)
{
    metrics::StepMetricsOptions o;
    o.mixture = mixture;
    o.vendi_max_points = kVendiPoints;
    return o;
}

FrameMetrics computeFrameMetrics(const StepFrame& frame, const metrics::GaussianMixture* mixture,
                                 const Classifier* classifier)
{
    const auto t0 = std::chrono::steady_clock::now();
    FrameMetrics out;
    const int B = frame.shape.empty() ? 0 : int(frame.shape[0]);
    if (B < 1 || frame.x0_hat.empty()) {
        out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return out;
    }
    const int D = int(frame.x0_hat.size() / std::size_t(B));
    const std::vector<double> x(frame.x0_hat.begin(), frame.x0_hat.end());
    metrics::StepMetrics& m = out.values;
    // The same quantities as metrics::step_metrics(frame, frameMetricsOptions(mixture))
    // (tests check it), plus the per-component counts the scatter shows.
    m.pairwise_distance = metrics::mean_pairwise_distance(x, B, D);
    m.coordinate_std = metrics::mean_coordinate_std(x, B, D);
    if (classifier) {
        // Images: Vendi on classifier features (cosine), class entropy / coverage
        // from its predicted classes; one forward pass of the small CNN.
        const Classifier::Output c = classifier->run(frame.x0_hat, B);
        const std::vector<double> features(c.features.begin(), c.features.end());
        const std::vector<double> probs(c.probabilities.begin(), c.probabilities.end());
        const int F = classifier->feature_dim();
        const auto f = subset(features, B, F, kVendiPoints);
        m.vendi = metrics::vendi_cosine(f, int(f.size() / std::size_t(F)), F);
        const metrics::Occupancy occ = metrics::class_occupancy(probs, B, classifier->num_classes());
        m.class_entropy = occ.entropy;
        m.classes_covered = occ.covered;
        // Decision time: each sample's class is the argmax of its probabilities
        // (what Classifier::predict and experiments::Assigner give, without a second pass).
        const int K = classifier->num_classes();
        out.assignment.resize(std::size_t(B));
        for (int b = 0; b < B; ++b) {
            const auto row = probs.begin() + std::ptrdiff_t(b) * K;
            out.assignment[std::size_t(b)] = int(std::max_element(row, row + K) - row);
        }
    } else {
        const auto s = subset(x, B, D, kVendiPoints);
        const int ms = int(s.size() / std::size_t(D));
        m.vendi = D <= 3 ? metrics::vendi_rbf(s, ms, D, metrics::kDefaultRbfBandwidth) : metrics::vendi_cosine(s, ms, D);
    }
    if (mixture && mixture->dim == D) {
        const metrics::MixtureCoverage c = metrics::mixture_coverage(*mixture, x, B);
        out.componentCounts = c.occupancy.counts;
        out.componentNear = c.high_quality_counts;
        m.components_covered = c.occupancy.covered;
        m.occupancy_entropy = c.occupancy.entropy;
        if (!classifier) // decision time: the most responsible component (experiments::Assigner's rule)
            out.assignment = metrics::most_responsible(*mixture, x, B);
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

} // namespace noisetrail::ui
