#include "training_panel.hpp"

#include "draw_data_view.hpp"
#include "loaded_model.hpp"
#include "main_window.hpp"
#include "palette.hpp"
#include "run_document.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run_recipe.hpp"

#include <QButtonGroup>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>

namespace noisetrail::ui {

namespace fs = std::filesystem;

namespace {

QToolButton* toolButton(const QString& text, const QString& tip, const char* name)
{
    auto* b = new QToolButton;
    b->setText(text);
    b->setToolTip(tip);
    b->setObjectName(QLatin1String(name));
    b->setToolButtonStyle(Qt::ToolButtonTextOnly);
    b->setMinimumHeight(28);
    return b;
}

QPushButton* pushButton(const QString& text, const QString& tip, const char* name)
{
    auto* b = new QPushButton(text);
    b->setToolTip(tip);
    b->setObjectName(QLatin1String(name));
    b->setMinimumHeight(30);
    return b;
}

QString thousands(double v) { return QLocale().toString(std::llround(v)); }

QString duration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return QStringLiteral("?");
    if (seconds < 90)
        return QObject::tr("%1 s").arg(std::llround(seconds));
    return QObject::tr("%1 min %2 s").arg(std::llround(seconds) / 60).arg(std::llround(seconds) % 60);
}

} // namespace

TrainingWindow::TrainingWindow(MainWindow* window, const QString& root, QWidget* parent)
    : QWidget(parent ? parent : window, Qt::Window), w_(window), root_(root.isEmpty() ? defaultDrawnRoot() : root)
{
    setObjectName("trainingWindow");
    setWindowTitle(tr("Draw & Train — NoiseTrail"));
    setAttribute(Qt::WA_DeleteOnClose, false);
    worker_ = new TrainingWorker(this);
    connect(worker_, &TrainingWorker::tick, this, &TrainingWindow::onTick);
    connect(worker_, &TrainingWorker::checkpoint, this, &TrainingWindow::onCheckpoint);
    connect(worker_, &TrainingWorker::finished, this, &TrainingWindow::onFinished);
    connect(worker_, &TrainingWorker::failed, this, &TrainingWindow::onFailed);
    buildUi();
    // The main window's model a drawn set's card (a reopened session): show that set.
    if (w_ && w_->model())
        if (const auto f = drawnSetOf(w_->model()->path))
            openFolder(*f);
    updateButtons();
}

TrainingWindow::~TrainingWindow() = default; // the worker cancels and waits for its thread

