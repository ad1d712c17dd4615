#include "timeline_bar.hpp"

#include "icons.hpp"

#include <QHBoxLayout>
#include <QFontMetrics>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QSpinBox>
#include <QStyle>
#include <QTimer>
#include <QToolButton>

#include <algorithm>
#include <cmath>
#include <set>

namespace noisetrail::ui {

TimelineBar::TimelineBar(QWidget* parent) : QWidget(parent)
{
    setObjectName("timeline");
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(4, 2, 4, 2);
    row->setSpacing(2);
    const QColor ink = palette().color(QPalette::ButtonText);
    auto button = [&](Glyph icon, const QString& tip, const char* name) {
        auto* b = new QToolButton;
        b->setIcon(glyphIcon(icon, ink));
        b->setToolTip(tip);
        b->setObjectName(name);
        b->setAutoRaise(true);
        b->setFocusPolicy(Qt::NoFocus);
        row->addWidget(b);
        return b;
    };
    connect(button(Glyph::ToStart, tr("Jump to the start, t = T-1 (Home)"), "toStart"),
            &QToolButton::clicked, this, &TimelineBar::toStart);
    connect(button(Glyph::StepBack, tr("Step back (Left)"), "stepBack"), &QToolButton::clicked, this,
            &TimelineBar::stepBack);
    play_ = button(Glyph::Play, tr("Play / pause the denoising (Space)"), "play");
    connect(play_, &QToolButton::clicked, this, &TimelineBar::togglePlay);
    connect(button(Glyph::StepForward, tr("Step forward (Right)"), "stepForward"), &QToolButton::clicked,
            this, &TimelineBar::stepForward);
    connect(button(Glyph::ToEnd, tr("Jump to the final samples (End)"), "toEnd"),
            &QToolButton::clicked, this, &TimelineBar::toEnd);
    track_ = new TimelineTrack(this);
    row->addWidget(track_, 1);
    readout_ = new QLabel;
    readout_->setObjectName("timelineReadout");
    readout_->setToolTip(tr("The model calls under the cursor, and the step and noise level panel 1 shows there; "
                            "every other panel shows its last step within as many calls"));
    readout_->hide(); // the model-calls axis only
    row->addWidget(readout_);
    speed_ = new QSpinBox;
    speed_->setObjectName("speed");
    speed_->setRange(1, 2000);
    speed_->setValue(60);
    speed_->setSuffix(tr(" steps/s"));
    speed_->setAccelerated(true);
    speed_->setToolTip(tr("Playback speed: timeline stops per second"));
    row->addWidget(speed_);

    timer_ = new QTimer(this);
    timer_->setTimerType(Qt::PreciseTimer);
    connect(timer_, &QTimer::timeout, this, &TimelineBar::advance);
}

void TimelineBar::setTrainSteps(int T)
{
    mapping_.trainSteps = std::max(1, T);
    cursor_ = mapping_.clampT(cursor_);
    track_->updateMapping();
    track_->update();
}

void TimelineBar::setAxis(const NoiseAxis& axis)
{
    if (axis.reference == axis_.reference && axis.mixed == axis_.mixed)
        return;
    axis_ = axis;
    if (axis_.reference && axis_.reference->train_steps() != mapping_.trainSteps)
        setTrainSteps(axis_.reference->train_steps());
    track_->updateMapping(); // the tick labels' width sets the margins
    track_->update();
}

void TimelineBar::setPanels(std::vector<PanelMarks> panels)
{
    const bool rows = panels.size() != panels_.size();
    panels_ = std::move(panels);
    if (rows) // one row of ticks per panel: the height changes
        track_->updateGeometry();
    if (nfe_) {
        setCursorCalls(cursorCalls_); // the end may have moved; panel 1's level at the calls too
        updateReadout();
        track_->updateMapping(); // the calls' labels set the margins
    }
    track_->update();
}

void TimelineBar::setCursor(int t)
{
    if (nfe_) // code speaks in levels (a run's start, its end, the newest step): panel 1's calls there
        return setCursorCalls(callsOfT(mapping_.clampT(t)));
    t = mapping_.clampT(t);
    if (t != cursor_) {
        cursor_ = t;
        track_->update();
    }
}

void TimelineBar::moveByUser(int t)
{
    setCursor(t);
    Q_EMIT cursorMoved(cursor_);
}

// ---- the model-calls axis

void TimelineBar::setNfeAxis(bool on)
{
    if (on == nfe_)
        return;
    if (on) {
        const int calls = callsOfT(cursor_); // where panel 1 stands now
        nfe_ = true;
        setCursorCalls(calls);
    } else {
        nfe_ = false; // cursor_ is panel 1's level at the calls: the t axis goes on from there
    }
    readout_->setVisible(on);
    readout_->setMinimumWidth(0);
    updateReadout();
    track_->setToolTip(on ? tr("Model calls (NFE), from none (left) to the most any panel makes (right). Each "
                               "panel shows its last step within the cursor's calls: equal cost. Drag to scrub; "
                               "ticks mark the calls each panel's steps have made by their end (solid once "
                               "computed).")
                          : tr("Noise level t, from pure noise (left) to the final samples (right). Drag to scrub; "
                               "ticks mark each panel's timesteps (solid once computed)."));
    track_->updateMapping();
    track_->update();
}

int TimelineBar::totalCalls() const
{
    int most = 1;
    for (const auto& p : panels_)
        if (!p.calls.empty())
            most = std::max(most, p.calls.back());
    return most;
}

int TimelineBar::callsOfT(int t) const
{
    if (t == TimelineMapping::kFinal)
        return totalCalls();
    if (panels_.empty() || panels_[0].calls.size() != panels_[0].timesteps.size())
        return t >= mapping_.tMax() ? 0 : totalCalls();
    const auto& p = panels_[0];
    const int S = int(p.timesteps.size());
    return std::max(0, TimelineMapping::callsOfStep(p.calls, TimelineMapping::stepAt(p.timesteps, t, S, true)));
}

void TimelineBar::setCursorCalls(int calls)
{
    calls = std::clamp(calls, 0, totalCalls());
    int t = calls >= totalCalls() ? TimelineMapping::kFinal : mapping_.tMax();
    if (!panels_.empty() && panels_[0].calls.size() == panels_[0].timesteps.size() && !panels_[0].calls.empty()) {
        const auto& p = panels_[0];
        t = TimelineMapping::tOfStep(p.timesteps, TimelineMapping::stepAtCalls(p.calls, calls, int(p.calls.size()), true));
    }
    if (calls != cursorCalls_ || t != cursor_) {
        cursorCalls_ = calls;
        cursor_ = mapping_.clampT(t);
        updateReadout();
        track_->update();
    }
}

void TimelineBar::moveCallsByUser(int calls)
{
    setCursorCalls(calls);
    Q_EMIT cursorMoved(cursor_);
}

void TimelineBar::seekCalls(int calls) { moveCallsByUser(calls); }

std::vector<int> TimelineBar::callStops() const
{
    std::set<int> s{0, totalCalls()};
    for (const auto& p : panels_)
        s.insert(p.calls.begin(), p.calls.end());
    return {s.begin(), s.end()};
}

QString TimelineBar::readout() const
{
    if (!nfe_)
        return {};
    const int total = totalCalls();
    if (panels_.empty() || panels_[0].calls.empty() || panels_[0].calls.size() != panels_[0].timesteps.size())
        return tr("call %1 of %2").arg(cursorCalls_).arg(total);
    const auto& p = panels_[0];
    const int S = int(p.calls.size());
    const int step = TimelineMapping::stepAtCalls(p.calls, cursorCalls_, S, true);
    const QString where = step >= S ? tr("final samples")
                                    : tr("step %1, %2").arg(step + 1).arg(axis_.positionText(p.timesteps[std::size_t(step)]));
    return tr("call %1 of %2 (%3)").arg(cursorCalls_).arg(total).arg(where);
}

void TimelineBar::updateReadout()
{
    if (!readout_ || !nfe_)
        return;
    readout_->setText(readout());
    // As wide as its widest text for these panels: the track must not shift while scrubbing.
    int steps = 1;
    for (const auto& p : panels_)
        steps = std::max(steps, int(p.calls.size()));
    const QString widest = tr("call %1 of %1 (step %2, %3)").arg(totalCalls()).arg(steps).arg(axis_.positionText(mapping_.tMax()));
    const QFontMetrics fm(readout_->font());
    readout_->setMinimumWidth(std::max({readout_->minimumWidth(), fm.horizontalAdvance(widest) + 6,
                                        fm.horizontalAdvance(readout_->text()) + 6})); // grows only
}

std::vector<int> TimelineBar::stops() const
{
    std::set<int> s{TimelineMapping::kFinal};
    for (const auto& p : panels_)
        s.insert(p.timesteps.begin(), p.timesteps.end());
    if (s.size() == 1)
        for (int t = 0; t < mapping_.trainSteps; ++t)
            s.insert(t);
    return {s.begin(), s.end()};
}

void TimelineBar::stepForward()
{
    if (nfe_)
        return moveCallsByUser(TimelineMapping::nextCallStop(callStops(), cursorCalls_, +1));
    moveByUser(TimelineMapping::nextStop(stops(), cursor_, +1));
}
void TimelineBar::stepBack()
{
    if (nfe_)
        return moveCallsByUser(TimelineMapping::nextCallStop(callStops(), cursorCalls_, -1));
    moveByUser(TimelineMapping::nextStop(stops(), cursor_, -1));
}
void TimelineBar::setScale(double scale)
{
    const int icon = style()->pixelMetric(QStyle::PM_SmallIconSize);
    for (auto* b : findChildren<QToolButton*>())
        b->setIconSize(QSize(icon, icon) * scale);
}

namespace {
/// The model-calls axis' key frames: none, every tenth of the calls, all of them.
std::vector<int> callKeyFrames(int total)
{
    std::vector<int> keys{0, total};
    for (int k = 1; k <= 9; ++k)
        keys.push_back(int(std::lround(k * total / 10.0)));
    return keys;
}
} // namespace

void TimelineBar::nextKeyFrame()
{
    if (nfe_)
        return moveCallsByUser(TimelineMapping::nextCallStop(callKeyFrames(totalCalls()), cursorCalls_, +1));
    moveByUser(mapping_.nextKeyFrame(cursor_, +1));
}
void TimelineBar::previousKeyFrame()
{
    if (nfe_)
        return moveCallsByUser(TimelineMapping::nextCallStop(callKeyFrames(totalCalls()), cursorCalls_, -1));
    moveByUser(mapping_.nextKeyFrame(cursor_, -1));
}
void TimelineBar::toStart() { nfe_ ? moveCallsByUser(0) : moveByUser(mapping_.tMax()); }
void TimelineBar::toEnd() { nfe_ ? moveCallsByUser(totalCalls()) : moveByUser(mapping_.tMin()); }

bool TimelineBar::isPlaying() const { return timer_->isActive(); }
int TimelineBar::speed() const { return speed_->value(); }
void TimelineBar::setSpeed(int s) { speed_->setValue(s); }

void TimelineBar::togglePlay()
{
    if (timer_->isActive()) {
        stop();
        return;
    }
    if (nfe_ && cursorCalls_ >= totalCalls())
        moveCallsByUser(0); // replay from the noise
    else if (!nfe_ && cursor_ == mapping_.tMin())
        moveByUser(mapping_.tMax()); // replay from the noise
    timer_->start(16);
    play_->setIcon(glyphIcon(Glyph::Pause, palette().color(QPalette::ButtonText)));
    Q_EMIT playingChanged(true);
}

void TimelineBar::stop()
{
    if (!timer_->isActive())
        return;
    timer_->stop();
    play_->setIcon(glyphIcon(Glyph::Play, palette().color(QPalette::ButtonText)));
    Q_EMIT playingChanged(false);
}

void TimelineBar::advance()
{
    // Frame-rate independent: as many stops as the speed asks for per tick.
    carry_ += speed_->value() * timer_->interval() / 1000.0;
    if (nfe_) {
        const auto all = callStops();
        int c = cursorCalls_;
        while (carry_ >= 1.0) {
            carry_ -= 1.0;
            c = TimelineMapping::nextCallStop(all, c, +1);
        }
        if (c != cursorCalls_)
            moveCallsByUser(c);
        if (cursorCalls_ >= totalCalls()) {
            carry_ = 0;
            stop();
        }
        return;
    }
    const auto all = stops();
    int t = cursor_;
    while (carry_ >= 1.0) {
        carry_ -= 1.0;
        t = TimelineMapping::nextStop(all, t, +1);
    }
    if (t != cursor_)
        moveByUser(t);
    if (cursor_ == mapping_.tMin()) {
        carry_ = 0;
        stop();
    }
}

// ---------------------------------------------------------------- track

namespace {
constexpr int kMargin = 14;
constexpr int kRow = 7;
constexpr int kAxis = 16;
} // namespace

TimelineTrack::TimelineTrack(TimelineBar* bar) : QWidget(bar), bar_(bar)
{
    setObjectName("timelineTrack");
    setMouseTracking(false);
    // The window's focus home: with the focus here no control takes a clicker's keys.
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setToolTip(tr("Noise level t, from pure noise (left) to the final samples (right). Drag to scrub; "
                  "ticks mark each panel's timesteps (solid once computed)."));
    setCursor(Qt::SizeHorCursor);
}

namespace {
/// The axis labels' font: a little smaller than the widget's, so it scales with
/// presentation mode's font.
QFont labelFont(const QWidget* w)
{
    QFont f = w->font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    return f;
}
int axisHeight(const QWidget* w) { return std::max(kAxis, QFontMetrics(labelFont(w)).height() + 4); }
int rowHeight(const QWidget* w) { return std::max(kRow, QFontMetrics(w->font()).height() / 2); }
/// Half the widest label plus a little: "999" is never cut at either end.
int sideMargin(const QWidget* w, int T)
{
    return std::max(kMargin, QFontMetrics(labelFont(w)).horizontalAdvance(QString::number(T - 1)) / 2 + 4);
}
} // namespace

QSize TimelineTrack::sizeHint() const
{
    return {400, axisHeight(this) + 8 + rowHeight(this) * std::max<int>(1, int(bar_->panels_.size()))};
}
QSize TimelineTrack::minimumSizeHint() const { return {120, sizeHint().height()}; }

double TimelineTrack::pixelOfT(int t) const { return bar_->mapping_.pixelOfT(t); }
double TimelineTrack::pixelOfCalls(int calls) const { return bar_->mapping_.pixelOfCalls(calls, bar_->totalCalls()); }

void TimelineTrack::resizeEvent(QResizeEvent*) { updateMapping(); }

void TimelineTrack::updateMapping()
{
    // The model-calls axis' widest label is its total (sideMargin measures "T - 1").
    const int margin = sideMargin(this, bar_->nfe_ ? bar_->totalCalls() + 1 : bar_->mapping_.trainSteps);
    bar_->mapping_.pixelLeft = margin;
    bar_->mapping_.pixelRight = std::max(margin + 1, width() - margin);
}

void TimelineTrack::changeEvent(QEvent* e)
{
    // Presentation mode scales the font: the rows, the axis and the margins follow.
    if (e->type() == QEvent::FontChange) {
        updateGeometry();
        updateMapping();
        update();
    }
    QWidget::changeEvent(e);
}

void TimelineTrack::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    const auto& m = bar_->mapping_;
    const QPalette& pal = palette();
    p.fillRect(rect(), pal.base());
    const int rowsTop = 4, row = rowHeight(this), axis = axisHeight(this);
    // Panel rows: planned timesteps faint, visited ones solid.
    for (std::size_t i = 0; i < bar_->panels_.size(); ++i) {
        const auto& pm = bar_->panels_[i];
        const int y = rowsTop + int(i) * row;
        QColor faint = pm.color;
        faint.setAlphaF(0.25f);
        const double gap = (m.pixelRight - m.pixelLeft) / std::max<std::size_t>(1, pm.timesteps.size());
        const qreal w = gap > 6 ? 2.0 : 1.0;
        if (bar_->nfe_) { // each step at the calls it has made by its end
            for (std::size_t k = 0; k < pm.calls.size(); ++k) {
                p.setPen(QPen(int(k) < pm.visited ? pm.color : faint, w));
                const int x = int(pixelOfCalls(pm.calls[k]));
                p.drawLine(x, y, x, y + row - 2);
            }
            continue;
        }
        for (std::size_t k = 0; k < pm.timesteps.size(); ++k) {
            p.setPen(QPen(int(k) < pm.visited ? pm.color : faint, w));
            const int x = int(m.pixelOfT(pm.timesteps[k]));
            p.drawLine(x, y, x, y + row - 2);
        }
    }
    // Axis with t labels.
    const int axisY = rowsTop + row * std::max<int>(1, int(bar_->panels_.size())) + 1;
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(int(m.pixelLeft), axisY, int(m.pixelRight), axisY);
    p.setPen(pal.color(QPalette::Text));
    p.setFont(labelFont(this));
    const QFontMetrics fm(p.font());
    const int T = m.trainSteps;
    const NoiseAxis& noise = bar_->axis_;
    if (bar_->nfe_) {
        paintCallsAxis(p, axisY, axis);
        return;
    }
    for (int i = 0; i <= 4; ++i) {
        // VP: T-1 and quarters of T; flow: s = 1, 0.75, ..., 0 at t = s T - 1 (s = 0: the final samples).
        const int t = noise.flow() ? (4 - i) * T / 4 - 1 : (i == 0) ? T - 1 : (4 - i) * T / 4;
        const int x = int(m.pixelOfT(t));
        p.drawLine(x, axisY, x, axisY + 3);
        const QString s = noise.tickText(t);
        const int w = fm.horizontalAdvance(s) + 4;
        p.drawText(QRect(std::clamp(x - w / 2, 0, std::max(0, width() - w)), axisY + 2, w, axis),
                   Qt::AlignHCenter | Qt::AlignTop, s);
    }
    // Cursor.
    const int cx = int(m.pixelOfT(bar_->cursor_));
    p.setPen(QPen(pal.color(QPalette::Highlight), 2));
    p.drawLine(cx, 0, cx, axisY);
    p.setBrush(pal.color(QPalette::Highlight));
    p.drawEllipse(QPoint(cx, axisY), 4, 4);
    if (hasFocus()) { // where the keys go
        p.setPen(QPen(pal.color(QPalette::Highlight), 1, Qt::DotLine));
        p.setBrush(Qt::NoBrush);
        p.drawRect(rect().adjusted(0, 0, -1, -1));
    }
}

