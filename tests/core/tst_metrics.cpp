// Metrics against known answers (issue 5): every expected value below is a
// closed form or a property, never a number copied from the implementation.
#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/run.hpp"

#include <QtTest>

#include <cmath>
#include <numbers>
#include <random>

using namespace noisetrail;
using namespace noisetrail::metrics;

namespace {

/// n draws of N(mu, diag(sd^2)) in d = mu.size() dimensions, row-major.
std::vector<double> gaussian_sample(int n, const std::vector<double>& mu, const std::vector<double>& sd,
                                    std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> z;
    const int d = static_cast<int>(mu.size());
    std::vector<double> x(static_cast<std::size_t>(n) * d);
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < d; ++c)
            x[static_cast<std::size_t>(i) * d + c] = mu[c] + sd[c] * z(rng);
    return x;
}

/// Four components at radius 2 on the axes, std s.
GaussianMixture ring4(double s = 0.1)
{
    GaussianMixture m;
    m.dim = 2;
    m.weights = {0.25, 0.25, 0.25, 0.25};
    m.means = {2, 0, 0, 2, -2, 0, 0, -2};
    m.stds = {s, s, s, s};
    return m;
}

bool near(double a, double b, double tol) { return std::abs(a - b) <= tol; }

} // namespace

class TestMetrics : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void identical_samples_have_no_diversity();
    void pairwise_distance_and_std_of_a_known_set();
    void vendi_of_orthogonal_features_is_n();
    void vendi_of_a_two_by_two_kernel();
    void vendi_rbf_counts_separated_clusters();
    void occupancy_entropy_and_coverage();
    void class_occupancy_from_probabilities();
    void mixture_card_and_its_samples_cover_every_component();
    void mixture_coverage_three_sigma_rule();
    void log_likelihood_of_a_single_gaussian();
    void log_likelihood_of_mixture_samples_is_minus_entropy();
    void frechet_of_known_gaussians_data();
    void frechet_of_known_gaussians();
    void frechet_of_two_samples_of_one_gaussian_is_near_zero();
    void frechet_of_samples_matches_closed_form();
    void precision_recall_of_self_far_and_half();
    void mmd_same_and_shifted();
    void mmd_closed_form();
    void trajectories_straight_zigzag_still();
    void bad_sizes_are_input_errors();
};

void TestMetrics::identical_samples_have_no_diversity()
{
    const int n = 20, d = 3;
    std::vector<double> x;
    for (int i = 0; i < n; ++i)
        x.insert(x.end(), {0.3, -1.2, 2.5});
    QCOMPARE(mean_pairwise_distance(x, n, d), 0.0);
    QCOMPARE(mean_coordinate_std(x, n, d), 0.0);
    QCOMPARE(median_pairwise_distance(x, n, d), 0.0);
    QVERIFY(near(vendi_rbf(x, n, d), 1.0, 1e-9));
    QVERIFY(near(vendi_cosine(x, n, d), 1.0, 1e-9));
    // A single sample is one effective sample too.
    QVERIFY(near(vendi_rbf(std::span<const double>(x).first(3), 1, d), 1.0, 1e-12));
}

void TestMetrics::pairwise_distance_and_std_of_a_known_set()
{
    // (0,0), (3,4), (6,8): distances 5, 10, 5.
    const std::vector<double> x{0, 0, 3, 4, 6, 8};
    QVERIFY(near(mean_pairwise_distance(x, 3, 2), 20.0 / 3.0, 1e-12));
    QVERIFY(near(median_pairwise_distance(x, 3, 2), 5.0, 1e-12));
    const auto s = coordinate_std(x, 3, 2); // population std of {0,3,6} and {0,4,8}
    QVERIFY(near(s[0], std::sqrt(6.0), 1e-12));
    QVERIFY(near(s[1], std::sqrt(32.0 / 3.0), 1e-12));
    QVERIFY(near(mean_coordinate_std(x, 3, 2), (std::sqrt(6.0) + std::sqrt(32.0 / 3.0)) / 2, 1e-12));
    QCOMPARE(mean_pairwise_distance(std::span<const double>(x).first(2), 1, 2), 0.0);
}

