#include "experiment_dialog.hpp"
#include "worker_thread.hpp"

#include "export_plot.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/npy.hpp"

#include <QCheckBox>
#include <QCloseEvent>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>

#include <algorithm>

namespace noisetrail::ui {

namespace {

/// Ascending, distinct step counts from "10,20,50"; empty on a bad list.
std::vector<int> parseSteps(const QString& text)
{
    std::vector<int> out;
    for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const int v = part.trimmed().toInt(&ok);
        if (!ok || v < 1)
            return {};
        out.push_back(v);
    }
    if (!std::is_sorted(out.begin(), out.end()) || std::adjacent_find(out.begin(), out.end()) != out.end())
        return {};
    return out;
}

const char* kDescriptions[4] = {
    QT_TRANSLATE_NOOP("ExperimentDialog",
                      "DDIM paper sec. 5.4: real examples run backwards along the DDIM (eta 0) plan to x_T, then "
                      "forwards again. The error falls as S grows (the paper's Table 2: 0.014 at S = 10 to 0.0001 "
                      "at S = 1000 on CIFAR10); DDPM from the same x_T draws a different sample."),
    QT_TRANSLATE_NOOP("ExperimentDialog",
                      "DDIM paper sec. 5.3: two starting noises, spherically interpolated (slerp), each point "
                      "decoded by each sampler. DDIM morphs smoothly; DDPM's own noise makes a jumble."),
    QT_TRANSLATE_NOOP("ExperimentDialog",
                      "DDIM paper sec. 5.2: one x_T sampled at every S; the distance of each S's samples to the "
                      "largest S's. Below the grid: x0_hat after k steps of the longest run, which is not what a "
                      "k-step run makes (early stop is not fewer steps)."),
    QT_TRANSLATE_NOOP("ExperimentDialog",
                      "When does a sample decide what it becomes? x0_hat's class (digit classifier) or mixture "
                      "component at every step, as a strip under each sample or the colour of each path; the "
                      "decision t is the last t at which it changed."),
};

} // namespace

/// The figure, scaled down to the view's width when it is wider (a decision row's
/// 16 samples, the histograms and the legend all on screen), never enlarged and
/// never below half size (then it scrolls). Export writes it at its own size.
class FigureView : public QScrollArea {
public:
    FigureView()
    {
        label_ = new QLabel;
        label_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
        label_->setBackgroundRole(QPalette::Base);
        setWidget(label_);
        setWidgetResizable(true);
        setBackgroundRole(QPalette::Base);
    }
    void setImage(QImage image)
    {
        image_ = std::move(image);
        shownWidth_ = -1;
        rescale();
    }

protected:
    void resizeEvent(QResizeEvent* e) override
    {
        QScrollArea::resizeEvent(e);
        rescale();
    }

private:
    void rescale()
    {
        // The vertical scroll bar's width is always reserved, so showing it never
        // changes the width to fit and the scaling cannot oscillate.
        const int room = std::max(1, width() - 2 * frameWidth() - verticalScrollBar()->sizeHint().width());
        const int w = image_.isNull() ? 0 : std::clamp(room, (image_.width() + 1) / 2, image_.width());
        if (w == shownWidth_)
            return;
        shownWidth_ = w;
        label_->setPixmap(image_.isNull() ? QPixmap()
                          : w == image_.width()
                              ? QPixmap::fromImage(image_)
                              : QPixmap::fromImage(image_.scaledToWidth(w, Qt::SmoothTransformation)));
    }
    QLabel* label_ = nullptr;
    QImage image_;
    int shownWidth_ = -1;
};

