#include "compare_dialog.hpp"
#include "code_trust.hpp"
#include "worker_thread.hpp"

#include "noisetrail/model.hpp"

#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QCoreApplication>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <functional>
#include <map>
#include <cmath>

namespace noisetrail::ui {

namespace {

QString formatValue(double v, const char* format)
{
    if (!std::isfinite(v))
        return QStringLiteral("nan");
    return QString::asprintf(format, v);
}

QColor variantColor(const compare::Variant& v) { return QColor(v.color[0], v.color[1], v.color[2]); }

/// What a compare job reports while it runs, called on the worker thread.
struct CompareReports {
    std::function<void(CompareResultPtr)> partial; ///< the grid after the reference and after each cell
    std::function<void(int cell, int cells, int done, int total, const QString& label, double left, bool last)> progress;
    std::function<void(int bestSamples, int bestCells, const QString& text)> cacheSummary; ///< lookups
};

/// The worker's body: core's compare API (the code of `noisetrail-cli compare`), or
/// for a lookup only its caches. Returns the grid; `cancel` is polled between steps.
CompareResultPtr computeGrid(const CompareJob& job, const std::atomic<bool>* cancel, const CompareReports& report)
{
    const auto model = Model::load(job.modelPath.toStdString(), "cpu", trustedCode());
    const compare::Options& options = job.options; // threads 0: core's thread policy (threads.hpp) picks per run
    if (job.lookupOnly) {
        const std::map<int, int> counts = compare::cached_sample_counts(*model, options);
        int bestN = 0, bestCells = 0;
        QStringList parts;
        for (const auto& [n, cells] : counts) {
            parts << CompareDialog::tr("%1 cells at %2 samples").arg(cells).arg(n);
            if (cells >= bestCells) {
                bestN = n;
                bestCells = cells;
            }
        }
        report.cacheSummary(bestN, bestCells,
                            parts.isEmpty() ? CompareDialog::tr("no cells of this model yet") : parts.join(QStringLiteral(", ")));
        return std::make_shared<const compare::Result>(compare::cached_compare(*model, options));
    }
    QString label;
    const auto onProgress = [&](const compare::Progress& p) {
        using E = compare::Progress::Event;
        switch (p.event) {
        case E::Prepared: report.partial(std::make_shared<const compare::Result>(*p.grid)); break;
        case E::CellStarted:
            label = QString::fromStdString(p.grid->variants[p.variant].label) + QStringLiteral(", S = %1").arg(p.steps);
            report.progress(p.cell, p.cells, 0, p.total, label, -1, true);
            break;
        case E::Step: report.progress(p.cell, p.cells, p.done, p.total, label, -1, p.done == p.total); break;
        case E::CellFinished:
            report.partial(std::make_shared<const compare::Result>(*p.grid));
            report.progress(p.cell + 1, p.cells, 0, 0, label, p.cells_left > 0 ? p.seconds_left : 0.0, true);
            break;
        }
    };
    return std::make_shared<const compare::Result>(compare::run_compare(*model, options, onProgress, cancel));
}

} // namespace

// ------------------------------------------------------------------ dialog

CompareDialog::CompareDialog(const QString& modelPath, QWidget* parent) : QDialog(parent), modelPath_(modelPath)
{
    setObjectName("compareDialog");
    setWindowTitle(tr("Compare DDPM vs DDIM"));
    resize(1100, 640);

    const QFileInfo card(modelPath);
    const QString stem = card.completeBaseName();
    // <XDG cache>/<application>/compare: Qt's CacheLocation would add the organization
    // as well, which is the application's own name ("NoiseTrail/NoiseTrail").
    QDir cacheDir(QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation) + QLatin1Char('/') +
                  QCoreApplication::applicationName());
    cacheDir.mkpath(QStringLiteral("compare"));
    cacheFile_ = cacheDir.filePath(QStringLiteral("compare/%1-compare-cache.json").arg(stem));
    // The committed cache of a bundled card (core's one rule: docs/compare-<stem>/ beside models/,
    // in the source tree and in share/noisetrail/ when installed).
    const QString committed = QString::fromStdString(compare::committed_cache(card.absoluteFilePath().toStdString()).string());
    if (QFileInfo::exists(committed))
        readOnly_ << QDir::cleanPath(committed);

    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail compare worker");
    worker_ = new QObject;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    startWorkerThread(thread_); // before the first job is queued (worker_thread.hpp)

