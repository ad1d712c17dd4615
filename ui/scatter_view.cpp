#include "scatter_view.hpp"

#include "decision_strip.hpp"

#include "noisetrail/metrics.hpp"
#include "noisetrail/trajectory.hpp"
#include "palette.hpp"

#include <QEvent>
#include <QContextMenuEvent>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

ScatterView::ScatterView(QWidget* parent) : QWidget(parent)
{
    setMinimumSize(120, 120);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setToolTip(tr("The batch at the timeline's cursor; lines are each point's path from x_T (right-click: "
                  "paths on/off and how many; click a point: follow its whole path). Shading: the target density."));
    setContextMenuPolicy(Qt::DefaultContextMenu);
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

void ScatterView::setPathCount(int n)
{
    pathCount_ = std::clamp(n, 1, kMaxPaths);
    update();
}

void ScatterView::setHighlighted(int sample)
{
    highlighted_ = sample;
    update();
}

void ScatterView::setScale(double factor)
{
    scale_ = std::clamp(factor, 1.0, 3.0);
    update();
}

int ScatterView::sampleAt(QPointF pixel) const
{
    if (!traj_ || !traj_->hasStart() || step_ < 0)
        return -1;
    const QRectF plot = plotRect();
    int best = -1;
    double bestD = 12.0 * scale_;
    for (int i = 0; i < traj_->batch(); ++i) {
        const QPointF q = toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1));
        const double d = std::hypot(q.x() - pixel.x(), q.y() - pixel.y());
        if (d < bestD) {
            bestD = d;
            best = i;
        }
    }
    return best;
}

void ScatterView::mousePressEvent(QMouseEvent* e)
{
    if (e->button() == Qt::LeftButton) {
        setHighlighted(sampleAt(e->position())); // a click beside every point clears it
        return;
    }
    QWidget::mousePressEvent(e);
}

void ScatterView::contextMenuEvent(QContextMenuEvent* e)
{
    QMenu menu(this);
    QAction* paths = menu.addAction(tr("Show Paths"));
    paths->setCheckable(true);
    paths->setChecked(showPaths_);
    connect(paths, &QAction::toggled, this, &ScatterView::setShowPaths);
    QMenu* count = menu.addMenu(tr("Paths Drawn"));
    for (int n : {10, 25, 50, 100}) {
        QAction* a = count->addAction(tr("%n point(s)", nullptr, n));
        a->setCheckable(true);
        a->setChecked(n == pathCount_);
        connect(a, &QAction::triggered, this, [this, n] {
            setPathCount(n);
            setShowPaths(true);
        });
    }
    QAction* byComponent = menu.addAction(tr("Colour by Component (Decision Time)"));
    byComponent->setCheckable(true);
    byComponent->setChecked(colorByComponent_);
    byComponent->setToolTip(tr("Each path in the colour of the mixture component its x0_hat is assigned to (the most responsible one) at each step"));
    connect(byComponent, &QAction::toggled, this, &ScatterView::setColorByComponent);
    if (highlighted_ >= 0)
        menu.addAction(tr("Stop Following Sample %1").arg(highlighted_ + 1), this, [this] { setHighlighted(-1); });
    menu.exec(e->globalPos());
}

void ScatterView::setMixture(std::shared_ptr<const metrics::GaussianMixture> mixture)
{
    mixture_ = mixture && mixture->dim == 2 ? std::move(mixture) : nullptr;
    update();
}

void ScatterView::setShowCoverage(bool on)
{
    showCoverage_ = on;
    update();
}

void ScatterView::setColorByComponent(bool on)
{
    colorByComponent_ = on;
    update();
}

QColor ScatterView::pathColor(int sample, int step) const
{
    // Mixture runs with metrics label every step from step 0 on: without step 0's
    // labels there are none to find (and no need to search every step for them).
    if (!colorByComponent_ || !traj_ || traj_->empty() || traj_->info(0).metrics.assignment.empty())
        return color_;
    const int label = assignmentAt(*traj_, step, sample);
    return label >= 0 ? classColor(label) : color_;
}

std::vector<ScatterView::ComponentState> ScatterView::componentStates() const
{
    std::vector<ComponentState> out;
    if (!mixture_ || !traj_ || traj_->empty() || step_ < 0)
        return out;
    // The final samples are the last step's x_prev; its x0_hat metrics are the closest stored.
    const int k = std::min(step_, traj_->size() - 1);
    const FrameMetrics& m = traj_->info(k).metrics;
    const int K = mixture_->components();
    if (int(m.componentCounts.size()) != K || int(m.componentNear.size()) != K)
        return out;
    int total = 0;
    for (int c : m.componentCounts)
        total += c;
    for (int c = 0; c < K; ++c) {
        ComponentState s;
        s.share = total > 0 ? double(m.componentCounts[std::size_t(c)]) / total : 0.0;
        s.expected = mixture_->weights[std::size_t(c)];
        s.covered = m.componentNear[std::size_t(c)] > 0;
        out.push_back(s);
    }
    return out;
}

