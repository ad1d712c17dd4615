// The analytic denoisers in float32 (a card's "precision"): how far they move
// from float64, the closed form and the defaults of each kind.
#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "test_util.hpp"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <cmath>

using namespace noisetrail;

namespace {

// The trajectory tolerance this test holds float32 to: a tenth of 1e-3.
constexpr double kTrajectoryBound = 1e-4;

/// A copy of a bundled card with "precision" set (or removed when empty); data paths made absolute.
std::string card_with_precision(const QTemporaryDir& dir, const char* bundled, const QString& precision)
{
    QFile f(QString::fromStdString(test::source_path(bundled)));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", bundled);
    QJsonObject j = QJsonDocument::fromJson(f.readAll()).object();
    if (j.contains("data"))
        j["data"] = QString::fromStdString(test::source_path("models/")) + j["data"].toString();
    if (precision.isEmpty())
        j.remove("precision");
    else
        j["precision"] = precision;
    return test::write_file(dir, precision + "-" + QString(bundled).section('/', -1), QJsonDocument(j).toJson());
}

struct Trajectory {
    std::vector<std::vector<float>> x_t; ///< every step's input, then the samples
};

Trajectory run(const std::string& card, const QString& sampler, int steps, double eta, int batch)
{
    const auto model = Model::load(card);
    RunOptions o;
    o.sampler.sampler = sampler.toStdString();
    o.sampler.steps = steps;
    o.sampler.eta = eta;
    o.batch = batch;
    o.seed = 7;
    Trajectory tr;
    const RunResult r = run_sampler(*model, o, [&](std::shared_ptr<const StepFrame> f) { tr.x_t.push_back(f->x_t); });
    tr.x_t.push_back(r.samples);
    return tr;
}

double max_difference(const Trajectory& a, const Trajectory& b)
{
    if (a.x_t.size() != b.x_t.size())
        qFatal("trajectories of different lengths");
    double m = 0;
    for (std::size_t s = 0; s < a.x_t.size(); ++s)
        for (std::size_t i = 0; i < a.x_t[s].size(); ++i)
            m = std::max(m, std::abs(double(a.x_t[s][i]) - double(b.x_t[s][i])));
    return m;
}

} // namespace

class TestAnalyticPrecision : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gaussian_float32_near_closed_form();
    void trajectories_float32_near_float64_data();
    void trajectories_float32_near_float64();
    void defaults_per_kind();
    void bad_precision_is_input_error();
};

void TestAnalyticPrecision::gaussian_float32_near_closed_form()
{
    // N(mu, s^2 I): eps* = sqrt(1-ab) (x - sqrt(ab) mu) / (ab s^2 + 1 - ab), evaluated in float32.
    QTemporaryDir dir;
    const auto m = Model::load(card_with_precision(dir, "models/gaussian-2d.json", "float32"));
    const double mu[2] = {1.0, -0.5}, s = 0.5;
    const std::vector<double> x{0.3, 2.0, -1.0, 0.0, 5.0, -3.0};
    for (int t : {0, 10, 250, 999}) {
        const double ab = m->schedule().alpha_bar(t);
        const Denoised d = m->denoise(x, 3, t);
        for (int i = 0; i < 6; ++i) {
            const double want = std::sqrt(1 - ab) * (x[i] - std::sqrt(ab) * mu[i % 2]) / (ab * s * s + 1 - ab);
            // float32 carries 2^-24 relative; a few roundings per value.
            QVERIFY2(std::abs(d.eps_hat[i] - want) <= 1e-6 * std::max(1.0, std::abs(want)),
                     qPrintable(QString("t=%1 i=%2: %3 vs %4").arg(t).arg(i).arg(d.eps_hat[i]).arg(want)));
        }
    }
}

void TestAnalyticPrecision::trajectories_float32_near_float64_data()
{
    QTest::addColumn<QString>("card");
    QTest::addColumn<QString>("sampler");
    QTest::addColumn<int>("steps");
    QTest::addColumn<double>("eta");
    QTest::addColumn<int>("batch");
    QTest::newRow("ring8 ddpm 1000") << "models/ring8.json" << "ddpm" << 1000 << 0.0 << 256;
    QTest::newRow("ring8 ddim 50") << "models/ring8.json" << "ddim" << 50 << 0.0 << 256;
    QTest::newRow("ring8 ddim 50 eta 1") << "models/ring8.json" << "ddim" << 50 << 1.0 << 256;
    QTest::newRow("gaussian ddpm 1000") << "models/gaussian-2d.json" << "ddpm" << 1000 << 0.0 << 256;
    QTest::newRow("500 digits ddim 20") << "models/mnist-500-exact.json" << "ddim" << 20 << 0.0 << 4;
    QTest::newRow("500 digits ddpm 100") << "models/mnist-500-exact.json" << "ddpm" << 100 << 0.0 << 4;
}

void TestAnalyticPrecision::trajectories_float32_near_float64()
{
    QFETCH(QString, card);
    QFETCH(QString, sampler);
    QFETCH(int, steps);
    QFETCH(double, eta);
    QFETCH(int, batch);
    QTemporaryDir dir;
    const std::string c32 = card_with_precision(dir, card.toUtf8().constData(), "float32");
    const std::string c64 = card_with_precision(dir, card.toUtf8().constData(), "float64");
    const double d = max_difference(run(c32, sampler, steps, eta, batch), run(c64, sampler, steps, eta, batch));
    QVERIFY2(d < kTrajectoryBound, qPrintable(QString("max |x_t(float32) - x_t(float64)| = %1").arg(d)));
}

void TestAnalyticPrecision::defaults_per_kind()
{
    // Mixtures default to float32, empirical data sets to float64 (a dense 2-D set
    // such as two moons moves 8.6e-4 in float32 over DDPM 1000: no margin).
    QTemporaryDir dir;
    const auto same = [&](const char* card, const char* precision) {
        const auto a = run(card_with_precision(dir, card, ""), "ddim", 10, 0.5, 8);
        const auto b = run(card_with_precision(dir, card, precision), "ddim", 10, 0.5, 8);
        return a.x_t == b.x_t;
    };
    QVERIFY(same("models/ring8.json", "float32"));
    QVERIFY(same("models/two-moons.json", "float64"));
    QVERIFY(same("models/mnist-500-exact.json", "float64"));
}

void TestAnalyticPrecision::bad_precision_is_input_error()
{
    QTemporaryDir dir;
    const std::string card = card_with_precision(dir, "models/ring8.json", "float16");
    try {
        (void)Model::load(card);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        QVERIFY2(QString(e.what()).contains("precision") && QString(e.what()).contains(QString::fromStdString(card)),
                 e.what());
    }
}

QTEST_GUILESS_MAIN(TestAnalyticPrecision)
#include "tst_analytic_precision.moc"
