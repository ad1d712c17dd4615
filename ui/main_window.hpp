// The NoiseTrail window: model picker, 1..4 sampler panels from one shared
// starting noise, the timeline, the plots and the forward-process view. It
// owns the one worker thread and decides which frames are current.
#pragma once
#include "noisetrail/run_set.hpp"
#include "noisetrail/trajectory.hpp"
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
class ForwardView;
class PlotsWidget;
class TimelineBar;

struct MainWindowOptions {
    QString modelPath;        ///< card to open; empty: the default (digits if present, else ring8)
    bool useSettings = true;  ///< tests turn this off: no QSettings read or written
    QString modelsDir;        ///< bundled cards; empty: found next to the app or in the source tree
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
    QTabWidget* bottomTabs() const { return bottomTabs_; }
    SamplingWorker* worker() const { return worker_; }
    /// How the panels advance together (toolbar combo and View menu; remembered).
    Pacing pacing() const { return pacing_; }
    void setPacing(Pacing p);
    /// Give panel i its own model card (empty: the window's). Loaded on the
    /// worker; a card of another data shape is refused with one message.
    void setPanelCard(int i, const QString& path);
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
    /// Redraw panels, timeline marks and status now (normally coalesced).
    void refreshViews();

Q_SIGNALS:
    void modelReady();
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
    void updateTimelineMarks();
    void updateStatus();
    void updateTitle();
    void scheduleRefresh();
    void showError(const QString& message);
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
    void pullFrames();
    RunRecipe recipeOf(int panel) const;
    void onRunFinished(quint64 generation, bool cancelled);
    void onRunFailed(quint64 generation, int panel, const QString& message);
    void openSample(int panel, int sample);
    SamplerPanel* makePanel(int index);

    MainWindowOptions options_;
    QString modelsDir_;
    QThread* thread_ = nullptr;
    SamplingWorker* worker_ = nullptr;
    std::shared_ptr<const LoadedModel> model_;
    quint64 nextToken_ = 0;                 ///< for every model load the worker does
    quint64 loadToken_ = 0;                 ///< the window's pending load (newest wins)
    std::map<quint64, QPointer<SamplerPanel>> panelLoads_; ///< a panel's own card being loaded
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

    std::vector<SamplerPanel*> panels_;
    QWidget* panelsRow_ = nullptr;
    QHBoxLayout* panelsLayout_ = nullptr;
    TimelineBar* timeline_ = nullptr;
    PlotsWidget* plots_ = nullptr;
    ForwardView* forward_ = nullptr;
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
    QProgressBar* progress_ = nullptr;
    QTimer* refreshTimer_ = nullptr;
    QMenu* recentMenu_ = nullptr;

    QAction* openAct_ = nullptr;
    QAction* runAct_ = nullptr;
    QAction* stopAct_ = nullptr;
    QAction* rerollAct_ = nullptr;
    QAction* addPanelAct_ = nullptr;
    QAction* compareAct_ = nullptr;
    QAction* metricsAct_ = nullptr;
    QPointer<CompareDialog> compare_;
    QActionGroup* fieldGroup_ = nullptr;
    QAction* fieldActs_[3] = {};
    QAction* followAct_ = nullptr;
};

} // namespace noisetrail::ui
