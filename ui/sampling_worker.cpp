#include "sampling_worker.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/straightness.hpp"

#include <QThread>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

namespace noisetrail::ui {

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
    } catch (const UntrustedCode& e) {
        // Not an error yet: the window asks the user (contract section 2).
        Q_EMIT modelUntrusted(token, path, QString::fromStdString(e.module().string()),
                              QString::fromStdString(e.fingerprint()));
    } catch (const std::exception& e) {
        Q_EMIT modelFailed(token, path, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT modelFailed(token, path, tr("unknown error while loading the model"));
    }
}

quint64 SamplingWorker::startRun(RunJob job, QObject* receiver, RunNews news)
{
    return jobs_.startJob(
        this, receiver,
        [this, job = std::move(job), news](const JobTracker::Job& handle) { run(job, handle, news); },
        [failed = news.failed](const QString& message) { failed(-1, message); });
}

void SamplingWorker::run(const RunJob& job, const JobTracker::Job& handle, const RunNews& news)
{
    runningJob_.store(handle.generation());
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
        handle.deliver([f = news.prepared, prepared] { f(prepared); });
        bool cancelled = handle.isCancelled();
        if (!cancelled) {
            // Stores and metrics on core's recorder (its own thread, off the sampling path).
            // A few progress calls per second, however fast the steps: the window
            // reads the stores on its own redraw timer.
            Recorder recorder(stores, {job.mixture, job.classifier, {}}, job.metrics,
                              [&] { handle.progress(news.progress); });
            std::vector<StraightnessMeter> straightness(std::size_t(set.size()));
            while (!set.done()) {
                if (handle.isCancelled()) {
                    cancelled = true;
                    break;
                }
                // Several runs may share one model call; a failure is one panel's
                // when only one is due.
                const std::vector<int> due = set.next_panels();
                failing = due.size() == 1 ? job.panels[std::size_t(due[0])] : -1;
                std::vector<TickFrame> tick = set.tick();
                for (const TickFrame& tf : tick)
                    straightness[std::size_t(tf.panel)].add(*tf.frame);
                recorder.record(std::move(tick));
            }
            failing = -1;
            recorder.finish(); // the stores hold every computed step before the finished news
            for (int i = 0; i < set.size() && !cancelled && news.measured; ++i)
                if (set.run(i).done())
                    handle.deliver([f = news.measured, p = job.panels[std::size_t(i)],
                                    v = straightness[std::size_t(i)].value()] { f(p, v); });
        }
        // runningJob_ clears before the news: whoever hears "finished" finds the worker idle.
        runningJob_.store(0);
        handle.deliver([f = news.finished, cancelled] { f(cancelled); });
    } catch (const std::exception& e) {
        runningJob_.store(0);
        handle.deliver([f = news.failed, failing, m = QString::fromStdString(e.what())] { f(failing, m); });
    } catch (...) {
        runningJob_.store(0);
        handle.deliver([f = news.failed, failing, m = tr("unknown error during the run")] { f(failing, m); });
    }
}

} // namespace noisetrail::ui
