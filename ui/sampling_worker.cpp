#include "sampling_worker.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/threads.hpp"
#include "noisetrail/threads.hpp"

#include <QThread>

#include <pthread.h>

#include <cstdlib>
#include <optional>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace noisetrail::ui {

namespace {

/// The per-frame work off the sampling path (issue 14): a second thread takes
/// each tick's frames in order, computes their metrics and appends them to the
/// stores, while the worker's thread goes on with the next model call. On the
/// digit UNet the store's 8-bit encoding alone is about a tenth of a step. The
/// thread runs on the core the GUI keeps (threads.hpp), with one intra-op
/// thread for the classifier. At most kQueued ticks wait; the sampler waits
/// when they are queued.
class FramePublisher {
public:
    using Work = std::function<void(const TickFrame&)>;
    FramePublisher(Work work, std::function<void()> published)
        : work_(std::move(work)), published_(std::move(published)), thread_([this] { loop(); })
    {
    }
    ~FramePublisher() { stop(); }

    /// Queue one tick's frames; rethrows the publishing thread's error.
    void push(std::vector<TickFrame> frames)
    {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return queue_.size() < kQueued || error_; });
        if (error_)
            std::rethrow_exception(error_);
        queue_.push_back(std::move(frames));
        ready_.notify_one();
    }

    /// Publish everything queued and end the thread; rethrows its error.
    void finish()
    {
        stop();
        if (error_)
            std::rethrow_exception(error_);
    }

private:
    static constexpr std::size_t kQueued = 16;

    void stop()
    {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        ready_.notify_one();
        if (thread_.joinable())
            thread_.join();
    }

    void loop()
    {
        pthread_setname_np(pthread_self(), "nt-publisher"); // named in profiles and bench-gui's CPU split
        set_intra_op_threads(1);
        for (;;) {
            std::vector<TickFrame> tick;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [&] { return !queue_.empty() || done_; });
                if (queue_.empty())
                    return;
                tick = std::move(queue_.front());
                queue_.pop_front();
            }
            space_.notify_one();
            try {
                for (const TickFrame& tf : tick)
                    work_(tf);
                published_();
            } catch (...) {
                std::lock_guard lock(mutex_);
                error_ = std::current_exception();
                queue_.clear();
                space_.notify_all();
                return;
            }
        }
    }

    Work work_;
    std::function<void()> published_;
    std::mutex mutex_;
    std::condition_variable ready_, space_;
    std::deque<std::vector<TickFrame>> queue_;
    bool done_ = false;
    std::exception_ptr error_;
    std::thread thread_; // last: starts once the rest is built
};

} // namespace

void registerMetaTypes()
{
    qRegisterMetaType<LoadedModelPtr>();
    qRegisterMetaType<RunJob>();
    qRegisterMetaType<PreparedPanels>();
}

SamplingWorker::SamplingWorker(QObject* parent) : QObject(parent) { registerMetaTypes(); }

void SamplingWorker::loadModel(quint64 token, const QString& path)
{
    try {
        Q_EMIT modelLoaded(token, loadModelAssets(path));
    } catch (const std::exception& e) {
        Q_EMIT modelFailed(token, path, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT modelFailed(token, path, tr("unknown error while loading the model"));
    }
}

void SamplingWorker::run(const RunJob& job)
{
    busy_.store(true);
    int failing = -1; // the window's panel whose step failed, when one is known
    try {
        // Core's rule builds the set (the CLI's `run` builds its own the same way): the
        // cards the document holds are not loaded again; each run draws x_T from the
        // seed, so its noise z of every step is the one `noisetrail-cli sample --seed` draws.
        RunSetOptions options;
        options.threads = job.threads;
        options.loaded = [&job](const std::filesystem::path& card) -> std::shared_ptr<const Model> {
            const auto it = job.models.find(cardKey(card));
            return it == job.models.end() ? nullptr : it->second;
        };
        std::optional<RunSet> built;
        try {
            built.emplace(make_run_set(job.recipe, options));
        } catch (const InputError& e) {
            // "panels[k]: ..." names the job's k-th panel: say which of the window's it is.
            std::string msg = e.what();
            if (msg.rfind("panels[", 0) == 0) {
                const int k = std::atoi(msg.c_str() + 7);
                if (k >= 0 && k < int(job.panels.size()))
                    failing = job.panels[std::size_t(k)];
                msg = msg.substr(std::min(msg.size(), msg.find(']') + 1));
                msg = msg.rfind(": ", 0) == 0 ? msg.substr(2) : msg.rfind(".model ", 0) == 0 ? msg.substr(1) : msg;
            }
            throw InputError(msg);
        }
        RunSet& set = *built;
        std::vector<std::shared_ptr<Trajectory>> stores;
        PreparedPanels prepared;
        for (int i = 0; i < set.size(); ++i) {
            const Run& run = set.run(i);
            std::vector<int> timesteps;
            for (const PlanStep& s : run.plan().steps)
                timesteps.push_back(s.t);
            stores.push_back(std::make_shared<Trajectory>(run.shape(), timesteps,
                                                          stored_precision(run.model()->card()), run.x_T()));
            prepared.push_back({job.panels[std::size_t(i)], stores.back(), run.recipe()});
        }
        Q_EMIT runPrepared(job.generation, prepared);
        bool cancelled = jobs_.isCancelled(job.generation);
        if (!cancelled) {
            FramePublisher publisher(
                [&](const TickFrame& tf) {
                    Trajectory& store = *stores[std::size_t(tf.panel)];
                    // Metrics at the plots' resolution (frame_metrics.hpp), every step
                    // where the scatter shows them (mixture cards).
                    if (job.metrics && measuredStep(tf.frame->step, tf.frame->steps, job.mixture != nullptr)) {
                        const FrameMetrics m = computeFrameMetrics(*tf.frame, job.mixture.get(), job.classifier.get());
                        store.append(*tf.frame, &m);
                    } else {
                        store.append(*tf.frame);
                    }
                },
                [&] {
                    // One queued signal at a time, however fast the steps: the window
                    // reads the stores on its own redraw timer.
                    if (!progressPending_.exchange(true))
                        Q_EMIT progress(job.generation);
                });
            while (!set.done()) {
                if (jobs_.isCancelled(job.generation)) {
                    cancelled = true;
                    break;
                }
                // Several runs may share one model call; a failure is one panel's
                // when only one is due.
                const std::vector<int> due = set.next_panels();
                failing = due.size() == 1 ? job.panels[std::size_t(due[0])] : -1;
                publisher.push(set.tick());
            }
            failing = -1;
            publisher.finish(); // the stores hold every computed step before runFinished
        }
        Q_EMIT runFinished(job.generation, cancelled);
    } catch (const std::exception& e) {
        Q_EMIT runFailed(job.generation, failing, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT runFailed(job.generation, failing, tr("unknown error during the run"));
    }
    busy_.store(false);
}

} // namespace noisetrail::ui
