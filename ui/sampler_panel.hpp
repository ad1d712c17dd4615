// One sampler configuration and its trajectory: header in words, controls,
// and the view (image grid or 2-D scatter) at the timeline's cursor.
#pragma once
#include "loaded_model.hpp"
#include "noisetrail/sampler_config.hpp"
#include "trajectory.hpp"

#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QSpinBox;
class QStackedWidget;
class QToolButton;

namespace noisetrail::ui {

class ImageGridView;
class ScatterView;

class SamplerPanel : public QWidget {
    Q_OBJECT
public:
    explicit SamplerPanel(int index, QWidget* parent = nullptr);

    void setIndex(int index);
    int index() const { return index_; }
    void setModel(std::shared_ptr<const LoadedModel> model);

    SamplerConfig config() const;
    void setConfig(const SamplerConfig& config);
    QString description() const; ///< e.g. "DDIM, 50 steps, eta 0, leading"
    /// Timesteps the current configuration would visit (empty if invalid).
    std::vector<int> plannedTimesteps() const;

    /// A run starts: forget the old trajectory, remember the configuration.
    void beginRun(const std::vector<std::int64_t>& shape, const std::vector<int>& timesteps);
    void appendFrame(const StepFrame& frame, const FrameMetrics* metrics = nullptr);
    const Trajectory& trajectory() const { return traj_; }

    /// Show the state at cursor t with this field (x_t / x0_hat / eps_hat).
    void showAt(int cursorT, Field field);
    int displayedStep() const { return shownStep_; }
    /// Redraw even if the step did not change (new frames, new field).
    void invalidate() { dirty_ = true; }
    void setRemovable(bool on);

    ImageGridView* imageView() const { return grid_; }
    ScatterView* scatterView() const { return scatter_; }

Q_SIGNALS:
    void configChanged();
    void removeRequested();
    void sampleClicked(int panel, int sample);

protected:
    void resizeEvent(QResizeEvent* e) override;

private:
    void layoutControls(bool oneRow);
    void updateHeader();
    void updateEnabled();
    void redraw();

    int index_ = 0;
    std::shared_ptr<const LoadedModel> model_;
    Trajectory traj_;
    SamplerConfig runConfig_;
    bool hasRun_ = false;

    QLabel* swatch_ = nullptr;
    QLabel* title_ = nullptr;
    QLabel* footer_ = nullptr;
    QToolButton* remove_ = nullptr;
    QComboBox* sampler_ = nullptr;
    QSpinBox* steps_ = nullptr;
    QDoubleSpinBox* eta_ = nullptr;
    QComboBox* spacing_ = nullptr;
    QComboBox* variance_ = nullptr;
    QDoubleSpinBox* clip_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QGridLayout* controls_ = nullptr;
    std::vector<QLabel*> labels_;
    bool oneRow_ = false;
    ImageGridView* grid_ = nullptr;
    ScatterView* scatter_ = nullptr;

    int shownStep_ = -1;
    Field shownField_ = Field::Xt;
    bool dirty_ = true;
    std::vector<float> scratch_;
};

} // namespace noisetrail::ui
