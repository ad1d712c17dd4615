#include "main_window.hpp"

#include "code_trust.hpp"
#include "compare_dialog.hpp"
#include "guidance_dialog.hpp"
#include "equation_view.hpp"
#include "error_banner.hpp"
#include "export_plot.hpp"
#include "experiment_menu.hpp"
#include "forward_view.hpp"
#include "key_guard.hpp"
#include "lesson_player.hpp"
#include "palette.hpp"
#include "panel_row.hpp"
#include "noisetrail/data_dirs.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/threads.hpp"
#include "plot_feed.hpp"
#include "plots_widget.hpp"
#include "presentation.hpp"
#include "redraw_pacer.hpp"
#include "run_status_bar.hpp"
#include "run_toolbar.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"
#include "training_panel.hpp"
#include "window_actions.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QScreen>
#include <QSettings>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <functional>

#ifndef NOISETRAIL_SOURCE_MODELS_DIR
#define NOISETRAIL_SOURCE_MODELS_DIR ""
#endif

namespace noisetrail::ui {

QString MainWindow::findModelsDir()
{
    // One lookup for the GUI and the CLI (core/include/noisetrail/data_dirs.hpp):
    // $NOISETRAIL_MODELS, ../share/noisetrail/models next to the executable, XDG data dirs.
    const auto dir = noisetrail::find_models_dir();
    return dir ? QString::fromStdString(dir->string()) : QString();
}

QString MainWindow::defaultModel(const QString& modelsDir)
{
    // The sharpest digit model first (issue 24: the wide UNet, FD 25.7 at
    // DDIM 50); the earlier digit UNets stay loadable and are the fallbacks
    // where an install lacks it.
    const QDir d(modelsDir);
    for (const char* card : {"mnist-unet-wide.json", "mnist-unet-large.json", "mnist-unet.json"})
        if (d.exists(card))
            return d.filePath(card);
    return d.filePath("ring8.json");
}

MainWindow::MainWindow(MainWindowOptions options, QWidget* parent)
    : QMainWindow(parent), options_(std::move(options))
{
    setObjectName("mainWindow");
    setWindowTitle(tr("NoiseTrail"));
    setAcceptDrops(true);
    modelsDir_ = options_.modelsDir.isEmpty() ? findModelsDir() : options_.modelsDir;

    // The document first: it is the last thing the widgets may read, and its
    // worker thread ends when it is destroyed.
    doc_ = new RunDocument(this);
    connect(doc_, &RunDocument::modelReady, this, &MainWindow::onModelReady);
    connect(doc_, &RunDocument::modelFailed, this, &MainWindow::onModelFailed);
    connect(doc_, &RunDocument::untrustedCode, this, &MainWindow::askTrustCode);
    connect(doc_, &RunDocument::panelsChanged, this, &MainWindow::syncPanels);
    connect(doc_, &RunDocument::changed, this, &MainWindow::onDocumentChanged);
    connect(doc_, &RunDocument::runStarted, this, &MainWindow::onRunStarted);
    connect(doc_, &RunDocument::progress, this, &MainWindow::scheduleRefresh);
    connect(doc_, &RunDocument::runFinished, this, &MainWindow::onRunFinished);
    connect(doc_, &RunDocument::runFailed, this, &MainWindow::onRunFailed);
    connect(doc_, &RunDocument::error, this, &MainWindow::showError);
    // A point followed in the scatters is the sample the Reverse step shows.
    connect(doc_, &RunDocument::followedSampleChanged, this, [this](int sample) {
        if (sample >= 0) {
            equations_->setSample(sample);
            refreshViews();
        }
    });
    connect(doc_, &RunDocument::panelModelChanged, this, [this](int i, const QString& error) {
        // Said only when it waits for Run (a reopened run's panel cards arrive already computed).
        if (error.isEmpty() && doc_->hasOwnModel(i) && doc_->isPending(i)) {
            clearError();
            status_->setMessage(tr("Panel %1 samples from %2. Press Run.")
                                      .arg(i + 1)
                                      .arg(QString::fromStdString(doc_->panelModel(i)->card().name)));
        }
        rebuildPlots();
    });

    files_ = new RunFiles(doc_, this, [this] { return field_; }, options_.useSettings, options_.askBeforeDiscard);
    connect(files_, &RunFiles::error, this, &MainWindow::showError);
    connect(files_, &RunFiles::status, this, [this](const QString& m) { status_->setMessage(m); });
    connect(files_, &RunFiles::loadingCard, this, [this](const QString& path) {
        updateActions();
        status_->setMessage(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
    });
    connect(files_, &RunFiles::runShown, this, &MainWindow::onRunShown);
    liveRerun_ = new QTimer(this);
    liveRerun_->setSingleShot(true);
    liveRerun_->setInterval(150);
    connect(liveRerun_, &QTimer::timeout, this, &MainWindow::startRun); // newest run wins

    refreshTimer_ = new QTimer(this);
    refreshTimer_->setSingleShot(true);
    refreshTimer_->setInterval(30); // ~30 redraws/s during a run, fewer on a busy machine:
    connect(refreshTimer_, &QTimer::timeout, this, &MainWindow::refreshViews);
    redrawPacer_ = new RedrawPacer(refreshTimer_); // redraw_pacer.hpp

    actions_ = new WindowActions(this);
    wireActions();
    buildUi();
    lessons_ = new LessonPlayer(this, actions_, files_, modelsDir_);
    connect(lessons_, &LessonPlayer::error, this, &MainWindow::showError);
    if (options_.useSettings) {
        readSettings();
        readTrustedFromSettings(); // before the first card loads
    } else
        resize(1280, 720);
    syncPanels();
    updateActions();

    QString path = options_.modelPath;
    if (path.isEmpty() && options_.useSettings) {
        const QString last = QSettings().value("model").toString();
        if (!last.isEmpty() && QFileInfo::exists(last))
            path = last;
    }
    if (path.isEmpty())
        path = defaultModel(modelsDir_);
    loadModel(path);
}

MainWindow::~MainWindow()
{
    // The worker ends with the document, before any widget goes.
    delete doc_;
    doc_ = nullptr;
}

// ------------------------------------------------------------------ building

void MainWindow::wireActions()
{
    WindowActions* a = actions_;
    connect(a->open, &QAction::triggered, this, [this] {
        const QString f =
            QFileDialog::getOpenFileName(this, tr("Open model card"), modelsDir_, tr("Model cards (*.json)"));
        if (!f.isEmpty())
            loadModel(f);
    });
    connect(a->quit, &QAction::triggered, this, &QWidget::close);
    connect(a->restore, &QAction::triggered, files_, &RunFiles::restoreDiscardedRun);
    connect(files_, &RunFiles::discardedRunChanged, a->restore, &QAction::setEnabled);
    connect(a->run, &QAction::triggered, this, &MainWindow::startRun);
    connect(a->stop, &QAction::triggered, this, &MainWindow::stopRun);
    connect(a->addPanel, &QAction::triggered, this, &MainWindow::addPanel);
    connect(a->compare, &QAction::triggered, this, [this] { openCompare(); });
    connect(a->guidanceSideBySide, &QAction::triggered, this, &MainWindow::showGuidanceSideBySide);
    connect(a->compareGuidance, &QAction::triggered, this, [this] { openGuidanceCompare(); });
    for (int i = 0; i < WindowActions::kFields; ++i)
        connect(a->fields[i], &QAction::triggered, this, [this, i] { setField(Field(i)); });
    connect(a->follow, &QAction::toggled, this, &MainWindow::scheduleRefresh);
    connect(a->metrics, &QAction::toggled, doc_, &RunDocument::setMetricsEnabled);
    connect(a->decision, &QAction::toggled, this, [this](bool on) { panelRow_->setShowDecision(on); });
    connect(a->fieldOverlay, &QAction::toggled, this, [this](bool on) {
        panelRow_->setShowField(on);
        updateActions();
    });
    connect(a->fieldDifference, &QAction::toggled, this, [this](bool on) { panelRow_->setFieldDifference(on); });
    connect(a->construction, &QAction::toggled, this, [this](bool on) { panelRow_->setShowConstruction(on); });
    connect(a->exactPath, &QAction::toggled, this, [this](bool on) { panelRow_->setShowExactPath(on); });
    connect(a->nfeAxis, &QAction::toggled, this, [this](bool on) {
        // The timeline counts model calls (each panel's, from core's model_calls_by_step) and
        // every panel shows its last step within the cursor's calls; off, panel 1's level.
        // (The timeline reads panel 1's calls from the marks: they come first, and go after.)
        panelRow_->setNfeAxis(on);
        if (on)
            timeline_->setPanels(panelRow_->marks());
        timeline_->setNfeAxis(on);
        if (!on)
            timeline_->setPanels(panelRow_->marks());
        plots_->setNfeAxis(on);
        plotFeed_->setNfeAxis(on);
        plotFeed_->rebuild(panelRow_->panels()); // every step again, at its model calls
        refreshViews();
    });
    connect(a->present, &QAction::triggered, this, [this](bool on) { setPresentation(on); });
    // Each timeline action calls a plain closure (not a member pointer captured by a
    // generic lambda: GCC 12 miscompiled that one into a stack-buffer-underflow under ASan).
    const auto onTimeline = [this](QAction* act, std::function<void(TimelineBar*)> f) {
        connect(act, &QAction::triggered, this, [this, f = std::move(f)] {
            actions_->follow->setChecked(false);
            f(timeline_);
        });
    };
    onTimeline(a->playPause, [](TimelineBar* t) { t->togglePlay(); });
    onTimeline(a->stepBack, [](TimelineBar* t) { t->stepBack(); });
    onTimeline(a->stepForward, [](TimelineBar* t) { t->stepForward(); });
    onTimeline(a->previousKey, [](TimelineBar* t) { t->previousKeyFrame(); });
    onTimeline(a->nextKey, [](TimelineBar* t) { t->nextKeyFrame(); });
    onTimeline(a->toStart, [](TimelineBar* t) { t->toStart(); });
    onTimeline(a->toEnd, [](TimelineBar* t) { t->toEnd(); });
    connect(a->shortcuts, &QAction::triggered, this, [this] { WindowActions::showShortcuts(this, menuBar()); });
    connect(a->about, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About NoiseTrail"),
                           tr("<b>NoiseTrail %1</b><br>The reverse process of diffusion models, visible: samplers "
                              "side by side from the same noise, step by step.<br>GPL-3.0-or-later. Plots by "
                              "QCustomPlot.")
                               .arg(QApplication::applicationVersion().toHtmlEscaped()));
    });