void TrainingWindow::buildUi()
{
    auto* col = new QVBoxLayout(this);
    col->setContentsMargins(8, 8, 8, 8);

    // --- drawing tools
    auto* tools = new QHBoxLayout;
    tools_ = new QButtonGroup(this);
    const struct {
        QString text, tip;
        const char* name;
        PointDrawing::Tool tool;
    } toolDefs[] = {
        {tr("Brush"), tr("Draw points along the mouse's path"), "brushTool", PointDrawing::Tool::Brush},
        {tr("Spray"), tr("Spray points loosely around the mouse (hold still to fill)"), "sprayTool",
         PointDrawing::Tool::Spray},
        {tr("Eraser"), tr("Remove the points under the mouse"), "eraserTool", PointDrawing::Tool::Eraser},
    };
    for (const auto& d : toolDefs) {
        auto* b = toolButton(d.text, d.tip, d.name);
        b->setCheckable(true);
        b->setChecked(d.tool == PointDrawing::Tool::Brush);
        tools_->addButton(b, int(d.tool));
        tools->addWidget(b);
    }
    connect(tools_, &QButtonGroup::idClicked, this, [this](int id) { canvas_->setTool(PointDrawing::Tool(id)); });
    tools->addSpacing(8);
    undoButton_ = toolButton(tr("Undo"), tr("Undo the last stroke, clear or preset (Ctrl+Z)"), "undoButton");
    auto* clear = toolButton(tr("Clear"), tr("Remove every point (Undo brings them back)"), "clearButton");
    tools->addWidget(undoButton_);
    tools->addWidget(clear);
    tools->addSpacing(8);
    tools->addWidget(new QLabel(tr("Presets:")));
    auto* ring = toolButton(tr("&Ring"), tr("Points on a ring of radius 1.2"), "ringPreset");
    auto* moons = toolButton(tr("T&wo moons"), tr("Two interleaved half circles"), "moonsPreset");
    auto* smiley = toolButton(tr("S&miley"), tr("A smiling face, rasterised to points"), "smileyPreset");
    text_ = new QLineEdit(QStringLiteral("A"));
    text_->setObjectName("presetText");
    text_->setMaximumWidth(70);
    text_->setFocusPolicy(Qt::ClickFocus); // not the window's first focus: Ctrl+Z belongs to the drawing
    text_->setToolTip(tr("A letter or a few characters to rasterise to points"));
    auto* textButton = toolButton(tr("Text"), tr("Rasterise the text beside it to points"), "textPreset");
    for (QWidget* wdg : std::initializer_list<QWidget*>{ring, moons, smiley, text_, textButton})
        tools->addWidget(wdg);
    tools->addSpacing(8);
    tools->addWidget(new QLabel(tr("Points:")));
    points_ = new QSpinBox;
    points_->setObjectName("pointCount");
    points_->setRange(50, 5000);
    points_->setSingleStep(250);
    points_->setValue(kDefaultPoints);
    points_->setToolTip(tr("How many points the data set has: the drawing is subsampled, or its points drawn again "
                           "with a small jitter"));
    tools->addWidget(points_);
    tools->addStretch(1);
    col->addLayout(tools);

    // --- canvas and checkpoints (left), plots (right)
    auto* body = new QHBoxLayout;
    auto* left = new QVBoxLayout;
    canvas_ = new DrawCanvas;
    canvas_->setFocusPolicy(Qt::StrongFocus); // the window's keys (Ctrl+Z) start on the canvas, not the text box
    left->addWidget(canvas_, 1);
    auto* sliderRow = new QHBoxLayout;
    sliderRow->addWidget(new QLabel(tr("Checkpoints:")));
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setObjectName("checkpointSlider");
    slider_->setToolTip(tr("Scrub the training's checkpoints: each one's quick sample (DDIM 20 from one x_T) over "
                           "the data"));
    slider_->setRange(0, 0);
    slider_->setEnabled(false);
    slider_->setPageStep(1);
    slider_->setTickPosition(QSlider::TicksBelow);
    sliderRow->addWidget(slider_, 1);
    sliderLabel_ = new QLabel(tr("none yet"));
    sliderLabel_->setObjectName("checkpointLabel");
    sliderLabel_->setMinimumWidth(150);
    sliderRow->addWidget(sliderLabel_);
    left->addLayout(sliderRow);
    body->addLayout(left, 5);

    auto* right = new QVBoxLayout;
    loss_ = new QCustomPlot;
    loss_->setObjectName("lossPlot");
    loss_->setToolTip(tr("The training loss L_simple (Ho et al. 2020, eq. 14), smoothed, on a log axis"));
    loss_->addGraph();
    loss_->graph(0)->setPen(QPen(panelColor(0), 1.5));
    loss_->graph(0)->setName(tr("loss (smoothed)"));
    loss_->xAxis->setLabel(tr("training step"));
    loss_->yAxis->setLabel(tr("loss"));
    loss_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    loss_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    loss_->yAxis->setNumberFormat("gb");
    loss_->setMinimumSize(320, 200);
    right->addWidget(loss_, 1);

    quality_ = new QCustomPlot;
    quality_->setObjectName("qualityPlot");
    quality_->setToolTip(tr("Learned vs exact, per checkpoint: the mean log-likelihood of its quick sample under a "
                            "kernel density of the drawn set (left, higher is closer), and the mean distance from a "
                            "sample to its nearest drawn point (right; dashed: the drawn points' own "
                            "nearest-other-point distance; far below it means the model copies the points)"));
    auto* kde = quality_->addGraph(quality_->xAxis, quality_->yAxis);
    kde->setName(tr("KDE log-likelihood"));
    kde->setPen(QPen(panelColor(0), 1.5));
    kde->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
    auto* nearest = quality_->addGraph(quality_->xAxis, quality_->yAxis2);
    nearest->setName(tr("nearest-point distance"));
    nearest->setPen(QPen(panelColor(1), 1.5));
    nearest->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 5));
    auto* base = quality_->addGraph(quality_->xAxis, quality_->yAxis2);
    base->setName(tr("data's own nearest distance"));
    base->setPen(QPen(panelColor(1), 1.2, Qt::DashLine));
    quality_->xAxis->setLabel(tr("training step"));
    quality_->yAxis->setLabel(tr("KDE log-likelihood"));
    quality_->yAxis2->setVisible(true);
    quality_->yAxis2->setLabel(tr("nearest distance"));
    quality_->legend->setVisible(true);
    quality_->legend->setFont(QFont(font().family(), std::max(7, font().pointSize() - 1)));
    quality_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    quality_->setMinimumSize(320, 200);
    right->addWidget(quality_, 1);
    body->addLayout(right, 4);
    col->addLayout(body, 1);

    // --- training
    auto* run = new QHBoxLayout;
    exactButton_ = pushButton(tr("Use as &Exact Model"),
                              tr("The drawn set's exact denoiser (an empirical card) becomes the main window's model"),
                              "useExactButton");
    run->addWidget(exactButton_);
    run->addSpacing(12);
    run->addWidget(new QLabel(tr("Steps:")));
    steps_ = new QSpinBox;
    steps_->setObjectName("trainSteps");
    steps_->setRange(50, 100000);
    steps_->setSingleStep(500);
    steps_->setValue(kDefaultSteps);
    steps_->setToolTip(tr("Optimiser steps of the training"));
    run->addWidget(steps_);
    run->addWidget(new QLabel(tr("Checkpoint every:")));
    every_ = new QSpinBox;
    every_->setObjectName("cardEvery");
    every_->setRange(10, 10000);
    every_->setSingleStep(100);
    every_->setValue(kDefaultCardEvery);
    every_->setToolTip(tr("Steps between checkpoints: each is a model card, with a quick sample and its quality"));
    run->addWidget(every_);
    trainButton_ = pushButton(tr("&Train"), tr("Train the 2-D MLP on the drawn set, live"), "trainButton");
    stopButton_ = pushButton(tr("St&op"), tr("Stop the training (its last step becomes a checkpoint)"), "stopButton");
    compareButton_ = pushButton(tr("&Compare in Panels"),
                                tr("The chosen checkpoint, the final model and the exact denoiser in three panels of "
                                   "the main window, from one x_T, and Run"),
                                "compareInPanelsButton");
    run->addWidget(trainButton_);
    run->addWidget(stopButton_);
    run->addSpacing(12);
    run->addWidget(compareButton_);
    run->addStretch(1);
    col->addLayout(run);
    status_ = new QLabel;
    status_->setObjectName("trainingStatus");
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    col->addWidget(status_);
    setStatus(tr("Draw a data set with the mouse (or pick a preset), then Train, or Use as Exact Model."));

    connect(undoButton_, &QToolButton::clicked, this, [this] { canvas_->undo(); });
    connect(clear, &QToolButton::clicked, canvas_, &DrawCanvas::clear);
    connect(ring, &QToolButton::clicked, this, [this] { canvas_->presetRing(pointCount()); });
    connect(moons, &QToolButton::clicked, this, [this] { canvas_->presetTwoMoons(pointCount()); });
    connect(smiley, &QToolButton::clicked, this, [this] { canvas_->presetSmiley(pointCount()); });
    connect(textButton, &QToolButton::clicked, this, [this] {
        if (!canvas_->presetText(text_->text(), pointCount()))
            setStatus(tr("The text has no ink to rasterise: type a letter or two."), true);
    });
    auto* undo = new QShortcut(QKeySequence::Undo, this);
    connect(undo, &QShortcut::activated, this, [this] {
        if (canvas_->editable())
            canvas_->undo();
    });
    connect(canvas_, &DrawCanvas::changed, this, [this] {
        drawingChanged_ = true;
        if (!canvas_->overlay().empty())
            canvas_->setOverlay({}); // the samples were of another drawing
        updateButtons();
    });
    connect(exactButton_, &QPushButton::clicked, this, &TrainingWindow::useExact);
    connect(trainButton_, &QPushButton::clicked, this, &TrainingWindow::train);
    connect(stopButton_, &QPushButton::clicked, this, &TrainingWindow::stop);
    connect(compareButton_, &QPushButton::clicked, this, &TrainingWindow::compareInPanels);
    connect(slider_, &QSlider::valueChanged, this, &TrainingWindow::showCheckpoint);

    if (w_) {
        connect(w_, &MainWindow::modelReady, this, [this] {
            if (!std::exchange(waitingForModel_, false))
                return;
            // Queued: the document gives the panels their own cards on this same signal,
            // after this slot (RunDocument::setRecipe); the run must see them.
            QMetaObject::invokeMethod(this, [this] { w_->startRun(); }, Qt::QueuedConnection);
        });
        connect(w_->document(), &RunDocument::modelFailed, this, [this] { waitingForModel_ = false; });
    }
    resize(1180, 700);
    canvas_->setFocus(Qt::OtherFocusReason);
}

