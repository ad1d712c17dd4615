#include "plots_widget.hpp"

#include "noisetrail/recorder.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "export_plot.hpp"
#include "render.hpp"

#include <QEvent>
#include <QFontMetricsF>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QSettings>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <QFileInfo>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

namespace {

/// The data point whose key is nearest to x: {key, value}, NaNs when there is none.
std::pair<double, double> nearestPoint(const QCPGraphDataContainer& data, double x)
{
    double key = qQNaN(), value = qQNaN();
    for (auto it = data.constBegin(); it != data.constEnd(); ++it)
        if (!std::isfinite(key) || std::abs(it->key - x) < std::abs(key - x)) {
            key = it->key;
            value = it->value;
        }
    return {key, value};
}

double statValue(const StepStats& s, int i)
{
    switch (i) {
    case 0: return s.xt_std;
    case 1: return s.eps_norm;
    case 2: return s.x0_change;
    default: return s.x0_batch_std;
    }
}

double metricValue(const metrics::StepMetrics& m, PlotsWidget::MetricKind kind, int i)
{
    switch (i) {
    case 0: return m.pairwise_distance;
    case 1: return m.vendi;
    case 2: return kind == PlotsWidget::MetricKind::Classes ? m.classes_covered : m.components_covered;
    default: return kind == PlotsWidget::MetricKind::Classes ? m.class_entropy : m.occupancy_entropy;
    }
}

/// The name of what metric slot i plots: the StepMetrics field metricValue reads
/// (metrics::step_metric_names(), the session's and the CLI's column names).
const char* metricKey(PlotsWidget::MetricKind kind, int i)
{
    const bool classes = kind == PlotsWidget::MetricKind::Classes;
    switch (i) {
    case 0: return "pairwise_distance";
    case 1: return "vendi";
    case 2: return classes ? "classes_covered" : "components_covered";
    default: return classes ? "class_entropy" : "occupancy_entropy";
    }
}

constexpr int kSlots = PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots;

/// The model-calls axis' ticks: calls are whole, so steps of 1, 2, 5, 10, ... (never 2.5).
class CallsTicker : public QCPAxisTicker {
protected:
    double getTickStep(const QCPRange& range) override
    {
        const double step = QCPAxisTicker::getTickStep(range);
        if (step <= 1)
            return 1;
        const double magnitude = std::pow(10.0, std::floor(std::log10(step)));
        const double m = step / magnitude;
        return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * magnitude;
    }
};

/// Each plot's name in QSettings "plots/folded" (slots 0..7, then the schedule).
const char* const kPlotKeys[] = {"xt_std", "eps_norm", "x0_change", "x0_batch_std", "pairwise_distance",
                                 "vendi", "covered", "entropy", "schedule"};

/// "1st", "2nd", "3rd", "20th", "21st" (for "every 20th step").
QString ordinal(int n)
{
    const int last2 = n % 100, last = n % 10;
    const char* suffix = (last2 >= 11 && last2 <= 13) ? "th" : last == 1 ? "st" : last == 2 ? "nd" : last == 3 ? "rd" : "th";
    return QString::number(n) + QLatin1String(suffix);
}

void styleLegend(QCPLegend* legend)
{
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setRowSpacing(0);
    legend->setColumnSpacing(6);
    legend->setMargins(QMargins(2, 0, 2, 0));
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
    legend->setIconSize(14, 8);
    legend->setIconTextPadding(3);
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
    auto* col = new QVBoxLayout(this);
    col->setContentsMargins(0, 0, 0, 0);
    col->setSpacing(0);
    // Which colour is which panel: every plot has its own legend (a shared row
    // would leave each small plot to be decoded against it).
    auto* row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    col->addLayout(row, 1);
    schedule_ = new QCustomPlot;
    schedule_->setObjectName("schedulePlot");
    schedule_->setToolTip(tr("Noise schedule: alpha_bar(t) (left axis), log SNR(t) and beta(t) (right axes); "
                             "dots mark each panel's visited timesteps"));
    stats_ = new QCustomPlot;
    stats_->setObjectName("statsPlot");
    stats_->setToolTip(tr("Per-step statistics of each panel, in its colour. Top: std of x_t, mean norm of "
                          "eps_hat, RMS change of x0_hat per step, per-coordinate std of x0_hat across the batch. "
                          "Bottom, diversity of x0_hat across the batch (computed on the worker each step): mean "
                          "pairwise distance, Vendi score (RBF kernel h = 0.5 for 2-D points, cosine on classifier "
                          "features for digits; an effective number of distinct samples), and for mixtures the "
                          "components covered (3-std rule) and occupancy entropy, for digits the classes covered "
                          "and class entropy (dashed: the ideal value). Points instead of a line: a long panel "
                          "whose metrics were measured on every k-th step only (the status bar says which)"));
    ode_ = new QCustomPlot;
    ode_->setObjectName("odeErrorPlot");
    ode_->setToolTip(tr("ode_error: the RMS distance of each step's samples from the exact probability-flow ODE "
                        "path from the same x_T (exact cards). For a learned card whose panel 1 is its exact twin: "
                        "solid the total, dashed the solver's part (the same sampler on the exact card against the "
                        "ODE), dotted the model's part (the learned run against that exact run)"));
    row->addWidget(schedule_, 3);
    row->addWidget(stats_, 5);
    row->addWidget(ode_, 3);
    allFolded_ = new QLabel(tr("All plots are folded: unfold them with the Plots button (or View > Plots)."));
    allFolded_->setObjectName("allPlotsFolded");
    allFolded_->setAlignment(Qt::AlignCenter);
    allFolded_->hide();
    row->addWidget(allFolded_, 1);
    for (auto* p : {schedule_, stats_}) {
        p->setNoAntialiasingOnDrag(true);
        // Two rows of plots each need ~110 px to read (ticks, title, curve).
        p->setMinimumHeight(230);
        p->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
        p->setMouseTracking(true);
        p->installEventFilter(this);
        // Wheel zooms t only (the value axes follow the data); double-click resets.
        p->setInteraction(QCP::iRangeZoom, true);
    }
    baseFont_ = font();
    {
        // The ode_error plot: a log value axis (the error spans decades), its own x axis
        // (t, or model calls with the NFE axis), a legend row above.
        ode_->setMinimumHeight(230);
        ode_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
        ode_->plotLayout()->insertRow(0);
        QFont tf = font();
        tf.setPointSizeF(tf.pointSizeF() * 0.9); // as the statistics' titles
        ode_->plotLayout()->addElement(0, 0, new QCPTextElement(ode_, tr("ode_error (RMS distance to the exact ODE path)"), tf));
        ode_->plotLayout()->insertRow(1);
        ode_->axisRect()->insetLayout()->take(ode_->legend);
        ode_->plotLayout()->addElement(1, 0, ode_->legend);
        ode_->plotLayout()->setRowStretchFactor(0, 0.001);
        ode_->plotLayout()->setRowStretchFactor(1, 0.001);
        ode_->legend->setVisible(true);
        styleLegend(ode_->legend);
        ode_->legend->setFillOrder(QCPLayoutGrid::foRowsFirst);
        ode_->yAxis->setScaleType(QCPAxis::stLogarithmic);
        ode_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        ode_->yAxis->setNumberFormat(QStringLiteral("eb"));
        ode_->yAxis->setNumberPrecision(0);
        ode_->xAxis->ticker()->setTickCount(4);
        odeCursor_ = addCursor(ode_, ode_->axisRect());
        ode_->hide();
    }

    // Schedule: alpha_bar left, log SNR right, beta on a second right axis.
    auto* rect = schedule_->axisRect();
    schedule_->xAxis->setRangeReversed(true);
    axisTitle_ = NoiseAxis{}.axisTitle();
    schedule_->xAxis->setLabel(axisTitle_);
    rect->setRangeZoom(Qt::Horizontal);
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

    // Statistics: two rows of four small plots (the step statistics, then the
    // diversity metrics), each titled above its legend and axes.
    stats_->plotLayout()->clear();
    stats_->setAutoAddPlottableToLegend(false);
    // Math names in Unicode (xₜ, ε̂, x̂₀): small plot titles lose underscores.
    const QStringList titles{tr("std of xₜ"),        tr("mean |ε̂|"),  tr("x̂₀ change / step"),
                             tr("x̂₀ std across batch"), tr("mean pairwise distance"),
                             tr("Vendi score (higher = more diverse)"),
                             tr("(no mixture / classifier)"), tr("(no mixture / classifier)")};
    QFont titleFont = font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 0.9);
    for (int slot = 0; slot < kSlots; ++slot) {
        const int i = slot % 4, row = 3 * (slot / 4);
        auto* title = new QCPTextElement(stats_, titles[slot], titleFont);
        titles_ << titles[slot];
        title->setMargins(QMargins(0, 2, 0, 0));
        stats_->plotLayout()->addElement(row, i, title);
        statTitles_.push_back(title);
        auto* legend = new QCPLegend;
        stats_->plotLayout()->addElement(row + 1, i, legend); // adopts it into stats_ (relaid out below)
        legend->setLayer(QStringLiteral("legend"));
        styleLegend(legend);
        statLegends_.push_back(legend);
        auto* r = new QCPAxisRect(stats_);
        r->setupFullAxesBox(false);
        r->axis(QCPAxis::atTop)->setVisible(false);
        r->axis(QCPAxis::atRight)->setVisible(false);
        r->axis(QCPAxis::atBottom)->setRangeReversed(true);
        r->axis(QCPAxis::atBottom)->ticker()->setTickCount(3);
        r->axis(QCPAxis::atBottom)->setLabel(axisTitle_);
        r->setRangeZoom(Qt::Horizontal);
        r->setRangeZoomAxes(r->axis(QCPAxis::atBottom), nullptr);
        // One t range for every plot: zooming one zooms all.
        connect(r->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
                [this](const QCPRange& range) {
                    for (auto* other : statRects_)
                        if (other->axis(QCPAxis::atBottom)->range() != range)
                            other->axis(QCPAxis::atBottom)->setRange(range);
                    if (!nfeAxis_ && schedule_->xAxis->range() != range) // the schedule stays on t
                        schedule_->xAxis->setRange(range);
                });
        r->axis(QCPAxis::atLeft)->ticker()->setTickCount(4);
        // The count replotNow() asks for is what fits: "readable" steps would add ticks to small plots.
        r->axis(QCPAxis::atLeft)->ticker()->setTickStepStrategy(QCPAxisTicker::tssMeetTickCount);
        r->setAutoMargins(QCP::msLeft | QCP::msBottom);
        r->setMargins(QMargins(0, 4, 10, 0)); // room for the last tick label
        stats_->plotLayout()->addElement(row + 2, i, r);
        statRects_.push_back(r);
        cursors_.push_back(addCursor(stats_, r));
    }
    for (int slot = 6; slot < 8; ++slot) {
        auto* r = statRects_[std::size_t(slot)];
        auto* ref = new QCPItemStraightLine(stats_);
        ref->setClipAxisRect(r);
        ref->point1->setAxes(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
        ref->point2->setAxes(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
        ref->setVisible(false);
        refLines_.push_back(ref);
    }
    relayoutStats();
    statGraphs_.resize(kSlots);

    timer_ = new QTimer(this);
    timer_->setSingleShot(true);
    timer_->setInterval(40);
    connect(timer_, &QTimer::timeout, this, &PlotsWidget::replotNow);

    // Folding: one checkable action per plot; the button sits in a corner of the tab bar.
    auto* menu = new QMenu(this);
    for (int plot = 0; plot <= kSchedulePlot; ++plot) {
        auto* a = menu->addAction(QString());
        a->setObjectName(QStringLiteral("foldPlot_%1").arg(QLatin1String(kPlotKeys[plot])));
        a->setCheckable(true);
        a->setChecked(true);
        connect(a, &QAction::toggled, this, [this, plot](bool shown) { setFolded(plot, !shown); });
        foldActions_.push_back(a);
        if (plot == kStatSlots - 1 || plot == kSlots - 1)
            menu->addSeparator();
    }
    menu->addSeparator();
    menu->addAction(tr("Show all plots"), this, [this] {
        for (int plot = 0; plot <= kSchedulePlot; ++plot)
            setFolded(plot, false);
    });
    plotsButton_ = new QToolButton(this);
    plotsButton_->setObjectName("plotsButton");
    plotsButton_->setText(tr("Plots"));
    plotsButton_->setToolTip(tr("Fold or unfold each plot: folded plots give their room to the others"));
    plotsButton_->setMenu(menu);
    plotsButton_->setPopupMode(QToolButton::InstantPopup);
    plotsButton_->setAutoRaise(true);
    plotsButton_->hide();
    updateFoldActions();
    applyScale(); // fonts, legends and pens at scale 1 (and the palette)

    nameColumns();
    // Right-click saves the plot under the mouse, not the grid it sits in.
    const auto target = [this](int plot) {
        if (plot < 0)
            return PlotExportTarget{};
        return PlotExportTarget{plot == kSchedulePlot ? tr("Noise schedule") : titles_[plot], QLatin1String(kPlotKeys[plot]),
                                [this, plot](const QString& path) { return savePlot(plot, path); }};
    };
    installPlotExport(schedule_, [target](QPoint) { return target(kSchedulePlot); });
    installPlotExport(stats_, [this, target](QPoint at) { return target(plotAt(stats_, at)); });
}

void PlotsWidget::showEvent(QShowEvent* e)
{
    plotsButton_->show(); // the button belongs to this tab only
    QWidget::showEvent(e);
    Q_EMIT odeWantedChanged(true);
}

void PlotsWidget::hideEvent(QHideEvent* e)
{
    plotsButton_->hide();
    QWidget::hideEvent(e);
    Q_EMIT odeWantedChanged(false);
}

void PlotsWidget::updateFoldActions()
{
    for (int plot = 0; plot <= kSchedulePlot; ++plot) {
        QAction* a = foldActions_[plot];
        const QSignalBlocker b(a);
        a->setText(plot == kSchedulePlot ? tr("Noise schedule") : titles_[plot]);
        a->setChecked(!folded_[std::size_t(plot)]);
        // Plots that do not apply to the model (metrics off, no mixture or classifier) have nothing to unfold.
        bool applies = true;
        if (plot >= kStatSlots && plot < kSlots)
            applies = metricsShown_ && (plot < kStatSlots + 2 || metricKind_ != MetricKind::Plain);
        a->setEnabled(applies);
    }
}

void PlotsWidget::setFolded(int plot, bool fold)
{
    if (plot < 0 || plot > kSchedulePlot || folded_[std::size_t(plot)] == fold)
        return;
    folded_[std::size_t(plot)] = fold;
    if (persistFolds_) {
        QStringList keys;
        for (int p = 0; p <= kSchedulePlot; ++p)
            if (folded_[std::size_t(p)])
                keys << QLatin1String(kPlotKeys[p]);
        QSettings().setValue(QStringLiteral("plots/folded"), keys);
    }
    updateFoldActions();
    relayoutStats();
    scheduleReplot();
}

bool PlotsWidget::folded(int plot) const
{
    return plot >= 0 && plot <= kSchedulePlot && folded_[std::size_t(plot)];
}

void PlotsWidget::restoreFolded()
{
    persistFolds_ = false; // reading is not a change to write back
    const QStringList keys = QSettings().value(QStringLiteral("plots/folded")).toStringList();
    for (int plot = 0; plot <= kSchedulePlot; ++plot)
        setFolded(plot, keys.contains(QLatin1String(kPlotKeys[plot])));
    persistFolds_ = true;
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
    for (auto* l : statLegends_)
        l->setTextColor(pal.color(QPalette::Text));
    schedule_->graph(0)->setPen(QPen(pal.color(QPalette::Text), 1.6 * scale_));
    for (auto* t : statTitles_)
        t->setTextColor(pal.color(QPalette::WindowText));
    for (auto* c : cursors_)
        c->setPen(QPen(pal.color(QPalette::Highlight), 1.5 * scale_));
    for (auto* r : refLines_)
        r->setPen(QPen(pal.color(QPalette::Mid), 1.2, Qt::DashLine));
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
    resetZoom(); // a new model: the whole t range, value axes from its data
    schedule_->graph(1)->rescaleValueAxis();
    schedule_->graph(2)->rescaleValueAxis();
    scheduleReplot();
}

void PlotsWidget::setNoiseAxis(const NoiseAxis& axis)
{
    if (axis.reference == axis_.reference && axis.mixed == axis_.mixed)
        return;
    axis_ = axis;
    axisTitle_ = axis.axisTitle();
    schedule_->xAxis->setLabel(axisTitle_);
    relayoutStats(); // the stat plots name the axis under their last row
    if (!axis.reference)
        return;
    const NoiseSchedule& ref = *axis.reference;
    const int T = ref.train_steps();
    std::vector<double> snr(std::size_t(T), 0.0);
    for (int t = 0; t < T; ++t)
        snr[std::size_t(t)] = ref.log_snr(t);
    auto* betaAxis = schedule_->axisRect()->axis(QCPAxis::atRight, 1);
    auto* gSecond = schedule_->graph(2);
    if (!axis.flow()) {
        gSecond->setValueAxis(betaAxis);
        gSecond->setName(QStringLiteral("beta"));
        betaAxis->setVisible(true);
        schedule_->graph(0)->setName(QStringLiteral("alpha_bar"));
        schedule_->yAxis->setLabel(axis.mixed ? tr("alpha_bar (flow: same SNR)") : QStringLiteral("alpha_bar"));
        setSchedule(ref.alpha_bars(), ref.betas(), snr);
        return;
    }
    // Flow (contract section 8): the path x_s = alpha_s x_0 + sigma_s eps with alpha_s = 1 - s, sigma_s = s
    // on the grid s_t = (t + 1) / T; beta has no meaning there.
    std::vector<double> alpha(snr.size()), sigma(snr.size());
    for (int t = 0; t < T; ++t) {
        PlanStep at;
        at.process = ProcessKind::Flow;
        at.level = ref.flow_level(t);
        const PathPoint p = path_at(at); // one home for the path's coefficients
        alpha[std::size_t(t)] = p.alpha;
        sigma[std::size_t(t)] = p.sigma;
    }
    setSchedule(alpha, sigma, snr);
    gSecond->setValueAxis(schedule_->yAxis);
    gSecond->setName(QStringLiteral("sigma_s = s"));
    betaAxis->setVisible(false);
    schedule_->graph(0)->setName(QStringLiteral("alpha_s = 1 - s"));
    schedule_->yAxis->setLabel(QStringLiteral("alpha_s, sigma_s"));
    scheduleReplot();
}

void PlotsWidget::setPanelCount(int n)
{
    for (auto* g : visited_) {
        g->removeFromLegend();
        schedule_->removeGraph(g);
    }
    visited_.clear();
    for (int s = 0; s < kSlots; ++s) {
        for (auto* g : statGraphs_[s]) {
            g->removeFromLegend(statLegends_[std::size_t(s)]); // removeGraph knows only the plot's own legend
            stats_->removeGraph(g);
        }
        statGraphs_[s].clear();
    }
    for (int p = 0; p < n; ++p) {
        const QColor c = panelColor(p);
        auto* v = schedule_->addGraph(schedule_->xAxis, schedule_->yAxis);
        v->setLineStyle(QCPGraph::lsNone);
        v->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 4 * scale_));
        v->setProperty("baseSize", 4.0);
        // The dots of a panel's visited timesteps, named in the schedule's legend.
        const QString name = p < shortNames_.size() ? shortNames_[p] : tr("panel %1").arg(p + 1);
        v->setName(name);
        visited_.push_back(v);
        for (int s = 0; s < kSlots; ++s) {
            auto* r = statRects_[s];
            auto* g = stats_->addGraph(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
            g->setPen(QPen(c, 1.6 * scale_));
            g->setName(name);
            g->setVisible(slotShown(s)); // a plot not laid out draws none of its curves
            g->addToLegend(statLegends_[std::size_t(s)]);
            statGraphs_[s].push_back(g);
        }
    }
    panelSteps_.assign(std::size_t(n), 0);
    nameColumns();
    for (int p = 0; p < n; ++p)
        styleMetricGraphs(p);
    updateMetricsNote();
    scheduleReplot();
}

PlotsWidget::MetricSampling PlotsWidget::metricSampling(int panel) const
{
    MetricSampling m;
    if (panel < 0 || panel >= int(panelSteps_.size()))
        return m;
    // The worker's own rule, step by step (one home: core's measuredStep, recorder.hpp);
    // mixture cards measure every step for the scatter's coverage overlay (the recorder's rule).
    const bool everyStep = metricKind_ == MetricKind::Mixture;
    m.steps = panelSteps_[std::size_t(panel)];
    for (int step = 0; step < m.steps; ++step)
        if (measuredStep(step, m.steps, everyStep)) {
            ++m.points;
            if (m.points == 2)
                m.stride = step; // the first measured step is 0
        }
    return m;
}

bool PlotsWidget::metricsSubsampled(int panel) const
{
    return metricsShown_ && metricSampling(panel).stride > 1;
}

void PlotsWidget::styleMetricGraphs(int panel)
{
    if (panel < 0 || panel >= int(visited_.size()))
        return;
    // Measured on every k-th step only: points, not a line that would pretend
    // there were values between them.
    const bool points = metricsSubsampled(panel);
    const QColor c = panelColor(panel);
    for (int s = kStatSlots; s < kSlots; ++s) {
        QCPGraph* g = statGraphs_[std::size_t(s)][std::size_t(panel)];
        g->setLineStyle(points ? QCPGraph::lsNone : QCPGraph::lsLine);
        g->setScatterStyle(points ? QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 4 * scale_)
                                  : QCPScatterStyle(QCPScatterStyle::ssNone));
    }
}