    const auto menus = a->buildMenus(
        menuBar(), [this](QMenu* m) { files_->addFileActions(m); },
        [this](QMenu* m) {
            files_->addExportActions(m);
            m->addAction(tr("All &Plots (PNG, SVG, PDF, CSV)..."), this, &MainWindow::exportPlots);
        });
    files_->setRecentCardsMenu(menus.recent, [this](const QString& f) { loadModel(f); });
    plotsMenu_ = menus.plots;
    QMenu* experiments = addExperimentsMenu(
        this, [this] { return hasModel() && !doc_->loading() ? doc_->model()->path : QString(); },
        [this] { return doc_->seed(); });
    menuBar()->insertMenu(menus.view->menuAction(), experiments); // after Run, before View and Help
    // Draw & Train (issue 23): draw a 2-D data set, train on it live, compare its checkpoints.
    menus.run->addSeparator();
    QAction* draw = menus.run->addAction(tr("&Draw Data and Train..."), this, [this] { openDrawAndTrain(); });
    draw->setObjectName("drawTrainAction");
    draw->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    draw->setToolTip(tr("Draw a 2-D data set with the mouse, use it as an exact model, train a network on it live "
                        "and compare its checkpoints in panels (Ctrl+Shift+D)"));
}

void MainWindow::offerCards(const QStringList& paths)
{
    bool added = false;
    for (const QString& p : paths) {
        if (p.isEmpty())
            continue;
        const QString abs = QFileInfo(p).absoluteFilePath();
        if (!offeredCards_.contains(abs)) {
            offeredCards_ << abs;
            added = true;
        }
    }
    if (added)
        populateModelCombo();
}