int TrainingWindow::pointCount() const { return points_->value(); }

bool TrainingWindow::isTraining() const { return worker_->isRunning(); }

QString TrainingWindow::statusText() const { return status_->text(); }

void TrainingWindow::setStatus(const QString& text, bool error)
{
    status_->setText(text);
    status_->setStyleSheet(error ? QStringLiteral("color: #c0392b;") : QString());
}

void TrainingWindow::updateButtons()
{
    const bool training = isTraining();
    const bool drawn = canvas_->drawing().count() >= 2;
    canvas_->setEditable(!training);
    for (QAbstractButton* b : tools_->buttons())
        b->setEnabled(!training);
    undoButton_->setEnabled(!training && canvas_->drawing().canUndo());
    trainButton_->setEnabled(!training && drawn);
    stopButton_->setEnabled(training);
    exactButton_->setEnabled(!training && drawn);
    steps_->setEnabled(!training);
    every_->setEnabled(!training);
    points_->setEnabled(!training);
    compareButton_->setEnabled(!training && checkpoints_.size() >= 1 && folder_ && w_);
    for (auto* b : findChildren<QToolButton*>())
        if (b->objectName().endsWith("Preset") || b->objectName() == "clearButton")
            b->setEnabled(!training);
}

bool TrainingWindow::ensureFolder()
{
    if (folder_ && !drawingChanged_)
        return true;
    const std::vector<float> data = canvas_->drawing().dataset(pointCount());
    if (data.size() < 4) {
        setStatus(tr("Draw at least a few points first."), true);
        return false;
    }
    try {
        folder_ = writeDrawnSet(root_, data);
    } catch (const std::exception& e) {
        setStatus(tr("Could not keep the drawn set: %1").arg(QString::fromStdString(e.what())), true);
        return false;
    }
    data_ = data;
    drawingChanged_ = false;
    checkpoints_.clear();
    resetPlots();
    return true;
}

