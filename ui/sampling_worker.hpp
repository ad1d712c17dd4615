// The one long-lived worker: a QObject living on its own QThread that loads
// models and steps core's RunSet, appending every frame to the panel's core
// Trajectory store. The window pulls from the stores on its redraw timer; the
// worker only sends light signals (progress, finished, failed).
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
    quint64 generation = 0;
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

class SamplingWorker : public QObject {
    Q_OBJECT
public:
    explicit SamplingWorker(QObject* parent = nullptr);

    /// Generation ids and cancellation, used directly from the GUI thread.
    JobTracker& jobs() { return jobs_; }
    /// The GUI handled a progress signal: the next tick may send another.
    void progressSeen() { progressPending_.store(false); }
    bool isBusy() const { return busy_.load(); }

public Q_SLOTS:
    /// Steps the job's RunSet under its pacing until done or cancelled.
    void run(const noisetrail::ui::RunJob& job);
    void loadModel(quint64 token, const QString& path);

Q_SIGNALS:
    void modelLoaded(quint64 token, noisetrail::ui::LoadedModelPtr model);
    void modelFailed(quint64 token, const QString& path, const QString& message);
    /// The card's TorchScript module is not trusted (UntrustedCode): `module` is its
    /// file, `fingerprint` the card content the user's answer is remembered by.
    void modelUntrusted(quint64 token, const QString& path, const QString& module, const QString& fingerprint);
    /// The run's set is built: each panel's store and computed recipe (before its first frame).
    void runPrepared(quint64 generation, const noisetrail::ui::PreparedPanels& panels);
    /// New steps are in the stores (at most one pending: coalesced until progressSeen()).
    void progress(quint64 generation);
    void runFinished(quint64 generation, bool cancelled);
    /// `panel` is the window's panel index, -1 when the failure is not one panel's.
    void runFailed(quint64 generation, int panel, const QString& message);

private:
    JobTracker jobs_;
    std::atomic<bool> progressPending_{false};
    std::atomic<bool> busy_{false};
};

/// Register the types that cross threads in queued signals (call once).
void registerMetaTypes();

} // namespace noisetrail::ui

Q_DECLARE_METATYPE(noisetrail::ui::LoadedModelPtr)
Q_DECLARE_METATYPE(noisetrail::ui::RunJob)
Q_DECLARE_METATYPE(noisetrail::ui::PreparedPanels)
