#include "scatter_view.hpp"

#include "decision_strip.hpp"
#include "equation_view.hpp"

#include "noisetrail/metrics.hpp"
#include "noisetrail/trajectory.hpp"
#include "palette.hpp"

#include <QEvent>
#include <QContextMenuEvent>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QAbstractTextDocumentLayout>
#include <QTextDocument>

#include <functional>
#include <memory>
#include <QFontMetricsF>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

namespace {
constexpr double kLegendPad = 4; // between the legend's box and its text
} // namespace

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
    try {
        for (int i = 0; i < traj_->batch(); ++i) {
            const QPointF q = toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1));
            const double d = std::hypot(q.x() - pixel.x(), q.y() - pixel.y());
            if (d < bestD) {
                bestD = d;
                best = i;
            }
        }
    } catch (const InputError&) { // a damaged frame: the plot says so (paintEvent)
        return -1;
    }
    return best;
}

void ScatterView::mousePressEvent(QMouseEvent* e)
{
    if (e->button() == Qt::LeftButton) {
        Q_EMIT followRequested(sampleAt(e->position())); // a click beside every point clears it
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
        QAction* a = count->addAction(n == 1 ? tr("1 point") : tr("%1 points").arg(n));
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
        menu.addAction(tr("Stop Following Sample %1").arg(highlighted_ + 1), this, [this] { Q_EMIT followRequested(-1); });
    menu.exec(e->globalPos());
}

void ScatterView::setMixture(std::shared_ptr<const metrics::GaussianMixture> mixture)
{
    mixture_ = mixture && mixture->dim == 2 ? std::move(mixture) : nullptr;
    update();
}

void ScatterView::setFieldArrows(std::shared_ptr<const FieldArrows> field)
{
    field_ = std::move(field);
    update();
}

void ScatterView::drawField(QPainter& p, const QRectF& plot) const
{
    if (!field_ || field_->points.empty())
        return;
    const auto& a = field_->arrows;
    const std::size_t n = a.size() / 2;
    // Length scale from the field itself: the 90th-percentile arrow spans most of a grid
    // cell, so strong and weak regions both read; longer ones are capped at 1.5 cells.
    std::vector<double> len(n);
    for (std::size_t i = 0; i < n; ++i)
        len[i] = std::hypot(a[2 * i], a[2 * i + 1]);
    std::vector<double> sorted = len;
    const std::size_t q = std::min(n - 1, std::size_t(0.9 * double(n)));
    std::nth_element(sorted.begin(), sorted.begin() + std::ptrdiff_t(q), sorted.end());
    const double cell = field_->request.extent.width() / std::max(1, field_->request.n);
    const double k = sorted[q] > 0 ? 0.8 * cell / sorted[q] : 0.0;
    QColor ink = palette().color(QPalette::Text);
    ink.setAlphaF(0.45f);
    p.save();
    p.setRenderHint(QPainter::Antialiasing, true);
    p.setPen(QPen(ink, 1.0 * scale_));
    for (std::size_t i = 0; i < n; ++i) {
        const double l = std::min(len[i] * k, 1.5 * cell);
        if (l <= 1e-9 || len[i] <= 0)
            continue;
        const double dx = a[2 * i] / len[i] * l, dy = a[2 * i + 1] / len[i] * l;
        const double x = field_->points[2 * i], y = field_->points[2 * i + 1];
        const QPointF from = toPixel(plot, x, y), to = toPixel(plot, x + dx, y + dy);
        p.drawLine(from, to);
        // A small head: two strokes back from the tip at +-25 degrees.
        const QPointF d = to - from;
        const double dl = std::hypot(d.x(), d.y());
        if (dl < 3)
            continue;
        const QPointF u = d / dl, v(-u.y(), u.x());
        const double h = std::min(5.0 * scale_, 0.4 * dl);
        p.drawLine(to, to - h * (0.9 * u + 0.42 * v));
        p.drawLine(to, to - h * (0.9 * u - 0.42 * v));
    }
    // What the arrows are, and their scale: lengths are relative to the field itself.
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.8);
    p.setFont(f);
    ink.setAlphaF(0.8f);
    p.setPen(ink);
    const QString what = field_->request.minusCard.isEmpty() ? tr("arrows: \u03b1 x0_hat \u2212 x") : tr("arrows: minus panel 1's field");
    p.drawText(plot.adjusted(6 * scale_, 4 * scale_, -6 * scale_, 0), Qt::AlignRight | Qt::AlignTop,
               tr("%1 \u00b7 90% \u2264 %2").arg(what).arg(sorted[q], 0, 'g', 2));
    p.restore();
}

