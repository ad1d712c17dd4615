// The forward process q(x_t | x_0) on real examples: a t slider, x_t =
// sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps with its numbers at t.
#pragma once
#include "loaded_model.hpp"

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
    void setT(int t);
    /// The timeline's cursor: t follows it while "follow the timeline" is on (the final position, -1, is t = 0).
    void followTimeline(int cursorT);
    bool linked() const;
    void setLinked(bool on);
    int t() const;
    QString formulaText() const;

private:
    void update_();
    std::shared_ptr<const LoadedModel> model_;
    QSlider* slider_ = nullptr;
    QCheckBox* link_ = nullptr;
    QLabel* formula_ = nullptr;
    QLabel* source_ = nullptr;
    ForwardCanvas* canvas_ = nullptr;
};

} // namespace noisetrail::ui