bool TrainingWindow::useExact()
{
    if (isTraining() || !ensureFolder())
        return false;
    if (w_) {
        w_->offerCards({folder_->exactCard()});
        w_->loadModel(folder_->exactCard());
        hide(); // it would stay above the main window (see compareInPanels)
        w_->raise();
        w_->activateWindow();
    }
    setStatus(tr("The drawn set (%1 points) is the main window's model: its exact denoiser, which reproduces "
                 "the drawn points. Press Run there.")
                  .arg(data_.size() / 2));
    return true;
}

bool TrainingWindow::train()
{
    if (isTraining())
        return false;
    if (!checkpoints_.empty())
        drawingChanged_ = true; // a new training keeps the old one's folder intact: a new set
    if (!ensureFolder())
        return false;
    const TrainConfig config = drawnTrainConfig(*folder_, steps_->value(), every_->value(), 1);
    try {
        writeTrainConfig(*folder_, config);
    } catch (const std::exception& e) {
        setStatus(tr("Could not write the training recipe: %1").arg(QString::fromStdString(e.what())), true);
        return false;
    }
    TrainingRequest r;
    r.config = config;
    r.data = data_;
    r.quickCount = kQuickCount;
    r.quickSteps = kQuickSteps;
    r.folder = folder_->folder;
    checkpoints_.clear();
    resetPlots();
    canvas_->setOverlay({});
    loss_->xAxis->setRange(0, config.steps);
    quality_->xAxis->setRange(0, config.steps);
    worker_->start(std::move(r));
    setStatus(tr("Training the 2-D MLP on %1 drawn points ...").arg(data_.size() / 2));
    updateButtons();
    return true;
}