ExperimentDialog::ExperimentDialog(const QString& modelPath, quint64 seed, QWidget* parent)
    : QDialog(parent), modelPath_(modelPath), seed_(seed)
{
    setObjectName("experimentDialog");
    setWindowTitle(tr("Experiments: %1").arg(QFileInfo(modelPath).fileName()));
    // 1280 x 800 where the screen has room; on a 1366 x 768 projector the whole
    // window (its frame included) stays on screen, the splitter below shares the rest.
    const QScreen* screen = parent ? parent->screen() : QGuiApplication::primaryScreen();
    const QSize room = screen ? screen->availableGeometry().size() - QSize(24, 64) : QSize(1280, 800);
    resize(QSize(1280, 800).boundedTo(room));
    try {
        image_ = read_model_card(modelPath.toStdString()).is_image();
    } catch (const std::exception&) {
        image_ = false; // the worker reports the card's problem when asked to compute
    }

    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail experiment worker");
    worker_ = new QObject;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    startWorkerThread(thread_); // before the first job is queued (worker_thread.hpp)

    tabs_ = new QTabWidget;
    tabs_->setObjectName("experimentTabs");
    const auto addPage = [&](ExperimentKind kind, int count, int countMax, const QString& countLabel,
                             const QString& steps, const QString& samplers) {
        Page& pg = pages_[int(kind)];
        auto* w = new QWidget;
        auto* form = new QFormLayout(w);
        auto* about = new QLabel(tr(kDescriptions[int(kind)]));
        about->setWordWrap(true);
        form->addRow(about);
        pg.count = new QSpinBox;
        pg.count->setRange(kind == ExperimentKind::Interpolation ? 2 : 1, countMax);
        pg.count->setValue(count);
        form->addRow(countLabel, pg.count);
        if (!steps.isEmpty()) {
            pg.steps = new QLineEdit(steps);
            pg.steps->setToolTip(tr("Step counts S, ascending, comma-separated"));
            form->addRow(tr("Steps S:"), pg.steps);
        }
        if (!samplers.isEmpty()) {
            pg.samplers = new QLineEdit(samplers);
            pg.samplers->setToolTip(tr("Samplers as NAME[:STEPS[:ETA]], comma-separated, e.g. ddim:50,ddpm:1000"));
            form->addRow(kind == ExperimentKind::Consistency ? tr("Samplers (steps from S):") : tr("Samplers:"),
                         pg.samplers);
        }
        if (kind == ExperimentKind::Inversion) {
            pg.ddpm = new QCheckBox(tr("DDPM from the same x_T beside DDIM"));
            pg.ddpm->setChecked(true);
            form->addRow(pg.ddpm);
        }
        tabs_->addTab(w, experimentTitle(kind));
    };
    addPage(ExperimentKind::Inversion, image_ ? 8 : 100, 1000, tr("Examples:"), QStringLiteral("10,20,50,100,1000"), {});
    addPage(ExperimentKind::Interpolation, image_ ? 10 : 40, 200, tr("Points:"), {}, QStringLiteral("ddim:50,ddpm:1000"));
    addPage(ExperimentKind::Consistency, image_ ? 8 : 50, 10000, tr("Samples:"), QStringLiteral("10,20,50,100,1000"),
            QStringLiteral("ddim,ddpm"));
    addPage(ExperimentKind::Decision, image_ ? 16 : 100, 10000, tr("Samples:"), {}, QStringLiteral("ddpm:1000,ddim:50"));
    for (Page& pg : pages_)
        pg.status = tr("Press Compute.");
    connect(tabs_, &QTabWidget::currentChanged, this, [this] {
        status_->setText(pages_[tabs_->currentIndex()].status);
        showResult();
        updateButtons();
    });

    seedSpin_ = new QSpinBox;
    seedSpin_->setRange(0, 999999999);
    seedSpin_->setValue(int(seed));
    seedSpin_->setToolTip(tr("Seed of x_T and of the samplers' noise (the window's seed)"));
    computeButton_ = new QPushButton(tr("Compute"));
    computeButton_->setObjectName("experimentCompute");
    computeButton_->setDefault(true);
    computeButton_->setToolTip(tr("Compute this tab's experiment; pressed during a computation, it stops that "
                                  "one and starts again with the current settings"));
    cancelButton_ = new QPushButton(tr("Cancel"));
    cancelButton_->setObjectName("experimentCancel");
    progress_ = new QProgressBar;
    status_ = new QLabel(tr("Press Compute."));
    status_->setWordWrap(true);
    connect(computeButton_, &QPushButton::clicked, this, &ExperimentDialog::compute);
    connect(cancelButton_, &QPushButton::clicked, this, &ExperimentDialog::cancel);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Seed:")));
    controls->addWidget(seedSpin_);
    controls->addWidget(computeButton_);
    controls->addWidget(cancelButton_);
    controls->addWidget(progress_, 1);

    figure_ = new FigureView;
    figure_->setObjectName("experimentFigure");

    table_ = new QTableWidget;
    table_->setObjectName("experimentTable");
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    command_ = new QLineEdit;
    command_->setObjectName("experimentCommand");
    command_->setReadOnly(true);
    command_->setToolTip(tr("The noisetrail-cli command that computes the same (select and copy)"));
    figureButton_ = new QPushButton(tr("Export Figure..."));
    figureButton_->setObjectName("experimentExportFigure");
    figureButton_->setToolTip(tr("Save the figure as PNG, SVG or PDF (by the file's extension)"));
    csvButton_ = new QPushButton(tr("Export CSV..."));
    csvButton_->setObjectName("experimentExportCsv");
    connect(figureButton_, &QPushButton::clicked, this, [this] {
        QString filter = tr("PNG images (*.png)");
        QString f = QFileDialog::getSaveFileName(this, tr("Export figure"), QStringLiteral("experiment.png"),
                                                 tr("PNG images (*.png);;SVG drawings (*.svg);;PDF documents (*.pdf)"),
                                                 &filter);
        if (f.isEmpty())
            return;
        const QString ext = filter.contains("svg") ? "svg" : filter.contains("pdf") ? "pdf" : "png";
        if (QFileInfo(f).suffix().isEmpty())
            f += '.' + ext;
        if (!exportFigure(f))
            setStatus(currentKind(), tr("Could not write %1").arg(f));
    });
    connect(csvButton_, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getSaveFileName(this, tr("Export numbers"), QStringLiteral("experiment.csv"),
                                                       tr("CSV files (*.csv)"));
        if (!f.isEmpty() && !exportCsv(f))
            setStatus(currentKind(), tr("Could not write %1").arg(f));
    });
    auto* bottom = new QWidget;
    auto* bl = new QVBoxLayout(bottom);
    bl->setContentsMargins(0, 0, 0, 0);
    bl->addWidget(table_, 1);
    auto* cmd = new QHBoxLayout;
    cmd->addWidget(new QLabel(tr("CLI:")));
    cmd->addWidget(command_, 1);
    cmd->addWidget(figureButton_);
    cmd->addWidget(csvButton_);
    bl->addLayout(cmd);

    // The table keeps a few rows and the command line with the export buttons
    // stays under it at any height the window can have; the figure takes the rest.
    table_->setMinimumHeight(table_->horizontalHeader()->sizeHint().height() + 3 * table_->verticalHeader()->defaultSectionSize() + 4);
    auto* split = new QSplitter(Qt::Vertical);
    split->setObjectName("experimentSplit");
    split->addWidget(figure_);
    split->addWidget(bottom);
    split->setChildrenCollapsible(false);
    figure_->setMinimumHeight(120);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setSizes({520, 150}); // the figure first; the table needs a few rows

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(tabs_);
    layout->addLayout(controls);
    layout->addWidget(status_);
    layout->addWidget(split, 1);
    updateButtons();
}