void ScatterView::setJudgedClass(int c)
{
    judgedClass_ = c;
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
    // With a class, what is expected is p(x | c): its components' weights renormalised.
    const bool byClass = judgedClass_ >= 0 && int(mixture_->classes.size()) == K;
    double classWeight = 0;
    for (int c = 0; c < K && byClass; ++c)
        if (mixture_->classes[std::size_t(c)] == judgedClass_)
            classWeight += mixture_->weights[std::size_t(c)];
    for (int c = 0; c < K; ++c) {
        ComponentState s;
        s.share = total > 0 ? double(m.componentCounts[std::size_t(c)]) / total : 0.0;
        s.expected = mixture_->weights[std::size_t(c)];
        s.covered = m.componentNear[std::size_t(c)] > 0;
        if (byClass) {
            s.judged = mixture_->classes[std::size_t(c)] == judgedClass_;
            s.expected = s.judged && classWeight > 0 ? s.expected / classWeight : 0.0;
        }
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
    const double unit = pxPerUnit(plot);
    const QFont small = legendFont();
    const QFontMetricsF sfm(small);
    p.setFont(small);
    for (std::size_t c = 0; c < states.size(); ++c) {
        const ComponentState& s = states[c];
        const QPointF centre = toPixel(plot, mixture_->means[2 * c], mixture_->means[2 * c + 1]);
        const double r = std::max(6.0, 3.0 * mixture_->stds[c] * unit);
        // Another class's component: grey, never "uncovered"; its share says how many samples strayed there.
        QColor col = s.judged ? coverageColor(s) : QColor(150, 150, 150);
        if (!s.judged && s.share == 0) {
            p.setPen(QPen(col, 1.0, Qt::DashLine));
            p.setBrush(Qt::NoBrush);
            p.drawEllipse(centre, r, r);
            continue;
        }
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
        const QPointF at = centre + dir * (r + sfm.height() * 0.9);
        p.setPen(col.darker(115));
        const QString share = QStringLiteral("%1%").arg(100.0 * s.share, 0, 'f', 0);
        const QSizeF size(sfm.horizontalAdvance(share) + 2, sfm.height());
        p.drawText(QRectF(at - QPointF(size.width() / 2, size.height() / 2), size), Qt::AlignCenter, share);
    }
    // The legend, beside the data (layout()): a heading and one ring per colour.
    const QRectF box = layout().legend;
    if (box.isEmpty()) {
        p.restore();
        return;
    }
    const QFont f = legendFont();
    p.setFont(f);
    const QFontMetricsF fm(f);
    const QStringList lines = legendLines();
    const ComponentState samples[3] = {{0, 1, false}, {0.3, 1, true}, {1, 1, true}};
    QColor bg = palette().color(QPalette::Base);
    bg.setAlphaF(0.8f);
    p.setPen(Qt::NoPen);
    p.setBrush(bg);
    p.drawRoundedRect(box, 3, 3);
    const double lh = fm.height(), icon = fm.height();
    double y = box.top() + kLegendPad;
    for (int i = 0; i < lines.size(); ++i, y += lh) {
        double x = box.left() + kLegendPad;
        if (i >= 2) { // the three colours (and grey), each with its ring
            const QColor c = i < 5 ? coverageColor(samples[i - 2]) : QColor(150, 150, 150);
            p.setPen(QPen(c, 2.2 * scale_));
            p.setBrush(Qt::NoBrush);
            p.drawEllipse(QPointF(x + icon / 2, y + lh / 2), icon * 0.32, icon * 0.32);
            x += icon + 2;
        }
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QPointF(x, y + fm.ascent()), lines[i]);
    }
    p.restore();
}

void ScatterView::changeEvent(QEvent* e)
{
    if (e->type() == QEvent::PaletteChange)
        tinted_ = {};
    QWidget::changeEvent(e);
}

QStringList ScatterView::legendLines() const
{
    const std::vector<ComponentState> states = showCoverage_ ? componentStates() : std::vector<ComponentState>{};
    if (states.empty())
        return {};
    int covered = 0, judged = 0;
    for (const ComponentState& s : states) {
        covered += s.judged && s.covered ? 1 : 0;
        judged += s.judged ? 1 : 0;
    }
    // Short lines stacked: the legend fits beside the data of a wide panel or above a tall one.
    QStringList lines{tr("x0_hat share per component"),
                      judged < int(states.size()) ? tr("%1 of class's %2 covered").arg(covered).arg(judged)
                                                  : tr("%1 of %2 covered").arg(covered).arg(states.size()),
                      tr("none within 3 std"), tr("< weight"), tr("\u2248 weight")};
    if (judged < int(states.size()))
        lines << tr("grey: other classes");
    return lines;
}