void PlotsWidget::updateMetricsNote()
{
    QStringList parts;
    for (int p = 0; p < int(visited_.size()); ++p) {
        // Said while such a run's metrics are plotted (not for a plan alone).
        if (!metricsSubsampled(p) || statGraphs_[kStatSlots][std::size_t(p)]->dataCount() == 0)
            continue;
        const MetricSampling m = metricSampling(p);
        const QString name = p < shortNames_.size() ? shortNames_[p] : QString();
        parts << tr("every %1 step of panel %2, %3 (%4 points)").arg(ordinal(m.stride)).arg(p + 1).arg(name).arg(m.points);
    }
    const QString note = parts.isEmpty() ? QString() : tr("Metrics %1").arg(parts.join(QStringLiteral("; ")));
    if (note != metricsNote_) {
        metricsNote_ = note;
        Q_EMIT metricsNoteChanged(note);
    }
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
    const double size = timesteps.size() > 200 ? 2.5 : 5;
    visited_[panel]->setProperty("baseSize", size);
    visited_[panel]->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, size * scale_));
    for (int s = 0; s < kSlots; ++s)
        statGraphs_[s][panel]->data()->clear();
    panelSteps_[std::size_t(panel)] = int(timesteps.size());
    styleMetricGraphs(panel);
    updateMetricsNote();
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

