// One sample large, with its filmstrip: x_t and x0_hat at a dozen noise levels.
#pragma once
#include <QDialog>
#include <QImage>

#include <vector>

namespace noisetrail {
class Trajectory;
}

namespace noisetrail::ui {

class SampleDialog : public QDialog {
    Q_OBJECT
public:
    /// Copies what it shows: the dialog does not keep the trajectory.
    SampleDialog(const Trajectory& trajectory, int sample, int step, const QString& title,
                 QWidget* parent = nullptr);
    static constexpr int kFilmFrames = 12;
};

} // namespace noisetrail::ui