QFont ScatterView::legendFont() const
{
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.8); // the font is presentation's already: scale_ is for lines and points
    return f;
}

QSizeF ScatterView::legendSize() const
{
    const QStringList lines = legendLines();
    if (lines.isEmpty())
        return {};
    const QFontMetricsF fm(legendFont());
    double w = 0;
    for (int i = 0; i < lines.size(); ++i)
        w = std::max(w, fm.horizontalAdvance(lines[i]) + (i >= 2 ? fm.height() + 2 : 0.0));
    // Rounded up: text drawn at a fractional origin may take a pixel more.
    return {std::ceil(w + 2 * kLegendPad + 1), std::ceil(lines.size() * fm.height() + 2 * kLegendPad)};
}

ScatterView::Layout ScatterView::layout() const
{
    // The plot takes the whole widget but for the legend's strip; one unit is as
    // long on both axes, so the target's square extent sits in its middle and the
    // longer side shows more of the plane (x_T's far points, wide DDPM paths).
    // The legend goes beside the plot in a wide view, above it in a tall one,
    // whichever leaves the larger square for the target; it never covers data.
    const double m = 4, gap = 4, W = width(), H = height();
    const QSizeF leg = legendSize();
    Layout out;
    const QRectF all(m, m, std::max(10.0, W - 2 * m), std::max(10.0, H - 2 * m));
    if (leg.isEmpty()) {
        out.data = all;
        return out;
    }
    const double besideSide = std::min(all.height(), all.width() - gap - leg.width());
    const double aboveSide = std::min(all.width(), all.height() - gap - leg.height());
    if (std::max(besideSide, aboveSide) < 40) { // no room anywhere: over the plot's top left
        out.data = all;
        out.legend = QRectF(all.topLeft() + QPointF(2, 2), leg);
    } else if (besideSide >= aboveSide) {
        out.legend = QRectF(all.topLeft(), leg);
        out.data = all.adjusted(leg.width() + gap, 0, 0, 0);
    } else {
        out.legend = QRectF(all.topLeft(), leg);
        out.data = all.adjusted(0, leg.height() + gap, 0, 0);
    }
    return out;
}

QRectF ScatterView::plotRect() const { return layout().data; }

QRectF ScatterView::legendRect() const { return layout().legend; }

QRectF ScatterView::targetRect() const
{
    const QRectF plot = plotRect();
    return QRectF(toPixel(plot, extent_.left(), extent_.bottom()), toPixel(plot, extent_.right(), extent_.top()));
}

double ScatterView::pxPerUnit(const QRectF& plot) const
{
    return std::min(plot.width() / extent_.width(), plot.height() / extent_.height());
}

