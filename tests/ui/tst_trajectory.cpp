// The frame store: what goes in comes back within its precision, in bounded memory.
#include "trajectory.hpp"

#include <QElapsedTimer>
#include <QtTest/QtTest>

#include <cmath>

using namespace noisetrail;
using noisetrail::ui::Field;
using noisetrail::ui::Trajectory;

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
        f.x_prev.push_back(offset * 0.25f + 0.001f * i);
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
        // 8-bit: half a quantum of the block's range (max ~4 here -> 4/255/2).
        QTest::newRow("uint8") << int(Trajectory::Precision::UInt8) << 4.0 / 255.0 * 0.51;
        // half: 11 bits of mantissa, relative 2^-11 on values up to ~2.
        QTest::newRow("half") << int(Trajectory::Precision::Half) << 2.0 * std::ldexp(1.0, -11);
    }
    void roundTrip()
    {
        QFETCH(int, precision);
        QFETCH(double, tolerance);
        const int S = 5, B = 3, D = 7;
        Trajectory tr;
        tr.reset({B, D}, timesteps(S), Trajectory::Precision(precision));
        std::vector<StepFrame> frames;
        for (int k = 0; k < S; ++k) {
            frames.push_back(makeFrame(k, S, B, D, 0.2f * k));
            tr.append(frames.back());
        }
        QVERIFY(tr.finished());
        QCOMPARE(tr.size(), S);
        std::vector<float> out;
        for (int k = 0; k < S; ++k) {
            QCOMPARE(tr.info(k).plan.t, frames[k].plan.t);
            QCOMPARE(tr.info(k).stats.xt_std, frames[k].stats.xt_std); // full precision
            const std::vector<float>* src[3] = {&frames[k].x_t, &frames[k].x0_hat, &frames[k].eps_hat};
            for (int f = 0; f < 3; ++f) {
                tr.decode(k, Field(f), out);
                QCOMPARE(out.size(), src[f]->size());
                for (std::size_t i = 0; i < out.size(); ++i)
                    QVERIFY2(std::abs(out[i] - (*src[f])[i]) <= tolerance,
                             qPrintable(QString("step %1 field %2 i %3: %4 vs %5")
                                            .arg(k).arg(f).arg(i).arg(out[i]).arg((*src[f])[i])));
            }
            QVERIFY(std::abs(tr.xtValue(k, 4) - frames[k].x_t[4]) <= tolerance);
        }
        // Past the last step: the final samples (x_prev of the last step).
        tr.decode(S, Field::Xt, out);
        for (std::size_t i = 0; i < out.size(); ++i)
            QVERIFY(std::abs(out[i] - frames.back().x_prev[i]) <= tolerance);
    }

    void rejectsOutOfOrderAndWrongSize()
    {
        Trajectory tr;
        tr.reset({2, 3}, timesteps(3), Trajectory::Precision::UInt8);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tr.append(makeFrame(1, 3, 2, 3, 0)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tr.append(makeFrame(0, 3, 2, 4, 0)));
        tr.append(makeFrame(0, 3, 2, 3, 0));
        QCOMPARE(tr.size(), 1);
        QVERIFY(!tr.finished());
        std::vector<float> out;
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tr.decode(1, Field::Xt, out));
    }

    void constantBlockDecodesExactly()
    {
        Trajectory tr;
        tr.reset({1, 4}, timesteps(1), Trajectory::Precision::UInt8);
        StepFrame f = makeFrame(0, 1, 1, 4, 0);
        f.x_t.assign(4, 0.75f);
        tr.append(f);
        std::vector<float> out;
        tr.decode(0, Field::Xt, out);
        for (float v : out)
            QCOMPARE(v, 0.75f);
    }

    void memoryIsBounded()
    {
        // 1000 steps x 16 digits of 28x28 x 3 fields: one byte per value.
        const int S = 1000, B = 16, D = 784;
        Trajectory tr;
        tr.reset({B, 1, 28, 28}, timesteps(S), Trajectory::Precision::UInt8);
        StepFrame f = makeFrame(0, S, B, D, 0);
        f.shape = {B, 1, 28, 28};
        QElapsedTimer clock;
        clock.start();
        for (int k = 0; k < S; ++k) {
            f.step = k;
            tr.append(f);
        }
        const double appendMs = clock.nsecsElapsed() / 1e6;
        const double values = double(S) * B * D * 3;
        const double mib = tr.bytes() / 1048576.0;
        qInfo("frame store: %d steps x %d x %d x 3 fields = %.0f values in %.1f MiB (%.2f bytes/value); "
              "append %.3f ms/step", S, B, D, values, mib, tr.bytes() / values, appendMs / S);
        QVERIFY(tr.bytes() < values * 1.1 + 1024 * 1024);
        // Scrubbing decodes one field of one step: time it.
        std::vector<float> out;
        clock.restart();
        for (int k = 0; k < S; ++k)
            tr.decode(k, Field::X0Hat, out);
        qInfo("decode one field of one step: %.1f us", clock.nsecsElapsed() / 1e3 / S);
    }
};

QTEST_GUILESS_MAIN(TestTrajectory)
#include "tst_trajectory.moc"