TrainingWindow* MainWindow::openDrawAndTrain()
{
    if (!training_)
        training_ = new TrainingWindow(this);
    training_->show();
    training_->raise();
    training_->activateWindow();
    return training_;
}

void MainWindow::exportPlots()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Export All Plots To"), QDir::homePath());
    if (folder.isEmpty())
        return;
    QString error;
    const int n = exportAllPlots(this, folder, &error);
    if (!error.isEmpty())
        showError(tr("Export of the plots: %1").arg(error));
    else
        status_->setMessage(
            tr("Wrote %1 plots to %2 (PNG, SVG, PDF and CSV each).").arg(n).arg(QDir::toNativeSeparators(folder)));
}

void MainWindow::buildUi()
{
    toolbar_ = new RunToolBar(doc_, actions_, this);
    addToolBar(toolbar_);
    connect(toolbar_, &RunToolBar::modelChosen, this, [this](const QString& path) {
        loadModel(path);
        focusTimeline();
    });

    auto* central = new QWidget;
    auto* col = new QVBoxLayout(central);
    col->setContentsMargins(4, 2, 4, 2);
    col->setSpacing(2);
    errorBanner_ = new ErrorBanner;
    col->addWidget(errorBanner_);

    splitter_ = new QSplitter(Qt::Vertical);
    splitter_->setObjectName("mainSplitter");
    auto* top = new QWidget;
    auto* topCol = new QVBoxLayout(top);
    topCol->setContentsMargins(0, 0, 0, 0);
    topCol->setSpacing(2);
    panelRow_ = new PanelRow(doc_);
    connect(panelRow_, &PanelRow::sampleClicked, this, &MainWindow::openSample);
    connect(panelRow_, &PanelRow::sampleClicked, this, [this](int panel, int sample) {
        equations_->setPanel(panel);
        equations_->setSample(sample);
    });
    connect(panelRow_, &PanelRow::liveEdited, this, [this] {
        // The live knobs: dragging eta or W (or picking a class) re-runs the panel from the same x_T (only
        // changed panels are recomputed), coalesced so a drag is not a queue of runs.
        if (hasModel() && !doc_->loading())
            liveRerun_->start();
    });
    connect(panelRow_, &PanelRow::cardRequested, this, [this](int i, const QString& path) { setPanelCard(i, path); });
    connect(panelRow_, &PanelRow::odeReady, this, &MainWindow::scheduleRefresh); // the ode_error plot
    topCol->addWidget(panelRow_, 1);
    timeline_ = new TimelineBar;
    topCol->addWidget(timeline_);
    guardControls(timeline_);
    splitter_->addWidget(top);

    bottomTabs_ = new QTabWidget;
    bottomTabs_->setObjectName("bottomTabs");
    bottomTabs_->setDocumentMode(true);
    bottomTabs_->setFocusPolicy(Qt::NoFocus);
    plots_ = new PlotsWidget;
    plotFeed_ = std::make_unique<PlotFeed>(plots_);
    forward_ = new ForwardView;
    equations_ = new EquationView;
    bottomTabs_->addTab(plots_, tr("Schedule && statistics"));
    bottomTabs_->addTab(forward_, tr("Forward process"));
    bottomTabs_->addTab(equations_, tr("Reverse step"));
    bottomTabs_->setTabToolTip(0, tr("The noise schedule and each panel's per-step statistics"));
    bottomTabs_->setTabToolTip(1, tr("q(x_t | x_0): real examples pushed forward to noise level t"));
    bottomTabs_->setTabToolTip(2, tr("The update the sampler applied at the cursor, with its numbers"));
    connect(equations_, &EquationView::panelChosen, this, [this] { refreshViews(); });
    guardControls(bottomTabs_);
    splitter_->addWidget(bottomTabs_);
    splitter_->setStretchFactor(0, 3);
    splitter_->setStretchFactor(1, 2);
    splitter_->setChildrenCollapsible(false);
    splitter_->setSizes({520, 210}); // the panels are the product; plots get the rest
    col->addWidget(splitter_, 1);
    setCentralWidget(central);

    connect(timeline_, &TimelineBar::cursorMoved, this, &MainWindow::onCursorMoved);
    connect(plots_, &PlotsWidget::seekRequested, timeline_, &TimelineBar::seek);
    connect(plots_, &PlotsWidget::seekCallsRequested, timeline_, &TimelineBar::seekCalls);
    // The exact ODE of a finished run is computed while the ode_error plot could be seen.
    connect(plots_, &PlotsWidget::odeWantedChanged, panelRow_, &PanelRow::setOdeWanted);
    presentation_ = new Presentation(this);
    connect(presentation_, &Presentation::toggled, this, [this](bool on) {
        const QSignalBlocker b(actions_->present);
        actions_->present->setChecked(on);
        focusTimeline();
    });
    connect(actions_->cycleStage, &QAction::triggered, presentation_, &Presentation::cycleStage);
    connect(actions_->metrics, &QAction::toggled, plots_, &PlotsWidget::setMetricsShown);
    plotsMenu_->addActions(plots_->foldActions());
    bottomTabs_->setCornerWidget(plots_->plotsButton(), Qt::TopRightCorner);

    status_ = new RunStatusBar;
    setStatusBar(status_);
    connect(plots_, &PlotsWidget::metricsNoteChanged, status_, &RunStatusBar::setMetricsNote);
    populateModelCombo();
}