QPointF ScatterView::toPixel(const QRectF& plot, double x, double y) const
{
    // Equal units on both axes, the target's extent centred in the plot.
    const double s = pxPerUnit(plot);
    const QPointF c = extent_.center();
    return {plot.center().x() + (x - c.x()) * s, plot.center().y() - (y - c.y()) * s};
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
        p.drawImage(targetRect(), tinted_);
    }
    drawField(p, plot);
    // What the plot shows of the plane (wider than the target's extent on the long side).
    const double unit = pxPerUnit(plot);
    const QPointF mid = extent_.center();
    const double x0 = mid.x() - plot.width() / 2 / unit, x1 = mid.x() + plot.width() / 2 / unit;
    const double y0 = mid.y() - plot.height() / 2 / unit, y1 = mid.y() + plot.height() / 2 / unit;
    // Axes through the origin, for scale.
    p.setPen(QPen(palette().color(QPalette::Mid), 0, Qt::DotLine));
    p.drawLine(toPixel(plot, x0, 0), toPixel(plot, x1, 0));
    p.drawLine(toPixel(plot, 0, y0), toPixel(plot, 0, y1));
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(plot);
    // Ticks along the bottom and left edges, labelled inside: every integer, or
    // every 2nd or 5th when integers would be closer than about three digits. A
    // y label sits just above its tick (beside it, the tick would read as a minus
    // sign); labels that would meet in the bottom left corner are left out.
    {
        QFont tf = font();
        tf.setPointSizeF(tf.pointSizeF() * 0.8); // scaled with the window's font
        p.setFont(tf);
        const QFontMetricsF tfm(tf);
        const double room = 2.5 * tfm.horizontalAdvance(QStringLiteral("-0"));
        const int every = unit >= room ? 1 : 2 * unit >= room ? 2 : 5;
        const QColor tick = palette().color(QPalette::Text);
        p.setPen(QPen(tick, scale_));
        const double len = 4 * scale_, lh = tfm.height();
        const int xFirst = int(std::ceil(x0 / every)) * every, yFirst = int(std::ceil(y0 / every)) * every;
        for (int v = xFirst; v <= x1; v += every) {
            const double x = toPixel(plot, v, 0).x();
            p.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() - len));
            if (x - room / 2 > plot.left() + room) // clear of the y labels
                p.drawText(QRectF(x - room / 2, plot.bottom() - len - lh, room, lh), Qt::AlignHCenter | Qt::AlignBottom,
                           QString::number(v));
        }
        for (int v = yFirst; v <= y1; v += every) {
            const double y = toPixel(plot, 0, v).y();
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.left() + len, y));
            if (y < plot.bottom() - len - lh && y - lh > plot.top()) // clear of the x labels, inside
                p.drawText(QRectF(plot.left() + 2 * scale_, y - lh, room, lh), Qt::AlignLeft | Qt::AlignBottom,
                           QString::number(v));
        }
        p.setFont(font());
    }
    p.setPen(palette().color(QPalette::PlaceholderText));
    // x_T is there the moment Run is pressed, before the first step.
    if (!traj_ || !traj_->hasStart() || step_ < 0) {
        p.drawText(plot, Qt::AlignCenter, tr("Press Run to sample"));
        return;
    }
    p.setClipRect(plot);
    try {
        paintSamples(p, plot);
    } catch (const InputError& e) {
        // A damaged frame of an opened session (Trajectory::decode): said here and, once,
        // by the window's banner (the panel forwards it to the run document).
        p.setClipping(false);
        p.setPen(palette().color(QPalette::Text));
        p.drawText(plot.adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, QString::fromUtf8(e.what()));
        Q_EMIT damaged(QString::fromUtf8(e.what()));
    }
}

