// noisetrail-cli reflow (issue 20, point 4): 2-rectified flow of the exact single-Gaussian
// flow card, checked against the closed form: the source's ODE maps x_1 = z to
// mu + c z, so its pairs are that straight coupling, and a model trained on them
// must take one Euler step to the endpoint that the source needs many steps for.
#include "test_util.hpp"

#include "noisetrail/npy.hpp"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using namespace noisetrail;

namespace {

constexpr double kMu[2] = {1.0, -0.5}; // models/gaussian-2d-flow.json: N(mu, c^2 I)
constexpr double kStd = 0.5;

std::vector<float> floats(const QString& file)
{
    const NpyArray a = read_npy(file.toStdString());
    return a.f32;
}

/// RMS distance of samples from the closed-form endpoints mu + c x_1 of their noise.
double endpoint_error(const QString& dump)
{
    const auto xt = floats(dump + "/xt.npy"); // [S+1, B, 2], x_1 first, samples last
    const NpyArray shape = read_npy((dump + "/xt.npy").toStdString());
    const std::size_t per = static_cast<std::size_t>(shape.shape[1] * shape.shape[2]);
    double sq = 0;
    for (std::size_t i = 0; i < per; ++i) {
        const double want = kMu[i % 2] + kStd * xt[i], got = xt[xt.size() - per + i];
        sq += (got - want) * (got - want);
    }
    return std::sqrt(sq / per);
}

double straightness(const QString& dump)
{
    std::ifstream in((dump + "/meta.json").toStdString());
    return nlohmann::json::parse(in)["straightness"].get<double>();
}

} // namespace

class TestReflow : public QObject {
    Q_OBJECT
    // One reflow shared by the checks below, each a test function of its own so that
    // none nears Qt Test's 300 s watchdog under ASan on a busy machine.
    QTemporaryDir dir_;
    QString src_ = QString::fromStdString(test::source_path("models/gaussian-2d-flow.json"));
    QString card_;
    QStringList reflow_args() const
    {
        return {"reflow", "--model", src_, "--pairs", "2000", "--steps", "40", "--train-steps", "400", "--seed", "1",
                "--threads", "1", "--out", dir_.path()};
    }
    /// A sample run's dump folder, or "" after a warning.
    QString dump(const QString& model, const QString& sampler, const QString& steps, const QString& name) const
    {
        const test::CliResult s = test::run_cli({"sample", "--model", model, "--sampler", sampler, "--steps", steps,
                                                 "--batch", "500", "--seed", "5", "--dump", dir_.filePath(name)});
        if (s.code != 0)
            qWarning("%s", qPrintable(s.err));
        return dir_.filePath(name);
    }

private Q_SLOTS:
    void reflow_writes_a_flow_card()
    {
        const test::CliResult r = test::run_cli(reflow_args(), 600000);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        card_ = dir_.filePath("gaussian-2d-flow-reflow.json");
        QVERIFY2(QFile::exists(card_), qPrintable(r.out));
        std::ifstream in(card_.toStdString());
        const auto j = nlohmann::json::parse(in);
        QCOMPARE(j["prediction"].get<std::string>(), std::string("velocity"));
        QCOMPARE(j["process"]["kind"].get<std::string>(), std::string("flow"));
        QCOMPARE(j["reflow"]["pairs"].get<int>(), 2000);
    }

    void one_euler_step_lands_on_the_endpoint()
    {
        QVERIFY(QFile::exists(card_));
        // One Euler step: the source (exact) lands every sample on x0_hat(x_1, 1) = mu;
        // the 2-rectified model follows the straight coupling to mu + c x_1.
        const double src_err = endpoint_error(dump(src_, "euler", "1", "src1"));
        const double rf_err = endpoint_error(dump(card_, "euler", "1", "rf1"));
        qInfo("one Euler step, RMS distance from mu + c x_1: source %.4f, 2-rectified %.4f", src_err, rf_err);
        QVERIFY2(src_err > 0.4, qPrintable(QString::number(src_err))); // RMS of c z per coordinate: c = 0.5
        QVERIFY2(rf_err < 0.1, qPrintable(QString::number(rf_err)));
    }

    void paths_are_straight()
    {
        QVERIFY(QFile::exists(card_));
        // Straightness of 40-step Heun runs (Liu et al. eq. 4): near 0 after reflow.
        const double src_s = straightness(dump(src_, "heun", "40", "src40"));
        const double rf_s = straightness(dump(card_, "heun", "40", "rf40"));
        qInfo("straightness, Heun 40: source %.4f, 2-rectified %.4f", src_s, rf_s);
        QVERIFY2(rf_s < 0.1 * src_s, qPrintable(QString("%1 vs %2").arg(rf_s).arg(src_s)));
    }

    void rerun_resumes()
    {
        QVERIFY(QFile::exists(card_));
        // The same command again: the pairs are kept and training is complete.
        const test::CliResult again = test::run_cli(reflow_args(), 600000);
        QVERIFY2(again.code == 0, qPrintable(again.err));
        QVERIFY2(!again.err.contains("pairs 2000/2000"), qPrintable(again.err));
    }

    void bad_arguments()
    {
        QTemporaryDir dir;
        const QString src = QString::fromStdString(test::source_path("models/gaussian-2d-flow.json"));
        const auto expect = [&](const QStringList& args, std::initializer_list<const char*> parts) {
            const test::CliResult r = test::run_cli(args);
            QCOMPARE(r.code, 2);
            for (const char* p : parts)
                QVERIFY2(r.err.contains(p), qPrintable(r.err));
        };
        expect({"reflow", "--model", src}, {"--out"});
        expect({"reflow", "--model", src, "--out", dir.path(), "--sampler", "ddpm"}, {"--sampler ddpm", "deterministic"});
        expect({"reflow", "--model", src, "--out", dir.path(), "--pairs", "1"}, {"--pairs"});
        expect({"reflow", "--model", src, "--out", dir.path(), "--pairs", "20000000"}, {"--pairs", "2..10000000"});
        expect({"reflow", "--model", src, "--out", dir.path(), "--pairs", "2000000", "--max-memory-mib", "16"},
               {"--pairs 2000000", "memory budget of 16 MiB"});
    }
};

QTEST_GUILESS_MAIN(TestReflow)
#include "tst_reflow.moc"
