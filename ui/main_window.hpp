// The NoiseTrail window: model picker, 1..4 sampler panels from one shared
// starting noise, the timeline, the plots and the forward-process view. Layout,
// actions and wiring: the run's state lives in its RunDocument (run_document.hpp),
// which the widgets edit and read their labels from.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/trajectory.hpp"
#include "run_document.hpp"
#include "run_files.hpp"
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
class QHBoxLayout;
class QLabel;
class QMenu;
class QProgressBar;
class QSplitter;
class QTabWidget;
class QThread;
class QTimer;

namespace noisetrail::ui {

class CompareDialog;
class GuidanceDialog;
class EquationView;
class ErrorBanner;
class RunStatusBar;
class RunToolBar;
class WindowActions;
class ExportJob;
class ForwardView;
class LessonPlayer;
class Presentation;
class PanelRow;
class PlotFeed;
class PlotsWidget;
class TimelineBar;
class TrainingWindow;

struct MainWindowOptions {
    QString modelPath;        ///< card to open; empty: the default (the wide digit UNet, else the larger, else the first, else ring8)
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

    /// The document: the recipe, the loaded models, every panel's store and computed recipe.
    RunDocument* document() const { return doc_; }

    void loadModel(const QString& path);
    void startRun();
    void stopRun() { doc_->stop(); }
    bool isRunning() const { return doc_->isRunning(); }
    bool hasModel() const { return doc_->model() != nullptr; }
    const LoadedModel* model() const { return doc_->model().get(); }

    int panelCount() const;
    SamplerPanel* panel(int i) const;
    void addPanel() { doc_->addPanel(); }
    void removePanel(int i) { doc_->removePanel(i); }
    TimelineBar* timeline() const { return timeline_; }
    RunToolBar* toolBar() const { return toolbar_; }
    PlotsWidget* plots() const { return plots_; }
    ForwardView* forwardView() const { return forward_; }
    EquationView* equationView() const { return equations_; }
    /// Presentation mode (View > Presentation, F5; Esc leaves).
    Presentation* presentation() const { return presentation_; }
    void setPresentation(bool on, double scale = 0.0); ///< scale 0: from the screen's height
    QTabWidget* bottomTabs() const { return bottomTabs_; }
    /// How the panels advance together (toolbar combo and View menu; remembered).
    Pacing pacing() const { return doc_->pacing(); }
    void setPacing(Pacing p) { doc_->setPacing(p); }
    /// Give panel i its own model card (empty: the window's); see RunDocument::setPanelCard.
    quint64 setPanelCard(int i, const QString& path);
    bool loadingPanelCard() const { return doc_->loadingPanelCard(); }
    quint64 generation() const { return doc_->generation(); }
    QString errorText() const;
    Field field() const { return field_; }
    void setField(Field f);
    /// Run > Guidance Side by Side: four panels at W = 0, 1, 3, 7 (panel 1's sampler and class), run at once.
    void showGuidanceSideBySide();
    /// Run > Compare Guidance Scales: the trade-off dialog for the window's conditional card.
    GuidanceDialog* openGuidanceCompare();
    void setSeed(quint64 seed) { doc_->setSeed(seed); }
    quint64 seed() const { return doc_->seed(); }
    void setBatch(int batch) { doc_->setBatch(batch); }
    int batch() const { return doc_->batch(); }
    /// Per-step diversity metrics on the worker (View menu; on by default).
    void setMetricsEnabled(bool on);
    bool metricsEnabled() const { return doc_->metricsEnabled(); }
    /// The Compare view (DDPM vs DDIM table) of the current model: opened, or raised.
    CompareDialog* openCompare();
    CompareDialog* compareDialog() const;
    /// The open large sample views (sample i of every panel, following the timeline).
    std::vector<SampleDialog*> sampleDialogs() const;
    /// Redraw panels, timeline marks and status now (normally coalesced).
    void refreshViews();

    /// Run > Draw Data and Train (training_panel.hpp): opened, or raised.
    TrainingWindow* openDrawAndTrain();
    /// Cards to offer in the model boxes (the window's and every panel's) besides the models
    /// folder's: a drawn set's exact card and its training's checkpoints (Draw & Train).
    void offerCards(const QStringList& paths);

