// The run document: what the window shows, without a widget (the role hotspot's
// PerfParser plays for its window). It owns one core RunSetRecipe, the single
// truth of what the user asked for (model, seed, batch, pacing, each panel's
// sampler settings and own card); the loaded models; per panel the stored
// Trajectory and the recipe core reports it was computed from (Run::recipe());
// the worker thread and its job tracker. Widgets edit the recipe through it and
// read their labels from it: every label is a function of the computed recipe
// of the data shown, and an edit not yet run is pending (isPending, pendingNote).
// Runs are built by core's make_run_set (one validation rule for the GUI and the
// CLI); sessions and the settings are this recipe in core's formats.
#pragma once
#include "loaded_model.hpp"
#include "noise_axis.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/trajectory.hpp"
#include "sampling_worker.hpp"

#include <QObject>
#include <QString>
#include <QStringList>

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

class QThread;
class QTimer;

namespace noisetrail::ui {

class RunDocument : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxPanels = 4;
    /// How long a cancelled run may take to end (its model call to return) before the
    /// worker is given up on: a TorchScript module that loops never returns (issue 27).
    static constexpr int kStopGraceMs = 2000;
    /// The settings of a new panel i (DDPM 1000, DDIM 50, DDIM 20, DDIM 50 eta 1).
    static SamplerConfig defaultPanelConfig(int index);

    explicit RunDocument(QObject* parent = nullptr);
    ~RunDocument() override;

    // ------------------------------------------------------------ the recipe (what is asked for)
    const RunSetRecipe& recipe() const { return recipe_; }
    int panelCount() const { return int(recipe_.panels.size()); }
    /// The panel's settings as edited (steps 0: the sampler's default).
    const SamplerConfig& panelConfig(int i) const { return recipe_.panels.at(std::size_t(i)).sampler; }
    void setPanelConfig(int i, const SamplerConfig& config);
    /// Add a panel with defaultPanelConfig (up to kMaxPanels); remove one (at least one stays).
    void addPanel();
    void removePanel(int i);
    quint64 seed() const { return recipe_.seed; }
    void setSeed(quint64 seed);
    /// The batch asked for; default_batch-like per model kind until set.
    int batch() const { return recipe_.batch.value_or(16); }
    void setBatch(int batch);
    Pacing pacing() const { return recipe_.pacing; }
    void setPacing(Pacing pacing);
    /// Per-step diversity metrics in the next run (on by default).
    void setMetricsEnabled(bool on) { metrics_ = on; }
    bool metricsEnabled() const { return metrics_; }
    /// The settings' form of the recipe (core's run recipe text, paths absolute) and back:
    /// restoreRecipeText keeps the current recipe and returns false if the text is unusable.
    QString recipeText() const;
    bool restoreRecipeText(const QString& text);
    /// The recipe becomes `r` (1..kMaxPanels panels; InputError otherwise): a run in flight is
    /// abandoned and nothing computed is shown. When r.model is not the loaded card the caller
    /// loads it (loadModel); panels' own cards are loaded now, or once that card is here.
    void setRecipe(RunSetRecipe r);

    // ------------------------------------------------------------ models
    /// Load the window's card on the worker (newest wins); modelReady or modelFailed follows.
    void loadModel(const QString& path);
    /// The user did not trust the card untrustedCode() asked about: its one message
    /// (modelFailed for the window's card, error for a panel's).
    void declineCode(int panel, const QString& path, const QString& module);
    /// A model prepared elsewhere (a saved run's replay, tests) becomes the window's.
    /// Panel settings that do not apply to it return to their defaults (applyModelDefaults).
    /// `replay`: the model is a saved run's copy of its card (replayModelAssets).
    void setModel(LoadedModelPtr model, bool replay = false);
    const LoadedModelPtr& model() const { return model_; }
    bool loading() const { return loadToken_ != 0; }
    /// Give panel i its own card (empty: the window's); loaded on the worker; the
    /// data shape must be the window model's (make_run_set's rule). Returns the
    /// load's token, 0 when nothing is loaded. What the panel shows stays until Run.
    quint64 setPanelCard(int i, const QString& path);
    /// A panel's own card prepared elsewhere (tests: a slow model).
    void setPanelModel(int i, LoadedModelPtr model);
    bool loadingPanelCard() const { return !panelLoads_.empty(); }
    /// The model a panel's next run samples from: its own card, else the window's.
    LoadedModelPtr panelModel(int i) const;
    bool hasOwnModel(int i) const { return !recipe_.panels.at(std::size_t(i)).model.empty(); }
    /// The window's one noise axis (noise_axis.hpp): its reference is the first VP
    /// schedule among the panels' cards (the window's card without panels).
    NoiseAxis noiseAxis() const;
    /// The model is a saved run's copy of its card: nothing can be sampled.
    bool isReplay() const { return model_ && replay_; }

