// The frame store: what goes in comes back within its precision, in bounded
// memory, and a reader never sees a step the writer has not finished.
#include "test_util.hpp"

#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/trajectory.hpp"

#include <QElapsedTimer>
#include <QtTest/QtTest>

#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <thread>

using namespace noisetrail;

namespace {
StepFrame makeFrame(int step, int steps, int B, int D, float offset)
{
    StepFrame f;
    f.step = step;
    f.steps = steps;
    f.plan.t = (steps - 1 - step) * 10;
    f.plan.alpha_bar = 0.5;
    f.shape = {B, D};
    f.stats.xt_std = 1.0 + step;
    for (int i = 0; i < B * D; ++i) {
        f.x_t.push_back(std::sin(0.1f * i + offset));
        f.x0_hat.push_back(0.5f * std::cos(0.3f * i) + offset);
        f.eps_hat.push_back(-2.f + 4.f * float(i) / float(B * D));
        f.x_prev.push_back(std::sin(0.1f * i + offset + 0.2f)); // the next step's x_t
    }
    return f;
}

std::vector<int> timesteps(int S)
{
    std::vector<int> ts;
    for (int k = 0; k < S; ++k)
        ts.push_back((S - 1 - k) * 10);
    return ts;
}
} // namespace

class TestTrajectory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip_data()
    {
        QTest::addColumn<int>("precision");
        QTest::addColumn<double>("tolerance");
        // 8-bit: half a quantum of the block's range (at most 4 here -> 4/255/2).
        QTest::newRow("uint8") << int(Trajectory::Precision::UInt8) << 4.0 / 255.0 * 0.51;
        // half: 11 bits of mantissa, relative 2^-11 on values up to ~2.
        QTest::newRow("half") << int(Trajectory::Precision::Half) << 2.0 * std::ldexp(1.0, -11);
    }
    void roundTrip()
    {
        QFETCH(int, precision);
        QFETCH(double, tolerance);
        const int S = 5, B = 3, D = 7;
        std::vector<StepFrame> frames;
        for (int k = 0; k < S; ++k)
            frames.push_back(makeFrame(k, S, B, D, 0.2f * k));
        Trajectory tr({B, D}, timesteps(S), Trajectory::Precision(precision));
        QVERIFY(!tr.hasStart());
        for (int k = 0; k < S; ++k)
            tr.append(frames[std::size_t(k)]);
        QVERIFY(tr.finished());
        QCOMPARE(tr.size(), S);
        const auto near = [&](const std::vector<float>& got, const std::vector<float>& want, const char* what) {
            QCOMPARE(got.size(), want.size());
            for (std::size_t i = 0; i < got.size(); ++i)
                QVERIFY2(std::abs(got[i] - want[i]) <= tolerance,
                         qPrintable(QString("%1 i %2: %3 vs %4").arg(what).arg(i).arg(got[i]).arg(want[i])));
        };
        std::vector<float> out;
        for (int k = 0; k < S; ++k) {
            const StepFrame& f = frames[std::size_t(k)];
            QCOMPARE(tr.info(k).plan.t, f.plan.t);
            QCOMPARE(tr.info(k).stats.xt_std, f.stats.xt_std); // full precision
            QVERIFY(std::isnan(tr.info(k).metrics.values.vendi)); // none given
            tr.decode(k, Field::Xt, out);
            // Step 0's x_t is its own; later ones are the previous step's x_prev.
            near(out, k == 0 ? f.x_t : frames[std::size_t(k) - 1].x_prev, "x_t");
            tr.decode(k, Field::X0Hat, out);
            near(out, f.x0_hat, "x0_hat");
            tr.decode(k, Field::EpsHat, out);
            near(out, f.eps_hat, "eps_hat");
            QVERIFY(std::abs(tr.xtValue(k, 4) - (k == 0 ? f.x_t : frames[std::size_t(k) - 1].x_prev)[4]) <= tolerance);
        }
        // Past the last step: the final samples (x_prev of the last step) and its predictions.
        tr.decode(S, Field::Xt, out);
        near(out, frames.back().x_prev, "final");
        tr.decode(S, Field::X0Hat, out);
        near(out, frames.back().x0_hat, "last x0_hat");
    }

    void startNoiseIsShownBeforeTheFirstStep()
    {
        const int B = 2, D = 3;
        const StepFrame f = makeFrame(0, 2, B, D, 0.f);
        Trajectory tr({B, D}, timesteps(2), Trajectory::Precision::Half, f.x_t);
        QVERIFY(tr.hasStart());
        QCOMPARE(tr.size(), 0);
        std::vector<float> out;
        tr.decode(0, Field::Xt, out);
        for (int i = 0; i < B * D; ++i)
            QVERIFY(std::abs(out[std::size_t(i)] - f.x_t[std::size_t(i)]) <= std::ldexp(1.0, -11));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tr.decode(0, Field::X0Hat, out));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tr.decode(1, Field::Xt, out));
        tr.append(f);
        tr.decode(1, Field::Xt, out); // now the newest state
        QVERIFY(std::abs(out[0] - f.x_prev[0]) <= std::ldexp(1.0, -11));
    }

    void rejectsOutOfOrderAndWrongSize()
    {
        Trajectory tr({2, 3}, timesteps(3), Trajectory::Precision::UInt8);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tr.append(makeFrame(1, 3, 2, 3, 0)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tr.append(makeFrame(0, 3, 2, 4, 0)));
        QCOMPARE(tr.size(), 0);
        QVERIFY(!tr.hasStart()); // the malformed frame left nothing behind
        tr.append(makeFrame(0, 3, 2, 3, 0));
        QCOMPARE(tr.size(), 1);
        QVERIFY(!tr.finished());
        std::vector<float> out;
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tr.decode(1, Field::X0Hat, out));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tr.decode(2, Field::Xt, out));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tr.info(1));
        tr.append(makeFrame(1, 3, 2, 3, 0));
        tr.append(makeFrame(2, 3, 2, 3, 0));
        QVERIFY(tr.finished());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tr.append(makeFrame(3, 3, 2, 3, 0)));
        const Trajectory none;
        QVERIFY(!none.finished());
        QVERIFY(!none.hasStart());
    }

    void constantBlockDecodesExactly()
    {
        Trajectory tr({1, 4}, timesteps(1), Trajectory::Precision::UInt8);
        StepFrame f = makeFrame(0, 1, 1, 4, 0);
        f.x_t.assign(4, 0.75f);
        tr.append(f);
        std::vector<float> out;
        tr.decode(0, Field::Xt, out);
        for (float v : out)
            QCOMPARE(v, 0.75f);
    }

    void deflatedBlocksDecodeLikeRawOnes()
    {
        // A clean image (large flat areas) deflates; pure noise does not. Both
        // decode to within half a quantum.
        const int B = 16, D = 784;
        std::mt19937 rng(5);
        std::normal_distribution<float> normal;
        StepFrame f;
        f.steps = 1;
        f.shape = {B, 1, 28, 28};
        for (int i = 0; i < B * D; ++i) {
            const int r = (i % D) / 28, c = i % 28;
            f.x0_hat.push_back((r > 8 && r < 20 && c > 10 && c < 16) ? 1.f : -1.f);
            f.eps_hat.push_back(normal(rng));
        }
        f.x_t = f.eps_hat;
        f.x_prev = f.x0_hat;
        Trajectory tr(f.shape, {0}, Trajectory::Precision::UInt8);
        tr.append(f);
        std::vector<float> out;
        tr.decode(0, Field::X0Hat, out);
        QCOMPARE(out, f.x0_hat); // two levels: exact
        tr.decode(0, Field::EpsHat, out);
        float lo = *std::min_element(f.eps_hat.begin(), f.eps_hat.end());
        float hi = *std::max_element(f.eps_hat.begin(), f.eps_hat.end());
        for (std::size_t i = 0; i < out.size(); ++i)
            QVERIFY(std::abs(out[i] - f.eps_hat[i]) <= (hi - lo) / 255.f * 0.51f);
        QCOMPARE(tr.xtValue(1, 300), f.x0_hat[300]); // a deflated value read alone
        // Clean x0_hat and the final samples deflate to little; the two noise blocks stay raw.
        QVERIFY(tr.bytes() < std::size_t(B * D) * 2 + 8192);
    }

    void writerAndReaderAtOnce()
    {
        // One writer appends as fast as it can while the reader decodes the
        // newest published step in a loop: every value it sees is the one the
        // writer wrote for that step (8-bit codes of step-dependent constants,
        // so a torn or unfinished block would show a wrong value).
        const int S = 400, B = 4, D = 64;
        auto tr = std::make_shared<Trajectory>(std::vector<std::int64_t>{B, D}, timesteps(S),
                                               Trajectory::Precision::UInt8);
        const auto value = [](int step, int i) { return float((step * 7 + i) % 256); };
        std::atomic<bool> go{false}, readOnce{false};
        std::thread writer([&] {
            while (!go.load())
                std::this_thread::yield();
            for (int k = 0; k < S; ++k) {
                // After the first step, until the reader has read once: a loaded
                // machine could otherwise run the whole writer before the reader starts.
                while (k == 1 && !readOnce.load())
                    std::this_thread::yield();
                StepFrame f;
                f.step = k;
                f.steps = S;
                f.plan.t = tr->timesteps()[std::size_t(k)];
                f.shape = {B, D};
                f.stats.xt_mean = k;
                for (int i = 0; i < B * D; ++i) {
                    f.x_t.push_back(value(k, i));
                    f.x0_hat.push_back(value(k, i) + 1000.f);
                    f.eps_hat.push_back(-value(k, i));
                    f.x_prev.push_back(value(k + 1, i));
                }
                tr->append(f);
            }
        });
        go.store(true);
        std::vector<float> x0, xt;
        int reads = 0, bad = 0, last = -1;
        while (!tr->finished()) {
            const int n = tr->size();
            if (n == 0)
                continue;
            const int k = n - 1;
            bad += tr->info(k).step != k || tr->info(k).stats.xt_mean != k;
            tr->decode(k, Field::X0Hat, x0);
            tr->decode(n, Field::Xt, xt); // the newest state, x_prev of step k
            for (int i = 0; i < B * D; ++i) {
                // Each block holds 0..255 (+1000): 8-bit codes are exact up to float rounding.
                bad += std::abs(x0[std::size_t(i)] - (value(k, i) + 1000.f)) > 0.01f;
                bad += std::abs(xt[std::size_t(i)] - value(k + 1, i)) > 0.01f;
            }
            ++reads;
            readOnce.store(true);
            last = std::max(last, k);
        }
        writer.join();
        qInfo("reader decoded %d published steps while the writer appended %d", reads, S);
        QCOMPARE(bad, 0);
        QVERIFY(reads > 0);
        QCOMPARE(tr->size(), S);
    }

    void memoryOfFourDigitPanels()
    {
        // The size: 4 panels x 1000 steps x batch 16 of 28x28 digits, from a
        // real run (DDPM 1000 steps on the exact denoiser of the 500 bundled digits),
        // so the blocks hold what the GUI stores: noise early, clean digits late.
        const auto model = Model::load(test::source_path("models/mnist-500-exact.json"));
        RunOptions o;
        o.sampler.sampler = "ddpm";
        o.sampler.steps = 1000;
        o.seed = 11;
        o.batch = 16;
        o.threads = 1;
        std::vector<std::shared_ptr<const StepFrame>> frames;
        QElapsedTimer clock;
        clock.start();
        const RunResult r = run_sampler(*model, o, [&](std::shared_ptr<const StepFrame> f) { frames.push_back(f); });
        qInfo("DDPM 1000 on mnist-500-exact, batch 16: %.1f s", clock.elapsed() / 1000.0);
        QCOMPARE(int(frames.size()), 1000);
        std::vector<int> ts;
        for (const auto& s : r.plan.steps)
            ts.push_back(s.t);
        const std::vector<std::int64_t> shape = frames[0]->shape;
        std::size_t total = 0;
        double appendMs = 0;
        for (int panel = 0; panel < 4; ++panel) {
            Trajectory tr(shape, ts, Trajectory::Precision::UInt8, r.x_T);
            clock.restart();
            for (const auto& f : frames)
                tr.append(*f);
            appendMs += clock.nsecsElapsed() / 1e6;
            total += tr.bytes();
            if (panel == 0) {
                std::vector<float> out;
                clock.restart();
                for (int k = 0; k < 1000; ++k)
                    tr.decode(k, Field::X0Hat, out);
                qInfo("decode one field of one step: %.1f us", clock.nsecsElapsed() / 1e3 / 1000);
                // Every step's x_t and eps_hat come back within half a quantum of their
                // block's range, whether stored raw, deflated or as a difference.
                for (int k = 0; k < 1000; ++k)
                    for (const auto& [field, src] : {std::pair{Field::Xt, &frames[std::size_t(k)]->x_t},
                                                     std::pair{Field::EpsHat, &frames[std::size_t(k)]->eps_hat}}) {
                        tr.decode(k, field, out);
                        const auto [lo, hi] = std::minmax_element(src->begin(), src->end());
                        float worst = 0.f;
                        for (std::size_t i = 0; i < out.size(); ++i)
                            worst = std::max(worst, std::abs(out[i] - (*src)[i]));
                        QVERIFY2(worst <= (*hi - *lo) / 255.f * 0.51f, qPrintable(QString("step %1").arg(k)));
                    }
                // The final samples come back within half a quantum of their range.
                tr.decode(1000, Field::Xt, out);
                const auto [lo, hi] = std::minmax_element(r.samples.begin(), r.samples.end());
                for (std::size_t i = 0; i < out.size(); ++i)
                    QVERIFY(std::abs(out[i] - r.samples[i]) <= (*hi - *lo) / 255.f * 0.51f);
            }
        }
        const double raw8 = 4.0 * 1000 * 16 * 784 * 3; // one byte per value, three fields
        qInfo("4 panels x 1000 steps x 16 x 28x28: %.1f MB held (%.1f MB at one byte per value and field); "
              "append %.3f ms/step",
              total / 1e6, raw8 / 1e6, appendMs / 4000);
        QVERIFY(double(total) < 0.5 * raw8); // well under 200 MB
    }

    void memoryWorstCaseIsNoise()
    {
        // Fresh noise in every block of every step (8-bit Gaussian codes deflate
        // by a few per cent only, and no step resembles the previous one): about
        // one byte per value and field.
        const int S = 1000, B = 16, D = 784;
        std::mt19937 rng(3);
        std::normal_distribution<float> normal;
        std::vector<float> pool(std::size_t(B * D + 4 * 13 * S));
        for (auto& v : pool)
            v = normal(rng);
        StepFrame f;
        f.steps = S;
        f.shape = {B, 1, 28, 28};
        Trajectory tr(f.shape, timesteps(S), Trajectory::Precision::UInt8);
        for (int k = 0; k < S; ++k) {
            f.step = k;
            int field = 0;
            for (auto* v : {&f.x_t, &f.x0_hat, &f.eps_hat, &f.x_prev}) {
                const auto from = pool.begin() + std::ptrdiff_t(13 * (4 * k + field++));
                v->assign(from, from + B * D); // shifted windows: unrelated values at each index
            }
            tr.append(f);
        }
        const double perPanel = double(tr.bytes());
        qInfo("noise only: %.1f MB per 1000-step panel, %.1f MB for four", perPanel / 1e6, 4 * perPanel / 1e6);
        QVERIFY(4 * perPanel > 2.5 * 4 * S * B * D);        // little deflates: the worst case
        QVERIFY(4 * perPanel < 3.02 * 4 * S * B * D + 4e6); // 150 MB: under 200 MB even so
    }
};

QTEST_GUILESS_MAIN(TestTrajectory)
#include "tst_trajectory.moc"