void PlotsWidget::setMetricKind(MetricKind kind, int count)
{
    metricKind_ = kind;
    metricCount_ = count;
    QString t6 = tr("(no mixture / classifier)"), t7 = t6;
    double ref6 = qQNaN(), ref7 = qQNaN();
    if (kind == MetricKind::Mixture) {
        t6 = tr("components covered (of %1)").arg(count);
        t7 = tr("occupancy entropy (nats)");
        ref6 = count;
        ref7 = count > 0 ? std::log(double(count)) : qQNaN();
    } else if (kind == MetricKind::Classes) {
        t6 = tr("classes covered (of %1)").arg(count);
        t7 = tr("class entropy (nats)");
        ref6 = count;
        ref7 = count > 0 ? std::log(double(count)) : qQNaN();
    }
    titles_[6] = t6;
    titles_[7] = t7;
    statTitles_[6]->setText(t6);
    statTitles_[7]->setText(t7);
    nameColumns();
    const double refs[2] = {ref6, ref7};
    for (int i = 0; i < 2; ++i) {
        refShown_[std::size_t(i)] = std::isfinite(refs[i]);
        refLines_[std::size_t(i)]->setVisible(std::isfinite(refs[i]));
        if (std::isfinite(refs[i])) {
            refLines_[std::size_t(i)]->point1->setCoords(0, refs[i]);
            refLines_[std::size_t(i)]->point2->setCoords(1, refs[i]);
        }
    }
    for (int s = kStatSlots; s < kSlots; ++s)
        for (auto* g : statGraphs_[std::size_t(s)])
            g->data()->clear();
    for (int p = 0; p < int(visited_.size()); ++p)
        styleMetricGraphs(p);
    updateMetricsNote();
    updateFoldActions();
    relayoutStats();
    applyPalette();
}