void MainWindow::focusTimeline()
{
    // The keys' home: the clicker's Page Down moves the cursor, never a control.
    if (timeline_)
        timeline_->track()->setFocus(Qt::OtherFocusReason);
}

void MainWindow::populateModelCombo()
{
    cardChoices_ = listModelCards(modelsDir_);
    for (const QString& path : offeredCards_) {
        const bool listed = std::any_of(cardChoices_.begin(), cardChoices_.end(),
                                        [&](const CardChoice& c) { return c.path == path; });
        if (listed)
            continue;
        try {
            const ModelCard c = read_model_card(path.toStdString());
            cardChoices_.push_back({QString::fromStdString(c.name), path, QString::fromStdString(c.description),
                                    c.data_shape});
        } catch (const std::exception&) {
            // a card removed since it was offered: no longer offered
        }
    }
    toolbar_->setCardChoices(cardChoices_);
    panelRow_->setCardChoices(cardChoices_);
}

int MainWindow::panelCount() const { return panelRow_->count(); }
SamplerPanel* MainWindow::panel(int i) const { return panelRow_->panel(i); }

void MainWindow::syncPanels()
{
    if (panelRow_->sync() && presentation_)
        presentation_->reapply();
    actions_->addPanel->setEnabled(panelCount() < RunDocument::kMaxPanels);
    rebuildPlots();
    updateTimelineMarks();
}

