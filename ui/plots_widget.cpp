#include "plots_widget.hpp"

#include "render.hpp"

#include <QEvent>
#include <QHBoxLayout>
#include <QTimer>
#include <qcustomplot.h>

#include <cmath>

namespace noisetrail::ui {

namespace {
double statValue(const StepStats& s, int i)
{
    switch (i) {
    case 0: return s.xt_std;
    case 1: return s.eps_norm;
    case 2: return s.x0_change;
    default: return s.x0_batch_std;
    }
}

void styleAxis(QCPAxis* a, const QPalette& pal)
{
    const QColor fg = pal.color(QPalette::WindowText);
    QColor grid = pal.color(QPalette::Mid);
    grid.setAlphaF(0.5f);
    a->setBasePen(QPen(fg));
    a->setTickPen(QPen(fg));
    a->setSubTickPen(QPen(fg));
    a->setTickLabelColor(fg);
    a->setLabelColor(fg);
    a->grid()->setPen(QPen(grid, 0, Qt::DotLine));
    a->grid()->setZeroLinePen(Qt::NoPen);
}

QCPItemStraightLine* addCursor(QCustomPlot* plot, QCPAxisRect* rect)
{
    auto* line = new QCPItemStraightLine(plot);
    line->setClipAxisRect(rect);
    line->point1->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    line->point2->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    line->point1->setCoords(999, 0);
    line->point2->setCoords(999, 1);
    return line;
}
} // namespace

const std::vector<const char*>& PlotsWidget::statNames()
{
    static const std::vector<const char*> names{"xt_std", "eps_norm", "x0_change", "x0_batch_std"};
    return names;
}

PlotsWidget::PlotsWidget(QWidget* parent) : QWidget(parent)
{
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(0, 0, 0, 0);
    schedule_ = new QCustomPlot;
    schedule_->setObjectName("schedulePlot");
    schedule_->setToolTip(tr("Noise schedule: alpha_bar(t) (left axis), log SNR(t) and beta(t) (right axes); "
                             "dots mark each panel's visited timesteps"));
    stats_ = new QCustomPlot;
    stats_->setObjectName("statsPlot");
    stats_->setToolTip(tr("Per-step statistics of each panel, in its colour: std of x_t, mean norm of eps_hat, "
                          "RMS change of x0_hat per step, per-coordinate std of x0_hat across the batch "
                          "(a diversity proxy)"));
    row->addWidget(schedule_, 3);
    row->addWidget(stats_, 5);
    for (auto* p : {schedule_, stats_}) {
        p->setNoAntialiasingOnDrag(true);
        p->setMinimumHeight(140);
        p->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    }

    // Schedule: alpha_bar left, log SNR right, beta on a second right axis.
    auto* rect = schedule_->axisRect();
    schedule_->xAxis->setRangeReversed(true);
    schedule_->xAxis->setLabel(QStringLiteral("t"));
    schedule_->yAxis->setLabel(QStringLiteral("alpha_bar"));
    schedule_->yAxis->setRange(0, 1.02);
    schedule_->yAxis2->setVisible(true);
    schedule_->yAxis2->setLabel(QStringLiteral("log SNR"));
    auto* betaAxis = rect->addAxis(QCPAxis::atRight);
    betaAxis->setLabel(QStringLiteral("beta"));
    betaAxis->setTickLabelFont(schedule_->yAxis->tickLabelFont());
    auto* gAb = schedule_->addGraph(schedule_->xAxis, schedule_->yAxis);
    gAb->setName(QStringLiteral("alpha_bar"));
    auto* gSnr = schedule_->addGraph(schedule_->xAxis, schedule_->yAxis2);
    gSnr->setName(QStringLiteral("log SNR"));
    gSnr->setPen(QPen(QColor(120, 120, 120), 1.2, Qt::DashLine));
    auto* gBeta = schedule_->addGraph(schedule_->xAxis, betaAxis);
    gBeta->setName(QStringLiteral("beta"));
    gBeta->setPen(QPen(QColor(150, 150, 150), 1.2, Qt::DotLine));
    schedule_->legend->setVisible(true);
    schedule_->legend->setFont(QFont(font().family(), int(font().pointSizeF() * 0.8)));
    schedule_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    schedule_->legend->setRowSpacing(0);
    schedule_->legend->setColumnSpacing(6);
    // The legend sits in its own row above the axes: inside, it hides curves.
    schedule_->axisRect()->insetLayout()->take(schedule_->legend);
    schedule_->plotLayout()->insertRow(0);
    schedule_->plotLayout()->addElement(0, 0, schedule_->legend);
    schedule_->plotLayout()->setRowStretchFactor(0, 0.001);
    schedule_->legend->setMargins(QMargins(4, 1, 4, 1));
    schedule_->legend->setBorderPen(Qt::NoPen);
    cursors_.push_back(addCursor(schedule_, rect));

    // Statistics: one row of four small plots, each titled above its axes,
    // so a short plot area still leaves each one its full height.
    stats_->plotLayout()->clear();
    const QStringList titles{tr("std of x_t"), tr("mean |eps_hat|"), tr("x0_hat change / step"),
                             tr("x0_hat std across batch")};
    QFont titleFont = font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 0.9);
    for (int i = 0; i < 4; ++i) {
        auto* title = new QCPTextElement(stats_, titles[i], titleFont);
        title->setMargins(QMargins(0, 2, 0, 0));
        stats_->plotLayout()->addElement(0, i, title);
        statTitles_.push_back(title);
        auto* r = new QCPAxisRect(stats_);
        r->setupFullAxesBox(false);
        r->axis(QCPAxis::atTop)->setVisible(false);
        r->axis(QCPAxis::atRight)->setVisible(false);
        r->axis(QCPAxis::atBottom)->setRangeReversed(true);
        r->axis(QCPAxis::atBottom)->ticker()->setTickCount(3);
        r->axis(QCPAxis::atLeft)->ticker()->setTickCount(4);
        r->setAutoMargins(QCP::msLeft | QCP::msBottom);
        r->setMargins(QMargins(0, 4, 10, 0)); // room for the last tick label
        stats_->plotLayout()->addElement(1, i, r);
        statRects_.push_back(r);
        cursors_.push_back(addCursor(stats_, r));
    }
    stats_->plotLayout()->setRowStretchFactor(0, 0.01);
    statGraphs_.resize(4);