void PlotsWidget::addMetrics(int panel, int t, const metrics::StepMetrics& m)
{
    if (panel < 0 || panel >= int(visited_.size()))
        return;
    for (int s = 0; s < kMetricSlots; ++s) {
        const double v = metricValue(m, metricKind_, s);
        statGraphs_[std::size_t(kStatSlots + s)][std::size_t(panel)]->addData(t, std::isfinite(v) ? v : qQNaN());
    }
    if (statGraphs_[kStatSlots][std::size_t(panel)]->dataCount() == 1)
        updateMetricsNote(); // the first measured point of a run
    scheduleReplot();
}

int PlotsWidget::pointCount(int slot, int panel) const
{
    if (slot < 0 || slot >= kSlots || panel < 0 || panel >= int(statGraphs_[std::size_t(slot)].size()))
        return 0;
    return statGraphs_[std::size_t(slot)][std::size_t(panel)]->dataCount();
}

double PlotsWidget::plottedValue(int slot, int panel, int t) const
{
    if (slot < 0 || slot >= kSlots || panel < 0 || panel >= int(statGraphs_[std::size_t(slot)].size()))
        return qQNaN();
    const auto data = statGraphs_[std::size_t(slot)][std::size_t(panel)]->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it)
        if (int(it->key) == t)
            return it->value;
    return qQNaN();
}

QString PlotsWidget::slotTitle(int slot) const { return titles_.at(slot); }

