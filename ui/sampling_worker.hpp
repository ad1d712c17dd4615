// The one long-lived worker: a QObject living on its own QThread that loads
// models and steps core's RunSet, appending every frame to the panel's core
// Trajectory store. The window pulls from the stores on its redraw timer; a run
// is a JobTracker job (job_tracker.hpp) that delivers only light news (prepared,
// progress, finished, failed), stale news dropped by the tracker.
#pragma once
#include "job_tracker.hpp"
#include "loaded_model.hpp"
#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/trajectory.hpp"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace noisetrail::ui {

using LoadedModelPtr = std::shared_ptr<const LoadedModel>;

/// One panel of a run as the worker prepared it: the store its frames go to
/// (showing x_T at once) and what core reports it is computed from (Run::recipe()).
struct PreparedPanel {
    int panel = 0; ///< the document's panel index
    std::shared_ptr<const Trajectory> store;
    RunRecipe recipe;
};
using PreparedPanels = std::vector<PreparedPanel>;

/// One run: the panels to (re)compute, as a core recipe that make_run_set builds.
struct RunJob {
    RunSetRecipe recipe;      ///< its panels are the ones to compute, sharing seed, batch and x_T
    std::vector<int> panels;  ///< the document's panel index of each recipe panel
    /// The cards the document has loaded, by cardKey (make_run_set loads none of these again).
    std::map<std::filesystem::path, std::shared_ptr<const Model>> models;
    /// Intra-op threads of each run (RunOptions::threads; it stays set on the worker
    /// thread, so the document always passes a value, see RunDocument::run).
    int threads = 0;
    /// Per-step diversity metrics on the worker (issue 5): on by default. Every
    /// panel is measured with the window card's mixture / classifier, so panels compare.
    bool metrics = true;
    std::shared_ptr<const metrics::GaussianMixture> mixture;  ///< 2-D mixture cards
    std::shared_ptr<const Classifier> classifier;             ///< image models with a classifier
};

/// What a run tells whoever started it, each called on the receiver's thread
/// through Job::deliver (so never for a stale run).
struct RunNews {
    /// The run's set is built: each panel's store and computed recipe (before its first frame).
    std::function<void(const PreparedPanels&)> prepared;
    /// New steps are in the stores (a few per second at most: Job::progress).
    std::function<void()> progress;
    /// A panel's run reached its last step: its straightness (Liu et al. 2023, eq. 4;
    /// core straightness.hpp), measured on the worker from the full-precision frames.
    /// Optional: left empty, nothing is delivered.
    std::function<void(int panel, double straightness)> measured;
    std::function<void(bool cancelled)> finished;
    /// `panel` is the document's panel index, -1 when the failure is not one panel's.
    std::function<void(int panel, const QString& message)> failed;
};

class SamplingWorker : public QObject {
    Q_OBJECT
public:
    explicit SamplingWorker(QObject* parent = nullptr);

    /// Generation ids and cancellation, used directly from the GUI thread.
    JobTracker& jobs() { return jobs_; }
    bool isBusy() const { return runningJob_.load() != 0; }
    /// The generation of the job this worker is in now (0 when idle), read from any
    /// thread: the document finds a job that was cancelled and has not ended (a model
    /// call that does not return), and gives up on this worker then.
    quint64 runningJob() const { return runningJob_.load(); }
    /// GUI thread: run `job` on this worker's thread as the newest job of jobs()
    /// (older ones are cancelled); its news reaches `receiver`'s thread. Returns the generation.
    quint64 startRun(RunJob job, QObject* receiver, RunNews news);
    /// Worker thread: steps the job's RunSet under its pacing until done or
    /// `handle` is cancelled, delivering the news through `handle`.
    void run(const RunJob& job, const JobTracker::Job& handle, const RunNews& news);

public Q_SLOTS:
    void loadModel(quint64 token, const QString& path);

Q_SIGNALS:
    void modelLoaded(quint64 token, noisetrail::ui::LoadedModelPtr model);
    void modelFailed(quint64 token, const QString& path, const QString& message);
    /// The card's TorchScript module is not trusted (UntrustedCode): `module` is its
    /// file, `fingerprint` the card content the user's answer is remembered by.
    void modelUntrusted(quint64 token, const QString& path, const QString& module, const QString& fingerprint);

private:
    JobTracker jobs_;
    std::atomic<quint64> runningJob_{0};
};

/// Register the types that cross threads in queued signals (call once).
void registerMetaTypes();

} // namespace noisetrail::ui

Q_DECLARE_METATYPE(noisetrail::ui::LoadedModelPtr)
Q_DECLARE_METATYPE(noisetrail::ui::RunJob)
Q_DECLARE_METATYPE(noisetrail::ui::PreparedPanels)
