// The one long-lived worker: a QObject living on its own QThread that loads
// models and runs samplers through core's plain-C++ run API, turning its
// per-step callback into queued signals (a thin Qt adapter, nothing more).
#pragma once
#include "frame_metrics.hpp"
#include "loaded_model.hpp"
#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/run.hpp"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>
#include <vector>

namespace noisetrail::ui {

using FramePtr = std::shared_ptr<const StepFrame>;
using LoadedModelPtr = std::shared_ptr<const LoadedModel>;

/// One run: every panel's sampler from the same seed (the same x_T).
struct RunJob {
    quint64 generation = 0;
    std::shared_ptr<const Model> model;
    std::vector<SamplerConfig> panels;
    quint64 seed = 0;
    int batch = 16;
    /// Intra-op threads of the run (RunOptions::threads; it stays set on the worker
    /// thread, so the window always passes a value, see MainWindow::startRun).
    int threads = 0;
    /// Per-step diversity metrics on the worker (issue 5): on by default.
    bool metrics = true;
    std::shared_ptr<const metrics::GaussianMixture> mixture;  ///< 2-D mixture cards
    std::shared_ptr<const Classifier> classifier;             ///< image models with a classifier
};

class SamplingWorker : public QObject {
    Q_OBJECT
public:
    explicit SamplingWorker(QObject* parent = nullptr);

    // Cancellation hooks, called directly from the GUI thread. Intentionally
    // NOT slots: a queued slot would wait behind the very run it must stop.
    /// Cancel every run whose generation is <= `generation` (within one step).
    void cancelUpTo(quint64 generation);
    /// The GUI stored a frame: frees a place in the bounded in-flight queue.
    void frameConsumed() { inFlight_.fetch_sub(1, std::memory_order_relaxed); }
    /// Tests: sleep this long after every step, to make a run last.
    void setStepDelayForTesting(int ms) { stepDelayMs_.store(ms); }
    /// Tests: fail like a non-finite value would, at this step of the first panel (-1: never).
    void setFailAtStepForTesting(int step) { failAtStep_.store(step); }
    bool isBusy() const { return busy_.load(); }

public Q_SLOTS:
    /// Runs the panels in sequence (panel 0 first). Sequential keeps every
    /// panel's frames in step order and the model single-threaded.
    void run(const noisetrail::ui::RunJob& job);
    void loadModel(quint64 token, const QString& path);

Q_SIGNALS:
    void modelLoaded(quint64 token, noisetrail::ui::LoadedModelPtr model);
    void modelFailed(quint64 token, const QString& path, const QString& message);
    void panelStarted(quint64 generation, int panel);
    void frameReady(quint64 generation, int panel, noisetrail::ui::FramePtr frame,
                    noisetrail::ui::FrameMetricsPtr metrics);
    void panelFinished(quint64 generation, int panel, double seconds);
    void runFinished(quint64 generation, bool cancelled);
    void runFailed(quint64 generation, int panel, const QString& message);

private:
    bool stale(quint64 generation) const { return generation <= cancelledUpTo_.load(); }

    std::atomic<bool> cancel_{false};
    std::atomic<quint64> cancelledUpTo_{0};
    std::atomic<int> inFlight_{0};
    std::atomic<int> stepDelayMs_{0};
    std::atomic<bool> busy_{false};
    std::atomic<int> failAtStep_{-1};
};

/// Register the types that cross threads in queued signals (call once).
void registerMetaTypes();

} // namespace noisetrail::ui

Q_DECLARE_METATYPE(noisetrail::ui::FramePtr)
Q_DECLARE_METATYPE(noisetrail::ui::FrameMetricsPtr)
Q_DECLARE_METATYPE(noisetrail::ui::LoadedModelPtr)
Q_DECLARE_METATYPE(noisetrail::ui::RunJob)
