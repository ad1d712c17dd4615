// Generation ids and cancellation for a worker's jobs (hotspot's jobtracker.h):
// the newest job wins, older ones are cancelled and whatever they still report
// is recognised as stale. One small helper for every worker.
#pragma once
#include <QtGlobal>

#include <atomic>

namespace noisetrail::ui {

class JobTracker {
public:
    /// GUI thread: a new job, newer than every earlier one, which are cancelled.
    quint64 start()
    {
        const quint64 g = latest_.fetch_add(1) + 1;
        cancelUpTo(g - 1);
        return g;
    }
    /// Any thread, directly (never through a queued call: that would wait
    /// behind the very job it must stop): cancel job `g` and every older one.
    void cancelUpTo(quint64 g)
    {
        quint64 cur = cancelledUpTo_.load();
        while (cur < g && !cancelledUpTo_.compare_exchange_weak(cur, g)) {
        }
    }
    /// Cancel every job started so far.
    void cancelAll() { cancelUpTo(latest_.load()); }
    /// Worker: checked between steps.
    bool isCancelled(quint64 g) const { return g <= cancelledUpTo_.load(); }
    /// The newest job started (0 before the first).
    quint64 latest() const { return latest_.load(); }
    /// What a job reports is current only while it is the newest and not cancelled.
    bool isCurrent(quint64 g) const { return g == latest() && !isCancelled(g); }

private:
    std::atomic<quint64> latest_{0};
    std::atomic<quint64> cancelledUpTo_{0};
};

} // namespace noisetrail::ui