ExperimentDialog::~ExperimentDialog()
{
    jobs_.cancelAll();
    thread_->quit();
    thread_->wait();
}

void ExperimentDialog::closeEvent(QCloseEvent* e)
{
    cancel();
    QDialog::closeEvent(e);
}

void ExperimentDialog::setSeed(quint64 seed)
{
    seedSpin_->setValue(int(seed));
}

void ExperimentDialog::showExperiment(ExperimentKind kind)
{
    tabs_->setCurrentIndex(int(kind));
}

ExperimentKind ExperimentDialog::currentKind() const
{
    return ExperimentKind(tabs_->currentIndex());
}

QSpinBox* ExperimentDialog::countSpin(ExperimentKind kind) const { return pages_[int(kind)].count; }
QLineEdit* ExperimentDialog::stepsEdit(ExperimentKind kind) const { return pages_[int(kind)].steps; }
QLineEdit* ExperimentDialog::samplersEdit(ExperimentKind kind) const { return pages_[int(kind)].samplers; }
ExperimentResultPtr ExperimentDialog::result(ExperimentKind kind) const { return pages_[int(kind)].result; }
QString ExperimentDialog::commandText() const { return command_->text(); }
QString ExperimentDialog::statusText() const { return status_->text(); }

void ExperimentDialog::setStatus(ExperimentKind kind, const QString& text)
{
    pages_[int(kind)].status = text;
    if (kind == currentKind())
        status_->setText(text);
}

