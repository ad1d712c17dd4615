#include "sampling_worker.hpp"

#include "noisetrail/errors.hpp"

#include <QThread>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

namespace noisetrail::ui {

namespace {
// Frames emitted but not yet stored by the GUI. Past this the worker waits:
// memory stays bounded even when the model outruns the screen.
constexpr int kMaxInFlight = 64;
} // namespace

void registerMetaTypes()
{
    qRegisterMetaType<FramePtr>();
    qRegisterMetaType<FrameMetricsPtr>();
    qRegisterMetaType<LoadedModelPtr>();
    qRegisterMetaType<RunJob>();
}

SamplingWorker::SamplingWorker(QObject* parent) : QObject(parent) { registerMetaTypes(); }

void SamplingWorker::cancelUpTo(quint64 generation)
{
    quint64 cur = cancelledUpTo_.load();
    while (cur < generation && !cancelledUpTo_.compare_exchange_weak(cur, generation)) {
    }
    cancel_.store(true);
}

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
    int panel = -1;
    try {
        // Reset the flag, then re-check: a cancel that raced with the reset still wins.
        cancel_.store(false);
        if (stale(job.generation))
            cancel_.store(true);
        bool cancelled = cancel_.load();
        for (std::size_t i = 0; i < job.panels.size() && !cancelled; ++i) {
            panel = int(i);
            Q_EMIT panelStarted(job.generation, panel);
            RunOptions opt;
            opt.sampler = job.panels[i];
            opt.seed = job.seed;
            opt.batch = job.batch;
            opt.threads = job.threads;
            const auto onFrame = [&](std::shared_ptr<const StepFrame> f) {
                if (panel == 0 && f->step == failAtStep_.load())
                    throw RunError("step " + std::to_string(f->step) + " (t = " + std::to_string(f->plan.t) +
                                       "): the sample became non-finite",
                                   f->step, f->plan.t);
                if (const int ms = stepDelayMs_.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                while (inFlight_.load(std::memory_order_relaxed) > kMaxInFlight && !cancel_.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                FrameMetricsPtr m;
                if (job.metrics)
                    m = std::make_shared<const FrameMetrics>(
                        computeFrameMetrics(*f, job.mixture.get(), job.classifier.get()));
                inFlight_.fetch_add(1, std::memory_order_relaxed);
                Q_EMIT frameReady(job.generation, panel, std::move(f), std::move(m));
            };
            const RunResult r = run_sampler(*job.model, opt, onFrame, &cancel_);
            cancelled = r.cancelled || cancel_.load();
            if (!r.cancelled)
                Q_EMIT panelFinished(job.generation, panel, r.seconds_total);
        }
        Q_EMIT runFinished(job.generation, cancelled);
    } catch (const RunError& e) {
        Q_EMIT runFailed(job.generation, panel, QString::fromStdString(e.what()));
    } catch (const std::exception& e) {
        Q_EMIT runFailed(job.generation, panel, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT runFailed(job.generation, panel, tr("unknown error during the run"));
    }
    busy_.store(false);
}

} // namespace noisetrail::ui
