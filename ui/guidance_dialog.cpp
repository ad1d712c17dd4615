#include "guidance_dialog.hpp"
#include "code_trust.hpp"
#include "worker_thread.hpp"

#include "noisetrail/model.hpp"

#include <QCloseEvent>
#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

namespace {

/// "0, 1, 3, 7" -> {0, 1, 3, 7}; empty when any entry is not a finite number >= 0.
std::vector<double> parseScales(const QString& text)
{
    std::vector<double> out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double w = part.trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(w) || w < 0)
            return {};
        out.push_back(w);
    }
    return out;
}

} // namespace

GuidanceDialog::GuidanceDialog(const QString& modelPath, const SamplerConfig& sampler, const QString& samplerText,
                               QWidget* parent)
    : QDialog(parent), modelPath_(modelPath), sampler_(sampler)
{
    setObjectName("guidanceDialog");
    setWindowTitle(tr("Compare Guidance Scales"));
    resize(980, 600);
    sampler_.guidance.classes.clear(); // set per run: every class on its own
    sampler_.guidance.scale.reset();

    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail guidance worker");
    worker_ = new QObject;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    startWorkerThread(thread_);

    auto* col = new QVBoxLayout(this);
    auto* title = new QLabel(
        tr("<b>%1</b>: every class sampled on its own at each guidance scale W, from the same x_T (%2), and judged "
           "against its class. W = 0 is the unconditional model, W = 1 the conditional one; above 1 guidance trades "
           "diversity (and, on exact cards, likelihood under the true p(x | c)) for class certainty.")
            .arg(QFileInfo(modelPath).fileName().toHtmlEscaped(),
                 samplerText.toHtmlEscaped()));
    title->setWordWrap(true);
    col->addWidget(title);

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Scales W")));
    scales_ = new QLineEdit(QStringLiteral("0, 1, 2, 3, 5, 7"));
    scales_->setObjectName("guidanceScales");
    scales_->setToolTip(tr("The guidance scales to measure, separated by commas"));
    controls->addWidget(scales_, 1);
    controls->addWidget(new QLabel(tr("Samples per class")));
    samples_ = new QSpinBox;
    samples_->setObjectName("guidanceSamples");
    samples_->setRange(8, 100000);
    samples_->setSingleStep(100);
    samples_->setValue(200);
    samples_->setToolTip(tr("Samples of each class at each W: more gives stabler figures and takes longer (the CLI's "
                            "default is 500 for 2-D models, 100 for digits)"));
    controls->addWidget(samples_);
    controls->addWidget(new QLabel(tr("Plot")));
    metric_ = new QComboBox;
    metric_->setObjectName("guidanceMetric");
    metric_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    controls->addWidget(metric_);
    computeButton_ = new QPushButton(tr("&Compute"));
    computeButton_->setObjectName("guidanceCompute");
    cancelButton_ = new QPushButton(tr("Cancel"));
    cancelButton_->setObjectName("guidanceCancel");
    cancelButton_->setToolTip(tr("Stop within one sampling step; the scales finished stay in the table"));
    controls->addWidget(computeButton_);
    controls->addWidget(cancelButton_);
    col->addLayout(controls);

    auto* statusRow = new QHBoxLayout;
    progress_ = new QProgressBar;
    progress_->setMaximumWidth(260);
    progress_->hide();
    status_ = new QLabel(tr("Press Compute to sample and measure."));
    status_->setObjectName("guidanceStatus");
    statusRow->addWidget(progress_);
    statusRow->addWidget(status_, 1);
    col->addLayout(statusRow);

    auto* split = new QSplitter(Qt::Vertical);
    table_ = new QTableWidget;
    table_->setObjectName("guidanceTable");
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setToolTip(tr("Rows: guidance scales W; each value averaged over the classes"));
    plot_ = new QCustomPlot;
    plot_->setObjectName("guidancePlot");
    plot_->setMinimumHeight(200);
    plot_->xAxis->setLabel(tr("guidance scale W"));
    split->addWidget(table_);
    split->addWidget(plot_);
    split->setStretchFactor(1, 1);
    col->addWidget(split, 1);

    connect(computeButton_, &QPushButton::clicked, this, &GuidanceDialog::compute);
    connect(cancelButton_, &QPushButton::clicked, this, &GuidanceDialog::cancel);
    connect(metric_, &QComboBox::currentIndexChanged, this, &GuidanceDialog::showResult);
    updateButtons();
}

GuidanceDialog::~GuidanceDialog()
{
    jobs_.cancelAll();
    thread_->quit();
    thread_->wait();
}

void GuidanceDialog::closeEvent(QCloseEvent* e)
{
    cancel(); // what finished stays in the table
    QDialog::closeEvent(e);
}

void GuidanceDialog::setSamples(int n) { samples_->setValue(n); }
void GuidanceDialog::setScales(const QString& text) { scales_->setText(text); }
QString GuidanceDialog::statusText() const { return status_->text(); }
int GuidanceDialog::plotPointCount() const { return plot_->graphCount() ? plot_->graph(0)->dataCount() : 0; }