ExperimentJob ExperimentDialog::job(QString* error) const
{
    const ExperimentKind kind = currentKind();
    const Page& pg = pages_[int(kind)];
    ExperimentJob j;
    j.kind = kind;
    j.modelPath = modelPath_;
    j.seed = std::uint64_t(seedSpin_->value());
    j.count = pg.count->value();
    // The main window's thread policy (MainWindow::startRun): one intra-op thread for
    // 2-D models, else OMP_NUM_THREADS or all cores but one, so the GUI keeps a core.
    const int omp = qEnvironmentVariableIntValue("OMP_NUM_THREADS");
    j.threads = !image_ ? 1 : omp > 0 ? omp : std::max(1, QThread::idealThreadCount() - 1);
    if (pg.steps) {
        j.steps = parseSteps(pg.steps->text());
        if (j.steps.empty() && error)
            *error = tr("Steps: expected ascending whole numbers, e.g. 10,20,50,100,1000");
    }
    if (pg.ddpm)
        j.ddpm = pg.ddpm->isChecked();
    if (pg.samplers) {
        try {
            j.samplers = experiments::parse_sampler_list(pg.samplers->text().toStdString(), {}, "Samplers");
            if (kind == ExperimentKind::Consistency)
                for (SamplerConfig& c : j.samplers)
                    c.steps = j.steps.empty() ? 0 : j.steps.front();
        } catch (const InputError& e) {
            if (error)
                *error = QString::fromStdString(e.what());
        }
    }
    return j;
}

void ExperimentDialog::compute()
{
    QString error;
    const ExperimentJob j = job(&error);
    if (!error.isEmpty()) {
        setStatus(j.kind, error);
        return;
    }
    if (computing_ && running_ != j.kind) // the newest job wins: the one of the other tab stops
        setStatus(running_, tr("Cancelled: %1 was started.").arg(experimentTitle(j.kind)));
    running_ = j.kind;
    computing_ = true;
    runDone_ = runTotal_ = 0;
    setStatus(j.kind, tr("Computing %1...").arg(experimentTitle(j.kind).toLower()));
    updateButtons();
    // On the worker thread: `this` is only used by what is delivered back to this thread.
    jobs_.startJob(
        worker_, this,
        [this, j](const JobTracker::Job& job) {
            ExperimentResultPtr result;
            if (job.isCancelled()) { // cancelled while it waited behind an earlier job: compute nothing
                auto r = std::make_shared<ExperimentResult>();
                r->kind = j.kind;
                r->cancelled = true;
                result = r;
            } else {
                result = runExperiment(j, job.cancelFlag(), [&](int done, int total, const QString& stage) {
                    job.progress([this, done, total, stage] { onProgress(done, total, stage); }, done == total);
                });
            }
            job.deliver([this, result] { onFinished(result); });
        },
        [this](const QString& message) { onFailed(message); });
}

void ExperimentDialog::cancel()
{
    if (computing_)
        jobs_.cancelAll(); // directly: a queued call would wait behind the very job it must stop
}