void PlotsWidget::setCursor(int t, int calls)
{
    cursorT_ = t;
    cursorCalls_ = calls;
    const double x = nfeAxis_ && calls >= 0 ? double(calls) : axisX(t);
    if (odeCursor_) {
        odeCursor_->point1->setCoords(x, 0);
        odeCursor_->point2->setCoords(x, 1);
        ode_->replot(QCustomPlot::rpQueuedReplot);
    }
    if (nfeAxis_) {
        cursors_[0]->point1->setCoords(t, 0); // the schedule's, on t
        cursors_[0]->point2->setCoords(t, 1);
        for (std::size_t i = 1; i < cursors_.size(); ++i) {
            cursors_[i]->point1->setCoords(x, 0);
            cursors_[i]->point2->setCoords(x, 1);
        }
        scheduleReplot();
        return;
    }
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
    for (int s = 0; s < kSlots; ++s) {
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
        if (s >= 6 && metricCount_ > 0 && metricKind_ != MetricKind::Plain) {
            // Counts and entropies have a known ceiling (the dashed ideal): fixed axes read at a glance.
            const double top = s == 6 ? metricCount_ : std::log(double(metricCount_));
            axis->setRange(0, top * 1.12 + (s == 6 ? 0.0 : 0.02));
            continue;
        }
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
    fitTicks();
    fitLegends(stats_->width(), schedule_->width());
    schedule_->replot(QCustomPlot::rpQueuedReplot);
    stats_->replot(QCustomPlot::rpQueuedReplot);
}

void PlotsWidget::fitTicks()
{
    // As many ticks as fit the axis's length without their labels touching: value
    // ticks about 2.5 line heights apart (small plots at 1366x768 get two or three),
    // t ticks one and a half four-digit labels apart (a narrow schedule must not read "8006004002000").
    const auto fit = [](QCPAxis* axis, double length, bool horizontal) {
        const QFontMetricsF fm(axis->tickLabelFont());
        const double each = horizontal ? 1.5 * fm.horizontalAdvance(QStringLiteral("0000")) : 2.5 * fm.height();
        // A value axis keeps two ticks to be read at all; a very short t axis gets
        // one step (its ends, 0 and T) rather than labels run together.
        axis->ticker()->setTickCount(std::clamp(int(length / each), horizontal ? 1 : 2, 5));
    };
    for (auto* r : statRects_) {
        fit(r->axis(QCPAxis::atLeft), r->height(), false);
        fit(r->axis(QCPAxis::atBottom), r->width(), true);
    }
    fit(schedule_->xAxis, schedule_->axisRect()->width(), true);
}

void PlotsWidget::relayoutStats()
{
    // Only the plots that apply and are not folded are laid out, each titled
    // above its legend and axes: up to four to a row, so that folded plots give
    // their room to the others.
    auto* grid = stats_->plotLayout();
    for (int slot = 0; slot < kSlots; ++slot)
        for (QCPLayoutElement* e : {static_cast<QCPLayoutElement*>(statTitles_[std::size_t(slot)]),
                                    static_cast<QCPLayoutElement*>(statLegends_[std::size_t(slot)]),
                                    static_cast<QCPLayoutElement*>(statRects_[std::size_t(slot)])})
            if (e->layout() == grid)
                grid->take(e);
    grid->simplify();
    // Exporting one plot (savePlot) lays out that one alone.
    const int only = solo_ >= 0 ? solo_ : alone_;
    const auto laidOut = [this, only](int slot) { return only < 0 ? slotShown(slot) : slot == only; };
    int shown = 0;
    for (int slot = 0; slot < kSlots; ++slot)
        shown += laidOut(slot) ? 1 : 0;
    const int cols = shown <= 4 ? std::max(1, shown) : (shown + 1) / 2;
    statColumns_ = cols;
    int k = 0;
    for (int slot = 0; slot < kSlots; ++slot) {
        const bool on = laidOut(slot);
        statTitles_[std::size_t(slot)]->setVisible(on);
        // Legends too tall for a small window give way (fitLegends): the schedule's names the colours.
        const bool legendOn = on && !(tightLegends_ && solo_ < 0);
        statLegends_[std::size_t(slot)]->setVisible(legendOn);
        statRects_[std::size_t(slot)]->setVisible(on);
        for (auto* g : slot < int(statGraphs_.size()) ? statGraphs_[std::size_t(slot)] : std::vector<QCPGraph*>{})
            g->setVisible(on);
        // Items are drawn whether or not their axes are laid out: a plot not shown draws no cursor.
        cursors_[std::size_t(1 + slot)]->setVisible(on);
        if (slot >= 6)
            refLines_[std::size_t(slot - 6)]->setVisible(on && refShown_[std::size_t(slot - 6)]);
        if (!on)
            continue;
        const int row = 3 * (k / cols), c = k % cols;
        // The t axis is named under the last row only: above it the name would
        // take the room the legends need (the ticks stay).
        const bool lastRow = k / cols == (shown - 1) / cols;
        const QString title = nfeAxis_ ? tr("model calls (NFE)") : axisTitle_;
        statRects_[std::size_t(slot)]->axis(QCPAxis::atBottom)->setLabel(lastRow ? title : QString());
        grid->addElement(row, c, statTitles_[std::size_t(slot)]);
        if (legendOn)
            grid->addElement(row + 1, c, statLegends_[std::size_t(slot)]);
        grid->addElement(row + 2, c, statRects_[std::size_t(slot)]);
        ++k;
    }
    for (int r = 0; r < grid->rowCount(); r += 3) {
        grid->setRowStretchFactor(r, 0.01);
        grid->setRowStretchFactor(r + 1, 0.01);
    }
    stats_->setVisible(shown > 0);
    schedule_->setVisible(alone_ < 0 ? !folded_[kSchedulePlot] : alone_ == kSchedulePlot);
    allFolded_->setVisible(shown == 0 && folded_[kSchedulePlot]);
    stats_->replot(QCustomPlot::rpQueuedReplot);
}

bool PlotsWidget::slotShown(int slot) const
{
    if (slot < 0 || slot >= kSlots || folded_[std::size_t(slot)])
        return false;
    if (slot < kStatSlots)
        return true;
    if (!metricsShown_)
        return false;
    return slot < kStatSlots + 2 || metricKind_ != MetricKind::Plain;
}

void PlotsWidget::setMetricsShown(bool on)
{
    if (on == metricsShown_)
        return;
    metricsShown_ = on;
    for (int p = 0; p < int(visited_.size()); ++p)
        styleMetricGraphs(p);
    updateMetricsNote();
    updateFoldActions();
    relayoutStats();
}

void PlotsWidget::setPanelNames(const QStringList& names, const QStringList& shortNames)
{
    panelNames_ = names;
    shortNames_ = shortNames;
    for (int p = 0; p < int(visited_.size()); ++p) {
        const QString name = p < shortNames.size() ? shortNames[p] : tr("panel %1").arg(p + 1);
        visited_[std::size_t(p)]->setName(name);
        for (int s = 0; s < kSlots; ++s)
            statGraphs_[std::size_t(s)][std::size_t(p)]->setName(name);
    }
    nameColumns();
    updateMetricsNote();
    scheduleReplot();
}

QString PlotsWidget::shortName(const SamplerConfig& config, int trainSteps)
{
    QString title;
    bool usesEta = false;
    try {
        const SamplerInfo& info = sampler_info(config.sampler);
        title = QString::fromStdString(info.title);
        usesEta = info.uses_eta;
    } catch (const std::exception&) {
        title = QString::fromStdString(config.sampler);
    }
    int steps = config.steps;
    if (steps <= 0) {
        try {
            steps = resolved_steps(config, trainSteps);
        } catch (const std::exception&) {
            steps = 0;
        }
    }
    // Small plots have room for about 12 characters an entry: Lu et al.'s solver
    // goes by its short name, eta by its letter.
    title.replace(QStringLiteral("DPM-Solver++"), QStringLiteral("DPM++"));
    QString name = QStringLiteral("%1 %2").arg(title).arg(steps);
    if (usesEta)
        name += tr(" (η %1)").arg(config.eta, 0, 'g', 3); // no comma: CSV headers stay one cell
    if (!config.guidance.classes.empty())
        name += QStringLiteral(" W %1").arg(guidance_scale(config), 0, 'g', 3);
    return name;
}

namespace {
QCPLegend* legendOf(QCustomPlot* schedule, const std::vector<QCPLegend*>& stats, int plot)
{
    if (plot == PlotsWidget::kSchedulePlot)
        return schedule->legend;
    return plot >= 0 && plot < int(stats.size()) ? stats[std::size_t(plot)] : nullptr;
}
} // namespace

QStringList PlotsWidget::legendEntries(int plot) const
{
    QStringList out;
    if (QCPLegend* l = legendOf(schedule_, statLegends_, plot))
        for (int i = 0; i < l->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(l->item(i)))
                out << item->plottable()->name();
    return out;
}

QList<QColor> PlotsWidget::legendColors(int plot) const
{
    QList<QColor> out;
    if (QCPLegend* l = legendOf(schedule_, statLegends_, plot))
        for (int i = 0; i < l->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(l->item(i))) {
                auto* g = qobject_cast<QCPGraph*>(item->plottable());
                out << (g && g->lineStyle() == QCPGraph::lsNone ? g->scatterStyle().brush().color()
                                                                : item->plottable()->pen().color());
            }
    return out;
}

bool PlotsWidget::legendShown(int plot) const
{
    QCPLegend* l = legendOf(schedule_, statLegends_, plot);
    if (!l || !l->visible() || (plot != kSchedulePlot && l->layout() == nullptr))
        return false;
    return plot == kSchedulePlot ? schedule_->isVisible() : slotShown(plot) && stats_->isVisible();
}

void PlotsWidget::fitLegends(double statsWidth, double scheduleWidth)
{
    // As many entries to a legend row as fit the plot's width.
    const auto fit = [](QCPLegend* l, double width) {
        int widest = 1;
        int items = 0;
        for (int i = 0; i < l->itemCount(); ++i)
            if (QCPAbstractLegendItem* item = l->item(i)) { // a grid cell may be empty
                widest = std::max(widest, item->minimumOuterSizeHint().width());
                ++items;
            }
        const double room = width - l->margins().left() - l->margins().right() + l->columnSpacing();
        const int cols = std::clamp(int(room / (widest + l->columnSpacing())), 1, std::max(1, items));
        if (l->wrap() != cols) {
            l->setWrap(cols);
            l->setFillOrder(QCPLayoutGrid::foColumnsFirst, true); // setWrap alone leaves the items where they are
        }
    };
    // A column's share of the width, not its current width: a legend that widened
    // its column would then widen itself further.
    const double column = statsWidth / std::max(1, statColumns_);
    for (int slot = 0; slot < kSlots; ++slot) {
        fit(statLegends_[std::size_t(slot)], column);
        // A title wider than its column breaks at the space nearest its middle
        // (a narrow window must not cut "components covered (of 8)" to "mponents covered (of").
        QCPTextElement* title = statTitles_[std::size_t(slot)];
        const QString text = titles_[slot];
        QString shown = text;
        if (QFontMetricsF(title->font()).horizontalAdvance(text) > column - 4) {
            int best = -1;
            for (int i = 0; i < text.size(); ++i)
                if (text[i] == QLatin1Char(' ') && (best < 0 || std::abs(i - text.size() / 2) < std::abs(best - text.size() / 2)))
                    best = i;
            if (best > 0)
                shown = text.left(best) + QLatin1Char('\n') + text.mid(best + 1);
        }
        if (title->text() != shown)
            title->setText(shown);
    }
    fit(schedule_->legend, scheduleWidth);

    // A legend that needs more rows than its plot can spare (a small window, three or four
    // panels) would overlap its neighbours: then the small plots show none, and the
    // schedule's legend, which names every panel in its colour, speaks for them.
    bool tight = false;
    if (!folded_[kSchedulePlot] && solo_ < 0 && statColumns_ > 0) {
        int shown = 0;
        for (int slot = 0; slot < kSlots; ++slot)
            shown += slotShown(slot) ? 1 : 0;
        const int gridRows = std::max(1, (shown + statColumns_ - 1) / statColumns_);
        const double rowHeight = double(stats_->height()) / gridRows;
        // The axes need room for about three value labels, the t labels and the t axis's name.
        const double axes = 5 * QFontMetricsF(statRects_[0]->axis(QCPAxis::atLeft)->tickLabelFont()).height();
        for (int slot = 0; slot < kSlots && !tight; ++slot) {
            if (!slotShown(slot))
                continue;
            QCPLegend* l = statLegends_[std::size_t(slot)];
            const int items = l->itemCount();
            if (items == 0)
                continue;
            const int rows = (items + std::max(1, l->wrap()) - 1) / std::max(1, l->wrap());
            const double itemHeight = l->item(0) ? l->item(0)->minimumOuterSizeHint().height() : 0.0;
            QCPTextElement* title = statTitles_[std::size_t(slot)];
            const double titleHeight =
                QFontMetricsF(title->font()).height() * (title->text().count(QLatin1Char('\n')) + 1) + 2;
            tight = titleHeight + rows * itemHeight + axes > rowHeight;
        }
    }
    if (tight != tightLegends_) {
        tightLegends_ = tight;
        relayoutStats();
    }
}

int PlotsWidget::tAt(QCustomPlot* plot, QPoint pixel) const
{
    for (auto* r : plot->axisRects()) {
        if (!r->visible() || !r->rect().contains(pixel))
            continue;
        const double t = r->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x());
        if (nfeAxis_ && plot != schedule_ && !panelCalls_.empty() && !panelCalls_[0].first.empty()) {
            // Model calls: the step of panel 1 whose calls are nearest (its level is where the timeline goes).
            const auto& [ts, calls] = panelCalls_[0];
            std::size_t best = 0;
            for (std::size_t k = 1; k < calls.size(); ++k)
                if (std::abs(calls[k] - t) < std::abs(calls[best] - t))
                    best = k;
            return ts[best];
        }
        return std::clamp(int(std::lround(t)), 0, trainSteps_ - 1);
    }
    return -1;
}

