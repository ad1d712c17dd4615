// Quality of a trained points model against its data (issue 23, point 4): the kernel density,
// nearest-distance and Scott-bandwidth measures against truth computed here, and
// points_quality on a drawn-like ring: the exact denoiser memorises, a trained MLP does not,
// and training improves the likelihood from an early checkpoint card to a late one.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/training.hpp"

#include <QtTest>

#include <cmath>
#include <numbers>
#include <random>

using namespace noisetrail;

namespace {

std::vector<double> gaussian_rows(int n, int d, double scale, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, scale);
    std::vector<double> v(static_cast<std::size_t>(n) * d);
    for (double& e : v)
        e = g(rng);
    return v;
}

/// A "drawn" ring: m points at radius 1, evenly spread in angle with a little jitter.
std::vector<float> ring_points(int m, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> jitter(-0.2, 0.2);
    std::vector<float> p;
    for (int i = 0; i < m; ++i) {
        const double a = 2 * std::numbers::pi * (i + jitter(rng)) / m;
        p.push_back(float(std::cos(a)));
        p.push_back(float(std::sin(a)));
    }
    return p;
}

} // namespace

class TestPointTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void kdeOfOnePointIsItsGaussian()
    {
        // One data point: the kernel density is N(x; y, h^2 I) itself.
        const int d = 3, n = 20;
        const std::vector<double> y{0.5, -1.0, 2.0};
        const std::vector<double> x = gaussian_rows(n, d, 1.5, 1);
        for (double h : {0.1, 0.7, 3.0}) {
            double expected = 0.0;
            for (int i = 0; i < n; ++i) {
                double sq = 0.0;
                for (int c = 0; c < d; ++c)
                    sq += std::pow(x[std::size_t(i * d + c)] - y[std::size_t(c)], 2);
                expected += -sq / (2 * h * h) - 0.5 * d * std::log(2 * std::numbers::pi * h * h);
            }
            expected /= n;
            const double got = metrics::kde_mean_log_likelihood(x, n, y, 1, d, h);
            QVERIFY2(std::abs(got - expected) < 1e-9 * std::abs(expected), qPrintable(QString("%1 vs %2").arg(got).arg(expected)));
        }
        // Far from the data (exp underflows to 0 without log-sum-exp): still the closed form.
        const std::vector<double> far{100.0, 0.0, 0.0}, origin{0.0, 0.0, 0.0};
        const double h = 0.05;
        const double expected = -1e4 / (2 * h * h) - 1.5 * std::log(2 * std::numbers::pi * h * h);
        const double got = metrics::kde_mean_log_likelihood(far, 1, origin, 1, d, h);
        QVERIFY(std::isfinite(got));
        QVERIFY(std::abs(got - expected) < 1e-9 * std::abs(expected));
        // Two points: log of the average of the two densities.
        const std::vector<double> two{0.0, 0.0, 1.0, 0.0}, q{0.3, 0.2};
        const auto dens = [&](double mx, double my) {
            return std::exp(-((q[0] - mx) * (q[0] - mx) + (q[1] - my) * (q[1] - my)) / (2 * 0.5 * 0.5)) /
                   (2 * std::numbers::pi * 0.25);
        };
        QVERIFY(std::abs(metrics::kde_mean_log_likelihood(q, 1, two, 2, 2, 0.5) -
                         std::log(0.5 * dens(0, 0) + 0.5 * dens(1, 0))) < 1e-12);
        // Bad input: one clear error.
        QVERIFY_THROWS_EXCEPTION(InputError, metrics::kde_mean_log_likelihood(q, 1, two, 2, 2, 0.0));
        QVERIFY_THROWS_EXCEPTION(InputError, metrics::kde_mean_log_likelihood(q, 1, {}, 0, 2, 1.0));
        QVERIFY_THROWS_EXCEPTION(InputError, metrics::kde_mean_log_likelihood(q, 2, two, 2, 2, 1.0));
    }

    void nearestDistancesAreBruteForce()
    {
        const int n = 60, m = 45, d = 3;
        const std::vector<double> x = gaussian_rows(n, d, 1.0, 2), y = gaussian_rows(m, d, 1.0, 3);
        const auto dist = [&](const std::vector<double>& a, int i, const std::vector<double>& b, int j) {
            double s = 0.0;
            for (int c = 0; c < d; ++c)
                s += std::pow(a[std::size_t(i * d + c)] - b[std::size_t(j * d + c)], 2);
            return std::sqrt(s);
        };
        const std::vector<double> got = metrics::nearest_distances(x, n, y, m, d);
        QCOMPARE(int(got.size()), n);
        for (int i = 0; i < n; ++i) {
            double best = 1e300;
            for (int j = 0; j < m; ++j)
                best = std::min(best, dist(x, i, y, j));
            QVERIFY(std::abs(got[std::size_t(i)] - best) < 1e-12);
        }
        const std::vector<double> other = metrics::nearest_other_distances(y, m, d);
        for (int i = 0; i < m; ++i) {
            double best = 1e300;
            for (int j = 0; j < m; ++j)
                if (j != i)
                    best = std::min(best, dist(y, i, y, j));
            QVERIFY(std::abs(other[std::size_t(i)] - best) < 1e-12);
        }
        // A sample on a data point is at distance 0; a duplicate data point has a neighbour at 0.
        QCOMPARE(metrics::nearest_distances(std::vector<double>(y.begin(), y.begin() + d), 1, y, m, d)[0], 0.0);
        const std::vector<double> dup{1, 2, 1, 2, 5, 5};
        QCOMPARE(metrics::nearest_other_distances(dup, 3, 2)[0], 0.0);
        QVERIFY_THROWS_EXCEPTION(InputError, metrics::nearest_distances(x, n, {}, 0, d));
        QVERIFY_THROWS_EXCEPTION(InputError, metrics::nearest_other_distances(dup, 1, 2));
    }

    void scottBandwidthIsItsFormula()
    {
        // 1-D {0, 2}: sample variance 2, h = sqrt(2) 2^(-1/5).
        QVERIFY(std::abs(metrics::scott_bandwidth(std::vector<double>{0.0, 2.0}, 2, 1) -
                         std::sqrt(2.0) * std::pow(2.0, -0.2)) < 1e-12);
        // 2-D: coordinates with variances 4 and 1 (exactly, by construction) over m = 4 rows:
        // h = sqrt((4 + 1) / 2) 4^(-1/6).
        // Column 0: {-s, s, -s, s} with s^2 (4/3) = 4; column 1: {-t, -t, t, t}, t^2 (4/3) = 1.
        const double s = std::sqrt(3.0), t = std::sqrt(0.75);
        const std::vector<double> x{-s, -t, s, -t, -s, t, s, t};
        QVERIFY(std::abs(metrics::scott_bandwidth(x, 4, 2) - std::sqrt(2.5) * std::pow(4.0, -1.0 / 6)) < 1e-12);
        QCOMPARE(metrics::scott_bandwidth(std::vector<double>{1.0, 1.0}, 1, 2), 0.0);
    }

    void exactMemorisesNetworkGeneralises()
    {
        QTemporaryDir dir;
        const int m = 48;
        const std::vector<float> ring = ring_points(m, 7);
        const std::string data = dir.filePath("ring.npy").toStdString();
        write_npy(data, {m, 2}, ring.data());
        // The exact denoiser of the set (contract section 2, empirical).
        const std::string exact = test::write_file(dir, "exact.json", R"json({"format": "noisetrail-model/1",
            "name": "ring (exact)", "kind": "empirical", "data_shape": [2], "prediction": "epsilon",
            "schedule": {"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "train_steps": 1000},
            "data": "ring.npy"})json");
        const PointsQuality eq = points_quality(exact, ring, m, 2, 256, 5);
        // The data's own spacing: 48 points on the unit circle, about 2 pi / 48 = 0.13 apart.
        qInfo("data nearest %.4f, exact samples nearest %.5f, kde %.3f", eq.data_nearest_distance,
              eq.mean_nearest_distance, eq.kde_log_likelihood);
        QVERIFY(eq.data_nearest_distance > 0.05 && eq.data_nearest_distance < 0.14);
        QVERIFY2(eq.mean_nearest_distance < 0.05 * eq.data_nearest_distance, qPrintable(QString::number(eq.mean_nearest_distance)));
        QCOMPARE(eq.step, 0);
        QVERIFY(std::isnan(eq.mixture_log_likelihood));

        // The true density's stand-in: N(0, I) in 2-D; samples on the unit circle have
        // log N = -1/2 - log(2 pi) each, so their mean log-likelihood is that.
        const std::string gauss = test::write_file(dir, "gauss.json", test::mixture_card(
            R"({"weights": [1], "means": [[0, 0]], "stds": [1]})"));
        const PointsQuality gq = points_quality(exact, ring, m, 2, 256, 5, gauss);
        QVERIFY2(std::abs(gq.mixture_log_likelihood - (-0.5 - std::log(2 * std::numbers::pi))) < 0.02,
                 qPrintable(QString::number(gq.mixture_log_likelihood)));
        QCOMPARE(gq.kde_log_likelihood, eq.kde_log_likelihood); // same seed, same samples

        // A small MLP, a few seconds: checkpoint cards at 100, ..., 600.
        TrainConfig c;
        c.kind = "noisetrail-mlp";
        c.data = data;
        c.out = dir.filePath("mlp/model.json").toStdString();
        c.architecture_json = R"({"hidden": 64, "blocks": 2, "time_dim": 32})";
        c.steps = 600;
        c.batch = 128;
        c.lr = 3e-3;
        c.warmup_steps = 20;
        c.sample_count = 16;
        c.threads = 1;
        c.seed = 2;
        c.card_every = 100;
        train(c);
        const auto card = [&](int n) { return dir.filePath(QString("mlp/checkpoints/step-%1.json").arg(n)).toStdString(); };
        const PointsQuality early = points_quality(card(100), ring, m, 2, 256, 5);
        const PointsQuality late = points_quality(card(600), ring, m, 2, 256, 5);
        qInfo("kde: step 100 %.3f, step 600 %.3f, exact %.3f; nearest: step 600 %.4f", early.kde_log_likelihood,
              late.kde_log_likelihood, eq.kde_log_likelihood, late.mean_nearest_distance);
        QCOMPARE(early.step, 100);
        QCOMPARE(late.step, 600);
        QVERIFY(late.kde_log_likelihood > early.kde_log_likelihood);
        // The network puts samples between the points, not on them.
        QVERIFY2(late.mean_nearest_distance > 0.15 * eq.data_nearest_distance,
                 qPrintable(QString::number(late.mean_nearest_distance)));
        QVERIFY(late.mean_nearest_distance > 10 * eq.mean_nearest_distance);
        QCOMPARE(late.data_nearest_distance, eq.data_nearest_distance);

        // Bad input: one clear error each.
        QVERIFY_THROWS_EXCEPTION(InputError, points_quality(exact, ring, m, 3, 16, 5));      // wrong dimension
        QVERIFY_THROWS_EXCEPTION(InputError, points_quality(exact, ring, 1, 2, 16, 5));      // one point
        QVERIFY_THROWS_EXCEPTION(InputError, points_quality(exact, ring, m, 2, 0, 5));       // no samples
        QVERIFY_THROWS_EXCEPTION(InputError, points_quality(exact, ring, m, 2, 16, 5, exact)); // not a mixture
    }
};

QTEST_GUILESS_MAIN(TestPointTraining)
#include "tst_point_training.moc"
