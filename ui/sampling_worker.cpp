#include "sampling_worker.hpp"

#include "noisetrail/errors.hpp"

#include <QThread>

#include <chrono>
#include <string>
#include <thread>

namespace noisetrail::ui {

void registerMetaTypes()
{
    qRegisterMetaType<LoadedModelPtr>();
    qRegisterMetaType<RunJob>();
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
        std::vector<std::shared_ptr<Run>> runs;
        for (const PanelJob& p : job.panels) {
            RunOptions o;
            o.sampler = p.sampler;
            o.seed = job.seed;
            o.batch = job.batch;
            // Each run draws x_T from the seed itself (it equals job.x_T, which the
            // window drew the same way to show it at once): then its noise z of
            // every step is the one `noisetrail-cli sample --seed` draws, bit for bit.
            o.threads = job.threads;
            failing = p.panel;
            runs.push_back(std::make_shared<Run>(p.model, o));
        }
        failing = -1;
        bool cancelled = jobs_.isCancelled(job.generation);
        if (!runs.empty() && !cancelled) {
            RunSet set(std::move(runs), job.pacing);
            // Stores and metrics on core's recorder (its own thread, off the sampling path).
            std::vector<std::shared_ptr<Trajectory>> stores;
            for (const PanelJob& p : job.panels)
                stores.push_back(p.store);
            Recorder recorder(std::move(stores), {job.mixture, job.classifier, {}}, job.metrics, [&] {
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
                failing = due.size() == 1 ? job.panels[std::size_t(due[0])].panel : -1;
                recorder.record(set.tick());
                if (const int ms = stepDelayMs_.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            }
            failing = -1;
            recorder.finish(); // the stores hold every computed step before runFinished
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