    /// Lessons (Lesson menu; lesson_player.hpp).
    LessonPlayer* lessons() const { return lessons_; }

    /// Saved runs and exports (File > Save Run / Open Run, Export; run_files.hpp).
    RunFiles* runFiles() const { return files_; }
    std::shared_ptr<const Session> sessionOrError(const QString& message) { return files_->sessionOrError(message); }
    bool saveRun(const QString& path) { return files_->saveRun(path); }
    bool openRun(const QString& path) { return files_->openRun(path); }
    /// A finished run that was not saved (closing, opening a card or Run ask first).
    bool hasUnsavedRun() const { return doc_->hasUnsavedRun(); }
    /// The window's model is a saved run's copy of its card: nothing can be sampled.
    bool isReplay() const { return doc_->isReplay(); }
    void exportAnimation() { files_->exportAnimation(); }
    void exportFilmstrip() { files_->exportFilmstrip(); }
    ExportJob* startAnimationExport(const QString& path, AnimationFormat format, const AnimationExport& options)
    {
        return files_->startAnimationExport(path, format, options);
    }
    ExportJob* startPageExport(const QString& path, const PageOptions& options)
    {
        return files_->startPageExport(path, options);
    }

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
    void wireActions();
    void buildUi();
    void exportPlots();  ///< Export > All Plots
    void focusTimeline(); ///< the keys' home (key_guard.hpp)
    void populateModelCombo();
    void updateActions();
    void syncPanels();   ///< one panel widget per document panel
    void onDocumentChanged();
    void rebuildPlots();
    void updatePlotLegend();
    void updateTimelineMarks();
    void updateStatus();
    void updateTitle();
    void scheduleRefresh();
    void showError(const QString& message);
    void clearError();
    void readSettings();
    void writeSettings();
    void onCursorMoved(int t);
    void onModelReady();
    void onModelFailed(const QString& path, const QString& message);
    /// The document's untrustedCode: ask once, then trust and load again, or say why not.
    void askTrustCode(int panel, const QString& path, const QString& module, const QString& fingerprint);
    void onRunStarted();
    void onRunFinished(bool cancelled);
    void onRunFailed(int panel, const QString& message);
    void openSample(int panel, int sample);
    std::vector<SampleDialog::Source> sampleSources() const;
    /// RunFiles shows a saved run: scrub to its end, title the window.
    void onRunShown(const QString& path, const QString& title);

    MainWindowOptions options_;
    QString modelsDir_;
    RunDocument* doc_ = nullptr;
    std::vector<CardChoice> cardChoices_;
    QStringList offeredCards_; ///< offerCards'; kept across populateModelCombo
    Field field_ = Field::Xt;
    std::unique_ptr<PlotFeed> plotFeed_; ///< the plots take the stores' new steps (plot_feed.hpp)
    QElapsedTimer runClock_;
    RunFiles* files_ = nullptr;
    LessonPlayer* lessons_ = nullptr;

    PanelRow* panelRow_ = nullptr; ///< the sampler panels (panel_row.hpp)
    TimelineBar* timeline_ = nullptr;
    PlotsWidget* plots_ = nullptr;
    ForwardView* forward_ = nullptr;
    EquationView* equations_ = nullptr;
    Presentation* presentation_ = nullptr;
    QTabWidget* bottomTabs_ = nullptr;
    QSplitter* splitter_ = nullptr;
    WindowActions* actions_ = nullptr; ///< every action and menu (window_actions.hpp)
    RunToolBar* toolbar_ = nullptr;
    ErrorBanner* errorBanner_ = nullptr;
    RunStatusBar* status_ = nullptr;
    QMenu* plotsMenu_ = nullptr; ///< View > Plots (PlotsWidget::foldActions)
    QTimer* refreshTimer_ = nullptr;
    class RedrawPacer* redrawPacer_ = nullptr; ///< sets refreshTimer_'s interval (redraw_pacer.hpp)
    QTimer* liveRerun_ = nullptr; ///< the live knobs' re-run (eta, class, W), coalesced

    QPointer<CompareDialog> compare_;
    QPointer<GuidanceDialog> guidance_;
    QPointer<TrainingWindow> training_;
    std::vector<QPointer<SampleDialog>> sampleDialogs_; ///< open large views, linked to the timeline
};

} // namespace noisetrail::ui