    timer_ = new QTimer(this);
    timer_->setSingleShot(true);
    timer_->setInterval(40);
    connect(timer_, &QTimer::timeout, this, &PlotsWidget::replotNow);
    applyPalette();
}

void PlotsWidget::applyPalette()
{
    const QPalette pal = palette();
    for (auto* p : {schedule_, stats_}) {
        p->setBackground(pal.brush(QPalette::Base));
        for (auto* r : p->axisRects())
            for (auto* a : r->axes())
                styleAxis(a, pal);
    }
    schedule_->legend->setBrush(Qt::NoBrush);
    schedule_->legend->setTextColor(pal.color(QPalette::Text));
    schedule_->graph(0)->setPen(QPen(pal.color(QPalette::Text), 1.6));
    for (auto* t : statTitles_)
        t->setTextColor(pal.color(QPalette::WindowText));
    for (auto* c : cursors_)
        c->setPen(QPen(pal.color(QPalette::Highlight), 1.5));
    scheduleReplot();
}

void PlotsWidget::changeEvent(QEvent* e)
{
    if (e->type() == QEvent::PaletteChange)
        applyPalette();
    QWidget::changeEvent(e);
}

void PlotsWidget::setSchedule(const std::vector<double>& ab, const std::vector<double>& betas,
                              const std::vector<double>& logSnr)
{
    alphaBars_ = ab;
    trainSteps_ = int(ab.size());
    QVector<double> t(trainSteps_), a(ab.begin(), ab.end()), b(betas.begin(), betas.end()),
        s(logSnr.begin(), logSnr.end());
    for (int i = 0; i < trainSteps_; ++i)
        t[i] = i;
    schedule_->graph(0)->setData(t, a, true);
    schedule_->graph(1)->setData(t, s, true);
    schedule_->graph(2)->setData(t, b, true);
    schedule_->xAxis->setRange(-1, trainSteps_ - 1);
    schedule_->graph(1)->rescaleValueAxis();
    schedule_->graph(2)->rescaleValueAxis();
    for (auto* r : statRects_)
        r->axis(QCPAxis::atBottom)->setRange(-1, trainSteps_ - 1);
    scheduleReplot();
}

