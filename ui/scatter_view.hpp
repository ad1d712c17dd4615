// 2-D samples: the batch at the cursor, each point's path from x_T to the
// cursor's step, over the target's density image when the card is analytic.
#pragma once
#include <QColor>
#include <QImage>
#include <QRectF>
#include <QWidget>

namespace noisetrail::ui {

class Trajectory;

class ScatterView : public QWidget {
    Q_OBJECT
public:
    explicit ScatterView(QWidget* parent = nullptr);
    void setTarget(const QImage& density, const QRectF& extent);
    void setColor(const QColor& c);
    /// Show `trajectory` at `step` (step == size() shows the final samples).
    void setState(const Trajectory* trajectory, int step);
    void setShowPaths(bool on);
    /// Paths drawn for at most this many points (all points are drawn).
    static constexpr int kMaxPaths = 100; // more is a blur, not a picture

protected:
    void paintEvent(QPaintEvent*) override;
    void changeEvent(QEvent* e) override;

private:
    QRectF plotRect() const;
    QPointF toPixel(const QRectF& plot, double x, double y) const;
    QImage density_, tinted_;
    QRectF extent_{-3.5, -3.5, 7, 7};
    QColor color_{0, 114, 178};
    const Trajectory* traj_ = nullptr;
    int step_ = -1;
    bool showPaths_ = true;
};

} // namespace noisetrail::ui