    auto* col = new QVBoxLayout(this);
    title_ = new QLabel(tr("<b>%1</b>: DDIM (eta 0, 0.2, 0.5, 1) and DDPM sigma-hat from the same seeds, by number "
                           "of steps S. Cells are cached; the CLI's cache is reused when present.")
                            .arg(card.fileName().toHtmlEscaped()));
    title_->setWordWrap(true);
    col->addWidget(title_);

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Samples per cell")));
    samples_ = new QSpinBox;
    samples_->setObjectName("compareSamples");
    samples_->setRange(8, 100000);
    samples_->setSingleStep(100);
    samples_->setValue(200);
    samples_->setToolTip(tr("Samples per cell: more gives stabler figures and takes longer "
                            "(the CLI's default is 1000 for 2-D models, 500 for digits)"));
    controls->addWidget(samples_);
    quick_ = new QCheckBox(tr("&Quick (S = 10, 20)"));
    quick_->setObjectName("compareQuick");
    quick_->setToolTip(tr("Only the short step counts: seconds instead of minutes"));
    controls->addWidget(quick_);
    equalCost_ = new QCheckBox(tr("&Equal cost"));
    equalCost_->setObjectName("compareEqualCost");
    equalCost_->setToolTip(tr("Columns are model calls (NFE) instead of steps, with a Heun row: each sampler takes "
                              "the steps that fit (Heun 10 steps beside DDIM 19), so a 2-call solver is not "
                              "flattered (the CLI's compare --equal-nfe)"));
    controls->addWidget(equalCost_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Metric")));
    metric_ = new QComboBox;
    metric_->setObjectName("compareMetric");
    metric_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    controls->addWidget(metric_, 1);
    computeButton_ = new QPushButton(tr("&Compute"));
    computeButton_->setObjectName("compareCompute");
    computeButton_->setToolTip(tr("Sample and measure the cells not in the cache"));
    cancelButton_ = new QPushButton(tr("Cancel"));
    cancelButton_->setObjectName("compareCancel");
    cancelButton_->setToolTip(tr("Stop within one sampling step; finished cells stay cached"));
    controls->addWidget(computeButton_);
    controls->addWidget(cancelButton_);
    col->addLayout(controls);

    auto* statusRow = new QHBoxLayout;
    progress_ = new QProgressBar;
    progress_->setMaximumWidth(260);
    progress_->hide();
    status_ = new QLabel;
    status_->setObjectName("compareStatus");
    statusRow->addWidget(progress_);
    statusRow->addWidget(status_, 1);
    col->addLayout(statusRow);

    auto* split = new QSplitter(Qt::Vertical);
    table_ = new QTableWidget;
    table_->setObjectName("compareTable");
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->setDefaultSectionSize(24);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setToolTip(tr("Rows: samplers; columns: number of steps S. Bold: best of the column. "
                          "Grey italics: not computed yet"));
    plot_ = new QCustomPlot;
    plot_->setObjectName("comparePlot");
    plot_->setMinimumHeight(220);
    split->addWidget(table_);
    split->addWidget(plot_);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    col->addWidget(split, 1);
    cacheLabel_ = new QLabel;
    cacheLabel_->setObjectName("compareCache");
    cacheLabel_->setWordWrap(true);
    cacheLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont small = cacheLabel_->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    cacheLabel_->setFont(small);
    col->addWidget(cacheLabel_);

    // Plot: metric against S on a log axis, one line per sampler.
    QSharedPointer<QCPAxisTickerLog> logTicker(new QCPAxisTickerLog);
    plot_->xAxis->setScaleType(QCPAxis::stLogarithmic);
    plot_->xAxis->setTicker(logTicker);
    plot_->xAxis->setLabel(tr("steps S (log scale)"));
    plot_->legend->setVisible(true);
    QFont lf = font();
    lf.setPointSizeF(lf.pointSizeF() * 0.85);
    plot_->legend->setFont(lf);
    plot_->plotLayout()->insertRow(0);
    plotTitle_ = new QCPTextElement(plot_, QString(), font());
    plot_->plotLayout()->addElement(0, 0, plotTitle_);
    // The legend right of the axes, at their top: inside them it covered the S = 1000 points.
    auto* side = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(1, 1, side);
    plot_->plotLayout()->setColumnStretchFactor(1, 0.001);
    plot_->axisRect()->insetLayout()->take(plot_->legend);
    side->addElement(0, 0, plot_->legend);
    side->addElement(1, 0, new QCPLayoutElement(plot_)); // the room below it
    side->setRowStretchFactor(0, 0.001);
    side->setAutoMargins(QCP::msNone);
    side->setMargins(QMargins(4, 0, 6, 0)); // the legend's frame is its outer rect: keep it off the edge
    plot_->legend->setMargins(QMargins(6, 4, 6, 4));

    connect(computeButton_, &QPushButton::clicked, this, &CompareDialog::compute);
    connect(cancelButton_, &QPushButton::clicked, this, &CompareDialog::cancel);
    connect(samples_, &QSpinBox::valueChanged, this, [this] {
        if (!settingSamples_)
            autoSamples_ = false; // the user (or a caller) chose
        lookup();
    });
    connect(quick_, &QCheckBox::toggled, this, &CompareDialog::lookup);
    connect(equalCost_, &QCheckBox::toggled, this, &CompareDialog::lookup);
    connect(equalCost_, &QCheckBox::toggled, this, [this, name = card.fileName().toHtmlEscaped()](bool on) {
        title_->setText(on ? tr("<b>%1</b>: DDIM (eta 0, 0.2, 0.5, 1), DDPM sigma-hat and Heun from the same seeds, "
                                "by model calls (NFE): each sampler takes the steps that fit. Cells are cached.")
                                 .arg(name)
                           : tr("<b>%1</b>: DDIM (eta 0, 0.2, 0.5, 1) and DDPM sigma-hat from the same seeds, by number "
                                "of steps S. Cells are cached; the CLI's cache is reused when present.")
                                 .arg(name));
    });
    connect(metric_, &QComboBox::currentIndexChanged, this, &CompareDialog::showGrid);
    updateButtons();
    lookup();
}

CompareDialog::~CompareDialog()
{
    jobs_.cancelAll();
    thread_->quit();
    thread_->wait();
}

void CompareDialog::closeEvent(QCloseEvent* e)
{
    if (computing_)
        cancel(); // finished cells are cached; nothing is lost
    QDialog::closeEvent(e);
}

void CompareDialog::setCacheFile(const QString& file)
{
    cacheFile_ = file;
    lookup();
}

void CompareDialog::setReadOnlyCaches(const QStringList& files)
{
    readOnly_ = files;
    lookup();
}

void CompareDialog::setSamples(int n) { samples_->setValue(n); }
int CompareDialog::samples() const { return samples_->value(); }
void CompareDialog::setQuick(bool on) { quick_->setChecked(on); }
bool CompareDialog::quick() const { return quick_->isChecked(); }

std::vector<int> CompareDialog::stepCounts() const
{
    return quick_->isChecked() ? compare::kQuickSteps : compare::kFullSteps;
}

int CompareDialog::plotLineCount() const { return plot_->graphCount(); }
int CompareDialog::plotPointCount(int line) const
{
    return line >= 0 && line < plot_->graphCount() ? plot_->graph(line)->dataCount() : 0;
}
bool CompareDialog::plotLogX() const { return plot_->xAxis->scaleType() == QCPAxis::stLogarithmic; }

QString CompareDialog::statusText() const { return status_->text(); }

compare::Options CompareDialog::options() const
{
    compare::Options o;
    o.samples = samples_->value();
    o.steps = stepCounts();
    o.equal_nfe = equalCost_->isChecked();
    o.cache_file = cacheFile_.toStdString();
    for (const QString& f : readOnly_)
        o.read_only_caches.push_back(f.toStdString());
    return o;
}

void CompareDialog::lookup()
{
    if (computing_)
        return;
    CompareJob job;
    job.modelPath = modelPath_;
    job.options = options();
    job.lookupOnly = true;
    startJob(job);
    lookupLabel();
}

void CompareDialog::lookupLabel()
{
    QStringList caches{QDir::toNativeSeparators(cacheFile_)};
    for (const QString& f : readOnly_)
        caches << tr("%1 (read only)").arg(QDir::toNativeSeparators(f));
    cacheLabel_->setText(tr("Cache: %1%2")
                             .arg(caches.join(QStringLiteral("; ")),
                                  cacheText_.isEmpty() ? QString() : tr(" \u2014 holds %1").arg(cacheText_)));
}

void CompareDialog::compute()
{
    if (computing_)
        return;
    CompareJob job;
    job.modelPath = modelPath_;
    job.options = options();
    computing_ = true;
    progress_->setRange(0, 0);
    progress_->show();
    status_->setText(tr("Preparing the reference..."));
    updateButtons();
    startJob(job);
}

void CompareDialog::startJob(const CompareJob& job)
{
    // On the worker thread: `this` is only used by what is delivered back to this thread.
    jobs_.startJob(
        worker_, this,
        [this, job](const JobTracker::Job& j) {
            if (j.isCancelled()) { // cancelled while it waited behind an earlier job: compute nothing
                if (!job.lookupOnly)
                    j.deliver([this] { onFinished(nullptr, true); });
                return;
            }
            CompareReports report;
            report.partial = [&](CompareResultPtr g) { j.deliver([this, g] { onPartial(g); }); };
            report.progress = [&](int cell, int cells, int done, int total, const QString& label, double left, bool last) {
                j.progress([=, this] { onProgress(cell, cells, done, total, label, left); }, last);
            };
            report.cacheSummary = [&](int n, int cells, const QString& text) {
                j.deliver([=, this] { onCacheSummary(n, cells, text); });
            };
            const CompareResultPtr grid = computeGrid(job, j.cancelFlag(), report);
            j.deliver([this, grid] { onFinished(grid, grid->cancelled); });
        },
        [this](const QString& message) { onFailed(message); });
}

void CompareDialog::cancel()
{
    if (!computing_)
        return;
    jobs_.cancelAll(); // directly: a queued call would wait behind the very job it must stop
    status_->setText(tr("Cancelling..."));
}

void CompareDialog::updateButtons()
{
    computeButton_->setEnabled(!computing_);
    cancelButton_->setEnabled(computing_);
    samples_->setEnabled(!computing_);
    quick_->setEnabled(!computing_);
    equalCost_->setEnabled(!computing_);
}

void CompareDialog::onPartial(CompareResultPtr grid)
{
    grid_ = std::move(grid);
    showGrid();
}

void CompareDialog::onProgress(int cell, int cells, int done, int total, const QString& label,
                               double left)
{
    // Whole cells plus the fraction of the current one, in thousandths.
    progress_->setRange(0, cells * 1000);
    progress_->setValue(cell * 1000 + (total > 0 ? 1000 * done / total : 0));
    QString text = tr("Cell %1 of %2: %3").arg(std::min(cell + 1, cells)).arg(cells).arg(label);
    if (total > 0)
        text += tr(", step %1 of %2").arg(done).arg(total);
    if (left >= 0)
        text += tr(" \u00b7 about %1 s left").arg(left, 0, 'f', 0);
    status_->setText(text);
}

void CompareDialog::onFinished(CompareResultPtr grid, bool cancelled)
{
    const bool wasComputing = computing_;
    computing_ = false;
    progress_->hide();
    if (!grid) { // cancelled before it started: nothing computed, the grid shown stays
        updateButtons();
        status_->setText(tr("Cancelled before it started: nothing was computed."));
        Q_EMIT computeFinished(true);
        return;
    }
    grid_ = std::move(grid);
    if (wasComputing) { // the summary of the last lookup is out of date
        cacheText_.clear();
        lookupLabel();
    }
    updateButtons();
    showGrid();
    int done = 0, total = 0;
    for (const auto& row : grid_->cells)
        for (const auto& c : row) {
            ++total;
            done += c.done ? 1 : 0;
        }
    if (wasComputing)
        status_->setText(cancelled ? tr("Cancelled: %1 of %2 cells done (kept in the cache).").arg(done).arg(total)
                                   : tr("Done: %1 cells computed, %2 from the cache, in %3 s.")
                                         .arg(grid_->computed)
                                         .arg(total - grid_->computed)
                                         .arg(grid_->seconds, 0, 'f', 1));
    else
        status_->setText(done == total ? tr("All %1 cells are cached.").arg(total)
                                       : tr("%1 of %2 cells cached. Press Compute for the rest.").arg(done).arg(total));
    // Why cached cells were not used: say it, so a recomputation is never a surprise.
    QStringList why;
    if (grid_->stale > 0)
        why << (grid_->stale == 1 ? tr("1 cell in the cache was measured on other content of this model (its card "
                                       "or weights changed since): Compute recomputes it.")
                                  : tr("%1 cells in the cache were measured on other content of this model (its "
                                       "card or weights changed since): Compute recomputes them.")
                                        .arg(grid_->stale));
    for (const std::string& w : grid_->warnings)
        why << QString::fromStdString(w);
    if (!why.isEmpty())
        status_->setText(status_->text() + QLatin1Char(' ') + why.join(QLatin1Char(' ')));
    if (wasComputing)
        Q_EMIT computeFinished(cancelled);
}

void CompareDialog::onCacheSummary(int bestSamples, int bestCells, const QString& text)
{
    cacheText_ = text;
    lookupLabel();
    if (autoSamples_ && bestCells > 0 && bestSamples != samples_->value() && bestSamples >= samples_->minimum()) {
        autoSamples_ = false; // once
        settingSamples_ = true;
        samples_->setValue(bestSamples);
        settingSamples_ = false;
    }
}

void CompareDialog::onFailed(const QString& message)
{
    const bool wasComputing = computing_;
    computing_ = false;
    progress_->hide();
    updateButtons();
    status_->setText(tr("Compare failed: %1").arg(message));
    if (wasComputing)
        Q_EMIT computeFinished(true);
}

void CompareDialog::showGrid()
{
    if (!grid_)
        return;
    const compare::Result& g = *grid_;
    // Metric choice: keep the current key across refreshes.
    const QString current = metric_->currentData().toString();
    if (metric_->count() != int(g.metrics.size())) {
        const QSignalBlocker b(metric_);
        metric_->clear();
        for (const auto& m : g.metrics)
            metric_->addItem(QString::fromStdString(m.title), QString::fromStdString(m.key));
        const int i = metric_->findData(current);
        metric_->setCurrentIndex(i >= 0 ? i : 0);
    }
    const int mi = std::max(0, metric_->currentIndex());
    if (mi >= int(g.metrics.size()))
        return;
    const compare::MetricDef& def = g.metrics[std::size_t(mi)];
    const std::string& key = def.key;
    const double tv = g.truth_of(key);
    const int better = def.better == 2 && !std::isfinite(tv) ? 0 : def.better;

    // Table: rows = samplers (+ the reference row), columns = S.
    const bool truthRow = std::isfinite(tv);
    table_->clear();
    table_->setRowCount(int(g.variants.size()) + (truthRow ? 1 : 0));
    table_->setColumnCount(int(g.steps.size()));
    QStringList cols, rows;
    for (int s : g.steps)
        cols << (g.equal_nfe ? QStringLiteral("NFE = %1") : QStringLiteral("S = %1")).arg(s);
    for (const auto& v : g.variants)
        rows << QString::fromStdString(v.label);
    if (truthRow)
        rows << QString::fromStdString(g.truth_label);
    table_->setHorizontalHeaderLabels(cols);
    table_->setVerticalHeaderLabels(rows);
    for (std::size_t i = 0; i < g.variants.size(); ++i) {
        auto* h = table_->verticalHeaderItem(int(i));
        h->setForeground(variantColor(g.variants[i]));
    }
    const auto score = [&](double v) { return better == 2 ? -std::abs(v - tv) : better > 0 ? v : -v; };
    for (std::size_t k = 0; k < g.steps.size(); ++k) {
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < g.variants.size(); ++i) {
            const double v = g.value(i, k, key);
            if (g.cells[i][k].done && std::isfinite(v))
                best = std::max(best, score(std::stod(formatValue(v, def.format).toStdString())));
        }
        for (std::size_t i = 0; i < g.variants.size(); ++i) {
            const compare::Cell& c = g.cells[i][k];
            auto* item = new QTableWidgetItem;
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (!c.done) {
                item->setText(QStringLiteral("\u2014"));
                item->setForeground(palette().color(QPalette::PlaceholderText));
                item->setToolTip(tr("not computed yet"));
            } else {
                const double v = g.value(i, k, key);
                const QString text = formatValue(v, def.format);
                item->setText(text);
                if (better != 0 && std::isfinite(v) && score(text.toDouble()) >= best) {
                    QFont f = item->font();
                    f.setBold(true);
                    item->setFont(f);
                }
                item->setToolTip((g.equal_nfe ? tr("%1 steps, ").arg(g.cell_steps(i, k)) : QString()) +
                                 tr("%1 s%2").arg(c.seconds, 0, 'f', 2).arg(c.cached ? tr(" (cached)") : QString()));
            }
            table_->setItem(int(i), int(k), item);
        }
        if (truthRow) {
            auto* item = new QTableWidgetItem(formatValue(tv, def.format));
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            QFont f = item->font();
            f.setItalic(true);
            item->setFont(f);
            item->setToolTip(tr("the same metric on real data: what a perfect sampler would score"));
            table_->setItem(int(g.variants.size()), int(k), item);
        }
    }