void GuidanceDialog::compute()
{
    if (computing_)
        return;
    compare::GuidanceOptions o;
    o.scales = parseScales(scales_->text());
    if (o.scales.empty()) {
        status_->setText(tr("Scales W: numbers >= 0 separated by commas, e.g. 0, 1, 3, 7"));
        return;
    }
    o.samples = samples_->value();
    o.sampler = sampler_;
    computing_ = true;
    updateButtons();
    progress_->setRange(0, 0);
    progress_->show();
    status_->setText(tr("Sampling..."));
    const QString path = modelPath_;
    jobs_.startJob(
        worker_, this,
        [this, path, o](const JobTracker::Job& j) {
            // Its own copy of the card: the window's model stays the sampling worker's.
            const auto model = Model::load(path.toStdString(), "cpu", trustedCode());
            auto r = std::make_shared<const compare::GuidanceResult>(compare::run_guidance(
                *model, o,
                [&](int done, int total) { j.progress([=, this] { onProgress(done, total); }, done == total); },
                j.cancelFlag()));
            j.deliver([this, r] { onFinished(r); });
        },
        [this](const QString& message) { onFailed(message); });
}

void GuidanceDialog::cancel()
{
    if (!computing_)
        return;
    jobs_.cancelAll();
    status_->setText(tr("Cancelling..."));
}

void GuidanceDialog::updateButtons()
{
    computeButton_->setEnabled(!computing_);
    cancelButton_->setEnabled(computing_);
    samples_->setEnabled(!computing_);
    scales_->setEnabled(!computing_);
}

void GuidanceDialog::onProgress(int done, int total)
{
    progress_->setRange(0, total);
    progress_->setValue(done);
    status_->setText(tr("Run %1 of %2 (one class at one W each)").arg(done).arg(total));
}

void GuidanceDialog::onFinished(std::shared_ptr<const compare::GuidanceResult> r)
{
    computing_ = false;
    updateButtons();
    progress_->hide();
    result_ = std::move(r);
    status_->setText(result_->cancelled
                         ? tr("Cancelled: %1 of the scales finished.").arg(result_->rows.size())
                         : tr("%1 samples per class, %2 classes; judged by %3.")
                               .arg(result_->samples)
                               .arg(result_->classes.size())
                               .arg(result_->exact ? tr("the card's exact class mixtures")
                                                   : tr("the classifier next to the card")));
    showResult();
    Q_EMIT computeFinished(result_->cancelled);
}

void GuidanceDialog::onFailed(const QString& message)
{
    computing_ = false;
    updateButtons();
    progress_->hide();
    status_->setText(tr("Could not measure: %1").arg(message));
    Q_EMIT computeFinished(true);
}

void GuidanceDialog::showResult()
{
    if (!result_)
        return;
    const auto& defs = result_->metrics;
    if (metric_->count() != int(defs.size())) {
        const QSignalBlocker b(metric_);
        metric_->clear();
        for (const auto& m : defs)
            metric_->addItem(QString::fromStdString(m.title), QString::fromStdString(m.key));
        // The fidelity column first: log p(x0|c) on exact cards, the FD otherwise (where W > 1 pays).
        metric_->setCurrentIndex(std::min(3, metric_->count() - 1));
    }
    table_->clear();
    table_->setRowCount(int(result_->rows.size()));
    table_->setColumnCount(int(defs.size()) + 1);
    QStringList heads{tr("W")};
    for (const auto& m : defs)
        heads << QString::fromStdString(m.title);
    table_->setHorizontalHeaderLabels(heads);
    for (int r = 0; r < int(result_->rows.size()); ++r) {
        const auto& row = result_->rows[std::size_t(r)];
        table_->setItem(r, 0, new QTableWidgetItem(QString::number(row.w, 'g', 4)));
        for (int c = 0; c < int(defs.size()); ++c) {
            const double v = row.values.at(defs[std::size_t(c)].key);
            auto* item = new QTableWidgetItem(std::isfinite(v) ? QString::asprintf(defs[std::size_t(c)].format, v)
                                                               : QStringLiteral("\u2013"));
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(r, c + 1, item);
        }
    }
    // The chosen metric against W.
    plot_->clearGraphs();
    const std::string key = metric_->currentData().toString().toStdString();
    QVector<double> xs, ys;
    for (const auto& row : result_->rows)
        if (const auto it = row.values.find(key); it != row.values.end() && std::isfinite(it->second)) {
            xs << row.w;
            ys << it->second;
        }
    QCPGraph* g = plot_->addGraph();
    g->setData(xs, ys);
    g->setPen(QPen(QColor(31, 119, 180), 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
    plot_->yAxis->setLabel(metric_->currentText());
    plot_->rescaleAxes();
    plot_->xAxis->scaleRange(1.1, plot_->xAxis->range().center());
    plot_->yAxis->scaleRange(1.15, plot_->yAxis->range().center());
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace noisetrail::ui