void PlotsWidget::setPanelCount(int n)
{
    for (auto* g : visited_)
        schedule_->removeGraph(g);
    visited_.clear();
    for (int s = 0; s < 4; ++s) {
        for (auto* g : statGraphs_[s])
            stats_->removeGraph(g);
        statGraphs_[s].clear();
    }
    for (int p = 0; p < n; ++p) {
        const QColor c = panelColor(p);
        auto* v = schedule_->addGraph(schedule_->xAxis, schedule_->yAxis);
        v->setLineStyle(QCPGraph::lsNone);
        v->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 4));
        v->setName(tr("panel %1 steps").arg(p + 1));
        v->removeFromLegend();
        visited_.push_back(v);
        for (int s = 0; s < 4; ++s) {
            auto* r = statRects_[s];
            auto* g = stats_->addGraph(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
            g->setPen(QPen(c, 1.6));
            statGraphs_[s].push_back(g);
        }
    }
    scheduleReplot();
}

void PlotsWidget::beginPanel(int panel, const std::vector<int>& timesteps)
{
    if (panel < 0 || panel >= int(visited_.size()))
        return;
    QVector<double> t, a;
    for (int ts : timesteps) {
        if (ts >= 0 && ts < int(alphaBars_.size())) {
            t.push_back(ts);
            a.push_back(alphaBars_[ts]);
        }
    }
    visited_[panel]->setData(t, a);
    // Many markers would hide the curve: smaller dots for long plans.
    const QColor c = panelColor(panel);
    visited_[panel]->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, timesteps.size() > 200 ? 2.5 : 5));
    for (int s = 0; s < 4; ++s)
        statGraphs_[s][panel]->data()->clear();
    scheduleReplot();
}

void PlotsWidget::addStats(int panel, int t, const StepStats& stats)
{
    if (panel < 0 || panel >= int(visited_.size()))
        return;
    for (int s = 0; s < 4; ++s) {
        const double v = statValue(stats, s);
        statGraphs_[s][panel]->addData(t, std::isfinite(v) ? v : qQNaN());
    }
    scheduleReplot();
}

void PlotsWidget::setCursor(int t)
{
    for (auto* c : cursors_) {
        c->point1->setCoords(t, 0);
        c->point2->setCoords(t, 1);
    }
    scheduleReplot();
}

void PlotsWidget::scheduleReplot()
{
    if (!timer_->isActive())
        timer_->start();
}

void PlotsWidget::rescaleStats()
{
    for (int s = 0; s < 4; ++s) {
        bool any = false;
        QCPRange range;
        for (auto* g : statGraphs_[s]) {
            bool found = false;
            const QCPRange r = g->getValueRange(found);
            if (found) {
                range = any ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
                any = true;
            }
        }
        auto* axis = statRects_[s]->axis(QCPAxis::atLeft);
        if (any) {
            const double pad = std::max(1e-9, (range.upper - range.lower) * 0.06);
            axis->setRange(std::min(0.0, range.lower), range.upper + pad);
        }
    }
}

void PlotsWidget::replotNow()
{
    ++replots_;
    rescaleStats();
    schedule_->replot(QCustomPlot::rpQueuedReplot);
    stats_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace noisetrail::ui
