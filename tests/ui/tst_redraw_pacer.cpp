// RedrawPacer: the redraw interval keeps the GUI thread's CPU under its share
// of the run's when no core is spare, and never leaves its bounds.
#include "redraw_pacer.hpp"

#include <QTimer>
#include <QtTest/QtTest>

using noisetrail::ui::RedrawPacer;

class TestRedrawPacer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void spareCoreKeepsTheFastRate()
    {
        for (double cost : {0.0, 0.001, 0.007, 0.1})
            QCOMPARE(RedrawPacer::intervalMs(cost, 0.3, true), RedrawPacer::kMinIntervalMs);
    }

    void busyMachineKeepsTheShareUnderBudget()
    {
        // Redraws of 0.1 to 50 ms while the run gets 0.05 to 2 cores: the GUI's
        // CPU per second, cost / interval, is at most the budget share of the
        // run's unless the interval is at its maximum, and one millisecond less
        // would exceed it unless the interval is at its minimum.
        for (double cores : {0.05, 0.3, 1.0, 2.0})
            for (double cost = 1e-4; cost < 0.05; cost *= 1.3) {
                const int ms = RedrawPacer::intervalMs(cost, cores, false);
                QVERIFY(ms >= RedrawPacer::kMinIntervalMs && ms <= RedrawPacer::kMaxIntervalMs);
                const double budget = RedrawPacer::kBusyShare * cores;
                if (ms < RedrawPacer::kMaxIntervalMs)
                    QVERIFY2(cost / (ms * 1e-3) <= budget * (1 + 1e-12), qPrintable(QString::number(cost)));
                if (ms > RedrawPacer::kMinIntervalMs && ms < RedrawPacer::kMaxIntervalMs)
                    QVERIFY(cost / ((ms - 1) * 1e-3) > budget);
            }
        // A run that gets no CPU at all (stalled): the slowest rate.
        QCOMPARE(RedrawPacer::intervalMs(0.005, 0.0, false), RedrawPacer::kMaxIntervalMs);
    }

    void runStartResetsTheTimer()
    {
        QTimer timer;
        auto* pacer = new RedrawPacer(&timer);
        timer.setInterval(RedrawPacer::kMaxIntervalMs);
        pacer->runStarted(1);
        QCOMPARE(timer.interval(), RedrawPacer::kMinIntervalMs);
        QCOMPARE(pacer->parent(), &timer); // deleted with its timer
    }

    void threadCpuAdvancesWithWork()
    {
        const double a = RedrawPacer::threadCpuSeconds();
        volatile double x = 0;
        for (int i = 0; i < 20000000; ++i)
            x = x + 1e-9 * i;
        QVERIFY(RedrawPacer::threadCpuSeconds() > a);
        QVERIFY(RedrawPacer::processCpuSeconds() >= RedrawPacer::threadCpuSeconds());
    }
};

QTEST_GUILESS_MAIN(TestRedrawPacer)
#include "tst_redraw_pacer.moc"