void ExperimentDialog::onProgress(int done, int total, const QString& stage)
{
    runDone_ = done;
    runTotal_ = total;
    updateProgress();
    setStatus(running_, tr("%1: %2 of %3 model calls (%4)").arg(experimentTitle(running_)).arg(done).arg(total).arg(stage));
}

void ExperimentDialog::onFinished(const ExperimentResultPtr& result)
{
    computing_ = false;
    pages_[int(result->kind)].result = result;
    setStatus(result->kind, result->cancelled
                                ? tr("Cancelled.") + (result->summary.isEmpty() ? QString() : ' ' + result->summary)
                                : result->summary);
    showResult();
    updateButtons();
    Q_EMIT computeFinished(result->cancelled);
}

void ExperimentDialog::onFailed(const QString& message)
{
    computing_ = false;
    setStatus(running_, tr("Failed: %1").arg(message));
    updateButtons();
    Q_EMIT computeFinished(true);
}

void ExperimentDialog::showResult()
{
    const ExperimentResultPtr r = pages_[tabs_->currentIndex()].result;
    figure_->setImage(r && !r->figure.isNull() ? figureImage(r->figure) : QImage());
    table_->clear();
    table_->setRowCount(r ? int(r->rows.size()) : 0);
    table_->setColumnCount(r ? int(r->headers.size()) : 0);
    if (r) {
        table_->setHorizontalHeaderLabels(r->headers);
        for (int i = 0; i < r->rows.size(); ++i)
            for (int c = 0; c < r->rows[i].size(); ++c)
                table_->setItem(i, c, new QTableWidgetItem(r->rows[i][c]));
    }
    command_->setText(r ? r->command : QString());
}

void ExperimentDialog::updateProgress()
{
    // The bar, like the status line, is the current tab's: its running job's
    // progress (busy until the first report), else full when it has a result.
    if (computing_ && running_ == currentKind()) {
        progress_->setRange(0, runTotal_ > 0 ? runTotal_ : 0);
        progress_->setValue(runDone_);
        return;
    }
    const ExperimentResultPtr r = pages_[tabs_->currentIndex()].result;
    progress_->setRange(0, 1);
    progress_->setValue(r && !r->cancelled ? 1 : 0);
}

void ExperimentDialog::updateButtons()
{
    updateProgress();
    const ExperimentResultPtr r = pages_[tabs_->currentIndex()].result;
    cancelButton_->setEnabled(computing_);
    figureButton_->setEnabled(r && !r->figure.isNull());
    csvButton_->setEnabled(r && !r->rows.isEmpty());
}

bool ExperimentDialog::exportFigure(const QString& path) const
{
    const ExperimentResultPtr r = pages_[tabs_->currentIndex()].result;
    return r && !r->figure.isNull() && saveFigure(r->figure, path, experimentTitle(r->kind));
}

bool ExperimentDialog::exportCsv(const QString& path) const
{
    const ExperimentResultPtr r = pages_[tabs_->currentIndex()].result;
    if (!r)
        return false;
    // No Text mode: the CLI's bytes, '\n' line ends; each file through core's atomic writer.
    if (!writeFileAtomic(path, r->csv().toUtf8()))
        return false;
    // The report's other tables beside it, under the names the CLI gives them (early_stop.csv).
    for (std::size_t i = 1; i < r->tables.size(); ++i) {
        const QString other = QFileInfo(path).absoluteDir().filePath(QString::fromStdString(r->tables[i].name) + ".csv");
        if (!writeFileAtomic(other, QByteArray::fromStdString(r->tables[i].csv())))
            return false;
    }
    if (!r->examples.empty()) {
        // Drawn inversion examples: the X0.npy the shown command reads.
        const QFileInfo fi(path);
        try {
            write_npy(fi.absoluteDir().filePath(QStringLiteral("X0.npy")).toStdString(), r->exampleShape,
                      r->examples.data());
        } catch (const std::exception&) {
            return false;
        }
    }
    return true;
}

} // namespace noisetrail::ui
