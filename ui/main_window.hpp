// The NoiseTrail window: model picker, 1..4 sampler panels from one shared
// starting noise, the timeline, the plots and the forward-process view. It
// owns the one worker thread and decides which frames are current.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/trajectory.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "sampling_worker.hpp"

#include <QElapsedTimer>
#include <QMainWindow>
#include <QPointer>

#include <map>
#include <memory>
#include <vector>

class QAction;
class QActionGroup;
class QComboBox;
class QFrame;
class QHBoxLayout;
class QLabel;
class QMenu;
class QProgressBar;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QThread;
class QTimer;
class QToolButton;

namespace noisetrail::ui {

class CompareDialog;
class EquationView;
class ExportJob;
class ForwardView;
class Presentation;
class PlotsWidget;
class TimelineBar;

struct MainWindowOptions {
    QString modelPath;        ///< card to open; empty: the default (digits if present, else ring8)
    bool useSettings = true;  ///< tests turn this off: no QSettings read or written
    QString modelsDir;        ///< bundled cards; empty: found next to the app or in the source tree
    /// Ask before an unsaved finished run is discarded (the app; tests and screenshots do not ask).
    bool askBeforeDiscard = false;
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(MainWindowOptions options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// The folder of bundled cards, and the card opened by default.
    static QString findModelsDir();
    static QString defaultModel(const QString& modelsDir);

    void loadModel(const QString& path);
    void startRun();
    void stopRun();
    bool isRunning() const { return running_; }
    bool hasModel() const { return model_ != nullptr; }
    const LoadedModel* model() const { return model_.get(); }

    int panelCount() const { return int(panels_.size()); }
    SamplerPanel* panel(int i) const { return panels_.at(std::size_t(i)); }
    void addPanel();
    void removePanel(int i);
    TimelineBar* timeline() const { return timeline_; }
    PlotsWidget* plots() const { return plots_; }
    ForwardView* forwardView() const { return forward_; }
    EquationView* equationView() const { return equations_; }
    /// Presentation mode (View > Presentation, F5; Esc leaves).
    Presentation* presentation() const { return presentation_; }
    void setPresentation(bool on, double scale = 0.0); ///< scale 0: from the screen's height
    QTabWidget* bottomTabs() const { return bottomTabs_; }
    SamplingWorker* worker() const { return worker_; }
    /// How the panels advance together (toolbar combo and View menu; remembered).
    Pacing pacing() const { return pacing_; }
    void setPacing(Pacing p);
    /// Give panel i its own model card (empty: the window's). Loaded on the
    /// worker; a card of another data shape is refused with one message.
    /// Returns the load's token (0 when nothing is loaded).
    quint64 setPanelCard(int i, const QString& path);
    /// Whether a panel's own card is being loaded (Run then waits for it).
    bool loadingPanelCard() const { return !panelLoads_.empty(); }
    quint64 generation() const { return generation_; }
    quint64 staleFramesDropped() const { return staleDropped_; }
    QString errorText() const;
    Field field() const { return field_; }
    void setField(Field f);
    void setSeed(quint64 seed);
    quint64 seed() const;
    void setBatch(int batch);
    /// Per-step diversity metrics on the worker (View menu; on by default).
    void setMetricsEnabled(bool on);
    bool metricsEnabled() const;
    int batch() const;
    /// The Compare view (DDPM vs DDIM table) of the current model: opened, or raised.
    CompareDialog* openCompare();
    CompareDialog* compareDialog() const;
    /// The open large sample views (sample i of every panel, following the timeline).
    std::vector<SampleDialog*> sampleDialogs() const;
    /// Redraw panels, timeline marks and status now (normally coalesced).
    void refreshViews();

    // Saved runs (File > Save Run / Open Run; ui/session_actions.cpp).
    /// The session the panels would save: every panel with a run, its store and recipe.
    /// InputError if no panel has run yet.
    Session currentSession() const;
    /// currentSession(), or nullptr after one error: `message` with %1 for why.
    std::shared_ptr<const Session> sessionOrError(const QString& message);
    /// Write the current run; false (the error shown) if it cannot be written.
    bool saveRun(const QString& path);
    /// Reopen a saved run: it scrubs and plays at once, also without its model
    /// (then from the session's copy of the card; Run asks for the card). A bad
    /// file is one error and leaves everything as it was. False on error.
    bool openRun(const QString& path);
    /// A finished run that was not saved (closing, opening a card or Run ask first).
    bool hasUnsavedRun() const { return unsavedRun_; }
    /// The window's model is a saved run's copy of its card: nothing can be sampled.
    bool isReplay() const;
    /// Export > Animation / Filmstrip (dialogs; the animation is written on a worker).
    void exportAnimation();
    void exportFilmstrip();
    /// Write the current run as an animation on a worker thread, with a progress
    /// dialog whose Cancel stops it (no file then). The job reports finished()
    /// or failed() and deletes itself; null (error shown) if there is nothing to export.
    ExportJob* startAnimationExport(const QString& path, AnimationFormat format, const AnimationExport& options);

Q_SIGNALS:
    void modelReady();
    void runOpened(const QString& path);
    void runFinished(bool cancelled);
    void errorShown(const QString& message);

protected:
    void closeEvent(QCloseEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    void buildActions();
    void buildUi();
    void populateModelCombo();
    void updateActions();
    void relayoutPanels();
    void rebuildPlots();
    void updatePlotLegend();
    void updateTimelineMarks();
    void updateStatus();
    void updateTitle();
    void scheduleRefresh();
    void showError(const QString& message);
    void styleErrorBanner();
    void clearError();
    void addRecent(const QString& path);
    void updateRecentMenu();
    void readSettings();
    void writeSettings();
    void shutdownWorker();
    void abandonRun();
    void onCursorMoved(int t);
    void onModelLoaded(quint64 token, LoadedModelPtr model);
    void onModelFailed(quint64 token, const QString& path, const QString& message);
    void onProgress(quint64 generation);
    void onPanelModelLoaded(SamplerPanel* panel, LoadedModelPtr model);
    void runIfCardsLoaded(); ///< the Run pressed while a panel's card was loading, once all are here
    void pullFrames();
    RunRecipe recipeOf(int panel) const;
    void onRunFinished(quint64 generation, bool cancelled);
    void onRunFailed(quint64 generation, int panel, const QString& message);
    void openSample(int panel, int sample);
    std::vector<SampleDialog::Source> sampleSources() const;
    /// Ask before a finished, unsaved run is discarded (Save / Discard / Cancel,
    /// with "don't ask again"); true to go on. Never asks without settings (tests).
    bool confirmDiscard(const QString& action);
    void saveRunAs();
    void openRunDialog();
    void addRecentRun(const QString& path);
    void updateRecentRunsMenu();
    void applySession(const std::shared_ptr<const Session>& session, const QString& path,
                      std::shared_ptr<const LoadedModel> model);
    SamplerPanel* makePanel(int index);

    MainWindowOptions options_;
    QString modelsDir_;
    QThread* thread_ = nullptr;
    SamplingWorker* worker_ = nullptr;
    std::shared_ptr<const LoadedModel> model_;
    quint64 nextToken_ = 0;                 ///< for every model load the worker does
    quint64 loadToken_ = 0;                 ///< the window's pending load (newest wins)
    std::map<quint64, QPointer<SamplerPanel>> panelLoads_; ///< a panel's own card being loaded
    /// A saved run's frames to show again once its panel's own card is loaded
    /// (setting a card clears what the panel showed), by load token.
    std::map<quint64, std::pair<std::shared_ptr<const Trajectory>, RunRecipe>> savedForLoad_;
    QStringList settingsPanelCards_; ///< from the settings, given once the window's model is there
    bool runWhenCardsLoaded_ = false; ///< Run was pressed while a panel's card was loading
    std::vector<CardChoice> cardChoices_;
    Pacing pacing_ = Pacing::Lockstep;
    quint64 generation_ = 0;
    quint64 staleDropped_ = 0;
    bool running_ = false;
    bool loading_ = false;
    bool follow_ = true;
    Field field_ = Field::Xt;
    std::vector<int> runPanels_;            ///< panels the current run computes
    /// Per panel: the store whose steps the plots hold, and how many.
    std::vector<std::pair<const Trajectory*, int>> plotted_;
    QElapsedTimer runClock_;
    QStringList recent_;
    QStringList recentRuns_;
    bool unsavedRun_ = false;
    bool discardConfirmed_ = false; ///< openRun asked already; its loadModel must not ask again
    QString replayCard_;            ///< the saved card path when the model is a replay

    std::vector<SamplerPanel*> panels_;
    QWidget* panelsRow_ = nullptr;
    QHBoxLayout* panelsLayout_ = nullptr;
    TimelineBar* timeline_ = nullptr;
    PlotsWidget* plots_ = nullptr;
    ForwardView* forward_ = nullptr;
    EquationView* equations_ = nullptr;
    Presentation* presentation_ = nullptr;
    QAction* presentAct_ = nullptr;
    QTabWidget* bottomTabs_ = nullptr;
    QSplitter* splitter_ = nullptr;
    QComboBox* modelCombo_ = nullptr;
    QComboBox* pacingCombo_ = nullptr;
    QActionGroup* pacingGroup_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QSpinBox* batch_ = nullptr;
    QFrame* errorBanner_ = nullptr;
    QLabel* errorLabel_ = nullptr;
    QLabel* statusLabel_ = nullptr;
    QMenu* plotsMenu_ = nullptr; ///< View > Plots (PlotsWidget::foldActions)
    QProgressBar* progress_ = nullptr;
    QTimer* refreshTimer_ = nullptr;
    class RedrawPacer* redrawPacer_ = nullptr; ///< sets refreshTimer_'s interval (redraw_pacer.hpp)
    QTimer* etaRerun_ = nullptr; ///< the eta knob's live re-run, coalesced
    QMenu* recentMenu_ = nullptr;
    QMenu* recentRunsMenu_ = nullptr;

    QAction* openAct_ = nullptr;
    QAction* runAct_ = nullptr;
    QAction* stopAct_ = nullptr;
    QAction* rerollAct_ = nullptr;
    QAction* addPanelAct_ = nullptr;
    QAction* compareAct_ = nullptr;
    QAction* metricsAct_ = nullptr;
    QAction* decisionAct_ = nullptr; ///< View > Decision Time: strips / paths by component
    QPointer<CompareDialog> compare_;
    std::vector<QPointer<SampleDialog>> sampleDialogs_; ///< open large views, linked to the timeline
    QActionGroup* fieldGroup_ = nullptr;
    QAction* fieldActs_[3] = {};
    QAction* followAct_ = nullptr;
};

} // namespace noisetrail::ui