void ScatterView::paintSamples(QPainter& p, const QRectF& plot)
{
    const int B = traj_->batch();
    if (showPaths_ && step_ > 0) {
        // At most ~160 vertices per path: at 1000 steps the jagged DDPM paths
        // stay jagged, and a redraw stays a few milliseconds.
        const int stride = std::max(1, step_ / 160);
        const int nPaths = std::min(B, pathCount_);
        // Strong enough to read on white and on a dark base (3:1, palette.hpp).
        const float alpha = pathAlpha(nPaths);
        // Old segments fade: a path's last eighth of steps before the cursor keeps
        // pathAlpha (3:1), earlier ones are ever fainter, a comet's tail. At 1000 DDPM
        // steps the noise-dominated wander of every path through the middle otherwise
        // paints one blob over the target; where the points go stays clear.
        constexpr int kBands = 8;
        const auto bandOf = [&](int k) { return std::min(kBands - 1, k * kBands / std::max(1, step_)); };
        const auto bandAlpha = [&](int b) {
            const double u = double(b + 1) / kBands;
            return float(alpha * (0.06 + 0.94 * u * u * u * u));
        };
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
            // One polyline per run of segments that share a band (and, in decision
            // time, the component their x0_hat is assigned to).
            std::size_t from = 0;
            while (from + 1 < pts.size()) {
                QColor col = colorByComponent_ ? pathColor(i, at[from]) : color_;
                const int band = bandOf(at[from]);
                std::size_t to = from + 1;
                while (to + 1 < pts.size() && bandOf(at[to]) == band &&
                       (!colorByComponent_ || pathColor(i, at[to]) == col))
                    ++to;
                col.setAlphaF(bandAlpha(band));
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
    // A huge batch (a saved run of 10^6 points) draws an even subset: every point
    // froze the window for 6 s a paint; the corner says how many are drawn.
    const int stride = (B + kMaxPoints - 1) / kMaxPoints;
    for (int i = 0; i < B; i += stride) {
        if (colorByComponent_)
            p.setBrush(pathColor(i, step_));
        p.drawEllipse(toPixel(plot, traj_->xtValue(step_, 2 * i), traj_->xtValue(step_, 2 * i + 1)), r, r);
    }
    if (stride > 1) {
        p.setPen(palette().color(QPalette::Text));
        p.drawText(plot.adjusted(4, 4, -4, -4), Qt::AlignRight | Qt::AlignBottom,
                   tr("every %1th point drawn: %2 of %3").arg(stride).arg((B + stride - 1) / stride).arg(B));
    }
    drawExactPaths(p, plot);
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
    drawConstruction(p, plot);
    if (showCoverage_) {
        p.setClipping(false); // share labels of components near the edge stay whole
        drawCoverage(p, plot);
    }
}

// ---- Step construction and the exact path (issue 22) ------------------------------------------

namespace {

/// One colour per quantity of the terms (Okabe-Ito hues, distinct from the panel colours'
/// use as fills): what a segment adds is told by its colour in every sampler.
QColor quantityColor(Quantity q, const QPalette& pal)
{
    switch (q) {
    case Quantity::Xt: return pal.color(QPalette::Text);
    case Quantity::X0Hat: return QColor(213, 94, 0);
    case Quantity::EpsHat: return QColor(0, 114, 178);
    case Quantity::Noise: return QColor(204, 121, 167);
    case Quantity::X0HatLast: return QColor(230, 159, 0);
    case Quantity::EpsHatPredictor: return QColor(0, 158, 115);
    case Quantity::Defined: break;
    }
    return pal.color(QPalette::Text);
}

void drawArrow(QPainter& p, QPointF a, QPointF b, double head)
{
    p.drawLine(a, b);
    const double len = std::hypot(b.x() - a.x(), b.y() - a.y());
    if (len < 1.5 * head) // too short for a head: the line says it
        return;
    const double ux = (b.x() - a.x()) / len, uy = (b.y() - a.y()) / len;
    const QPointF l(b.x() - head * (ux + 0.45 * uy), b.y() - head * (uy - 0.45 * ux));
    const QPointF r(b.x() - head * (ux - 0.45 * uy), b.y() - head * (uy + 0.45 * ux));
    const QPen pen = p.pen();
    p.setPen(Qt::NoPen);
    p.setBrush(pen.color());
    p.drawPolygon(QPolygonF{b, l, r});
    p.setPen(pen);
    p.setBrush(Qt::NoBrush);
}

/// A term's symbol as the legend writes it: the Reverse step tab's rich text.
QString termLabel(const Term& t) { return richText(t.shown_symbol()); }

} // namespace

void ScatterView::setConstruction(StepConstructionPtr construction)
{
    construction_ = std::move(construction);
    update();
}

void ScatterView::setExactPath(OdeResultPtr result)
{
    exactPath_ = std::move(result);
    update();
}

QPointF ScatterView::constructionEndPixel() const
{
    if (!construction_)
        return {};
    const auto end = construction_->geometry.end();
    return toPixel(plotRect(), end[0], end[1]);
}

QStringList ScatterView::constructionLegend() const
{
    QStringList lines;
    if (!construction_)
        return lines;
    const StepGeometry& g = construction_->geometry;
    lines << tr("step %1 of sample %2 (%3)")
                 .arg(g.step + 1)
                 .arg(construction_->request.sample + 1)
                 .arg(QString::fromStdString(sampler_info(construction_->request.config.sampler).title).toHtmlEscaped());
    for (const auto& seg : g.update)
        lines << QStringLiteral("%1 %2").arg(termLabel(seg.term), QString::fromStdString(seg.term.name).toHtmlEscaped());
    if (!g.predictor.empty())
        lines << tr("predictor x\u2032, then %1 there (a 2nd model call)").arg(richText("\\eps\\prime"));
    if (g.noise_from_x_prev)
        lines << tr("z recovered from the stored x<sub>t′</sub>");
    return lines;
}

void ScatterView::drawConstruction(QPainter& p, const QRectF& plot) const
{
    if (!construction_ || construction_->geometry.x_t.size() != 2)
        return;
    const StepGeometry& g = construction_->geometry;
    const QPalette pal = palette();
    // Rich text (the Reverse step tab's symbols) on one line, in `f`, top left at `at`.
    const auto richLine = [&](const QString& html, const QFont& f) {
        auto doc = std::make_unique<QTextDocument>();
        doc->setDefaultFont(f);
        doc->setDocumentMargin(0);
        doc->setHtml(QStringLiteral("<span style=\"white-space:nowrap\">%1</span>").arg(html));
        doc->setTextWidth(doc->idealWidth() + 1);
        return doc;
    };
    const auto drawRich = [&](QTextDocument& doc, QPointF at, const QColor& c) {
        p.save();
        p.translate(at);
        QAbstractTextDocumentLayout::PaintContext ctx;
        ctx.palette.setColor(QPalette::Text, c);
        doc.documentLayout()->draw(&p, ctx);
        p.restore();
    };
    // The scaled term (the first, c q: a point q drawn towards the origin) starts at q itself.
    const auto& first = g.update.front();
    std::vector<double> firstFrom = first.from;
    if (first.term.quantity == Quantity::Xt)
        firstFrom = g.x_t;
    else if (first.term.quantity == Quantity::X0Hat)
        firstFrom = g.x0_hat;
    double cEps = 0; // the predictor's coefficient of eps_hat: eps' is drawn with it
    for (const auto& seg : g.predictor)
        if (seg.term.quantity == Quantity::EpsHat)
            cEps = seg.term.coefficient;
    std::vector<double> epsTip;
    if (!g.predictor.empty() && g.eps_predictor.size() == 2 && cEps != 0)
        epsTip = {g.predictor.back().to[0] + cEps * g.eps_predictor[0], g.predictor.back().to[1] + cEps * g.eps_predictor[1]};

    // Everything drawn, for the magnifier's frame.
    std::vector<std::vector<double>> pts{g.x_t, g.x0_hat, firstFrom, g.end()};
    for (const auto& seg : g.update)
        pts.push_back(seg.to);
    for (const auto& seg : g.predictor)
        if (seg.term.quantity != Quantity::Xt)
            pts.push_back(seg.to);
    if (!g.x0_hat_last.empty())
        pts.push_back(g.x0_hat_last);
    if (!epsTip.empty())
        pts.push_back(epsTip);

    // One drawing of the construction through a map from data to pixels, with or without labels.
    const auto drawWith = [&](const std::function<QPointF(const std::vector<double>&)>& px, double k, bool labels) {
        const double w = 2.0 * k, head = 8.0 * k;
        QFont lf = font();
        lf.setPointSizeF(lf.pointSizeF() * 0.9); // presentation already enlarges the window's font
        lf.setBold(true);
        std::vector<QRectF> taken; // labels already placed: the next one moves down
        const auto label = [&](QPointF at, const QString& rich, const QColor& c) {
            if (!labels)
                return;
            auto doc = richLine(rich, lf);
            const QSizeF sz = doc->size();
            // Up right of the anchor, else down right, up left, down left: the first that is free.
            const QPointF offsets[] = {{4 * k, -sz.height() - k}, {4 * k, k}, {-4 * k - sz.width(), -sz.height() - k},
                                       {-4 * k - sz.width(), k}};
            QRectF box;
            for (const QPointF& o : offsets) {
                box = QRectF(at + o, sz);
                bool clash = false;
                for (const QRectF& r : taken)
                    clash = clash || r.intersects(box);
                if (!clash)
                    break;
            }
            taken.push_back(box);
            QColor bg = pal.color(QPalette::Base);
            bg.setAlphaF(0.75f);
            p.fillRect(box.adjusted(-1, 0, 1, 0), bg);
            drawRich(*doc, box.topLeft(), c);
        };
        // The predictor (Heun's Euler step), dashed, then the second evaluation eps' at x'
        // with the Euler step's own coefficient (the direction the corrector averages in).
        if (!g.predictor.empty()) {
            for (const auto& seg : g.predictor) {
                if (seg.term.quantity == Quantity::Xt) // x_t's rescaling is the update's first segment too
                    continue;
                p.setPen(QPen(quantityColor(seg.term.quantity, pal), 0.8 * w, Qt::DashLine));
                drawArrow(p, px(seg.from), px(seg.to), head);
            }
            const QPointF xp = px(g.predictor.back().to);
            if (!epsTip.empty()) {
                p.setPen(QPen(quantityColor(Quantity::EpsHatPredictor, pal), 0.8 * w, Qt::DashLine));
                drawArrow(p, xp, px(epsTip), head);
            }
            p.setPen(QPen(pal.color(QPalette::Text), 1.2 * k));
            p.setBrush(pal.color(QPalette::Base));
            p.drawRect(QRectF(xp - QPointF(4 * k, 4 * k), QSizeF(8 * k, 8 * k)));
            p.setBrush(Qt::NoBrush);
            label(xp, QStringLiteral("x\u2032"), pal.color(QPalette::Text));
        }
        const auto diamond = [&](const std::vector<double>& v, Quantity q, const QString& text) {
            if (v.size() != 2)
                return;
            const QPointF c = px(v);
            const double r = 5 * k;
            p.setPen(QPen(quantityColor(q, pal), 1.6 * k));
            p.setBrush(pal.color(QPalette::Base));
            p.drawPolygon(QPolygonF{c + QPointF(0, -r), c + QPointF(r, 0), c + QPointF(0, r), c + QPointF(-r, 0)});
            p.setBrush(Qt::NoBrush);
            label(c, text, quantityColor(q, pal));
        };
        diamond(g.x0_hat, Quantity::X0Hat, richText("\\xzero"));
        diamond(g.x0_hat_last, Quantity::X0HatLast, richText("\\xzero^{last}"));
        // The update's partial sums: the first term scales its point towards the origin
        // (dotted, from the point), each later term adds its arrow.
        for (std::size_t n = 0; n < g.update.size(); ++n) {
            const auto& seg = g.update[n];
            const QColor c = quantityColor(seg.term.quantity, pal);
            if (n == 0) {
                p.setPen(QPen(c, 0.7 * w, Qt::DotLine));
                drawArrow(p, px(firstFrom), px(seg.to), 0.8 * head);
            } else {
                p.setPen(QPen(c, w));
                drawArrow(p, px(seg.from), px(seg.to), head);
            }
            // The first term scales its point: labelled by the factor ("x 1.26"), the others by their symbol.
            label((px(n == 0 ? firstFrom : seg.from) + px(seg.to)) / 2,
                  n == 0 && firstFrom != seg.from
                      ? QStringLiteral("\u00d7%1").arg(seg.term.coefficient, 0, 'g', 3)
                      : termLabel(seg.term),
                  c);
        }
        const QPointF end = px(g.end());
        p.setPen(QPen(pal.color(QPalette::Text), 1.6 * k));
        p.drawEllipse(end, 6 * k, 6 * k);
        label(end, richText("\\xprev"), pal.color(QPalette::Text));
        const QPointF start = px(g.x_t);
        p.setPen(QPen(pal.color(QPalette::Text), 1.4 * k));
        p.drawEllipse(start, 4 * k, 4 * k);
        label(start, richText("\\xt"), pal.color(QPalette::Text));
    };

    p.save();
    p.setRenderHint(QPainter::Antialiasing, true);
    // Magnified in a box at the bottom right, with every label, where the step is small on
    // the whole plane (late steps: a few pixels); in the plot itself, labelled, otherwise.
    // Equal units on both axes, like the plot.
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (const auto& v : pts) {
        x0 = std::min(x0, v[0]);
        x1 = std::max(x1, v[0]);
        y0 = std::min(y0, v[1]);
        y1 = std::max(y1, v[1]);
    }
    // The room beside the data (the plot is wider than the target's square), at least 45% of the height.
    const double side =
        std::min(plot.height() - 8 * scale_, std::max(0.45 * plot.height(), (plot.width() - plot.height()) / 2 - 8 * scale_));
    const QRectF inset(plot.right() - side - 4 * scale_, plot.bottom() - side - 4 * scale_, side, side);
    const double span = std::max({x1 - x0, y1 - y0, 1e-9});
    const double unit = (side - 2 * 2.5 * QFontMetricsF(font()).height()) / span; // room for the labels at the edges
    const QPointF mid((x0 + x1) / 2, (y0 + y1) / 2);
    QColor bg = pal.color(QPalette::Base);
    bg.setAlphaF(0.93f);
    const bool magnify = unit / pxPerUnit(plot) >= 1.3;
    drawWith([&](const std::vector<double>& v) { return toPixel(plot, v[0], v[1]); }, scale_, !magnify);
    if (magnify) {
        p.setPen(QPen(pal.color(QPalette::Mid), 1));
        p.setBrush(pal.color(QPalette::Base)); // opaque: the plot's ticks would read as the step's
        p.drawRect(inset);
        p.setBrush(Qt::NoBrush);
        {
            QFont cf = font();
            cf.setPointSizeF(cf.pointSizeF() * 0.8);
            p.setFont(cf);
            p.setPen(pal.color(QPalette::Text));
            const double zoom = unit / pxPerUnit(plot);
            p.drawText(inset.adjusted(4 * scale_, 2 * scale_, -4 * scale_, -2 * scale_), Qt::AlignLeft | Qt::AlignTop,
                       tr("the step, \u00d7%1").arg(zoom >= 10 ? QString::number(zoom, 'f', 0) : QString::number(zoom, 'f', 1)));
        }
        p.setClipRect(inset.adjusted(1, 1, -1, -1));
        drawWith(
            [&](const std::vector<double>& v) {
                return QPointF(inset.center().x() + (v[0] - mid.x()) * unit, inset.center().y() - (v[1] - mid.y()) * unit);
            },
            scale_, true);
        p.setClipping(false);
    }

    // The legend, top left of the plot: what each colour adds, in the sampler's words.
    const QStringList lines = constructionLegend();
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.85); // presentation already enlarges the window's font
    const double sw = 14 * scale_, gap = 2 * scale_;
    std::vector<std::unique_ptr<QTextDocument>> docs;
    double width = 0, height = 0;
    for (const QString& l : lines) {
        docs.push_back(richLine(l, f));
        width = std::max(width, docs.back()->size().width());
        height += docs.back()->size().height() + gap;
    }
    // Top left, unless the construction is there: then the first free corner of the others.
    QRectF drawn;
    for (const auto& v : pts)
        drawn |= QRectF(toPixel(plot, v[0], v[1]), QSizeF(1, 1));
    const QSizeF legendSize(width + sw + 16 * scale_, height + 6 * scale_);
    const double m = 6 * scale_;
    QRectF box;
    for (const QPointF corner : {QPointF(plot.left() + m, plot.top() + m),
                                 QPointF(plot.left() + m, plot.bottom() - m - legendSize.height()),
                                 QPointF(plot.right() - m - legendSize.width(), plot.top() + m)}) {
        box = QRectF(corner, legendSize);
        if (!box.intersects(drawn.adjusted(-8, -8, 8, 8)))
            break;
    }
    p.setPen(QPen(pal.color(QPalette::Mid), 1));
    p.setBrush(bg);
    p.drawRect(box);
    p.setBrush(Qt::NoBrush);
    double y = box.top() + 3 * scale_;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const double lh = docs[i]->size().height();
        QColor c = Qt::transparent;
        Qt::PenStyle style = Qt::SolidLine;
        if (i >= 1 && i - 1 < g.update.size()) {
            c = quantityColor(g.update[i - 1].term.quantity, pal);
            style = i == 1 ? Qt::DotLine : Qt::SolidLine;
        } else if (i >= 1 && !g.predictor.empty() && i - 1 == g.update.size()) {
            c = quantityColor(Quantity::EpsHatPredictor, pal);
            style = Qt::DashLine;
        }
        p.setPen(QPen(c, 2 * scale_, style));
        p.drawLine(QPointF(box.left() + 5 * scale_, y + lh / 2), QPointF(box.left() + 5 * scale_ + sw, y + lh / 2));
        drawRich(*docs[i], QPointF(box.left() + 10 * scale_ + sw, y), pal.color(QPalette::Text));
        y += lh + gap;
    }
    p.restore();
}

