#include "scatter_view.hpp"

#include "trajectory.hpp"

#include <QEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

ScatterView::ScatterView(QWidget* parent) : QWidget(parent)
{
    setMinimumSize(120, 120);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setToolTip(tr("The batch at the timeline's cursor; lines are each point's path from x_T. "
                  "Shading: the target density."));
}

void ScatterView::setTarget(const QImage& density, const QRectF& extent)
{
    density_ = density;
    extent_ = extent.isValid() ? extent : QRectF(-3.5, -3.5, 7, 7);
    tinted_ = {};
    update();
}

void ScatterView::setColor(const QColor& c)
{
    color_ = c;
    update();
}

void ScatterView::setState(const Trajectory* trajectory, int step)
{
    traj_ = trajectory;
    step_ = step;
    update();
}

void ScatterView::setShowPaths(bool on)
{
    showPaths_ = on;
    update();
}

void ScatterView::changeEvent(QEvent* e)
{
    if (e->type() == QEvent::PaletteChange)
        tinted_ = {};
    QWidget::changeEvent(e);
}

QRectF ScatterView::plotRect() const
{
    const double side = std::max(10, std::min(width(), height()) - 8);
    return QRectF((width() - side) / 2.0, (height() - side) / 2.0, side, side);
}

QPointF ScatterView::toPixel(const QRectF& plot, double x, double y) const
{
    return {plot.left() + (x - extent_.left()) / extent_.width() * plot.width(),
            plot.top() + (extent_.bottom() - y) / extent_.height() * plot.height()};
}

void ScatterView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    const QRectF plot = plotRect();
    p.fillRect(plot, palette().base());
    if (!density_.isNull()) {
        // Tint once per palette: the text colour at the density's opacity
        // reads as grey shading on light and on dark themes alike.
        if (tinted_.isNull()) {
            tinted_ = QImage(density_.size(), QImage::Format_ARGB32_Premultiplied);
            const QColor ink = palette().color(QPalette::Text);
            for (int y = 0; y < density_.height(); ++y) {
                const uchar* src = density_.constScanLine(y);
                auto* dst = reinterpret_cast<QRgb*>(tinted_.scanLine(y));
                for (int x = 0; x < density_.width(); ++x) {
                    const int a = src[x] * 110 / 255;
                    dst[x] = qPremultiply(qRgba(ink.red(), ink.green(), ink.blue(), a));
                }
            }
        }
        p.setRenderHint(QPainter::SmoothPixmapTransform, true);
        p.drawImage(plot, tinted_);
    }
    // Axes through the origin, for scale.
    p.setPen(QPen(palette().color(QPalette::Mid), 0, Qt::DotLine));
    p.drawLine(toPixel(plot, extent_.left(), 0), toPixel(plot, extent_.right(), 0));
    p.drawLine(toPixel(plot, 0, extent_.top()), toPixel(plot, 0, extent_.bottom()));
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(plot);
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(plot.adjusted(4, 2, -4, -2), Qt::AlignRight | Qt::AlignBottom,
               QString::number(extent_.right(), 'g', 2));
    if (!traj_ || traj_->empty() || step_ < 0) {
        p.drawText(plot, Qt::AlignCenter, tr("Press Run to sample"));
        return;
    }
    const int B = traj_->batch();
    p.setClipRect(plot);
    if (showPaths_ && step_ > 0) {
        // At most ~160 vertices per path: at 1000 steps the jagged DDPM paths
        // stay jagged, and a redraw stays a few milliseconds.
        const int stride = std::max(1, step_ / 160);
        const int nPaths = std::min(B, kMaxPaths);
        QColor c = color_;
        c.setAlphaF(nPaths > 50 ? 0.3f : 0.5f);
        p.setPen(QPen(c, 1.0));
        p.setRenderHint(QPainter::Antialiasing, true);
        std::vector<QPointF> pts;
        for (int i = 0; i < nPaths; ++i) {
            pts.clear();
            for (int k = 0; k < step_; k += stride)
                pts.push_back(toPixel(plot, traj_->xtValue(k, 2 * i), traj_->xtValue(k, 2 * i + 1)));
            pts.push_back(toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1)));
            p.drawPolyline(pts.data(), int(pts.size()));
        }
    }
    // Points with a thin outline in the background colour stand out of the paths.
    p.setRenderHint(QPainter::Antialiasing, true);
    const double r = B > 256 ? 2.2 : 3.0;
    p.setPen(QPen(palette().color(QPalette::Base), 0.8));
    p.setBrush(color_.darker(125));
    for (int i = 0; i < B; ++i)
        p.drawEllipse(toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1)), r, r);
}

} // namespace noisetrail::ui