void TestMetrics::vendi_of_orthogonal_features_is_n()
{
    // n orthogonal (scaled) basis vectors in d >= n dimensions: Vendi n.
    for (int n : {1, 2, 5, 12}) {
        const int d = n + 3;
        std::vector<double> f(static_cast<std::size_t>(n) * d, 0.0);
        for (int i = 0; i < n; ++i)
            f[static_cast<std::size_t>(i) * d + i] = 0.5 + i; // norms do not matter for the cosine kernel
        QVERIFY2(near(vendi_cosine(f, n, d), n, 1e-9), qPrintable(QString::number(n)));
    }
    // d < n (Gram-matrix path): 3 copies of e1 and 3 of e2 are two effective samples.
    const std::vector<double> g{1, 0, 2, 0, 3, 0, 0, 1, 0, 5, 0, 0.1};
    QVERIFY(near(vendi_cosine(g, 6, 2), 2.0, 1e-9));
    // Zero rows are orthogonal to everything: e1, 0, 0 in 2-D gives 3.
    const std::vector<double> z{1, 0, 0, 0, 0, 0};
    QVERIFY(near(vendi_cosine(z, 3, 2), 3.0, 1e-9));
}

void TestMetrics::vendi_of_a_two_by_two_kernel()
{
    // K = [[1, a], [a, 1]]: K/2 has eigenvalues (1 +- a)/2.
    for (double a : {0.0, 0.3, 0.9, 1.0}) {
        const std::vector<double> K{1, a, a, 1};
        const double l1 = (1 + a) / 2, l2 = (1 - a) / 2;
        const double h = -(l1 * std::log(l1)) - (l2 > 0 ? l2 * std::log(l2) : 0.0);
        QVERIFY2(near(vendi_score(K, 2), std::exp(h), 1e-12), qPrintable(QString::number(a)));
    }
}

void TestMetrics::vendi_rbf_counts_separated_clusters()
{
    // Points 100 bandwidths apart are orthogonal under the RBF kernel: Vendi n.
    std::vector<double> x;
    for (int i = 0; i < 6; ++i)
        x.insert(x.end(), {50.0 * i, -50.0 * i});
    QVERIFY(near(vendi_rbf(x, 6, 2, 0.5), 6.0, 1e-9));
    // Three far-apart clusters of four identical points: Vendi 3.
    std::vector<double> c;
    for (int k = 0; k < 3; ++k)
        for (int i = 0; i < 4; ++i)
            c.insert(c.end(), {100.0 * k, 0.0});
    QVERIFY(near(vendi_rbf(c, 12, 2, 0.5), 3.0, 1e-9));
    // The kernel uses the stated bandwidth: two points at distance h give k = exp(-1/2).
    const std::vector<double> two{0, 0, 0.5, 0};
    const double a = std::exp(-0.5);
    const double l1 = (1 + a) / 2, l2 = (1 - a) / 2;
    QVERIFY(near(vendi_rbf(two, 2, 2, 0.5), std::exp(-l1 * std::log(l1) - l2 * std::log(l2)), 1e-12));
}

void TestMetrics::occupancy_entropy_and_coverage()
{
    // Uniform occupancy of K bins: entropy log K, all covered.
    for (int K : {1, 2, 8, 10}) {
        std::vector<int> labels;
        for (int r = 0; r < 5; ++r)
            for (int k = 0; k < K; ++k)
                labels.push_back(k);
        const Occupancy o = occupancy(labels, K);
        QVERIFY(near(o.entropy, std::log(static_cast<double>(K)), 1e-12));
        QCOMPARE(o.covered, K);
        QCOMPARE(o.total, 5 * K);
    }
    // Counts (2, 1, 1, 0): p = (1/2, 1/4, 1/4): entropy 1.5 log 2; 3 of 4 covered.
    const std::vector<int> l{0, 0, 1, 2};
    const Occupancy o = occupancy(l, 4);
    QVERIFY(near(o.entropy, 1.5 * std::log(2.0), 1e-12));
    QCOMPARE(o.covered, 3);
    QCOMPARE(o.counts, (std::vector<int>{2, 1, 1, 0}));
    // With min_share 0.5 only bins holding >= 2 of the 4 labels count.
    QCOMPARE(occupancy(l, 4, 0.5).covered, 1);
    // Negative labels ("none") are skipped; all in one bin: entropy 0.
    const std::vector<int> one{-1, 3, 3, -1};
    QCOMPARE(occupancy(one, 4).entropy, 0.0);
    QCOMPARE(occupancy(one, 4).covered, 1);
}