QString PlotsWidget::valuesAt(QPoint pixel) const
{
    for (int slot = 0; slot < kSlots; ++slot) {
        auto* r = statRects_[std::size_t(slot)];
        if (!r->visible() || !r->rect().contains(pixel))
            continue;
        if (nfeAxis_)
            return valuesAtCalls(slot, r->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x()));
        const int t = tAt(stats_, pixel);
        QStringList lines{tr("%1 at %2").arg(titles_[slot]).arg(axis_.positionText(t))};
        const bool metric = slot >= kStatSlots;
        for (std::size_t p = 0; p < statGraphs_[std::size_t(slot)].size(); ++p) {
            // The panel's step nearest to t (a 50-step panel has values every 20 t).
            const auto data = statGraphs_[std::size_t(slot)][p]->data();
            const auto [bestKey, best] = nearestPoint(*data, t);
            const QString name = int(p) < panelNames_.size() ? panelNames_[int(p)] : tr("panel %1").arg(p + 1);
            // A subsampled panel has no value between its measured steps: say which one is shown.
            const int stride = metric && metricsSubsampled(int(p)) ? metricSampling(int(p)).stride : 1;
            QString line = std::isfinite(bestKey) ? tr("Panel %1 (%2): %3 (%4)")
                                                        .arg(p + 1)
                                                        .arg(name)
                                                        .arg(best, 0, 'g', 4)
                                                        .arg(axis_.positionText(int(bestKey)))
                                                  : tr("Panel %1 (%2): not computed").arg(p + 1).arg(name);
            if (stride > 1 && std::isfinite(bestKey))
                line += tr(", the nearest measured step: metrics every %1 step").arg(ordinal(stride));
            lines << line;
        }
        return lines.join('\n');
    }
    return {};
}

QString PlotsWidget::valuesAtCalls(int slot, double calls) const
{
    // Each panel's step nearest to the calls under the pointer, named by its step and level.
    QStringList lines{tr("%1 at model calls %2").arg(titles_[slot]).arg(std::max(0L, std::lround(calls)))};
    const bool metric = slot >= kStatSlots;
    for (std::size_t p = 0; p < statGraphs_[std::size_t(slot)].size(); ++p) {
        const auto data = statGraphs_[std::size_t(slot)][p]->data();
        const auto [bestKey, best] = nearestPoint(*data, calls);
        const QString name = int(p) < panelNames_.size() ? panelNames_[int(p)] : tr("panel %1").arg(p + 1);
        if (!std::isfinite(bestKey)) {
            lines << tr("Panel %1 (%2): not computed").arg(p + 1).arg(name);
            continue;
        }
        // The step whose state those calls had reached (setPanelCalls), and its level: the
        // words the panel's footer and the timeline use for the same state.
        QString where;
        if (p < panelCalls_.size()) {
            const auto& [ts, cs] = panelCalls_[p];
            for (std::size_t k = 0; k < cs.size() && k < ts.size(); ++k)
                if (cs[k] == int(bestKey)) {
                    where = tr(" (step %1, %2)").arg(k + 1).arg(axis_.positionText(ts[k]));
                    break;
                }
        }
        QString line = tr("Panel %1 (%2): %3 at model calls %4%5")
                           .arg(p + 1)
                           .arg(name)
                           .arg(best, 0, 'g', 4)
                           .arg(int(bestKey))
                           .arg(where);
        if (const int stride = metric && metricsSubsampled(int(p)) ? metricSampling(int(p)).stride : 1; stride > 1)
            line += tr(", the nearest measured step: metrics every %1 step").arg(ordinal(stride));
        lines << line;
    }
    return lines.join('\n');
}