void TrainingWindow::stop()
{
    if (!isTraining())
        return;
    worker_->cancel();
    setStatus(tr("Stopping ..."));
}

void TrainingWindow::resetPlots()
{
    for (int g = 0; g < loss_->graphCount(); ++g)
        loss_->graph(g)->data()->clear();
    for (int g = 0; g < quality_->graphCount(); ++g)
        quality_->graph(g)->data()->clear();
    loss_->replot(QCustomPlot::rpQueuedReplot);
    quality_->replot(QCustomPlot::rpQueuedReplot);
    const QSignalBlocker b(slider_);
    slider_->setRange(0, 0);
    slider_->setEnabled(false);
    sliderLabel_->setText(tr("none yet"));
}

void TrainingWindow::onTick(const TrainingTick& t)
{
    for (const auto& [step, loss] : t.losses)
        if (loss > 0 && std::isfinite(loss))
            loss_->graph(0)->addData(step, loss);
    bool found = false;
    const QCPRange y = loss_->graph(0)->data()->valueRange(found, QCP::sdPositive);
    if (found)
        loss_->yAxis->setRange(y.lower * 0.9, y.upper * 1.1);
    loss_->replot(QCustomPlot::rpQueuedReplot); // coalesced: one redraw per frame at most
    if (t.phase == QLatin1String("training") || t.phase == QLatin1String("checkpoint card"))
        setStatus(tr("Step %1 of %2 · %3 samples/s · %4 left · loss %5")
                      .arg(thousands(t.step), thousands(t.steps), thousands(t.samplesPerS), duration(t.secondsLeft))
                      .arg(t.losses.empty() ? QStringLiteral("-") : QString::number(t.losses.back().second, 'g', 3)));
    else if (t.phase == QLatin1String("sampling"))
        setStatus(tr("Step %1 of %2: writing the final card and its preview ...").arg(thousands(t.step), thousands(t.steps)));
}

void TrainingWindow::onCheckpoint(const TrainingCheckpoint& c)
{
    const bool following = checkpoints_.empty() || slider_->value() == int(checkpoints_.size()) - 1;
    checkpoints_.push_back(c);
    // Any checkpoint is a model: every model box offers it from now on.
    if (w_)
        w_->offerCards({folder_ ? folder_->exactCard() : QString(), c.card});
    if (c.quality)
        addQuality(*c.quality);
    {
        const QSignalBlocker b(slider_);
        slider_->setRange(0, int(checkpoints_.size()) - 1);
        slider_->setEnabled(true);
    }
    if (following) {
        const QSignalBlocker b(slider_);
        slider_->setValue(int(checkpoints_.size()) - 1);
    }
    showCheckpoint(slider_->value());
    updateButtons();
}