void TestMetrics::class_occupancy_from_probabilities()
{
    // 10 classes, each predicted twice: entropy log 10, 10 covered.
    const int n = 20, k = 10;
    std::vector<double> p(n * k, 0.05);
    for (int i = 0; i < n; ++i)
        p[i * k + i % k] = 0.55;
    const Occupancy o = class_occupancy(p, n, k);
    QVERIFY(near(o.entropy, std::log(10.0), 1e-12));
    QCOMPARE(o.covered, 10);
    QCOMPARE(argmax_rows(p, n, k)[13], 3);
}

void TestMetrics::mixture_card_and_its_samples_cover_every_component()
{
    const ModelCard card = read_model_card(NOISETRAIL_SOURCE_DIR "/models/ring8.json");
    const auto mix = mixture_from_card(card);
    QVERIFY(mix.has_value());
    QCOMPARE(mix->components(), 8);
    QCOMPARE(mix->dim, 2);
    QVERIFY(near(mix->weights[3], 0.125, 1e-15));
    QCOMPARE(mix->stds[5], 0.1);
    // Exact draws: every component covered, occupancy near uniform (entropy
    // near log 8), and ~98.9% of a 2-D Gaussian's mass lies within 3 std
    // (1 - exp(-9/2)).
    const int n = 4000;
    const auto x = sample_mixture(*mix, n, 7);
    QCOMPARE(x.size(), std::size_t(2 * n));
    const MixtureCoverage c = mixture_coverage(*mix, x, n);
    QCOMPARE(c.occupancy.covered, 8);
    QVERIFY2(near(c.occupancy.entropy, std::log(8.0), 0.01), qPrintable(QString::number(c.occupancy.entropy)));
    QVERIFY2(near(c.high_quality, 1 - std::exp(-4.5), 0.01), qPrintable(QString::number(c.high_quality)));
    // Well-separated equal components: E log p = -(log K + log(2 pi e s^2)) (log K plus the
    // entropy of one 2-D component), per-sample std ~1, so 4000 draws give ~0.016.
    const double ll = mean_log_likelihood(*mix, x, n);
    const double expect = -(std::log(8.0) + std::log(2 * std::numbers::pi * std::numbers::e * 0.01));
    QVERIFY2(near(ll, expect, 0.06), qPrintable(QString("%1 vs %2").arg(ll).arg(expect)));
    // Same seed, same draws.
    QCOMPARE(sample_mixture(*mix, 5, 7), sample_mixture(*mix, 5, 7));
    // Other kinds have no mixture.
    ModelCard other = card;
    other.kind = "empirical";
    QVERIFY(!mixture_from_card(other).has_value());
}

void TestMetrics::mixture_coverage_three_sigma_rule()
{
    const GaussianMixture m = ring4(0.1);
    // Two samples on each mean: uniform occupancy, all covered.
    const std::vector<double> all{2, 0, 0, 2, -2, 0, 0, -2, 2.1, 0, 0, 1.9, -2, 0.05, 0.05, -2};
    MixtureCoverage c = mixture_coverage(m, all, 8);
    QCOMPARE(c.occupancy.covered, 4);
    QVERIFY(near(c.occupancy.entropy, std::log(4.0), 1e-12));
    QCOMPARE(c.high_quality, 1.0);
    QCOMPARE(most_responsible(m, all, 8), (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3}));
    // Two samples far from every mean: assigned to component 0 (ties go to the first)
    // but not high quality, so they cover nothing on their own.
    const std::vector<double> half{2, 0, 2, 0, 0.0, 0.0, 1.0, 0.0};
    c = mixture_coverage(m, half, 4);
    QCOMPARE(c.occupancy.covered, 1); // (1, 0) is 10 std from (2, 0)
    QCOMPARE(c.high_quality, 0.5);
    QCOMPARE(c.occupancy.total, 4);
    // A point at 2.9 std still counts, one at 3.1 std does not.
    const std::vector<double> edge{2.29, 0, 0, 2.31};
    c = mixture_coverage(m, edge, 2);
    QCOMPARE(c.occupancy.covered, 1);
    QCOMPARE(c.occupancy.counts[0], 1);
}