void MainWindow::onDocumentChanged()
{
    // Every label follows the document: headers, legends, the Reverse step tab's names.
    panelRow_->sync();
    toolbar_->sync();
    updatePlotLegend();
    updateTimelineMarks();
    updateActions();
    scheduleRefresh();
}

void MainWindow::updatePlotLegend()
{
    // The legends name what the curves were computed with; the Reverse step's
    // picker says what it shows and what waits for Run.
    QStringList names, shortNames, equationNames;
    for (int i = 0; i < panelCount(); ++i) {
        names << doc_->describe(i);
        shortNames << doc_->shortName(i);
        const QString pending = doc_->pendingNote(i);
        equationNames << (pending.isEmpty() || !doc_->computed(i)
                              ? doc_->describe(i)
                              : tr("%1 (pending: %2, press Run)").arg(doc_->describe(i), pending));
    }
    plots_->setPanelNames(names, shortNames);
    equations_->setPanelNames(equationNames);
}

void MainWindow::setPresentation(bool on, double scale)
{
    if (!on) {
        presentation_->leave();
        return;
    }
    if (scale <= 0)
        scale = Presentation::defaultScale(screen() ? screen()->geometry().height() : 768);
    presentation_->enter(scale);
}

void MainWindow::rebuildPlots()
{
    plotFeed_->rebuild(panelRow_->panels());
    updatePlotLegend();
}

CompareDialog* MainWindow::compareDialog() const { return compare_.data(); }

std::vector<SampleDialog*> MainWindow::sampleDialogs() const
{
    std::vector<SampleDialog*> out;
    for (const auto& d : sampleDialogs_)
        if (d)
            out.push_back(d);
    return out;
}

CompareDialog* MainWindow::openCompare()
{
    if (!hasModel())
        return nullptr;
    const QString modelPath = model()->path;
    if (compare_ && compare_->property("modelPath").toString() != modelPath) {
        compare_->close();
        compare_->deleteLater();
        compare_ = nullptr;
    }
    if (!compare_) {
        compare_ = new CompareDialog(modelPath, this);
        compare_->setProperty("modelPath", modelPath);
        // Kept when closed (Esc hides it): reopened, it shows the same metric and
        // table; a new model's dialog replaces it (above).
        installPlotExports(compare_);
        installTableExport(compare_->table()); // Ctrl+C as TSV, CSV and Markdown
    }
    compare_->show();
    compare_->raise();
    compare_->activateWindow();
    return compare_;
}

void MainWindow::updateActions()
{
    actions_->compare->setEnabled(hasModel() && !doc_->loading());
    actions_->run->setEnabled(hasModel() && !doc_->loading());
    actions_->stop->setEnabled(isRunning());
    const bool images = hasModel() && !model()->card().is_2d_points();
    for (auto* a : actions_->fields)
        a->setEnabled(images);
    actions_->fieldOverlay->setEnabled(hasModel() && model()->card().is_2d_points());
    actions_->fieldDifference->setEnabled(actions_->fieldOverlay->isEnabled() && actions_->fieldOverlay->isChecked());
    actions_->construction->setEnabled(actions_->fieldOverlay->isEnabled());
    actions_->exactPath->setEnabled(actions_->fieldOverlay->isEnabled());
    // x0_cond and x0_uncond exist on guided runs: offered (menu and tool bar) with a conditional card.
    bool conditional = false;
    for (int i = 0; i < doc_->panelCount(); ++i)
        if (const auto m = doc_->panelModel(i))
            conditional = conditional || m->card().is_conditional();
    for (Field f : {Field::X0Cond, Field::X0Uncond})
        actions_->fields[int(f)]->setVisible(conditional);
    actions_->guidanceSideBySide->setEnabled(hasModel() && !doc_->loading() && model()->card().is_conditional());
    actions_->compareGuidance->setEnabled(actions_->guidanceSideBySide->isEnabled());
    if (!conditional && (field_ == Field::X0Cond || field_ == Field::X0Uncond))
        QMetaObject::invokeMethod(this, [this] { setField(Field::X0Hat); }, Qt::QueuedConnection);
}

// ------------------------------------------------------------------ models

