#include "redraw_pacer.hpp"

#include "noisetrail/threads.hpp"

#include <QTimer>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace noisetrail::ui {

RedrawPacer::RedrawPacer(QTimer* timer) : QObject(timer), timer_(timer)
{
    // Connected after the window's own slot: the redraw has run when redrawn() does.
    connect(timer_, &QTimer::timeout, this, &RedrawPacer::redrawn);
}

double RedrawPacer::threadCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double RedrawPacer::processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int RedrawPacer::intervalMs(double cost, double runCores, bool coreSpare)
{
    if (coreSpare || !(cost > 0))
        return kMinIntervalMs;
    const double budget = kBusyShare * std::max(runCores, 0.0); // GUI CPU seconds per second
    const double ms = budget > 0 ? std::ceil(1000 * cost / budget) : double(kMaxIntervalMs);
    return int(std::clamp(ms, double(kMinIntervalMs), double(kMaxIntervalMs)));
}

void RedrawPacer::runStarted(int samplerThreads)
{
    samplerThreads_ = std::max(1, samplerThreads);
    timer_->setInterval(kMinIntervalMs);
    lastWall_ = {};
    cost_ = runCores_ = 0;
}

void RedrawPacer::redrawn()
{
    const auto now = std::chrono::steady_clock::now();
    const double cpu = threadCpuSeconds(), processCpu = processCpuSeconds();
    const bool previous = lastWall_ != std::chrono::steady_clock::time_point{} &&
                          now - lastWall_ < std::chrono::milliseconds(4 * kMaxIntervalMs);
    if (previous) {
        // Since the previous redraw: its painting, the events in between and this
        // redraw on the GUI thread; the run's threads meanwhile.
        const double wall = std::chrono::duration<double>(now - lastWall_).count();
        const double cost = cpu - lastCpu_;
        const double run = wall > 0 ? (processCpu - lastProcessCpu_ - cost) / wall : 0;
        const bool first = cost_ == 0 && runCores_ == 0;
        cost_ = first ? cost : 0.7 * cost_ + 0.3 * cost;
        runCores_ = first ? run : 0.7 * runCores_ + 0.3 * run;
    }
    lastCpu_ = cpu;
    lastProcessCpu_ = processCpu;
    lastWall_ = now;
    // A core is spare when the free cores (this process's own use included)
    // exceed the sampler's threads by 70% of a core, default_threads()' rule.
    const bool spare = free_cores() >= samplerThreads_ + 0.7;
    timer_->setInterval(previous ? intervalMs(cost_, runCores_, spare) : kMinIntervalMs);
}

} // namespace noisetrail::ui
