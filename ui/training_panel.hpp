// Draw & Train (issue 23, Run > Draw Data and Train): draw a 2-D data set with the
// mouse, use it at once as an exact model (its empirical card), train the 2-D MLP on
// it live (the loss on a log axis, samples/s, time left, and every K steps a
// checkpoint card whose quick sample is drawn over the data), scrub the checkpoints,
// plot the learned-vs-exact quality against the steps, and put a checkpoint, the
// final model and the exact denoiser in three panels of the main window from one x_T.
// Everything is usable with the mouse alone. The data and the training live in a
// drawn set's folder (training_folder.hpp), which sessions name.
#pragma once
#include "training_folder.hpp"
#include "training_worker.hpp"

#include <QPointer>
#include <QWidget>

#include <optional>
#include <vector>

class QButtonGroup;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;
class QToolButton;

namespace noisetrail::ui {

class DrawCanvas;
class MainWindow;

class TrainingWindow : public QWidget {
    Q_OBJECT
public:
    /// Defaults of the recipe: chosen so that on this 2-core machine the quick samples
    /// form a drawn smiley well within a minute (docs/GUIDE.md has the figures).
    static constexpr int kDefaultSteps = 4000, kDefaultCardEvery = 200, kDefaultPoints = 1000;
    static constexpr int kQuickCount = 512, kQuickSteps = 20;

    /// `root`: where drawn sets are kept (empty: defaultDrawnRoot()).
    explicit TrainingWindow(MainWindow* window, const QString& root = {}, QWidget* parent = nullptr);
    ~TrainingWindow() override;

    DrawCanvas* canvas() const { return canvas_; }
    TrainingWorker* worker() const { return worker_; }
    /// The drawn set the exact model and the training use (after useExact or train).
    const std::optional<DrawnSetFolder>& folder() const { return folder_; }
    const std::vector<TrainingCheckpoint>& checkpoints() const { return checkpoints_; }
    bool isTraining() const;

    /// Use as Exact Model: the drawing (at the chosen count) becomes a drawn set and its
    /// empirical card the main window's model. False (the status says why) without points.
    bool useExact();
    /// Train: a new drawn set from the drawing and the training on it; false if refused.
    bool train();
    void stop();
    /// Show checkpoint i of the timeline (its quick sample over the data).
    void showCheckpoint(int i);
    int shownCheckpoint() const;
    /// Compare in Panels: the chosen checkpoint (the slider's; the first when the slider is
    /// at the last), the last checkpoint and the exact denoiser, three panels of the main
    /// window from one x_T, and Run. False (the status says why) without two checkpoints.
    bool compareInPanels();
    /// Show a drawn set kept earlier (its data, checkpoints, quick samples and quality).
    bool openFolder(const DrawnSetFolder& f);
    QString statusText() const;

Q_SIGNALS:
    void checkpointShown(int index);

private:
    void buildUi();
    void updateButtons();
    void setStatus(const QString& text, bool error = false);
    void onTick(const TrainingTick& t);
    void onCheckpoint(const TrainingCheckpoint& c);
    void onFinished(const TrainingOutcome& o);
    void onFailed(const QString& message);
    void resetPlots();
    void addQuality(const PointsQuality& q);
    /// The drawing as a new drawn set folder unless it is the one in folder_ already.
    bool ensureFolder();
    int pointCount() const;

    MainWindow* w_;
    QString root_;
    DrawCanvas* canvas_ = nullptr;
    TrainingWorker* worker_ = nullptr;
    QButtonGroup* tools_ = nullptr;
    QLineEdit* text_ = nullptr;
    QSpinBox* points_ = nullptr;
    QSpinBox* steps_ = nullptr;
    QSpinBox* every_ = nullptr;
    QPushButton* trainButton_ = nullptr;
    QPushButton* stopButton_ = nullptr;
    QPushButton* exactButton_ = nullptr;
    QPushButton* compareButton_ = nullptr;
    QToolButton* undoButton_ = nullptr;
    QSlider* slider_ = nullptr;
    QLabel* sliderLabel_ = nullptr;
    QLabel* status_ = nullptr;
    QCustomPlot* loss_ = nullptr;
    QCustomPlot* quality_ = nullptr;

    std::optional<DrawnSetFolder> folder_;
    bool drawingChanged_ = true; ///< the drawing differs from folder_'s data
    std::vector<float> data_;    ///< the set of folder_
    std::vector<TrainingCheckpoint> checkpoints_;
    bool waitingForModel_ = false; ///< compareInPanels: run once the exact card is loaded
};

} // namespace noisetrail::ui