void TimelineTrack::paintCallsAxis(QPainter& p, int axisY, int axis)
{
    // Ticks at a round step of calls (1, 2, 5, 10, 20, ...) that leaves room for the
    // labels, and the total at the right end; "model calls" in the widest gap between them.
    const auto& m = bar_->mapping_;
    const QPalette& pal = palette();
    const QFontMetrics fm(p.font());
    const int total = bar_->totalCalls();
    const double room = m.pixelRight - m.pixelLeft;
    const int label = fm.horizontalAdvance(QString::number(total)) + 12;
    int step = 1;
    for (int base = 1; step * room / total < label && base < 1000000; base *= 10)
        for (int f : {1, 2, 5})
            if (step * room / total < label)
                step = f * base;
    std::vector<int> ticks;
    for (int c = 0; c < total; c += step)
        if (pixelOfCalls(total) - pixelOfCalls(c) >= label || c == 0)
            ticks.push_back(c);
    ticks.push_back(total);
    std::vector<QRect> rects;
    for (int c : ticks) {
        const int x = int(pixelOfCalls(c));
        p.drawLine(x, axisY, x, axisY + 3);
        const QString s = QString::number(c);
        const int w = fm.horizontalAdvance(s) + 4;
        const QRect r(std::clamp(x - w / 2, 0, std::max(0, width() - w)), axisY + 2, w, axis);
        p.drawText(r, Qt::AlignHCenter | Qt::AlignTop, s);
        rects.push_back(r);
    }
    const QString name = tr("model calls");
    const int nameWidth = fm.horizontalAdvance(name) + 8;
    // The gap nearest the middle that has room (it stays put while the cursor moves).
    int best = -1;
    const auto middle = [&](std::size_t i) { return (rects[i].right() + rects[i + 1].left()) / 2; };
    for (std::size_t i = 0; i + 1 < rects.size(); ++i)
        if (rects[i + 1].left() - rects[i].right() >= nameWidth &&
            (best < 0 || std::abs(middle(i) - width() / 2) < std::abs(middle(std::size_t(best)) - width() / 2)))
            best = int(i);
    if (best >= 0) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        const int mid = (rects[std::size_t(best)].right() + rects[std::size_t(best) + 1].left()) / 2;
        p.drawText(QRect(mid - nameWidth / 2, axisY + 2, nameWidth, axis), Qt::AlignHCenter | Qt::AlignTop, name);
    }
    // Cursor.
    const int cx = int(pixelOfCalls(bar_->cursorCalls_));
    p.setPen(QPen(pal.color(QPalette::Highlight), 2));
    p.drawLine(cx, 0, cx, axisY);
    p.setBrush(pal.color(QPalette::Highlight));
    p.drawEllipse(QPoint(cx, axisY), 4, 4);
    if (hasFocus()) { // where the keys go
        p.setPen(QPen(pal.color(QPalette::Highlight), 1, Qt::DotLine));
        p.setBrush(Qt::NoBrush);
        p.drawRect(rect().adjusted(0, 0, -1, -1));
    }
}

void TimelineTrack::mousePressEvent(QMouseEvent* e)
{
    if (e->button() != Qt::LeftButton)
        return;
    if (bar_->nfe_)
        bar_->moveCallsByUser(bar_->mapping_.callsAtPixel(e->position().x(), bar_->totalCalls()));
    else
        bar_->moveByUser(bar_->mapping_.tAtPixel(e->position().x()));
}

void TimelineTrack::mouseMoveEvent(QMouseEvent* e)
{
    if (!(e->buttons() & Qt::LeftButton))
        return;
    if (bar_->nfe_)
        bar_->moveCallsByUser(bar_->mapping_.callsAtPixel(e->position().x(), bar_->totalCalls()));
    else
        bar_->moveByUser(bar_->mapping_.tAtPixel(e->position().x()));
}

} // namespace noisetrail::ui
