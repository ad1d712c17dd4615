// TimelineMapping: t <-> pixel <-> step index per panel, as tables of cases.
#include "timeline_mapping.hpp"

#include <QtTest/QtTest>

using noisetrail::ui::TimelineMapping;
Q_DECLARE_METATYPE(std::vector<int>)

namespace {
// leading spacing, T = 1000, S = 10: t_i = i * 100, descending.
std::vector<int> leading10()
{
    std::vector<int> ts;
    for (int i = 9; i >= 0; --i)
        ts.push_back(i * 100);
    return ts;
}
// trailing spacing, T = 1000, S = 4: 999, 749, 499, 249.
std::vector<int> trailing4() { return {999, 749, 499, 249}; }
std::vector<int> all1000()
{
    std::vector<int> ts;
    for (int t = 999; t >= 0; --t)
        ts.push_back(t);
    return ts;
}
} // namespace

class TestTimelineMapping : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pixelRoundTrip_data()
    {
        QTest::addColumn<int>("T");
        QTest::addColumn<double>("left");
        QTest::addColumn<double>("right");
        QTest::addColumn<int>("t");
        QTest::addColumn<double>("pixel");
        QTest::newRow("T-1 at left") << 1000 << 10.0 << 1010.0 << 999 << 10.0;
        QTest::newRow("final at right") << 1000 << 10.0 << 1010.0 << -1 << 1010.0;
        QTest::newRow("t 499 halfway") << 1000 << 10.0 << 1010.0 << 499 << 510.0;
        QTest::newRow("t 0 one step before the end") << 1000 << 0.0 << 1000.0 << 0 << 999.0;
        QTest::newRow("small T") << 10 << 0.0 << 100.0 << 4 << 50.0;
    }
    void pixelRoundTrip()
    {
        QFETCH(int, T);
        QFETCH(double, left);
        QFETCH(double, right);
        QFETCH(int, t);
        QFETCH(double, pixel);
        TimelineMapping m{T, left, right};
        QCOMPARE(m.pixelOfT(t), pixel);
        QCOMPARE(m.tAtPixel(pixel), t);
    }

    void tAtPixelClamps_data()
    {
        QTest::addColumn<double>("pixel");
        QTest::addColumn<int>("t");
        QTest::newRow("left of the track") << -50.0 << 999;
        QTest::newRow("right of the track") << 5000.0 << -1;
        QTest::newRow("rounds to nearest") << 100.4 << 899;
    }
    void tAtPixelClamps()
    {
        QFETCH(double, pixel);
        QFETCH(int, t);
        TimelineMapping m{1000, 0.0, 1000.0};
        QCOMPARE(m.tAtPixel(pixel), t);
    }

    void stepAt_data()
    {
        QTest::addColumn<std::vector<int>>("timesteps");
        QTest::addColumn<int>("cursor");
        QTest::addColumn<int>("available");
        QTest::addColumn<bool>("finished");
        QTest::addColumn<int>("step");
        // "each panel at the smallest noise level at or above the cursor's t"
        QTest::newRow("exact hit") << leading10() << 500 << 10 << true << 4;
        QTest::newRow("between: the step not yet taken") << leading10() << 550 << 10 << true << 3;
        QTest::newRow("before the first timestep") << leading10() << 999 << 10 << true << 0;
        QTest::newRow("t 0") << leading10() << 0 << 10 << true << 9;
        QTest::newRow("final position") << leading10() << -1 << 10 << true << 10;
        QTest::newRow("final, run unfinished: newest") << leading10() << -1 << 6 << false << 5;
        QTest::newRow("not computed yet: newest") << leading10() << 100 << 3 << false << 2;
        QTest::newRow("nothing yet") << leading10() << 500 << 0 << false << -1;
        QTest::newRow("trailing: below its last t, still its last state") << trailing4() << 100 << 4 << true << 3;
        QTest::newRow("trailing: the final samples at the end") << trailing4() << -1 << 4 << true << 4;
        QTest::newRow("trailing: 999") << trailing4() << 999 << 4 << true << 0;
        QTest::newRow("trailing: 998 is still step 0") << trailing4() << 998 << 4 << true << 0;
        QTest::newRow("trailing: 749 is step 1") << trailing4() << 749 << 4 << true << 1;
        QTest::newRow("1000 steps: t 123") << all1000() << 123 << 1000 << true << 876;
    }
    void stepAt()
    {
        QFETCH(std::vector<int>, timesteps);
        QFETCH(int, cursor);
        QFETCH(int, available);
        QFETCH(bool, finished);
        QFETCH(int, step);
        QCOMPARE(TimelineMapping::stepAt(timesteps, cursor, available, finished), step);
    }

    void panelsAlignOnT()
    {
        // A 1000-step and a 10-step panel under one cursor show the same
        // noise level whenever the 10-step panel has one there.
        for (int t : {900, 500, 100, 0}) {
            const int k1000 = TimelineMapping::stepAt(all1000(), t, 1000, true);
            const int k10 = TimelineMapping::stepAt(leading10(), t, 10, true);
            QCOMPARE(TimelineMapping::tOfStep(all1000(), k1000), t);
            QCOMPARE(TimelineMapping::tOfStep(leading10(), k10), t);
        }
        QCOMPARE(TimelineMapping::tOfStep(leading10(), 10), TimelineMapping::kFinal);
    }

    void keyFrames_data()
    {
        QTest::addColumn<int>("t");
        QTest::addColumn<int>("direction");
        QTest::addColumn<int>("expected");
        QTest::newRow("start to the first tenth") << 999 << 1 << 900;
        QTest::newRow("between tenths") << 879 << 1 << 800;
        QTest::newRow("last tenth to t = 0") << 100 << 1 << 0;
        QTest::newRow("t = 0 to the final samples") << 0 << 1 << -1;
        QTest::newRow("final stays") << -1 << 1 << -1;
        QTest::newRow("back from the final samples") << -1 << -1 << 0;
        QTest::newRow("back between tenths") << 879 << -1 << 900;
        QTest::newRow("back from the first tenth to the start") << 900 << -1 << 999;
        QTest::newRow("start stays") << 999 << -1 << 999;
    }
    void keyFrames()
    {
        QFETCH(int, t);
        QFETCH(int, direction);
        QFETCH(int, expected);
        TimelineMapping m;
        m.trainSteps = 1000;
        QCOMPARE(m.nextKeyFrame(t, direction), expected);
        // Ten presses of the clicker walk any schedule from the noise to the samples' last tenth.
        m.trainSteps = 250;
        int at = m.tMax(), presses = 0;
        while (at != TimelineMapping::kFinal && presses < 20) {
            const int next = m.nextKeyFrame(at, +1);
            QVERIFY(next < at);
            at = next;
            ++presses;
        }
        QCOMPARE(presses, 11); // 9 tenths, t = 0, the final samples
    }

    void nextStop_data()
    {
        QTest::addColumn<int>("t");
        QTest::addColumn<int>("direction");
        QTest::addColumn<int>("expected");
        QTest::newRow("forward from 999") << 999 << 1 << 900;
        QTest::newRow("forward between") << 850 << 1 << 800;
        QTest::newRow("forward to final") << 0 << 1 << -1;
        QTest::newRow("forward at final stays") << -1 << 1 << -1;
        QTest::newRow("back from final") << -1 << -1 << 0;
        QTest::newRow("back from 850") << 850 << -1 << 900;
        QTest::newRow("back at the first stays") << 900 << -1 << 900;
    }
    void nextStop()
    {
        QFETCH(int, t);
        QFETCH(int, direction);
        QFETCH(int, expected);
        std::vector<int> stops = leading10();
        stops.push_back(-1);
        QCOMPARE(TimelineMapping::nextStop(stops, t, direction), expected);
    }

    // The model-calls axis: calls by the end of each step, as core's model_calls_by_step
    // gives them (written out here: Heun 5 steps on VP, two calls a step and one on the last).
    void stepAtCalls_data()
    {
        QTest::addColumn<std::vector<int>>("calls");
        QTest::addColumn<int>("cursor");
        QTest::addColumn<int>("available");
        QTest::addColumn<bool>("finished");
        QTest::addColumn<int>("expected");
        const std::vector<int> heun5{2, 4, 6, 8, 9}, ddim3{1, 2, 3};
        QTest::newRow("none: x_T") << heun5 << 0 << 5 << true << 0;
        QTest::newRow("one call: still x_T") << heun5 << 1 << 5 << true << 0;
        QTest::newRow("two calls: after step 1") << heun5 << 2 << 5 << true << 1;
        QTest::newRow("seven: after step 3") << heun5 << 7 << 5 << true << 3;
        QTest::newRow("eight: after step 4") << heun5 << 8 << 5 << true << 4;
        QTest::newRow("nine: the final samples") << heun5 << 9 << 5 << true << 5;
        QTest::newRow("beyond: the final samples") << ddim3 << 9 << 3 << true << 3;
        QTest::newRow("unfinished: the newest") << heun5 << 9 << 3 << false << 2;
        QTest::newRow("nothing yet") << heun5 << 4 << 0 << false << -1;
        QTest::newRow("no calls") << std::vector<int>{} << 4 << 3 << true << -1;
    }
    void stepAtCalls()
    {
        QFETCH(std::vector<int>, calls);
        QFETCH(int, cursor);
        QFETCH(int, available);
        QFETCH(bool, finished);
        QFETCH(int, expected);
        QCOMPARE(TimelineMapping::stepAtCalls(calls, cursor, available, finished), expected);
        if (expected > 0) // the state shown was reached within the cursor's calls, the next one was not
            QVERIFY(TimelineMapping::callsOfStep(calls, expected) <= cursor);
    }

    void callsAxis()
    {
        const std::vector<int> heun5{2, 4, 6, 8, 9};
        QCOMPARE(TimelineMapping::callsOfStep(heun5, 0), 0);
        QCOMPARE(TimelineMapping::callsOfStep(heun5, 1), 2);
        QCOMPARE(TimelineMapping::callsOfStep(heun5, 5), 9);
        QCOMPARE(TimelineMapping::callsOfStep(heun5, 6), -1);
        TimelineMapping m{1000, 10.0, 910.0};
        QCOMPARE(m.pixelOfCalls(0, 9), 10.0);
        QCOMPARE(m.pixelOfCalls(9, 9), 910.0);
        QCOMPARE(m.pixelOfCalls(3, 9), 310.0);
        QCOMPARE(m.callsAtPixel(310.0, 9), 3);
        QCOMPARE(m.callsAtPixel(-50.0, 9), 0);
        QCOMPARE(m.callsAtPixel(2000.0, 9), 9);
        // Stops over two panels' calls and the start: up and down in order, staying at the ends.
        const std::vector<int> stops{0, 2, 4, 6, 8, 9, 1, 3, 5, 7};
        QCOMPARE(TimelineMapping::nextCallStop(stops, 0, +1), 1);
        QCOMPARE(TimelineMapping::nextCallStop(stops, 4, +1), 5);
        QCOMPARE(TimelineMapping::nextCallStop(stops, 9, +1), 9);
        QCOMPARE(TimelineMapping::nextCallStop(stops, 4, -1), 3);
        QCOMPARE(TimelineMapping::nextCallStop(stops, 0, -1), 0);
    }
};

QTEST_GUILESS_MAIN(TestTimelineMapping)
#include "tst_timeline_mapping.moc"