    // ------------------------------------------------------------ what was computed
    /// The panel's store (an empty one before its first run).
    std::shared_ptr<const Trajectory> trajectory(int i) const;
    /// What core reports the shown store was computed from; unset before a run.
    const std::optional<RunRecipe>& computed(int i) const;
    /// The store's run measured the per-step metrics.
    bool computedWithMetrics(int i) const;
    /// The panel's edits differ from what its store was computed from (or nothing
    /// was computed): Run recomputes exactly the pending panels.
    bool isPending(int i) const;
    /// Why the panel's run ended early ("stopped", "failed"); empty otherwise.
    QString endedNote(int i) const;
    /// Straightness (Liu et al. 2023, eq. 4) of panel i's run when this window computed
    /// it to the end; NaN otherwise (a reopened session does not store it).
    double straightness(int i) const;

    // ------------------------------------------------------------ labels (from the computed recipe)
    /// "DDIM, 50 steps, eta 0, leading" of what the panel shows (the computed recipe;
    /// the edit while nothing is computed), the model's name when panels differ in model.
    QString describe(int i) const;
    /// The short legend name, "DDIM 50 (η 0)", of what the plots show, same rule.
    QString shortName(int i) const;
    /// The edits that wait for Run, in words ("η 0.1", "Heun", "20 steps", "seed 7"); empty if none.
    QString pendingNote(int i) const;
    /// The header: describe(i), then "; pending: ..., press Run" when pending.
    QString title(int i) const;
    /// The sampler settings of what the panel shows (the Reverse step tab draws this one).
    SamplerConfig shownConfig(int i) const;

    // ------------------------------------------------------------ runs
    enum class RunStart {
        Started,       ///< a job was queued for the pending panels
        NothingToDo,   ///< every panel shows its recipe
        WaitingForCard,///< a panel's card is loading: the run starts when it is here
        Refused,       ///< no model, a replay, or an invalid panel (error() says why)
    };
    RunStart run();
    /// Cancel the run within a step; what was computed stays (runFinished(cancelled) follows).
    /// If the model call in flight has not returned kStopGraceMs later, the run ends as
    /// stopped anyway (runFinished(true), then error() saying that the model did not
    /// respond): the stuck call is left on its thread and later work gets a new worker.
    void stop();
    /// Stop was asked and the run has not ended yet.
    bool isStopping() const { return running_ && stopping_; }
    /// Cancel and forget the run at once (the panels change under it).
    void abandon();
    bool isRunning() const { return running_; }
    quint64 generation() const { return generation_; }
    /// Panels the current run computes.
    const std::vector<int>& runPanels() const { return runPanels_; }
    // ------------------------------------------------------------ the window's words for the run
    /// Steps computed and planned by the panels of the run in flight.
    std::pair<int, int> runSteps() const;
    /// The window title: the model's name, led by the share done while a run is in flight.
    QString windowTitle() const;
    /// Each computing panel's step ("Panel 1: step 3 of 20").
    QStringList runPanelSteps() const;
    /// The status line of a run in flight `seconds` long under `pacing` (the combo's words):
    /// the panels' steps, the pacing, the rate and the time left.
    QString runStatus(double seconds, const QString& pacing) const;
    /// A finished run not saved since (the question before it is discarded).
    bool hasUnsavedRun() const { return unsaved_; }
    void markSaved() { unsaved_ = false; }
    void markUnsaved() { unsaved_ = true; } ///< a restored discarded run is still unsaved
    /// The sample whose path every panel's scatter draws bold (-1: none). Panels share
    /// x_T, so index i is the same start in each: one index for all of them.
    int followedSample() const { return followed_; }
    void setFollowedSample(int sample);
    SamplingWorker* worker() const { return worker_; }