void MainWindow::loadModel(const QString& path)
{
    if (!files_->confirmDiscard(tr("open another model"))) {
        toolbar_->sync(); // the model box shows the model the window still holds
        return;
    }
    doc_->loadModel(path);
    updateActions();
    status_->setMessage(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
}

quint64 MainWindow::setPanelCard(int i, const QString& path)
{
    const quint64 token = doc_->setPanelCard(i, path);
    if (token)
        status_->setMessage(tr("Loading %1 for panel %2 ...").arg(QFileInfo(path).fileName()).arg(i + 1));
    return token;
}

void MainWindow::onModelReady()
{
    const auto& m = doc_->model();
    const ModelCard& card = m->card();
    clearError();
    plotFeed_->setModel(*m);
    plots_->setNoiseAxis({}); // the schedule plot drew the new card: updateTimelineMarks redraws the axis' reference
    panelRow_->sync();
    rebuildPlots();
    timeline_->setTrainSteps(m->trainSteps());
    timeline_->setCursor(m->trainSteps() - 1);
    plots_->setCursor(m->trainSteps() - 1);
    forward_->setModel(m);
    if (!card.is_2d_points() && field_ != Field::Xt)
        setField(field_);
    populateModelCombo();
    if (!doc_->isReplay())
        files_->addRecentCard(m->path);
    updateTitle();
    updateTimelineMarks();
    updateActions();
    status_->setMessage(tr("%1: %2. Press Run.")
                              .arg(QString::fromStdString(card.name),
                                   card.is_2d_points() ? tr("2-D points") : tr("images")));
    Q_EMIT modelReady();
}

void MainWindow::onModelFailed(const QString& path, const QString& message)
{
    updateActions();
    showError(tr("Could not open the model card %1: %2").arg(QDir::toNativeSeparators(path), message));
    status_->setMessage(hasModel() ? tr("Still using %1").arg(QString::fromStdString(model()->card().name))
                                     : tr("No model loaded"));
    // Nothing loaded yet (say the default digit model is broken): fall back to
    // the analytic ring so the window is usable; the message stays visible.
    const QString ring = QDir(modelsDir_).filePath("ring8.json");
    if (!hasModel() && QFileInfo(path).absoluteFilePath() != QFileInfo(ring).absoluteFilePath() &&
        QFileInfo::exists(ring)) {
        const QString error = errorText();
        loadModel(ring);
        connect(this, &MainWindow::modelReady, this, [this, error] { showError(error); }, Qt::SingleShotConnection);
    }
}

void MainWindow::askTrustCode(int panel, const QString& path, const QString& module, const QString& fingerprint)
{
    // Contract section 2: a TorchScript module outside the bundled models folder
    // runs only when the user trusts it; the answer is remembered by card content.
    if (!confirmTrust(this, path, module, fingerprint, options_.useSettings)) {
        doc_->declineCode(panel, path, module);
    } else if (panel >= 0) {
        setPanelCard(panel, path);
    } else {
        doc_->loadModel(path); // the discard question was asked when this load began
        status_->setMessage(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
    }
}

void MainWindow::onRunShown(const QString& path, const QString& title)
{
    actions_->follow->setChecked(false);
    timeline_->setCursor(TimelineMapping::kFinal);
    refreshViews();
    updateActions();
    setWindowTitle(title);
    Q_EMIT runOpened(path);
}

// ------------------------------------------------------------------ runs

void MainWindow::startRun()
{
    // A finished run that Run would replace is set aside (Edit > Restore Discarded Run).
    bool replaces = false;
    for (int i = 0; i < doc_->panelCount(); ++i)
        replaces = replaces || (doc_->computed(i) && doc_->isPending(i));
    if (replaces && !files_->confirmDiscard(tr("run again")))
        return;
    switch (doc_->run()) {
    case RunDocument::RunStart::Started:
        clearError();
        break;
    case RunDocument::RunStart::NothingToDo:
        updateActions();
        timeline_->setCursor(TimelineMapping::kFinal);
        refreshViews();
        status_->setMessage(tr("Nothing to recompute: every panel already shows its recipe. Change a panel, "
                                 "the seed or the batch, then Run."));
        Q_EMIT runFinished(false);
        break;
    case RunDocument::RunStart::WaitingForCard:
        status_->setMessage(tr("Loading a panel's card: the run starts when it is loaded."));
        break;
    case RunDocument::RunStart::Refused:
        break;
    }
}

void MainWindow::onRunStarted()
{
    // A new run is followed live again until the user grabs the timeline.
    actions_->follow->setChecked(true);
    timeline_->stop();
    const int T = model()->trainSteps();
    timeline_->setCursor(T - 1);
    plots_->setCursor(T - 1);
    runClock_.start();
    redrawPacer_->runStarted(default_threads(model()->card(), ThreadUse::Interactive));
    int total = 0;
    for (int i : doc_->runPanels())
        total += std::max(1, int(panel(i)->plannedTimesteps().size()));
    status_->startProgress(total);
    updateActions();
    refreshViews();
}

void MainWindow::onRunFinished(bool cancelled)
{
    status_->endProgress();
    if (!cancelled && actions_->follow->isChecked())
        timeline_->setCursor(TimelineMapping::kFinal);
    refreshViews();
    updateActions();
    const QString back = files_->hasDiscardedRun() ? tr(" Ctrl+Z brings back the unsaved run this one replaced.")
                                                   : QString();
    const QString done = lessons_->isOpen() // Page Up/Down are the lesson's then
                             ? tr("Done. Page Down: the lesson's next step. Scrub the timeline (drag, or Left/Right, "
                                  "Home/End, Space to play).")
                             : tr("Done. Scrub the timeline (drag, or Left/Right, Page Up/Down, Home/End, Space to "
                                  "play).");
    status_->setMessage((cancelled ? tr("Stopped. Scrub the timeline to see what was computed.") : done) + back);
    Q_EMIT runFinished(cancelled);
}

void MainWindow::onRunFailed(int panel, const QString& message)
{
    status_->endProgress();
    refreshViews();
    updateActions();
    const QString who = panel >= 0 && panel < panelCount()
                            ? tr("Panel %1 (%2)").arg(panel + 1).arg(doc_->describe(panel))
                            : tr("The run");
    showError(tr("%1 failed: %2. The steps computed before the failure are kept.").arg(who, message));
    status_->setMessage(tr("Run failed"));
    Q_EMIT runFinished(true);
}

// ------------------------------------------------------------------ views

void MainWindow::onCursorMoved(int t)
{
    // The user grabbed the timeline: stop following the live run.
    if (isRunning())
        actions_->follow->setChecked(false);
    plots_->setCursor(t, timeline_->nfeAxis() ? timeline_->cursorCalls() : -1);
    forward_->followTimeline(t);
    refreshViews(); // scrubbing redraws at once, from stored frames
}

void MainWindow::scheduleRefresh()
{
    if (!refreshTimer_->isActive())
        refreshTimer_->start();
}

void MainWindow::refreshViews()
{
    refreshTimer_->stop();
    plotFeed_->pull(panelRow_->panels());
    if (isRunning() && actions_->follow->isChecked()) {
        // Following the live run: every panel shows its newest state, and the
        // cursor stands at the noise level of the slowest panel still computing.
        timeline_->setCursor(panelRow_->showNewest(field_));
    } else if (timeline_->nfeAxis()) {
        panelRow_->showAtCalls(timeline_->cursorCalls(), field_); // equal cost
    } else {
        panelRow_->showAt(timeline_->cursor(), field_);
    }
    plots_->setCursor(timeline_->cursor(), timeline_->nfeAxis() ? timeline_->cursorCalls() : -1);
    for (auto& d : sampleDialogs_)
        if (d) {
            d->setPanels(sampleSources());
            d->showAt(timeline_->cursor());
        }
    if (const int e = equations_->panel(); e < panelCount()) {
        // The sampler the shown store was computed with, never a pending edit.
        const SamplerPanel* p = panel(e);
        equations_->showStep(doc_->shownConfig(e), p->trajectoryPtr(),
                             std::min(p->displayedStep(), p->trajectory().size() - 1));
    }
    updateTimelineMarks();
    updateStatus();
}

void MainWindow::updateTimelineMarks()
{
    // One noise axis for the timeline, the plots and the forward process (panels of a
    // flow card beside VP ones meet at equal SNR; noise_axis.hpp). Unchanged: nothing redone.
    const NoiseAxis axis = doc_->noiseAxis();
    timeline_->setAxis(axis);
    plots_->setNoiseAxis(axis);
    forward_->setAxis(axis);
    timeline_->setPanels(panelRow_->marks());
}

void MainWindow::updateTitle() { setWindowTitle(doc_->windowTitle()); }

void MainWindow::updateStatus()
{
    updateTitle();
    if (!isRunning())
        return;
    status_->setProgress(doc_->runSteps().first, doc_->runPanelSteps());
    status_->setMessage(doc_->runStatus(runClock_.elapsed() / 1000.0, toolbar_->pacingText()));
}

void MainWindow::showGuidanceSideBySide()
{
    if (!hasModel() || doc_->loading() || !model()->card().is_conditional())
        return;
    if (!files_->confirmDiscard(tr("show guidance side by side")))
        return;
    // Panel 1's sampler, class (the first class if it has none) and interval; W 0, 1, 3, 7.
    RunSetRecipe r = doc_->recipe();
    PanelRecipe base = r.panels.front();
    base.model.clear(); // the window's card: the one that was checked to be conditional
    if (base.sampler.guidance.classes.empty())
        base.sampler.guidance.classes = {0};
    r.panels.clear();
    for (double w : {0.0, 1.0, 3.0, 7.0}) {
        PanelRecipe p = base;
        p.sampler.guidance.scale = w == 1.0 ? std::optional<double>() : w; // unset means 1 (contract section 9)
        r.panels.push_back(p);
    }
    try {
        doc_->setRecipe(std::move(r));
    } catch (const std::exception& e) {
        showError(QString::fromStdString(e.what()));
        return;
    }
    startRun();
}

GuidanceDialog* MainWindow::openGuidanceCompare()
{
    if (!hasModel() || !model()->card().is_conditional())
        return nullptr;
    // One dialog per card and sampler settings: other settings make a new one.
    SamplerConfig sampler = doc_->panelConfig(0);
    const QString key = model()->path + QString::fromStdString(describe(sampler, model()->trainSteps(),
                                                                        model()->model->schedule().process()));
    if (guidance_ && guidance_->property("key").toString() != key) {
        guidance_->close();
        guidance_->deleteLater();
        guidance_ = nullptr;
    }
    if (!guidance_) {
        SamplerConfig plain = sampler;
        plain.guidance.classes.clear();
        plain.guidance.scale.reset();
        guidance_ = new GuidanceDialog(
            model()->path, sampler,
            QString::fromStdString(describe(plain, model()->trainSteps(), model()->model->schedule().process())), this);
        guidance_->setProperty("key", key);
    }
    guidance_->show();
    guidance_->raise();
    guidance_->activateWindow();
    return guidance_;
}

void MainWindow::setField(Field f)
{
    field_ = f;
    actions_->fields[int(f)]->setChecked(true);
    refreshViews();
}

void MainWindow::setMetricsEnabled(bool on) { actions_->metrics->setChecked(on); }

std::vector<SampleDialog::Source> MainWindow::sampleSources() const
{
    std::vector<SampleDialog::Source> out;
    // On the model-calls axis each row shows what its panel shows: the state reached at
    // equal cost, which no single t names.
    const bool equalCost = timeline_->nfeAxis();
    for (int i = 0; i < panelCount(); ++i)
        out.push_back({panel(i)->trajectoryPtr(), tr("Panel %1: %2").arg(i + 1).arg(panel(i)->description()),
                       panel(i)->axisTimesteps(), equalCost ? panel(i)->displayedStep() : -1});
    return out;
}

void MainWindow::openSample(int panel, int sample)
{
    const SamplerPanel* p = this->panel(panel);
    if (p->trajectory().empty())
        return;
    // Sample i of every panel (the same x_T), following the timeline.
    auto* d = new SampleDialog(sampleSources(), sample, timeline_->cursor(), this);
    d->setAttribute(Qt::WA_DeleteOnClose);
    std::erase_if(sampleDialogs_, [](const QPointer<SampleDialog>& q) { return q.isNull(); });
    sampleDialogs_.push_back(d);
    d->show();
}

// ------------------------------------------------------------------ errors

void MainWindow::showError(const QString& message)
{
    errorBanner_->showMessage(message);
    Q_EMIT errorShown(message);
}

void MainWindow::clearError() { errorBanner_->clear(); }

QString MainWindow::errorText() const { return errorBanner_->text(); }

// ------------------------------------------------------------------ files, settings, close

void MainWindow::dragEnterEvent(QDragEnterEvent* e)
{
    // Any one local file is taken: a card opens, anything else gets a message
    // on drop (refusing it at the door would say nothing).
    const auto urls = e->mimeData() ? e->mimeData()->urls() : QList<QUrl>();
    if (urls.size() == 1 && urls[0].isLocalFile())
        e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e)
{
    QString error;
    const QString path = droppedCard(e->mimeData(), &error);
    if (path.isEmpty())
        return showError(error);
    loadModel(path);
    e->acceptProposedAction();
}

void MainWindow::readSettings()
{
    QSettings s;
    if (!restoreGeometry(s.value("window/geometry").toByteArray()))
        resize(1340, 740);
    restoreState(s.value("window/state").toByteArray());
    splitter_->restoreState(s.value("window/splitter").toByteArray());
    plots_->restoreFolded();
    timeline_->setSpeed(s.value("speed", 60).toInt());
    // The recipe in core's run recipe text (the settings of an older version are not read).
    doc_->restoreRecipeText(s.value("runRecipe").toString());
}

void MainWindow::writeSettings()
{
    QSettings s;
    s.setValue("window/geometry", saveGeometry());
    s.setValue("window/state", saveState());
    s.setValue("window/splitter", splitter_->saveState());
    s.setValue("speed", timeline_->speed());
    if (hasModel() && !isReplay()) {
        s.setValue("model", model()->path);
        s.setValue("runRecipe", doc_->recipeText());
    }
    for (const char* old : {"seed", "pacing", "panels", "panelCards"})
        s.remove(QString::fromLatin1(old)); // the private format of earlier versions
}

void MainWindow::closeEvent(QCloseEvent* e)
{
    if (!files_->confirmDiscard(tr("quit"), RunFiles::Discard::Final)) {
        e->ignore();
        return;
    }
    if (options_.useSettings)
        writeSettings();
    timeline_->stop();
    doc_->abandon();
    e->accept();
}

} // namespace noisetrail::ui