QColor ScatterView::coverageColor(const ComponentState& c)
{
    if (!c.covered)
        return QColor(214, 39, 40); // not covered: red
    // Covered: amber when holding far less than its weight, green from about its weight on.
    const double r = c.expected > 0 ? std::clamp(c.share / c.expected, 0.0, 1.0) : 1.0;
    const QColor lo(230, 150, 0), hi(30, 150, 60);
    const double u = std::clamp((r - 0.25) / 0.6, 0.0, 1.0);
    return QColor::fromRgbF(float(lo.redF() + (hi.redF() - lo.redF()) * u),
                            float(lo.greenF() + (hi.greenF() - lo.greenF()) * u),
                            float(lo.blueF() + (hi.blueF() - lo.blueF()) * u));
}

void ScatterView::drawCoverage(QPainter& p, const QRectF& plot) const
{
    const std::vector<ComponentState> states = componentStates();
    if (states.empty())
        return;
    p.save();
    p.setRenderHint(QPainter::Antialiasing, true);
    const double pxPerUnit = plot.width() / extent_.width();
    int covered = 0;
    for (std::size_t c = 0; c < states.size(); ++c) {
        const ComponentState& s = states[c];
        covered += s.covered ? 1 : 0;
        const QPointF centre = toPixel(plot, mixture_->means[2 * c], mixture_->means[2 * c + 1]);
        const double r = std::max(6.0, 3.0 * mixture_->stds[c] * pxPerUnit);
        QColor col = coverageColor(s);
        // Ring: the 3-std circle; its width grows with the component's share of the batch.
        const double w = 1.0 + 2.5 * std::min(1.0, s.expected > 0 ? s.share / s.expected : s.share);
        p.setPen(QPen(col, w));
        QColor fill = col;
        fill.setAlphaF(0.12f);
        p.setBrush(fill);
        p.drawEllipse(centre, r, r);
        // Share label outside the ring, away from the origin.
        const double mx = mixture_->means[2 * c], my = mixture_->means[2 * c + 1];
        const double len = std::hypot(mx, my);
        const QPointF dir = len > 1e-9 ? QPointF(mx / len, -my / len) : QPointF(0, -1);
        const QPointF at = centre + dir * (r + 11);
        p.setPen(col.darker(115));
        QFont f = font();
        f.setPointSizeF(f.pointSizeF() * 0.8);
        p.setFont(f);
        p.drawText(QRectF(at.x() - 22, at.y() - 8, 44, 16), Qt::AlignCenter,
                   QStringLiteral("%1%").arg(100.0 * s.share, 0, 'f', 0));
    }
    // Legend, top left.
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.8);
    p.setFont(f);
    const QFontMetricsF fm(f);
    const QString head = tr("x0_hat share per component: %1 of %2 covered").arg(covered).arg(states.size());
    const QString items[3] = {tr("none within 3 std"), tr("< weight"), tr("\u2248 weight")};
    const ComponentState samples[3] = {{0, 1, false}, {0.3, 1, true}, {1, 1, true}};
    double x = plot.left() + 6, y = plot.top() + 4;
    const double lh = fm.height();
    double wItems = 0;
    for (const QString& it : items)
        wItems += 14 + fm.horizontalAdvance(it) + 8;
    const double boxW = std::max(fm.horizontalAdvance(head), wItems) + 10;
    QColor bg = palette().color(QPalette::Base);
    bg.setAlphaF(0.8f);
    p.setPen(Qt::NoPen);
    p.setBrush(bg);
    p.drawRoundedRect(QRectF(x - 3, y - 1, boxW, 2 * lh + 4), 3, 3);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QPointF(x, y + fm.ascent()), head);
    y += lh;
    for (int i = 0; i < 3; ++i) {
        const QColor c = coverageColor(samples[i]);
        p.setPen(QPen(c, 2.2));
        p.setBrush(Qt::NoBrush);
        p.drawEllipse(QPointF(x + 5, y + lh / 2 + 1), 4.5, 4.5);
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QPointF(x + 14, y + fm.ascent() + 1), items[i]);
        x += 14 + fm.horizontalAdvance(items[i]) + 8;
    }
    p.restore();
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
    // Ticks at the integers along the bottom and left edges, labelled inside.
    {
        QFont tf = font();
        tf.setPointSizeF(tf.pointSizeF() * 0.8);
        p.setFont(tf);
        const QColor tick = palette().color(QPalette::Text);
        p.setPen(QPen(tick, scale_));
        const double len = 4 * scale_;
        for (int v = int(std::ceil(extent_.left())); v <= int(std::floor(extent_.right())); ++v) {
            const QPointF at = toPixel(plot, v, extent_.top());
            p.drawLine(QPointF(at.x(), plot.bottom()), QPointF(at.x(), plot.bottom() - len));
            if (v != int(std::ceil(extent_.left())))
                p.drawText(QRectF(at.x() - 20, plot.bottom() - len - 16 * scale_, 40, 14 * scale_),
                           Qt::AlignHCenter | Qt::AlignBottom, QString::number(v));
        }
        for (int v = int(std::ceil(extent_.top())); v <= int(std::floor(extent_.bottom())); ++v) {
            const QPointF at = toPixel(plot, extent_.left(), v);
            p.drawLine(QPointF(plot.left(), at.y()), QPointF(plot.left() + len, at.y()));
            if (v != int(std::ceil(extent_.top())))
                p.drawText(QRectF(plot.left() + len + 2, at.y() - 8 * scale_, 30 * scale_, 16 * scale_),
                           Qt::AlignLeft | Qt::AlignVCenter, QString::number(v));
        }
        p.setFont(font());
    }
    p.setPen(palette().color(QPalette::PlaceholderText));
    // x_T is there the moment Run is pressed, before the first step.
    if (!traj_ || !traj_->hasStart() || step_ < 0) {
        p.drawText(plot, Qt::AlignCenter, tr("Press Run to sample"));
        return;
    }
    const int B = traj_->batch();
    p.setClipRect(plot);
    if (showPaths_ && step_ > 0) {
        // At most ~160 vertices per path: at 1000 steps the jagged DDPM paths
        // stay jagged, and a redraw stays a few milliseconds.
        const int stride = std::max(1, step_ / 160);
        const int nPaths = std::min(B, pathCount_);
        // Strong enough to read on white and on a dark base (3:1, palette.hpp).
        const float alpha = pathAlpha(nPaths);
        QColor c = color_;
        c.setAlphaF(alpha);
        p.setPen(QPen(c, 1.2 * scale_));
        p.setRenderHint(QPainter::Antialiasing, true);
        std::vector<QPointF> pts;
        std::vector<int> at; // the step of each vertex
        for (int i = 0; i < nPaths; ++i) {
            pts.clear();
            at.clear();
            for (int k = 0; k < step_; k += stride) {
                pts.push_back(toPixel(plot, traj_->xtValue(k, 2 * i), traj_->xtValue(k, 2 * i + 1)));
                at.push_back(k);
            }
            pts.push_back(toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1)));
            at.push_back(step_);
            if (!colorByComponent_) {
                p.drawPolyline(pts.data(), int(pts.size()));
                continue;
            }
            // Decision time: one polyline per run of vertices whose segments share a component.
            std::size_t from = 0;
            while (from + 1 < pts.size()) {
                QColor col = pathColor(i, at[from]);
                std::size_t to = from + 1;
                while (to + 1 < pts.size() && pathColor(i, at[to]) == col)
                    ++to;
                col.setAlphaF(alpha);
                p.setPen(QPen(col, 1.2 * scale_));
                p.drawPolyline(pts.data() + from, int(to - from + 1));
                from = to;
            }
        }
    }
    // Points with a thin outline in the background colour stand out of the paths.
    p.setRenderHint(QPainter::Antialiasing, true);
    const double r = (B > 256 ? 2.2 : 3.0) * scale_;
    p.setPen(QPen(palette().color(QPalette::Base), 0.8 * scale_));
    p.setBrush(color_);
    for (int i = 0; i < B; ++i) {
        if (colorByComponent_)
            p.setBrush(pathColor(i, step_));
        p.drawEllipse(toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1)), r, r);
    }
    if (highlighted_ >= 0 && highlighted_ < B) {
        // The followed sample: its whole path, bold, in the text colour, over everything.
        const int i = highlighted_;
        std::vector<QPointF> pts;
        for (int k = 0; k <= step_; ++k)
            pts.push_back(toPixel(plot, traj_->xtValue(k, 2 * i), traj_->xtValue(k, 2 * i + 1)));
        p.setPen(QPen(palette().color(QPalette::Text), 2.2 * scale_));
        p.setBrush(Qt::NoBrush);
        p.drawPolyline(pts.data(), int(pts.size()));
        p.setBrush(color_);
        p.drawEllipse(pts.back(), 2 * r, 2 * r);
    }
    if (showCoverage_)
        drawCoverage(p, plot);
}

} // namespace noisetrail::ui