    // ------------------------------------------------------------ sessions
    /// The session of every computed panel (its store and computed recipe); InputError if none.
    Session session() const;
    /// Show a saved run: the recipe becomes the session's, each panel its store and
    /// computed recipe (nothing pending). Panels' own cards are loaded for the next Run;
    /// the cards not found are listed in `missing`.
    void restore(const Session& session, QStringList* missing = nullptr);
    /// A view found a frame of panel `panel`'s store that does not decode (Trajectory::decode's
    /// InputError: an opened session's blocks are inflated when shown, issue 27). The panel is
    /// marked damaged and error() says so once per store; the other frames still show.
    void reportDamage(int panel, const QString& message);
    /// The message of a damaged panel (reportDamage), or empty.
    QString damage(int panel) const;

Q_SIGNALS:
    void modelReady();
    void modelFailed(const QString& path, const QString& message);
    /// The card (the window's when `panel` is -1, else that panel's) names a TorchScript
    /// module that is not trusted (code_trust.hpp): nothing was loaded; the window asks
    /// the user and, on yes, trusts `fingerprint` and loads the card again.
    void untrustedCode(int panel, const QString& path, const QString& module, const QString& fingerprint);
    /// A panel's own card arrived (or was refused, then `error` is set).
    void panelModelChanged(int panel, const QString& error);
    /// The recipe or the computed state changed: labels and marks are redrawn.
    void changed();
    /// The number of panels changed.
    void panelsChanged();
    void runStarted();
    /// New steps are in the stores.
    void progress();
    void runFinished(bool cancelled);
    void runFailed(int panel, const QString& message);
    /// A message for the user (a refused Run, a refused card).
    void error(const QString& message);
    void followedSampleChanged(int sample);

private:
    QString modelSuffix(int i) const; ///< " · <model name>" when the panels differ in model
    struct Computed {
        std::shared_ptr<const Trajectory> store = std::make_shared<const Trajectory>();
        std::optional<RunRecipe> recipe;
        /// The request that produced it: the panel recipe, seed, batch and card as asked.
        std::optional<PanelRecipe> request;
        quint64 seed = 0;
        int batch = 0;
        std::filesystem::path topModel;
        bool metrics = false;
        QString ended;
        QString damage; ///< a frame of the store does not decode (reportDamage)
        double straightness = std::numeric_limits<double>::quiet_NaN(); ///< of a finished run
    };
    void onModelLoaded(quint64 token, LoadedModelPtr model);
    void onModelFailed(quint64 token, const QString& path, const QString& message);
    /// One message for a card that did not load (modelFailed for the window's, error and
    /// panelModelChanged for a panel's).
    void reportLoadFailure(int panel, const QString& path, const QString& message);
    void onModelUntrusted(quint64 token, const QString& path, const QString& module, const QString& fingerprint);
    void onPrepared(const PreparedPanels& panels);
    void onRunFinished(bool cancelled);
    void onRunFailed(int panel, const QString& message);
    /// The worker thread and its connections (the constructor's, and a fresh one when
    /// the old one is stuck in a model call).
    void startWorker();
    /// Queue the load of `path` (the window's card or a panel's) on the worker.
    void queueLoad(quint64 token, const QString& path);
    RunNews runNews();
    /// A job was cancelled: in kStopGraceMs, check that the worker is not still in it.
    void armStuckCheck();
    /// The worker is still in a cancelled job: leave it there, go on with a new worker.
    void giveUpOnStuckWorker();
    /// Settings that do not apply to the new top card return to their defaults.
    void applyModelDefaults(const ModelCard& card);
    bool panelsDifferInModel() const;
    std::filesystem::path panelCard(int i) const;
    bool requestMatches(int i) const;

    RunSetRecipe recipe_;
    std::vector<Computed> computed_;
    LoadedModelPtr model_;
    std::map<std::filesystem::path, LoadedModelPtr> models_; ///< loaded cards by absolute, normalised path
    quint64 nextToken_ = 0, loadToken_ = 0;
    std::map<quint64, int> panelLoads_; ///< a panel's own card being loaded, by token
    bool runWhenCardsLoaded_ = false;
    bool replay_ = false;
    bool metrics_ = true;
    bool running_ = false;
    bool unsaved_ = false;
    int followed_ = -1;
    quint64 generation_ = 0; ///< the running job (SamplingWorker::startRun); 0 when none
    std::optional<RunJob> job_; ///< the running job, to queue again on a new worker
    bool stopping_ = false;
    std::map<quint64, QString> loadPaths_; ///< loads queued on the worker, by token
    QTimer* stuckCheck_ = nullptr;
    std::vector<QThread*> stuckThreads_; ///< given-up workers' threads, until their call returns
    std::vector<int> runPanels_;
    QThread* thread_ = nullptr;
    SamplingWorker* worker_ = nullptr;
};

} // namespace noisetrail::ui