void TestMetrics::log_likelihood_of_a_single_gaussian()
{
    GaussianMixture g;
    g.dim = 2;
    g.weights = {1.0};
    g.means = {1.0, -0.5};
    g.stds = {0.5};
    const std::vector<double> x{1.0, -0.5, 0.0, 0.0, 3.0, 2.0};
    const auto ll = log_likelihood(g, x, 3);
    for (int i = 0; i < 3; ++i) {
        const double dx = x[2 * i] - 1.0, dy = x[2 * i + 1] + 0.5;
        const double expect = -std::log(2 * std::numbers::pi * 0.25) - (dx * dx + dy * dy) / (2 * 0.25);
        QVERIFY2(near(ll[i], expect, 1e-12), qPrintable(QString::number(i)));
    }
    // Two identical half-weight components are the same density.
    GaussianMixture twin = g;
    twin.weights = {0.5, 0.5};
    twin.means = {1.0, -0.5, 1.0, -0.5};
    twin.stds = {0.5, 0.5};
    QVERIFY(near(mean_log_likelihood(twin, x, 3), mean_log_likelihood(g, x, 3), 1e-12));
    // Far from a narrow mixture the log-sum-exp stays finite.
    QVERIFY(std::isfinite(mean_log_likelihood(ring4(0.01), std::vector<double>{50, 50}, 1)));
}

void TestMetrics::log_likelihood_of_mixture_samples_is_minus_entropy()
{
    // E[log N(x; mu, s^2 I)] over its own draws = -(d/2) log(2 pi e s^2); the
    // per-sample std of log p is sqrt(d/2) = 1, so 20000 draws give ~0.007.
    GaussianMixture g;
    g.dim = 2;
    g.weights = {1.0};
    g.means = {0.0, 0.0};
    g.stds = {0.3};
    const auto x = sample_mixture(g, 20000, 3);
    const double expect = -std::log(2 * std::numbers::pi * std::numbers::e * 0.09);
    QVERIFY2(near(mean_log_likelihood(g, x, 20000), expect, 0.03), qPrintable(QString::number(expect)));
}

void TestMetrics::frechet_of_known_gaussians_data()
{
    QTest::addColumn<QVector<double>>("mu1");
    QTest::addColumn<QVector<double>>("cov1");
    QTest::addColumn<QVector<double>>("mu2");
    QTest::addColumn<QVector<double>>("cov2");
    QTest::addColumn<double>("expected");
    // 1-D: (mu1 - mu2)^2 + (s1 - s2)^2.
    QTest::newRow("1-D") << QVector<double>{1} << QVector<double>{4} << QVector<double>{-2} << QVector<double>{9}
                         << 9.0 + 1.0;
    // Diagonal: |dmu|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    QTest::newRow("diagonal") << QVector<double>{0, 0, 0} << QVector<double>{1, 0, 0, 0, 4, 0, 0, 0, 9}
                              << QVector<double>{1, 2, 2} << QVector<double>{4, 0, 0, 0, 4, 0, 0, 0, 1}
                              << (1 + 4 + 4) + (1.0 + 0.0 + 4.0);
    // Identical Gaussians: 0.
    QTest::newRow("same") << QVector<double>{1, 2} << QVector<double>{2, 0.5, 0.5, 1} << QVector<double>{1, 2}
                          << QVector<double>{2, 0.5, 0.5, 1} << 0.0;
    // Non-commuting 2x2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for a 2x2 PSD M,
    // with tr M = tr(S1 S2) and det M = det S1 det S2.
    {
        const double a[4] = {2, 0.8, 0.8, 1}, b[4] = {1, -0.3, -0.3, 3};
        const double tr12 = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
        const double det = (a[0] * a[3] - a[1] * a[2]) * (b[0] * b[3] - b[1] * b[2]);
        const double tr_sqrt = std::sqrt(tr12 + 2 * std::sqrt(det));
        QTest::newRow("non-commuting 2x2")
            << QVector<double>{0.5, 0} << QVector<double>{a[0], a[1], a[2], a[3]} << QVector<double>{0, 0}
            << QVector<double>{b[0], b[1], b[2], b[3]} << 0.25 + (a[0] + a[3]) + (b[0] + b[3]) - 2 * tr_sqrt;
    }
    // Singular covariances (a flat direction): only the live direction counts.
    QTest::newRow("singular") << QVector<double>{0, 0} << QVector<double>{1, 0, 0, 0} << QVector<double>{0, 0}
                              << QVector<double>{4, 0, 0, 0} << 1.0;
}