void TrainingWindow::addQuality(const PointsQuality& q)
{
    quality_->graph(0)->addData(q.step, q.kde_log_likelihood);
    quality_->graph(1)->addData(q.step, q.mean_nearest_distance);
    quality_->graph(2)->addData(q.step, q.data_nearest_distance);
    // The value axes from the data themselves (whatever key range is shown now).
    bool f0 = false, f1 = false, f2 = false;
    const QCPRange k = quality_->graph(0)->data()->valueRange(f0);
    const QCPRange a = quality_->graph(1)->data()->valueRange(f1), b = quality_->graph(2)->data()->valueRange(f2);
    if (f1 && f2)
        quality_->yAxis2->setRange(0, std::max(a.upper, b.upper) * 1.15);
    if (f0) {
        const double pad = 0.1 * std::max(0.05, k.size());
        quality_->yAxis->setRange(k.lower - pad, k.upper + pad);
    }
    quality_->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingWindow::showCheckpoint(int i)
{
    if (i < 0 || i >= int(checkpoints_.size()))
        return;
    if (slider_->value() != i) {
        const QSignalBlocker b(slider_);
        slider_->setValue(i);
    }
    const TrainingCheckpoint& c = checkpoints_[std::size_t(i)];
    const bool last = i == int(checkpoints_.size()) - 1 && !isTraining();
    sliderLabel_->setText(last ? tr("step %1 (final)").arg(thousands(c.step)) : tr("step %1").arg(thousands(c.step)));
    QString caption = c.samples.empty()
                          ? tr("Checkpoint at step %1 (stopped there: no quick sample)").arg(thousands(c.step))
                          : tr("Checkpoint at step %1: DDIM %2 on %3 points from one x_T, over the drawn data")
                                .arg(thousands(c.step))
                                .arg(kQuickSteps)
                                .arg(c.samples.size() / 2);
    canvas_->setOverlay(c.samples, caption);
    Q_EMIT checkpointShown(i);
}

int TrainingWindow::shownCheckpoint() const { return checkpoints_.empty() ? -1 : slider_->value(); }

void TrainingWindow::onFinished(const TrainingOutcome& o)
{
    updateButtons();
    if (!checkpoints_.empty())
        showCheckpoint(slider_->value());
    if (o.cancelled)
        setStatus(tr("Stopped at step %1 after %2; the last checkpoint is that step. Scrub the checkpoints, or "
                     "Compare in Panels.")
                      .arg(thousands(o.stepsDone), duration(o.seconds)));
    else
        setStatus(tr("Done: %1 steps in %2. Scrub the checkpoints, or Compare in Panels.")
                      .arg(thousands(o.stepsDone), duration(o.seconds)));
}

void TrainingWindow::onFailed(const QString& message)
{
    updateButtons();
    setStatus(tr("Training failed: %1").arg(message), true);
}

bool TrainingWindow::compareInPanels()
{
    if (!w_ || !folder_ || checkpoints_.empty() || isTraining()) {
        setStatus(tr("Train first: the comparison needs a checkpoint."), true);
        return false;
    }
    const int last = int(checkpoints_.size()) - 1;
    const int chosen = shownCheckpoint() < last ? shownCheckpoint() : 0;
    RunSetRecipe r = w_->document()->recipe();
    r.model = fs::path(folder_->exactCard().toStdString());
    r.batch = 500;
    r.init_noise.reset();
    SamplerConfig ddim;
    ddim.sampler = "ddim";
    ddim.steps = 50;
    r.panels = {{fs::path(checkpoints_[std::size_t(chosen)].card.toStdString()), ddim},
                {fs::path(checkpoints_[std::size_t(last)].card.toStdString()), ddim},
                {{}, ddim}};
    RunDocument* doc = w_->document();
    try {
        doc->setRecipe(r);
    } catch (const std::exception& e) {
        setStatus(tr("Compare in Panels: %1").arg(QString::fromStdString(e.what())), true);
        return false;
    }
    const bool sameCard = doc->model() && !doc->loading() &&
                          cardKey(doc->model()->path.toStdString()) == cardKey(r.model);
    if (sameCard) {
        w_->startRun();
    } else {
        waitingForModel_ = true; // run once the exact card is here (modelReady)
        w_->loadModel(folder_->exactCard());
    }
    // This window stays above the main window it belongs to (a window manager keeps a
    // child window on top), so it steps aside: Run > Draw Data and Train brings it back.
    hide();
    w_->raise();
    w_->activateWindow();
    setStatus(tr("Three panels in the main window from one x_T: checkpoint %1, the final model (step %2) and the "
                 "exact denoiser, DDIM 50 each.")
                  .arg(thousands(checkpoints_[std::size_t(chosen)].step), thousands(checkpoints_[std::size_t(last)].step)));
    return true;
}

bool TrainingWindow::openFolder(const DrawnSetFolder& f)
{
    if (isTraining())
        return false;
    std::vector<float> data;
    try {
        const NpyArray a = read_npy(f.data().toStdString());
        if (a.dtype != NpyArray::DType::Float32 || a.shape.size() != 2 || a.shape[1] != 2)
            throw InputError(f.data().toStdString() + ": expected points [N, 2]");
        data = a.f32;
    } catch (const std::exception& e) {
        setStatus(tr("Could not open the drawn set: %1").arg(QString::fromStdString(e.what())), true);
        return false;
    }
    canvas_->drawing().replace(data);
    canvas_->update();
    folder_ = f;
    data_ = data;
    drawingChanged_ = false;
    {
        const QSignalBlocker b(points_);
        points_->setValue(int(data.size() / 2));
    }
    checkpoints_.clear();
    resetPlots();
    int steps = 0;
    for (const auto& cp : listCheckpoints(f)) {
        TrainingCheckpoint c;
        c.step = cp.step;
        c.card = cp.card;
        try {
            if (QFileInfo::exists(f.quickSample(cp.step)))
                c.samples = read_npy(f.quickSample(cp.step).toStdString()).f32;
        } catch (const std::exception&) {
            // a missing or damaged quick sample: the checkpoint is still a model
        }
        checkpoints_.push_back(std::move(c));
        steps = std::max(steps, cp.step);
    }
    if (w_) {
        QStringList cards{f.exactCard()};
        for (const auto& c : checkpoints_)
            cards << c.card;
        w_->offerCards(cards);
    }
    for (const auto& q : readQuality(f))
        addQuality(q);
    // The loss log train() keeps beside its card (step,loss,...).
    QFile log(QString::fromStdString(training_sibling(f.model().toStdString(), "-loss.csv").string()));
    if (log.open(QIODevice::ReadOnly | QIODevice::Text)) {
        log.readLine();
        while (!log.atEnd()) {
            const QStringList v = QString::fromUtf8(log.readLine()).split(',');
            if (v.size() >= 2 && v[1].toDouble() > 0)
                loss_->graph(0)->addData(v[0].toInt(), v[1].toDouble());
        }
        loss_->rescaleAxes();
    }
    loss_->xAxis->setRange(0, std::max(steps, 1));
    quality_->xAxis->setRange(0, std::max(steps, 1));
    loss_->replot(QCustomPlot::rpQueuedReplot);
    if (!checkpoints_.empty()) {
        const QSignalBlocker b(slider_);
        slider_->setRange(0, int(checkpoints_.size()) - 1);
        slider_->setEnabled(true);
        slider_->setValue(int(checkpoints_.size()) - 1);
    }
    showCheckpoint(int(checkpoints_.size()) - 1);
    updateButtons();
    setStatus(tr("The drawn set of %1 points kept in %2, with %3 checkpoints.")
                  .arg(data.size() / 2)
                  .arg(QDir::toNativeSeparators(f.folder))
                  .arg(checkpoints_.size()));
    return true;
}

} // namespace noisetrail::ui
