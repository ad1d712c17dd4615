// How often the window redraws while a run computes (issue 14).
//
// A redraw of the default comparison (two panels of 16 digits, the plots, the
// timeline, the labels) costs the GUI thread about 3-6 ms of CPU, painting
// included. At a fixed 30 redraws/s that is a tenth to a fifth of a core for
// as long as the run lasts: where no core is spare it is taken from the
// sampler, and the busier the machine, the longer the run and the more redraws
// it pays for. So
// the pacer sets the redraw timer's interval from what the redraws cost: 30 ms
// (about 30 redraws/s) while a core is spare for the GUI, else as long as
// keeps the GUI thread's CPU under kBusyShare of what the rest of the process
// (the sampler, the publishing thread) gets meanwhile, at most kMaxIntervalMs.
#pragma once
#include <QObject>

#include <chrono>

class QTimer;

namespace noisetrail::ui {

class RedrawPacer : public QObject {
public:
    static constexpr int kMinIntervalMs = 30;  ///< the animation's rate while a core is spare
    static constexpr int kMaxIntervalMs = 500; ///< never fewer than 2 redraws/s
    static constexpr double kBusyShare = 0.03; ///< GUI CPU per CPU of the run, when no core is spare

    /// Paces `timer` (the window's redraw timer; the pacer is its child).
    explicit RedrawPacer(QTimer* timer);

    /// A run starts with `samplerThreads` intra-op threads: back to the fast rate.
    void runStarted(int samplerThreads);

    /// The redraw interval for redraws costing `cost` CPU seconds of the GUI
    /// thread each while the rest of the process gets `runCores` cores:
    /// kMinIntervalMs when a core is spare, else the shortest interval that
    /// keeps cost / interval under kBusyShare * runCores, within
    /// [kMinIntervalMs, kMaxIntervalMs].
    static int intervalMs(double cost, double runCores, bool coreSpare);

    /// CPU seconds so far of the calling thread, and of the whole process.
    static double threadCpuSeconds();
    static double processCpuSeconds();

private:
    void redrawn(); ///< after each of the timer's redraws

    QTimer* timer_;
    int samplerThreads_ = 1;
    double lastCpu_ = 0, lastProcessCpu_ = 0;
    std::chrono::steady_clock::time_point lastWall_{};
    double cost_ = 0;     ///< GUI CPU seconds per redraw, smoothed
    double runCores_ = 0; ///< the rest of the process's CPU seconds per second, smoothed
};

} // namespace noisetrail::ui