void TestMetrics::frechet_of_known_gaussians()
{
    QFETCH(QVector<double>, mu1);
    QFETCH(QVector<double>, cov1);
    QFETCH(QVector<double>, mu2);
    QFETCH(QVector<double>, cov2);
    QFETCH(double, expected);
    const int d = static_cast<int>(mu1.size());
    const GaussianFit a{d, {mu1.begin(), mu1.end()}, {cov1.begin(), cov1.end()}};
    const GaussianFit b{d, {mu2.begin(), mu2.end()}, {cov2.begin(), cov2.end()}};
    QVERIFY2(near(frechet_distance(a, b), expected, 1e-9),
             qPrintable(QString("%1 vs %2").arg(frechet_distance(a, b), 0, 'g', 17).arg(expected, 0, 'g', 17)));
    QVERIFY(near(frechet_distance(b, a), expected, 1e-9)); // symmetric
}

void TestMetrics::frechet_of_two_samples_of_one_gaussian_is_near_zero()
{
    // Two independent samples of N(mu, diag(1, 4, 0.25)), n = 20000: the
    // estimate's bias and noise are O(d / n), far below 0.01.
    const std::vector<double> mu{1, -1, 0.5}, sd{1, 2, 0.5};
    const auto a = gaussian_sample(20000, mu, sd, 1), b = gaussian_sample(20000, mu, sd, 2);
    const double fd = frechet_distance(fit_gaussian(a, 20000, 3), fit_gaussian(b, 20000, 3));
    QVERIFY2(fd >= 0 && fd < 0.01, qPrintable(QString::number(fd)));
    // fit_gaussian recovers the parameters.
    const GaussianFit f = fit_gaussian(a, 20000, 3);
    QVERIFY(near(f.mean[1], -1, 0.05));
    QVERIFY(near(f.cov[4], 4, 0.15));
    QVERIFY(near(f.cov[1], 0, 0.05));
}

void TestMetrics::frechet_of_samples_matches_closed_form()
{
    // Samples of N((0,0), diag(1, 4)) and N((2, 0), diag(1, 1)): FD = 4 + (2 - 1)^2 = 5.
    const auto a = gaussian_sample(20000, {0, 0}, {1, 2}, 3), b = gaussian_sample(20000, {2, 0}, {1, 1}, 4);
    const double fd = frechet_distance(fit_gaussian(a, 20000, 2), fit_gaussian(b, 20000, 2));
    QVERIFY2(near(fd, 5.0, 0.15), qPrintable(QString::number(fd)));
    // A known cov given directly (as held-out statistics are): same answer.
    const GaussianFit ref{2, {2, 0}, {1, 0, 0, 1}};
    QVERIFY(near(frechet_distance(fit_gaussian(a, 20000, 2), ref), 5.0, 0.15));
}

void TestMetrics::precision_recall_of_self_far_and_half()
{
    const int n = 300;
    const auto real = gaussian_sample(n, {0, 0, 0}, {1, 1, 1}, 5);
    PrecisionRecall pr = precision_recall(real, n, real, n, 3);
    QCOMPARE(pr.precision, 1.0);
    QCOMPARE(pr.recall, 1.0);
    const auto far = gaussian_sample(n, {100, 0, 0}, {1, 1, 1}, 6);
    pr = precision_recall(real, n, far, n, 3);
    QCOMPARE(pr.precision, 0.0);
    QCOMPARE(pr.recall, 0.0);
    // Generated = the real set plus as many far-away points: half the generated
    // samples are realistic (precision 1/2) and every real sample is reproduced (recall 1).
    std::vector<double> mixed = real;
    mixed.insert(mixed.end(), far.begin(), far.end());
    pr = precision_recall(real, n, mixed, 2 * n, 3);
    QCOMPARE(pr.precision, 0.5);
    QCOMPARE(pr.recall, 1.0);
    // Mode dropping: generated covers only the x > 0 half of the real set, so recall ~1/2.
    std::vector<double> right;
    int m = 0;
    for (int i = 0; i < n; ++i)
        if (real[3 * i] > 0) {
            right.insert(right.end(), real.begin() + 3 * i, real.begin() + 3 * i + 3);
            ++m;
        }
    pr = precision_recall(real, n, right, m, 3);
    QCOMPARE(pr.precision, 1.0);
    QVERIFY2(pr.recall > 0.45 && pr.recall < 0.75, qPrintable(QString::number(pr.recall)));
}

