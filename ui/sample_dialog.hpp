// One sample large, with its filmstrip: x_t and x0_hat at a dozen noise
// levels; linked, the same sample in every panel (same x_T, so the comparison
// is exact), following the timeline's cursor. It opens above its window's
// timeline (never over it) and leaves the timeline's keys to that window:
// Left/Right, Page Up/Down, Home/End and Space trigger the window's action with
// that shortcut (nothing in the dialog takes the keyboard focus).
#pragma once
#include <QDialog>
#include <QImage>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace noisetrail {
class Trajectory;
}

namespace noisetrail::ui {

class SampleDialog : public QDialog {
    Q_OBJECT
public:
    /// One trajectory at one step (a still: the dialog copies what it shows).
    SampleDialog(const Trajectory& trajectory, int sample, int step, const QString& title,
                 QWidget* parent = nullptr);

    /// Linked: sample `sample` of every panel, at the timeline's cursor t.
    struct Source {
        std::shared_ptr<const Trajectory> trajectory;
        QString title;
        /// The panel's levels on the window's noise axis (SamplerPanel::axisTimesteps);
        /// empty: the trajectory's own t.
        std::vector<int> axisTimesteps;
        /// The step to show, where the panel chose it by other means than the cursor's t
        /// (the model-calls axis: the state each panel reached at equal cost); -1: at the t.
        int step = -1;
    };
    SampleDialog(std::vector<Source> panels, int sample, int cursorT, QWidget* parent = nullptr);
    /// The timeline moved (or frames arrived): show the state at `cursorT`.
    void showAt(int cursorT);
    /// The panels changed (a new run): keep the sample, show these at the next showAt.
    void setPanels(std::vector<Source> panels);
    int sample() const { return sample_; }
    int rowCount() const;
    /// Caption of panel row i's large view ("t = 500", "final"), for tests.
    QString rowCaption(int i) const;
    static constexpr int kFilmFrames = 12;

protected:
    void showEvent(QShowEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;

private:
    void init();
    void rebuild();
    std::vector<Source> panels_;
    int sample_ = 0;
    int cursorT_ = -1;
    std::vector<std::intptr_t> shownKey_;
    bool placed_ = false;
    class FilmWidget* film_ = nullptr;
};

} // namespace noisetrail::ui