    // The table as tall as its rows; the plot takes the rest.
    int h = table_->horizontalHeader()->height() + 2 * table_->frameWidth() + 2;
    for (int r = 0; r < table_->rowCount(); ++r)
        h += table_->rowHeight(r);
    table_->setMinimumHeight(h);
    table_->setMaximumHeight(h);

    // Plot.
    plot_->clearGraphs();
    const QPalette pal = palette();
    plot_->setBackground(pal.brush(QPalette::Base));
    for (auto* a : plot_->axisRect()->axes()) {
        a->setBasePen(QPen(pal.color(QPalette::WindowText)));
        a->setTickPen(QPen(pal.color(QPalette::WindowText)));
        a->setSubTickPen(QPen(pal.color(QPalette::WindowText)));
        a->setTickLabelColor(pal.color(QPalette::WindowText));
        a->setLabelColor(pal.color(QPalette::WindowText));
    }
    plot_->legend->setBrush(pal.brush(QPalette::Base));
    plot_->legend->setTextColor(pal.color(QPalette::Text));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < g.variants.size(); ++i) {
        auto* gr = plot_->addGraph();
        const QColor c = variantColor(g.variants[i]);
        gr->setPen(QPen(c, 2));
        gr->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 6));
        gr->setName(QString::fromStdString(g.variants[i].label));
        for (std::size_t k = 0; k < g.steps.size(); ++k) {
            const double v = g.value(i, k, key);
            if (g.cells[i][k].done && std::isfinite(v)) {
                gr->addData(g.steps[k], v);
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    }
    const double x0 = g.steps.front() / 1.4, x1 = g.steps.back() * 1.4;
    if (truthRow) {
        auto* gr = plot_->addGraph();
        gr->setPen(QPen(pal.color(QPalette::Mid), 1.5, Qt::DashLine));
        gr->setName(QString::fromStdString(g.truth_label));
        gr->addData(x0, tv);
        gr->addData(x1, tv);
        lo = std::min(lo, tv);
        hi = std::max(hi, tv);
    }
    plot_->xAxis->setRange(x0, x1);
    plot_->xAxis->setLabel(g.equal_nfe ? tr("model calls NFE (log scale)") : tr("steps S (log scale)"));
    if (std::isfinite(lo)) {
        const double pad = std::max(1e-9, (hi - lo) * 0.08 + (hi == lo ? std::max(0.5, std::abs(hi) * 0.1) : 0.0));
        plot_->yAxis->setRange(lo - pad, hi + pad);
    }
    plot_->yAxis->setLabel(QString::fromStdString(def.title)); // core's words for the metric (metric_defs)
    plotTitle_->setText(QString::fromStdString(def.title) +
                        (better == 1    ? tr(": higher is better")
                         : better < 0   ? tr(": lower is better")
                         : better == 2  ? tr(": closest to the dashed line (%1) is best")
                                             .arg(QString::fromStdString(g.truth_label))
                                        : QString()));
    plotTitle_->setTextColor(pal.color(QPalette::WindowText));
    plot_->replot(QCustomPlot::rpQueuedReplot);
    Q_EMIT gridChanged();
}

} // namespace noisetrail::ui