void ScatterView::drawExactPaths(QPainter& p, const QRectF& plot) const
{
    if (!exactPath_ || !traj_ || exactPath_->request.store != traj_ || exactPath_->path.empty())
        return;
    const auto& path = exactPath_->path;
    const int B = traj_->batch();
    const int last = std::min(step_, int(path.size())); // the ODE's states up to the cursor
    const auto& x_T = exactPath_->request.x_T;
    QColor c = palette().color(QPalette::Text);
    p.save();
    p.setRenderHint(QPainter::Antialiasing, true);
    const auto drawOne = [&](int i, double width, float alpha) {
        std::vector<QPointF> pts{toPixel(plot, x_T[2 * i], x_T[2 * i + 1])};
        for (int k = 0; k < last; ++k)
            pts.push_back(toPixel(plot, path[k][2 * i], path[k][2 * i + 1]));
        QColor col = c;
        col.setAlphaF(alpha);
        p.setPen(QPen(col, width, Qt::DashLine));
        p.drawPolyline(pts.data(), int(pts.size()));
    };
    for (int i = 0; i < std::min(B, pathCount_); ++i)
        drawOne(i, 1.2 * scale_, 0.55f);
    if (highlighted_ >= 0 && highlighted_ < B)
        drawOne(highlighted_, 2.2 * scale_, 0.9f);
    // Say what the dashes are, bottom left.
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    p.setFont(f);
    p.setPen(palette().color(QPalette::Text));
    // Above the x axis' tick labels (they sit inside the plot's bottom edge).
    const double above = 1.4 * QFontMetricsF(f).height() + 4 * scale_;
    p.drawText(plot.adjusted(30 * scale_, 4, -4, -above), Qt::AlignLeft | Qt::AlignBottom, // clear of the y ticks
               tr("- - exact ODE path (%1)").arg(exactPath_->request.exactCard == exactPath_->request.card
                                                     ? tr("this card")
                                                     : tr("panel 1's exact card")));
    p.restore();
}

} // namespace noisetrail::ui
