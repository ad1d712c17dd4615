// Generation ids, cancellation and result delivery for a worker's jobs
// (hotspot's jobtracker.h): the newest job wins, older ones are cancelled, and
// whatever they still deliver is dropped as stale on arrival. Written once for
// every worker (the sampling, compare and experiment workers).
#pragma once
#include <QMetaObject>
#include <QObject>
#include <QString>
#include <QtGlobal>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace noisetrail::ui {

class JobTracker {
    /// Shared with every job in flight, so a job's deliveries stay valid whatever is destroyed first.
    struct State {
        std::atomic<quint64> latest{0};
        std::atomic<quint64> cancelledUpTo{0};
        std::mutex mutex; ///< guards `flags`
        /// The cancel flags of the startJob jobs not yet cancelled or finished: core's
        /// APIs poll a plain std::atomic<bool>, so each job has its own, which only
        /// ever goes from false to true (a flag reset by the next job would lose a Cancel).
        std::vector<std::pair<quint64, std::shared_ptr<std::atomic<bool>>>> flags;
    };

public:
    /// A job started by startJob, as its body sees it on the worker thread.
    class Job {
    public:
        quint64 generation() const { return g_; }
        /// Checked between steps; set directly by cancelUpTo/cancelAll (never through a queued call).
        bool isCancelled() const { return cancel_->load(); }
        /// The same, for core's APIs that poll a flag between model calls.
        const std::atomic<bool>* cancelFlag() const { return cancel_.get(); }
        /// Run `f` on the receiver's thread, unless the job is stale by then (a newer
        /// job was started). Deliveries of one job arrive in order. A cancelled job
        /// that is still the newest does deliver: its receiver learns that it ended.
        template <typename F>
        void deliver(F&& f) const
        {
            QMetaObject::invokeMethod(
                receiver_,
                [state = state_, g = g_, f = std::forward<F>(f)]() mutable {
                    if (state->latest.load() == g)
                        f();
                },
                Qt::QueuedConnection);
        }
        /// Progress: deliver `f` unless one was delivered less than 80 ms ago (a
        /// 1000-step run would send 1000 events; a few per second reach the GUI);
        /// `last` always delivers.
        template <typename F>
        void progress(F&& f, bool last = false) const
        {
            const auto now = std::chrono::steady_clock::now();
            if (!last && now - lastProgress_ < std::chrono::milliseconds(80))
                return;
            lastProgress_ = now;
            deliver(std::forward<F>(f));
        }

    private:
        friend class JobTracker;
        std::shared_ptr<State> state_;
        quint64 g_ = 0;
        std::shared_ptr<std::atomic<bool>> cancel_;
        QObject* receiver_ = nullptr;
        mutable std::chrono::steady_clock::time_point lastProgress_{};
    };

    /// GUI thread: a new job, newer than every earlier one, which are cancelled.
    quint64 start()
    {
        const quint64 g = state_->latest.fetch_add(1) + 1;
        cancelUpTo(g - 1);
        return g;
    }
    /// Any thread, directly (never through a queued call: that would wait
    /// behind the very job it must stop): cancel job `g` and every older one.
    void cancelUpTo(quint64 g)
    {
        quint64 cur = state_->cancelledUpTo.load();
        while (cur < g && !state_->cancelledUpTo.compare_exchange_weak(cur, g)) {
        }
        std::lock_guard lock(state_->mutex);
        auto& flags = state_->flags;
        for (auto& [gen, flag] : flags)
            if (gen <= g)
                flag->store(true);
        flags.erase(std::remove_if(flags.begin(), flags.end(), [g](const auto& f) { return f.first <= g; }),
                    flags.end());
    }
    /// Cancel every job started so far (a job queued behind a running one included).
    void cancelAll() { cancelUpTo(latest()); }
    /// Worker: checked between steps.
    bool isCancelled(quint64 g) const { return g <= state_->cancelledUpTo.load(); }
    /// The newest job started (0 before the first).
    quint64 latest() const { return state_->latest.load(); }
    /// What a job reports is current only while it is the newest and not cancelled.
    bool isCurrent(quint64 g) const { return g == latest() && !isCancelled(g); }

    /// GUI thread: start a job (hotspot's startJob(job, setData)). Earlier jobs are
    /// cancelled; `work(const Job&)` runs on `worker`'s thread, queued behind the
    /// jobs before it, and delivers its results to `receiver` with Job::deliver.
    /// An exception escaping `work` reaches `failed(const QString& message)` on the
    /// receiver's thread, by the same stale-dropping delivery. The receiver must
    /// outlive the worker's thread (quit and wait for it in its destructor).
    template <typename Work, typename Failed>
    quint64 startJob(QObject* worker, QObject* receiver, Work&& work, Failed&& failed)
    {
        Job job;
        job.state_ = state_;
        job.receiver_ = receiver;
        job.cancel_ = std::make_shared<std::atomic<bool>>(false);
        {
            std::lock_guard lock(state_->mutex);
            job.g_ = state_->latest.fetch_add(1) + 1;
            state_->flags.emplace_back(job.g_, job.cancel_);
        }
        cancelUpTo(job.g_ - 1);
        if (isCancelled(job.g_)) // everything was cancelled up to a later id (a window closing)
            cancelUpTo(job.g_);
        QMetaObject::invokeMethod(
            worker,
            [job, work = std::forward<Work>(work), failed = std::forward<Failed>(failed)]() mutable {
                try {
                    work(static_cast<const Job&>(job));
                } catch (const std::exception& e) {
                    job.deliver([failed, message = QString::fromStdString(e.what())] { failed(message); });
                } catch (...) {
                    job.deliver([failed] { failed(QObject::tr("unknown error in the worker")); });
                }
                std::lock_guard lock(job.state_->mutex);
                auto& flags = job.state_->flags;
                flags.erase(std::remove_if(flags.begin(), flags.end(), [&](const auto& f) { return f.first == job.g_; }),
                            flags.end());
            },
            Qt::QueuedConnection);
        return job.g_;
    }

private:
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

} // namespace noisetrail::ui