void TestMetrics::mmd_same_and_shifted()
{
    const int n = 1000;
    const auto a = gaussian_sample(n, {0, 0}, {1, 1}, 7), b = gaussian_sample(n, {0, 0}, {1, 1}, 8);
    const auto c = gaussian_sample(n, {1, 0}, {1, 1}, 9);
    const double h = median_pairwise_distance(a, n, 2);
    // |x - y| for x, y ~ N(0, I) in 2-D is Rayleigh with scale sqrt 2: median sqrt 2 sqrt(2 ln 2) = 2 sqrt(ln 2).
    QVERIFY2(near(h, 2 * std::sqrt(std::log(2.0)), 0.08), qPrintable(QString::number(h)));
    const double same = mmd2_rbf(a, n, b, n, 2, h), shifted = mmd2_rbf(a, n, c, n, 2, h);
    QVERIFY2(std::abs(same) < 0.005, qPrintable(QString::number(same)));
    // Population MMD^2 for a unit shift: 2 c (1 - exp(-1 / (2 (h^2 + 2)))), c = h^2 / (h^2 + 2): about 0.12.
    QVERIFY2(shifted > 0.04, qPrintable(QString::number(shifted)));
}

void TestMetrics::mmd_closed_form()
{
    // x = {0, 0}, y = {100, 100} (1-D), h = 1: within-set kernels 1, cross 0: MMD_u^2 = 1 + 1 - 0 = 2.
    const std::vector<double> x{0, 0}, y{100, 100};
    QVERIFY(near(mmd2_rbf(x, 2, y, 2, 1, 1.0), 2.0, 1e-12));
    // x = {0, 1}, y = {0, 1}: kxx = kyy = k(0,1) = e^{-1/2}; kxy = (2 + 2 e^{-1/2}) / 4.
    const std::vector<double> u{0, 1};
    const double e = std::exp(-0.5);
    QVERIFY(near(mmd2_rbf(u, 2, u, 2, 1, 1.0), 2 * e - (1 + e), 1e-12));
}

void TestMetrics::trajectories_straight_zigzag_still()
{
    // Two samples moving on straight lines in 11 equal steps: straightness 1,
    // lengths 5 and 10 (3-4-5 and 6-8-10 triangles).
    const int K = 11, n = 2, d = 2;
    std::vector<double> s;
    for (int k = 0; k < K; ++k) {
        const double u = static_cast<double>(k) / (K - 1);
        s.insert(s.end(), {1 + 3 * u, 1 + 4 * u, -6 * u, 8 * u});
    }
    TrajectoryStats t = trajectory_stats(s, K, n, d);
    QVERIFY(near(t.mean_straightness, 1.0, 1e-12));
    QVERIFY(near(t.mean_path_length, 7.5, 1e-12));
    QVERIFY(near(t.mean_end_to_end, 7.5, 1e-12));
    QCOMPARE(t.states, K);
    // (0,0) -> (1,0) -> (1,1): length 2, end-to-end sqrt 2; a sample that does not move: 1 by definition.
    TrajectoryAccumulator acc(2, 2);
    acc.add(std::vector<float>{0, 0, 5, 5});
    acc.add(std::vector<float>{1, 0, 5, 5});
    acc.add(std::vector<float>{1, 1, 5, 5});
    t = acc.result();
    QVERIFY(near(t.mean_straightness, (std::sqrt(2.0) / 2 + 1) / 2, 1e-7));
    QVERIFY(near(t.mean_path_length, 1.0, 1e-7));
}

void TestMetrics::bad_sizes_are_input_errors()
{
    const std::vector<double> x{1, 2, 3};
    QVERIFY_THROWS_EXCEPTION(InputError, mean_pairwise_distance(x, 2, 2));
    QVERIFY_THROWS_EXCEPTION(InputError, vendi_rbf(x, 3, 1, 0.0));
    QVERIFY_THROWS_EXCEPTION(InputError, precision_recall(x, 3, x, 3, 1, 3)); // needs k + 1 = 4 rows
    QVERIFY_THROWS_EXCEPTION(InputError, frechet_distance(GaussianFit{1, {0}, {1}}, GaussianFit{2, {0, 0}, {1, 0, 0, 1}}));
    QVERIFY_THROWS_EXCEPTION(InputError, occupancy(std::vector<int>{5}, 3));
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