bool PlotsWidget::eventFilter(QObject* watched, QEvent* e)
{
    auto* plot = qobject_cast<QCustomPlot*>(watched);
    if (!plot)
        return QWidget::eventFilter(watched, e);
    switch (e->type()) {
    case QEvent::MouseMove: {
        auto* me = static_cast<QMouseEvent*>(e);
        const QPoint at = me->position().toPoint();
        if (plot == stats_) {
            hoverText_ = valuesAt(at);
            if (!hoverText_.isEmpty())
                QToolTip::showText(me->globalPosition().toPoint(), hoverText_, plot);
            else
                QToolTip::hideText();
        }
        break;
    }
    case QEvent::MouseButtonPress: {
        auto* me = static_cast<QMouseEvent*>(e);
        if (me->button() == Qt::LeftButton && nfeAxis_ && plot == stats_) {
            // Model calls: to the calls of the nearest step any panel made, within 4 px.
            const QPoint at = me->position().toPoint();
            for (auto* r : statRects_) {
                if (!r->visible() || !r->rect().contains(at))
                    continue;
                const QCPAxis* x = r->axis(QCPAxis::atBottom);
                const double c = x->pixelToCoord(at.x());
                const double slack = std::max(1.0, std::abs(x->pixelToCoord(at.x() + 4) - c));
                int best = std::max(0, int(std::lround(c)));
                double bestD = slack + 1;
                for (const auto& pc : panelCalls_)
                    for (int calls : pc.second)
                        if (const double d = std::abs(calls - c); d < bestD) {
                            bestD = d;
                            best = calls;
                        }
                Q_EMIT seekCallsRequested(best);
                break;
            }
        } else if (me->button() == Qt::LeftButton) {
            int t = tAt(plot, me->position().toPoint());
            if (t >= 0) {
                // Snap to the nearest step a panel visits when it is within 4 px:
                // a click lands on a step, not a pixel's rounding beside it.
                const int tPlus = tAt(plot, me->position().toPoint() + QPoint(4, 0));
                const int slack = std::max(1, std::abs(tPlus - t));
                int best = t, bestD = slack + 1;
                for (auto* v : visited_)
                    for (auto it = v->data()->constBegin(); it != v->data()->constEnd(); ++it)
                        if (const int d = std::abs(int(it->key) - t); d < bestD) {
                            bestD = d;
                            best = int(it->key);
                        }
                Q_EMIT seekRequested(best);
            }
        }
        break;
    }
    case QEvent::MouseButtonDblClick:
        resetZoom();
        return true;
    case QEvent::Resize:
        scheduleReplot(); // ticks, legend rows and title breaks follow the new size
        break;
    case QEvent::ToolTip:
        // The static tooltip explains the plots outside the axes; over them, the values.
        if (plot == stats_ && !valuesAt(static_cast<QHelpEvent*>(e)->pos()).isEmpty())
            return true;
        break;
    default: break;
    }
    return QWidget::eventFilter(watched, e);
}

QPoint PlotsWidget::statsPixel(int slot, int t)
{
    stats_->replot(); // lay the axes out at the widget's size
    QCPAxisRect* r = statRects_.at(std::size_t(slot));
    return {int(std::lround(r->axis(QCPAxis::atBottom)->coordToPixel(t))), r->center().y()};
}

int PlotsWidget::shownSlotCount() const { return int(stats_->axisRects().size()); }

double PlotsWidget::lineWidth(int slot, int panel) const
{
    return statGraphs_.at(std::size_t(slot)).at(std::size_t(panel))->pen().widthF();
}

void PlotsWidget::resetZoom()
{
    schedule_->xAxis->setRange(-1, trainSteps_ - 1);
    int most = 1; // the NFE axis: up to the most calls of any panel
    for (int total : panelTotals_)
        most = std::max(most, total);
    for (auto* r : statRects_)
        r->axis(QCPAxis::atBottom)->setRange(nfeAxis_ ? QCPRange(0, most + 1) : QCPRange(-1, trainSteps_ - 1));
    scheduleReplot();
}

void PlotsWidget::setScale(double factor)
{
    scale_ = std::clamp(factor, 1.0, 3.0);
    applyScale();
}

void PlotsWidget::applyScale()
{
    QFont f = baseFont_;
    f.setPointSizeF(baseFont_.pointSizeF() * scale_);
    QFont tick = f, title = f, legend = f;
    title.setPointSizeF(f.pointSizeF() * 0.9);
    legend.setPointSizeF(f.pointSizeF() * 0.85);
    for (auto* p : {schedule_, stats_})
        for (auto* r : p->axisRects())
            for (auto* a : r->axes()) {
                a->setTickLabelFont(tick);
                a->setLabelFont(tick);
                a->setTickLengthIn(int(5 * scale_));
                a->setPadding(int(2 * scale_));
            }
    for (auto* t : statTitles_)
        t->setFont(title);
    for (auto* l : statLegends_) {
        l->setFont(legend);
        l->setIconSize(int(14 * scale_), int(8 * scale_));
    }
    schedule_->legend->setFont(legend);
    schedule_->legend->setIconSize(int(20 * scale_), int(8 * scale_));
    for (std::size_t s = 0; s < statGraphs_.size(); ++s)
        for (std::size_t p = 0; p < statGraphs_[s].size(); ++p)
            statGraphs_[s][p]->setPen(QPen(panelColor(int(p)), 1.6 * scale_));
    for (std::size_t p = 0; p < visited_.size(); ++p) {
        QCPScatterStyle st = visited_[p]->scatterStyle();
        st.setSize(visited_[p]->property("baseSize").toDouble() * scale_);
        visited_[p]->setScatterStyle(st);
        styleMetricGraphs(int(p));
    }
    for (auto* r : statRects_)
        r->setMargins(QMargins(0, int(4 * scale_), int(10 * scale_), 0));
    applyPalette(); // the pens that follow the palette, at the new width
}

int PlotsWidget::plotAt(const QCustomPlot* plot, QPoint pixel) const
{
    if (plot == schedule_)
        return schedule_->isVisible() && schedule_->rect().contains(pixel) ? kSchedulePlot : -1;
    if (plot != stats_)
        return -1;
    for (int slot = 0; slot < kSlots; ++slot) {
        const std::size_t i = std::size_t(slot);
        if (!statRects_[i]->visible())
            continue;
        QRect block = statTitles_[i]->outerRect().united(statRects_[i]->outerRect());
        if (statLegends_[i]->layout()) // a legend taken out of the grid keeps a stale rect
            block = block.united(statLegends_[i]->outerRect());
        if (block.contains(pixel))
            return slot;
    }
    return -1;
}

void PlotsWidget::nameColumns()
{
    // Each curve's CSV column says what and whose: a panel's short name alone repeats
    // across plots and may repeat across panels (two panels of the same settings).
    // One plot's CSV (plotCsv) and the grid's (export_plot.hpp's plotCsv) read it.
    const auto whose = [this](int p) {
        const QString name = p < shortNames_.size() ? shortNames_[p] : QString();
        return name.isEmpty() ? tr("panel %1").arg(p + 1) : tr("panel %1: %2").arg(p + 1).arg(name);
    };
    const char* schedule[] = {"alpha_bar", "log_snr", "beta"};
    for (int i = 0; i < 3; ++i)
        schedule_->graph(i)->setProperty(kCsvName, QLatin1String(schedule[i]));
    for (int p = 0; p < int(visited_.size()); ++p)
        visited_[std::size_t(p)]->setProperty(kCsvName, tr("alpha_bar visited by %1").arg(whose(p)));
    for (int slot = 0; slot < kSlots; ++slot) {
        const QString key = QLatin1String(slot < kStatSlots ? statNames()[std::size_t(slot)]
                                                            : metricKey(metricKind_, slot - kStatSlots));
        for (int p = 0; p < int(statGraphs_[std::size_t(slot)].size()); ++p)
            statGraphs_[std::size_t(slot)][std::size_t(p)]->setProperty(kCsvName, QStringLiteral("%1 [%2]").arg(key, whose(p)));
    }
}

QString PlotsWidget::plotCsv(int plot) const
{
    std::vector<std::pair<QString, const QCPGraph*>> columns;
    const auto add = [&](const QCPGraph* g) { columns.emplace_back(g->property(kCsvName).toString(), g); };
    if (plot == kSchedulePlot) {
        for (int i = 0; i < 3; ++i)
            add(schedule_->graph(i));
        for (auto* v : visited_)
            add(v);
    } else if (plot >= 0 && plot < kSlots) {
        for (auto* g : statGraphs_[std::size_t(plot)])
            add(g);
    } else {
        return {};
    }
    return graphsCsv(QStringLiteral("t"), columns);
}

void PlotsWidget::showAlone(int plot)
{
    alone_ = plot >= 0 && plot <= kSchedulePlot ? plot : -1;
    relayoutStats();
    scheduleReplot();
}

