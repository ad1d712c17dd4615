// The forward process q(x_t | x_0) on real examples: a t slider, x_t =
// sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps with its numbers at t; on a flow
// card (contract section 8) an s slider and x_s = (1 - s) x_0 + s eps.
#pragma once
#include "loaded_model.hpp"
#include "noise_axis.hpp"

#include <QWidget>

#include <memory>

class QCheckBox;
class QLabel;
class QSlider;

namespace noisetrail::ui {

class ForwardCanvas;

class ForwardView : public QWidget {
    Q_OBJECT
public:
    explicit ForwardView(QWidget* parent = nullptr);
    void setModel(std::shared_ptr<const LoadedModel> model);
    /// The level as the schedule's grid index t (flow: s = (t + 1) / T).
    void setT(int t);
    /// The window's noise axis: the cursor's position is mapped to this model's level.
    void setAxis(const NoiseAxis& axis);
    /// The timeline's cursor: t follows it while "follow the timeline" is on (the final position, -1, is t = 0);
    /// on the shared noise axis, the level of this model with the cursor's signal-to-noise ratio.
    void followTimeline(int cursorT);
    bool linked() const;
    void setLinked(bool on);
    int t() const;
    QString formulaText() const;
    /// The slider's name: "t" (VP) or "s" (flow).
    QString levelName() const;

private:
    void update_();
    std::shared_ptr<const LoadedModel> model_;
    NoiseAxis axis_;
    QLabel* levelLabel_ = nullptr;
    QSlider* slider_ = nullptr;
    QCheckBox* link_ = nullptr;
    QLabel* formula_ = nullptr;
    QLabel* source_ = nullptr;
    ForwardCanvas* canvas_ = nullptr;
};

} // namespace noisetrail::ui