QList<int> PlotsWidget::shownPlots() const
{
    QList<int> plots;
    if (!folded_[kSchedulePlot])
        plots << kSchedulePlot;
    for (int slot = 0; slot < kSlots; ++slot)
        if (slotShown(slot))
            plots << slot;
    return plots;
}

bool PlotsWidget::savePlot(int plot, const QString& path, QSize size)
{
    if (plot < 0 || plot > kSchedulePlot || size.isEmpty())
        return false;
    if (QFileInfo(path).suffix().compare(QLatin1String("csv"), Qt::CaseInsensitive) == 0)
        return writeFileAtomic(path, plotCsv(plot).toUtf8());
    QCustomPlot* target = plot == kSchedulePlot ? schedule_ : stats_;
    if (target == stats_) {
        solo_ = plot; // that plot alone, at the figure's size
        relayoutStats();
    }
    rescaleStats();
    // Drawing lays the plot out at the figure's size (QCustomPlot::draw); ticks,
    // legend rows and title breaks are then fitted to it, and it is drawn again.
    target->toPixmap(size.width(), size.height());
    fitTicks();
    fitLegends(target == stats_ ? size.width() : stats_->width(), target == schedule_ ? size.width() : schedule_->width());
    const bool ok = ui::savePlot(target, path, size.width(), size.height());
    solo_ = -1;
    relayoutStats();
    target->replot(QCustomPlot::rpImmediateRefresh); // the on-screen layout again
    replotNow();
    return ok;
}

// ---- ode_error (issue 22) -------------------------------------------------------------------------

void PlotsWidget::setOdeErrors(int panel, const std::vector<int>& t, const std::vector<int>& calls,
                               const OdeErrorSplit& errors)
{
    if (panel < 0)
        return;
    if (panel >= int(odeData_.size()))
        odeData_.resize(std::size_t(panel) + 1);
    OdeData& d = odeData_[std::size_t(panel)];
    d.t = t;
    d.calls = calls;
    d.errors = errors;
    refillOde();
}

void PlotsWidget::setNfeAxis(bool on)
{
    if (on == nfeAxis_)
        return;
    nfeAxis_ = on;
    const auto ticker = [on] {
        return on ? QSharedPointer<QCPAxisTicker>(new CallsTicker) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker);
    };
    for (auto* r : statRects_) {
        r->axis(QCPAxis::atBottom)->setRangeReversed(!on); // calls grow as the noise falls
        r->axis(QCPAxis::atBottom)->setTicker(ticker()); // fitTicks sets their count
    }
    ode_->xAxis->setTicker(ticker());
    ode_->xAxis->ticker()->setTickCount(4);
    relayoutStats(); // names the axis under the last row
    resetZoom();
    refillOde();
    setCursor(cursorT_, cursorCalls_);
}

void PlotsWidget::setPanelCalls(int panel, const std::vector<int>& t, const std::vector<int>& callsBefore, int totalCalls)
{
    if (panel < 0)
        return;
    if (panel >= int(panelCalls_.size())) {
        panelCalls_.resize(std::size_t(panel) + 1);
        panelTotals_.resize(std::size_t(panel) + 1, 0);
    }
    panelCalls_[std::size_t(panel)] = {t, callsBefore};
    panelTotals_[std::size_t(panel)] = totalCalls;
    if (nfeAxis_ && totalCalls > 0) {
        auto* axis = statRects_.front()->axis(QCPAxis::atBottom);
        if (axis->range().upper < totalCalls + 1)
            resetZoom(); // a longer run: the axis grows with it
    }
}

double PlotsWidget::axisX(int t) const
{
    if (!nfeAxis_)
        return t;
    // The calls by which panel 1 reached its state at the cursor (its levels descend).
    double x = 0;
    if (!panelCalls_.empty())
        for (std::size_t k = 0; k < panelCalls_[0].first.size(); ++k)
            if (panelCalls_[0].first[k] >= t)
                x = panelCalls_[0].second[k];
    return x;
}

int PlotsWidget::odeCurveCount(int panel) const
{
    return panel >= 0 && panel < int(odeData_.size()) ? int(odeData_[std::size_t(panel)].graphs.size()) : 0;
}

std::vector<std::pair<double, double>> PlotsWidget::odeCurve(int panel, int curve) const
{
    std::vector<std::pair<double, double>> out;
    if (curve < 0 || curve >= odeCurveCount(panel))
        return out;
    const auto data = odeData_[std::size_t(panel)].graphs[std::size_t(curve)]->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it)
        out.emplace_back(it->key, it->value);
    return out;
}

void PlotsWidget::refillOde()
{
    for (OdeData& d : odeData_) {
        for (auto* g : d.graphs)
            ode_->removeGraph(g);
        d.graphs.clear();
    }
    bool any = false;
    double xMax = 1;
    for (std::size_t p = 0; p < odeData_.size(); ++p) {
        OdeData& d = odeData_[p];
        if (d.errors.total.empty())
            continue;
        any = true;
        const QColor c = panelColor(int(p));
        const QString who = int(p) < shortNames_.size() ? shortNames_[int(p)] : tr("panel %1").arg(p + 1);
        const bool split = !d.errors.solver.empty();
        const std::vector<double>* curves[] = {&d.errors.total, &d.errors.solver, &d.errors.model};
        const QString names[] = {split ? tr("%1: total").arg(who) : who,
                                 tr("solver's part (same sampler on panel 1's exact card)"),
                                 tr("model's part (learned run - that exact run)")};
        const Qt::PenStyle styles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine};
        for (int k = 0; k < (split ? 3 : 1); ++k) {
            auto* g = ode_->addGraph();
            g->setPen(QPen(c, (k == 0 ? 1.8 : 1.6) * scale_, styles[k]));
            g->setName(names[k]);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 3 * scale_));
            QVector<double> xs, ys;
            for (std::size_t i = 0; i < curves[k]->size() && i < d.t.size() && i < d.calls.size(); ++i) {
                const double v = (*curves[k])[i];
                // The log axis has no place for 0 (the model part of the exact card's own run).
                if (!(v > 0))
                    continue;
                xs << (nfeAxis_ ? d.calls[i] : d.t[i]);
                ys << v;
                xMax = std::max(xMax, double(nfeAxis_ ? d.calls[i] : d.t[i]));
            }
            g->setData(xs, ys, true);
            d.graphs.push_back(g);
        }
    }
    ode_->setVisible(any);
    if (!any)
        return;
    ode_->xAxis->setRangeReversed(!nfeAxis_);
    ode_->xAxis->setLabel(nfeAxis_ ? tr("model calls (NFE)") : axisTitle_);
    ode_->xAxis->setRange(nfeAxis_ ? QCPRange(0, xMax + 1) : QCPRange(-1, trainSteps_ - 1));
    ode_->rescaleAxes(true);
    ode_->xAxis->setRange(nfeAxis_ ? QCPRange(0, xMax + 1) : QCPRange(-1, trainSteps_ - 1));
    ode_->yAxis->scaleRange(1.3, ode_->yAxis->range().center());
    const QPalette pal = palette();
    ode_->setBackground(pal.brush(QPalette::Base));
    for (auto* a : ode_->axisRect()->axes())
        styleAxis(a, pal);
    ode_->legend->setTextColor(pal.color(QPalette::Text));
    odeCursor_->setPen(QPen(pal.color(QPalette::Highlight), 1.5 * scale_));
    QFont f = baseFont_;
    f.setPointSizeF(baseFont_.pointSizeF() * scale_ * 0.85);
    ode_->legend->setFont(f);
    ode_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace noisetrail::ui
