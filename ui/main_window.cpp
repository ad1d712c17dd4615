#include "main_window.hpp"

#include <functional>

#include "compare_dialog.hpp"
#include "equation_view.hpp"
#include "export_plot.hpp"
#include "experiment_menu.hpp"
#include "forward_view.hpp"
#include "icons.hpp"
#include "noisetrail/data_dirs.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/threads.hpp"
#include "plots_widget.hpp"
#include "presentation.hpp"
#include "redraw_pacer.hpp"
#include "render.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"
#include "worker_thread.hpp"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QRandomGenerator>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#ifndef NOISETRAIL_SOURCE_MODELS_DIR
#define NOISETRAIL_SOURCE_MODELS_DIR ""
#endif

namespace noisetrail::ui {

namespace {
constexpr int kMaxPanels = 4;
constexpr int kMaxRecent = 8;

SamplerConfig defaultPanelConfig(int index)
{
    SamplerConfig c;
    switch (index) {
    case 0: c.sampler = "ddpm"; c.steps = 1000; break;
    case 1: c.sampler = "ddim"; c.steps = 50; c.eta = 0.0; break;
    case 2: c.sampler = "ddim"; c.steps = 20; c.eta = 0.0; break;
    default: c.sampler = "ddim"; c.steps = 50; c.eta = 1.0; break;
    }
    return c;
}

QString encodeConfig(const SamplerConfig& c)
{
    return QStringLiteral("%1|%2|%3|%4|%5|%6")
        .arg(QString::fromStdString(c.sampler))
        .arg(c.steps)
        .arg(c.eta)
        .arg(QString::fromStdString(to_string(c.spacing)), QString::fromStdString(to_string(c.variance)))
        .arg(c.clip_x0 ? *c.clip_x0 : -0.5);
}

std::optional<SamplerConfig> decodeConfig(const QString& s)
{
    const QStringList f = s.split('|');
    if (f.size() != 6)
        return std::nullopt;
    try {
        SamplerConfig c;
        c.sampler = f[0].toStdString();
        c.steps = f[1].toInt();
        c.eta = f[2].toDouble();
        c.spacing = parse_spacing(f[3].toStdString());
        c.variance = parse_variance(f[4].toStdString());
        if (f[5].toDouble() >= 0)
            c.clip_x0 = f[5].toDouble();
        return c;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

/// Core's input errors lead with the file ("model card <path>: cannot open
/// file"); the window names the file itself, so the path is said once.
QString withoutPath(const QString& message, const QString& path)
{
    for (const QString& p : {path, QFileInfo(path).absoluteFilePath(), QDir::toNativeSeparators(path)}) {
        if (p.isEmpty())
            continue;
        const qsizetype at = message.indexOf(p + QStringLiteral(": "));
        if (at >= 0 && at <= 24) // a short lead such as "model card "
            return message.mid(at + p.size() + 2);
    }
    return message;
}

QString formatSeconds(double s)
{
    if (s < 60)
        return QCoreApplication::translate("MainWindow", "%1 s").arg(s, 0, 'f', s < 10 ? 1 : 0);
    return QCoreApplication::translate("MainWindow", "%1 min %2 s").arg(int(s) / 60).arg(int(s) % 60);
}
} // namespace

QString MainWindow::findModelsDir()
{
    // One lookup for the GUI and the CLI (core/include/noisetrail/data_dirs.hpp):
    // $NOISETRAIL_MODELS, ../share/noisetrail/models next to the executable, XDG data dirs.
    const auto dir = noisetrail::find_models_dir();
    return dir ? QString::fromStdString(dir->string()) : QString();
}

QString MainWindow::defaultModel(const QString& modelsDir)
{
    const QDir d(modelsDir);
    if (d.exists("mnist-unet.json"))
        return d.filePath("mnist-unet.json");
    return d.filePath("ring8.json");
}

MainWindow::MainWindow(MainWindowOptions options, QWidget* parent)
    : QMainWindow(parent), options_(std::move(options))
{
    registerMetaTypes();
    setObjectName("mainWindow");
    setWindowTitle(tr("NoiseTrail"));
    setAcceptDrops(true);
    modelsDir_ = options_.modelsDir.isEmpty() ? findModelsDir() : options_.modelsDir;

    // One long-lived worker on its own thread; it never touches a widget.
    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail sampling worker");
    worker_ = new SamplingWorker;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &SamplingWorker::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(worker_, &SamplingWorker::modelFailed, this, &MainWindow::onModelFailed);
    connect(worker_, &SamplingWorker::progress, this, &MainWindow::onProgress);
    connect(worker_, &SamplingWorker::runFinished, this, &MainWindow::onRunFinished);
    connect(worker_, &SamplingWorker::runFailed, this, &MainWindow::onRunFailed);
    startWorkerThread(thread_); // before the first job is queued (worker_thread.hpp)

    etaRerun_ = new QTimer(this);
    etaRerun_->setSingleShot(true);
    etaRerun_->setInterval(150);
    connect(etaRerun_, &QTimer::timeout, this, &MainWindow::startRun); // newest run wins

    refreshTimer_ = new QTimer(this);
    refreshTimer_->setSingleShot(true);
    refreshTimer_->setInterval(30); // ~30 redraws/s during a run, fewer on a busy machine:
    connect(refreshTimer_, &QTimer::timeout, this, &MainWindow::refreshViews);
    redrawPacer_ = new RedrawPacer(refreshTimer_); // redraw_pacer.hpp

    buildActions();
    buildUi();
    setPacing(Pacing::Lockstep);
    for (int i = 0; i < 2; ++i) {
        auto* p = makePanel(i);
        p->setConfig(defaultPanelConfig(i));
        panels_.push_back(p);
    }
    relayoutPanels();
    if (options_.useSettings)
        readSettings();
    else
        resize(1280, 720);
    rebuildPlots();
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

MainWindow::~MainWindow() { shutdownWorker(); }

void MainWindow::shutdownWorker()
{
    if (!thread_ || !thread_->isRunning())
        return;
    // Cancel (directly, not queued), then let the thread's event loop end.
    worker_->jobs().cancelUpTo(std::numeric_limits<quint64>::max());
    thread_->quit();
    thread_->wait();
}

// ------------------------------------------------------------------ building

void MainWindow::buildActions()
{
    openAct_ = new QAction(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open Model Card..."), this);
    openAct_->setShortcut(QKeySequence::Open);
    openAct_->setToolTip(tr("Open any model card (.json) (Ctrl+O); you can also drop one on the window"));
    connect(openAct_, &QAction::triggered, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Open model card"), modelsDir_,
                                                       tr("Model cards (*.json)"));
        if (!f.isEmpty())
            loadModel(f);
    });
    const QColor ink = palette().color(QPalette::ButtonText);
    runAct_ = new QAction(glyphIcon(Glyph::Play, QColor(0, 150, 90)), tr("&Run"), this);
    runAct_->setObjectName("runAction");
    runAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R)); // F5 is Presentation, as in slide programs
    runAct_->setToolTip(tr("Sample every panel from the same starting noise (Ctrl+R)"));
    connect(runAct_, &QAction::triggered, this, &MainWindow::startRun);
    stopAct_ = new QAction(glyphIcon(Glyph::Stop, QColor(200, 60, 50)), tr("&Stop"), this);
    stopAct_->setObjectName("stopAction");
    stopAct_->setShortcut(QKeySequence(Qt::Key_Escape));
    stopAct_->setToolTip(tr("Stop the run within one step (Esc); what was computed stays"));
    connect(stopAct_, &QAction::triggered, this, &MainWindow::stopRun);
    rerollAct_ = new QAction(glyphIcon(Glyph::Dice, ink), tr("New &Seed"), this);
    rerollAct_->setObjectName("rerollAction");
    rerollAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    rerollAct_->setToolTip(tr("Draw a new random seed: a new shared starting noise x_T (Ctrl+E)"));
    connect(rerollAct_, &QAction::triggered, this,
            [this] { seed_->setValue(int(QRandomGenerator::global()->bounded(1, 1000000))); });
    addPanelAct_ = new QAction(tr("&Add Panel"), this);
    addPanelAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N));
    addPanelAct_->setToolTip(tr("Add a sampler panel (up to 4) (Ctrl+Shift+N)"));
    connect(addPanelAct_, &QAction::triggered, this, &MainWindow::addPanel);

    compareAct_ = new QAction(tr("&Compare DDPM vs DDIM..."), this);
    compareAct_->setObjectName("compareAction");
    compareAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    compareAct_->setToolTip(tr("The DDPM vs DDIM table of this model: eta 0, 0.2, 0.5, 1 and sigma-hat by number "
                               "of steps, with a metric-vs-steps plot (Ctrl+Shift+C)"));
    connect(compareAct_, &QAction::triggered, this, [this] { openCompare(); });

    fieldGroup_ = new QActionGroup(this);
    const char* names[3] = {"x_t", "x0_hat", "eps_hat"};
    const QString tips[3] = {tr("Show the noisy sample x_t at the cursor (Ctrl+1)"),
                             tr("Show the model's prediction of the clean sample, x0_hat (Ctrl+2)"),
                             tr("Show the predicted noise eps_hat, blue negative, red positive (Ctrl+3)")};
    for (int i = 0; i < 3; ++i) {
        fieldActs_[i] = new QAction(QString::fromLatin1(names[i]), fieldGroup_);
        fieldActs_[i]->setCheckable(true);
        fieldActs_[i]->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        fieldActs_[i]->setToolTip(tips[i]);
        fieldActs_[i]->setObjectName(QStringLiteral("field_%1").arg(QString::fromLatin1(names[i])));
        connect(fieldActs_[i], &QAction::triggered, this, [this, i] { setField(Field(i)); });
    }
    fieldActs_[0]->setChecked(true);
    followAct_ = new QAction(tr("&Follow Live Run"), this);
    followAct_->setCheckable(true);
    followAct_->setChecked(true);
    followAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    followAct_->setToolTip(tr("Keep the cursor on the newest step while a run is live (Ctrl+L)"));
    connect(followAct_, &QAction::toggled, this, [this](bool on) {
        follow_ = on;
        scheduleRefresh();
    });

    metricsAct_ = new QAction(tr("Per-step &Diversity Metrics"), this);
    metricsAct_->setObjectName("metricsAction");
    metricsAct_->setCheckable(true);
    metricsAct_->setChecked(true);
    metricsAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    metricsAct_->setToolTip(tr("Measure the batch's diversity at every step (pairwise distance, Vendi score, "
                               "mixture components or digit classes covered) on the worker; applies to the "
                               "next run (Ctrl+M)"));

    decisionAct_ = new QAction(tr("D&ecision Time"), this);
    decisionAct_->setObjectName("decisionAction");
    decisionAct_->setCheckable(true);
    decisionAct_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    decisionAct_->setToolTip(tr("A strip under each image with its class (the classifier on x0_hat) at every "
                                "measured step up to the cursor; on 2-D mixture cards each path in the colour of "
                                "its component (Ctrl+D; needs the per-step metrics)"));
    connect(decisionAct_, &QAction::toggled, this, [this](bool on) {
        for (auto* p : panels_)
            p->setShowDecision(on);
    });

    // Menus.
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(openAct_);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    // Saved runs (ui/session_actions.cpp).
    file->addSeparator();
    QAction* saveRunAct = file->addAction(tr("&Save Run..."), this, &MainWindow::saveRunAs);
    saveRunAct->setObjectName("saveRunAction");
    saveRunAct->setShortcut(QKeySequence::Save);
    QAction* openRunAct = file->addAction(tr("Open R&un..."), this, &MainWindow::openRunDialog);
    openRunAct->setObjectName("openRunAction");
    openRunAct->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    recentRunsMenu_ = file->addMenu(tr("Recent R&uns"));
    if (options_.useSettings)
        recentRuns_ = QSettings().value("recentRuns").toStringList();
    updateRecentRunsMenu();
    file->addSeparator();
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    QMenu* exportMenu = menuBar()->addMenu(tr("E&xport"));
    exportMenu->addAction(tr("&Animation (GIF, MP4)..."), this, &MainWindow::exportAnimation)
        ->setObjectName("exportAnimationAction");
    exportMenu->addAction(tr("&Filmstrip (PNG)..."), this, &MainWindow::exportFilmstrip)
        ->setObjectName("exportFilmstripAction");
    exportMenu->addAction(tr("All &Plots (PNG, SVG, PDF, CSV)..."), this, [this] {
        const QString folder = QFileDialog::getExistingDirectory(this, tr("Export All Plots To"), QDir::homePath());
        if (folder.isEmpty())
            return;
        QString error;
        const int n = exportAllPlots(this, folder, &error);
        if (!error.isEmpty())
            showError(tr("Export of the plots: %1").arg(error));
        else
            statusLabel_->setText(tr("Wrote %1 plots to %2 (PNG, SVG, PDF and CSV each).").arg(n).arg(QDir::toNativeSeparators(folder)));
    });
    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(runAct_);
    run->addAction(stopAct_);
    run->addSeparator();
    run->addAction(rerollAct_);
    run->addAction(addPanelAct_);
    run->addSeparator();
    run->addAction(compareAct_);
    addExperimentsMenu(this, [this] { return model_ && !loading_ ? model_->path : QString(); },
                       [this] { return quint64(seed_->value()); });
    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (auto* a : fieldActs_)
        view->addAction(a);
    view->addSeparator();
    view->addAction(followAct_);
    view->addAction(metricsAct_);
    view->addAction(decisionAct_);
    plotsMenu_ = view->addMenu(tr("P&lots")); // filled by buildUi: fold or unfold each plot
    view->addSeparator();
    presentAct_ = view->addAction(tr("P&resentation"));
    presentAct_->setObjectName("presentationAction");
    presentAct_->setCheckable(true);
    presentAct_->setShortcut(QKeySequence(Qt::Key_F5));
    presentAct_->setToolTip(tr("Full screen, large text and lines, panel controls folded away (F5; Esc leaves)"));
    connect(presentAct_, &QAction::triggered, this, [this](bool on) { setPresentation(on); });
    view->addSeparator();
    // How the panels advance together; applies to the next run.
    QMenu* pacing = view->addMenu(tr("&Pacing"));
    pacingGroup_ = new QActionGroup(this);
    const struct {
        Pacing pacing;
        QString text, tip;
    } paces[] = {
        {Pacing::Lockstep, tr("&Lockstep"),
         tr("Every panel at the same noise level at every moment: a 1000-step and a 50-step panel reach t = 0 "
            "together")},
        {Pacing::Realtime, tr("&Real time"), tr("Each panel as fast as it computes: fewer steps finish sooner")},
        {Pacing::Sequential, tr("&Sequential"), tr("One panel after the other, panel 1 first")},
    };
    for (const auto& pc : paces) {
        QAction* a = pacing->addAction(pc.text);
        a->setCheckable(true);
        a->setToolTip(pc.tip);
        a->setData(QString::fromStdString(to_string(pc.pacing)));
        a->setObjectName(QStringLiteral("pacing_%1").arg(QString::fromStdString(to_string(pc.pacing))));
        pacingGroup_->addAction(a);
        connect(a, &QAction::triggered, this, [this, p = pc.pacing] { setPacing(p); });
    }
    QMenu* tl = menuBar()->addMenu(tr("&Timeline"));
    // Each action calls a plain closure (not a member pointer captured by a generic
    // lambda: GCC 12 miscompiled that one into a stack-buffer-underflow under ASan).
    const auto timelineAction = [&](const QString& text, QKeySequence key, std::function<void(TimelineBar*)> act) {
        QAction* a = tl->addAction(text);
        a->setShortcut(key);
        // Window-wide, but a focused spin box still gets its own arrow keys.
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, [this, act = std::move(act)] {
            follow_ = false;
            followAct_->setChecked(false);
            act(timeline_);
        });
        addAction(a);
    };
    timelineAction(tr("Play / Pause"), QKeySequence(Qt::Key_Space), [](TimelineBar* t) { t->togglePlay(); });
    timelineAction(tr("Step Back"), QKeySequence(Qt::Key_Left), [](TimelineBar* t) { t->stepBack(); });
    timelineAction(tr("Step Forward"), QKeySequence(Qt::Key_Right), [](TimelineBar* t) { t->stepForward(); });
    timelineAction(tr("Jump to Start"), QKeySequence(Qt::Key_Home), [](TimelineBar* t) { t->toStart(); });
    timelineAction(tr("Jump to End"), QKeySequence(Qt::Key_End), [](TimelineBar* t) { t->toEnd(); });
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About NoiseTrail"), this, [this] {
        QMessageBox::about(this, tr("About NoiseTrail"),
                           tr("<b>NoiseTrail</b> makes the reverse process of diffusion models visible: "
                              "DDPM and DDIM from the same noise, side by side, step by step.<br>"
                              "GPL-3.0-or-later. Plots by QCustomPlot."));
    });
}

void MainWindow::buildUi()
{
    QToolBar* tb = addToolBar(tr("Main"));
    tb->setObjectName("mainToolBar");
    tb->setMovable(false);
    tb->addWidget(new QLabel(tr(" Model ")));
    modelCombo_ = new QComboBox;
    modelCombo_->setObjectName("modelCombo");
    modelCombo_->setMinimumContentsLength(18);
    modelCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    modelCombo_->setToolTip(tr("The model to sample from: the bundled cards, or any card opened"));
    connect(modelCombo_, &QComboBox::activated, this, [this](int i) {
        const QString p = modelCombo_->itemData(i).toString();
        if (!p.isEmpty() && (!model_ || QFileInfo(p).absoluteFilePath() != model_->path))
            loadModel(p);
    });
    tb->addWidget(modelCombo_);
    tb->addAction(openAct_);
    tb->addSeparator();
    tb->addWidget(new QLabel(tr(" Seed ")));
    seed_ = new QSpinBox;
    seed_->setObjectName("seed");
    seed_->setRange(0, 2147483647);
    seed_->setValue(1);
    seed_->setToolTip(tr("Seed of the starting noise x_T, shared by every panel: a fair comparison"));
    tb->addWidget(seed_);
    auto* reroll = new QToolButton;
    reroll->setDefaultAction(rerollAct_);
    tb->addWidget(reroll);
    tb->addWidget(new QLabel(tr(" Batch ")));
    batch_ = new QSpinBox;
    batch_->setObjectName("batch");
    batch_->setRange(1, 4096);
    batch_->setValue(16);
    batch_->setToolTip(tr("Samples per panel (16 images; 512 points for 2-D models)"));
    tb->addWidget(batch_);
    tb->addSeparator();
    for (auto* a : fieldActs_)
        tb->addAction(a);
    tb->addSeparator();
    tb->addWidget(new QLabel(tr(" Pacing ")));
    pacingCombo_ = new QComboBox;
    pacingCombo_->setObjectName("pacingCombo");
    for (QAction* a : pacingGroup_->actions()) {
        pacingCombo_->addItem(a->text().remove('&'), a->data());
        pacingCombo_->setItemData(pacingCombo_->count() - 1, a->toolTip(), Qt::ToolTipRole);
    }
    pacingCombo_->setToolTip(tr("How the panels advance together (applies to the next run)"));
    connect(pacingCombo_, &QComboBox::activated, this, [this](int i) {
        setPacing(parse_pacing(pacingCombo_->itemData(i).toString().toStdString()));
    });
    tb->addWidget(pacingCombo_);
    tb->addSeparator();
    tb->addAction(runAct_);
    tb->addAction(stopAct_);
    tb->addAction(addPanelAct_);
    if (auto* w = tb->widgetForAction(runAct_))
        w->setObjectName("runButton");
    if (auto* w = tb->widgetForAction(stopAct_))
        w->setObjectName("stopButton");
    tb->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);

    auto* central = new QWidget;
    auto* col = new QVBoxLayout(central);
    col->setContentsMargins(4, 2, 4, 2);
    col->setSpacing(2);

    // One clear message for errors; the window stays usable.
    errorBanner_ = new QFrame;
    errorBanner_->setObjectName("errorBanner");
    auto* eb = new QHBoxLayout(errorBanner_);
    eb->setContentsMargins(8, 4, 4, 4);
    errorLabel_ = new QLabel;
    errorLabel_->setObjectName("errorLabel");
    errorLabel_->setWordWrap(true);
    errorLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QToolButton;
    close->setObjectName("errorClose");
    close->setText(QStringLiteral("\u2715"));
    close->setAutoRaise(true);
    close->setToolTip(tr("Dismiss this message"));
    connect(close, &QToolButton::clicked, this, &MainWindow::clearError);
    eb->addWidget(errorLabel_, 1);
    eb->addWidget(close);
    errorBanner_->hide();
    col->addWidget(errorBanner_);

    splitter_ = new QSplitter(Qt::Vertical);
    splitter_->setObjectName("mainSplitter");
    auto* top = new QWidget;
    auto* topCol = new QVBoxLayout(top);
    topCol->setContentsMargins(0, 0, 0, 0);
    topCol->setSpacing(2);
    panelsRow_ = new QWidget;
    panelsLayout_ = new QHBoxLayout(panelsRow_);
    panelsLayout_->setContentsMargins(0, 0, 0, 0);
    panelsLayout_->setSpacing(4);
    topCol->addWidget(panelsRow_, 1);
    timeline_ = new TimelineBar;
    topCol->addWidget(timeline_);
    splitter_->addWidget(top);

    bottomTabs_ = new QTabWidget;
    bottomTabs_->setObjectName("bottomTabs");
    bottomTabs_->setDocumentMode(true);
    plots_ = new PlotsWidget;
    forward_ = new ForwardView;
    bottomTabs_->addTab(plots_, tr("Schedule && statistics"));
    bottomTabs_->addTab(forward_, tr("Forward process"));
    equations_ = new EquationView;
    bottomTabs_->addTab(equations_, tr("Reverse step"));
    bottomTabs_->setTabToolTip(2, tr("The update the sampler applied at the cursor, with its numbers"));
    connect(equations_, &EquationView::panelChosen, this, [this] { refreshViews(); });
    bottomTabs_->setTabToolTip(0, tr("The noise schedule and each panel's per-step statistics"));
    bottomTabs_->setTabToolTip(1, tr("q(x_t | x_0): real examples pushed forward to noise level t"));
    splitter_->addWidget(bottomTabs_);
    splitter_->setStretchFactor(0, 3);
    splitter_->setStretchFactor(1, 2);
    splitter_->setChildrenCollapsible(false);
    splitter_->setSizes({520, 210}); // the panels are the product; plots get the rest
    col->addWidget(splitter_, 1);
    setCentralWidget(central);

    connect(timeline_, &TimelineBar::cursorMoved, this, &MainWindow::onCursorMoved);
    connect(plots_, &PlotsWidget::seekRequested, timeline_, &TimelineBar::seek);
    presentation_ = new Presentation(this);
    connect(presentation_, &Presentation::toggled, this, [this](bool on) {
        const QSignalBlocker b(presentAct_);
        presentAct_->setChecked(on);
    });
    connect(metricsAct_, &QAction::toggled, plots_, &PlotsWidget::setMetricsShown);
    plotsMenu_->addActions(plots_->foldActions());
    bottomTabs_->setCornerWidget(plots_->plotsButton(), Qt::TopRightCorner);

    statusLabel_ = new QLabel;
    statusLabel_->setObjectName("statusLabel");
    statusBar()->addWidget(statusLabel_, 1);
    // While a panel's metrics are measured on every k-th step only (frame_metrics.hpp), say so.
    auto* metricsNote = new QLabel;
    metricsNote->setObjectName("metricsNote");
    metricsNote->setToolTip(tr("Diversity metrics are measured on every k-th step of a long panel, so that they "
                               "cost little; their plots show those steps as points"));
    metricsNote->hide();
    statusBar()->addPermanentWidget(metricsNote);
    connect(plots_, &PlotsWidget::metricsNoteChanged, metricsNote, [metricsNote](const QString& note) {
        metricsNote->setText(note);
        metricsNote->setVisible(!note.isEmpty());
    });
    progress_ = new QProgressBar;
    progress_->setMaximumWidth(220);
    progress_->setTextVisible(true);
    progress_->setToolTip(tr("Progress of the whole run, all panels"));
    progress_->hide();
    statusBar()->addPermanentWidget(progress_);
    populateModelCombo();
}

void MainWindow::populateModelCombo()
{
    const QSignalBlocker b(modelCombo_);
    modelCombo_->clear();
    struct Entry {
        QString name, path, tip;
        std::vector<std::int64_t> dataShape;
    };
    std::vector<Entry> entries;
    if (!modelsDir_.isEmpty()) {
        const QDir d(modelsDir_);
        for (const QString& f : d.entryList({"*.json"}, QDir::Files, QDir::Name)) {
            try {
                const ModelCard c = read_model_card(d.filePath(f).toStdString());
                if (!c.is_denoiser())
                    continue; // the metric classifier judges samples; nothing to sample from
                entries.push_back({QString::fromStdString(c.name), d.filePath(f), QString::fromStdString(c.description),
                                   c.data_shape});
            } catch (const std::exception&) {
                // not a card (or one being written now): not offered
            }
        }
    }
    cardChoices_.clear();
    for (const auto& e : entries) {
        modelCombo_->addItem(e.name, QFileInfo(e.path).absoluteFilePath());
        cardChoices_.push_back({e.name, QFileInfo(e.path).absoluteFilePath(), e.tip, e.dataShape});
        modelCombo_->setItemData(modelCombo_->count() - 1, e.tip.isEmpty() ? e.path : e.tip, Qt::ToolTipRole);
    }
    if (model_) {
        int i = modelCombo_->findData(model_->path);
        if (i < 0) {
            modelCombo_->insertItem(0, QString::fromStdString(model_->card().name), model_->path);
            modelCombo_->setItemData(0, model_->path, Qt::ToolTipRole);
            i = 0;
        }
        modelCombo_->setCurrentIndex(i);
    }
    for (auto* p : panels_)
        p->setCardChoices(cardChoices_);
}

SamplerPanel* MainWindow::makePanel(int index)
{
    auto* p = new SamplerPanel(index);
    if (model_)
        p->setModel(model_);
    p->setShowDecision(decisionAct_->isChecked());
    connect(p, &SamplerPanel::configChanged, this, [this] {
        updateTimelineMarks();
        updatePlotLegend();
    });
    connect(p, &SamplerPanel::removeRequested, this, [this, p] {
        for (std::size_t i = 0; i < panels_.size(); ++i)
            if (panels_[i] == p)
                removePanel(int(i));
    });
    connect(p, &SamplerPanel::sampleClicked, this, &MainWindow::openSample);
    connect(p, &SamplerPanel::etaEdited, this, [this] {
        // The hybrid knob: dragging eta re-runs the panel from the same x_T (only
        // changed panels are recomputed), coalesced so a drag is not a queue of runs.
        if (model_ && !loading_)
            etaRerun_->start();
    });
    connect(p, &SamplerPanel::sampleClicked, this, [this](int panel, int sample) {
        equations_->setPanel(panel);
        equations_->setSample(sample);
    });
    connect(p, &SamplerPanel::cardRequested, this, [this](int i, const QString& path) { setPanelCard(i, path); });
    p->setCardChoices(cardChoices_);
    return p;
}

void MainWindow::relayoutPanels()
{
    for (std::size_t i = 0; i < panels_.size(); ++i) {
        panels_[i]->setIndex(int(i));
        panels_[i]->setRemovable(panels_.size() > 1);
        panelsLayout_->addWidget(panels_[i], 1);
    }
    addPanelAct_->setEnabled(int(panels_.size()) < kMaxPanels);
    if (presentation_)
        presentation_->reapply();
}

void MainWindow::addPanel()
{
    if (int(panels_.size()) >= kMaxPanels)
        return;
    abandonRun();
    auto* p = makePanel(int(panels_.size()));
    p->setConfig(defaultPanelConfig(int(panels_.size())));
    panels_.push_back(p);
    relayoutPanels();
    rebuildPlots();
    updateTimelineMarks();
}

void MainWindow::removePanel(int i)
{
    if (panels_.size() <= 1 || i < 0 || i >= int(panels_.size()))
        return;
    abandonRun();
    SamplerPanel* p = panels_[std::size_t(i)];
    panels_.erase(panels_.begin() + i);
    p->deleteLater();
    relayoutPanels();
    rebuildPlots();
    updateTimelineMarks();
}

void MainWindow::updatePlotLegend()
{
    QStringList names, shortNames;
    const int T = model_ ? model_->trainSteps() : 1000;
    for (auto* p : panels_) {
        names << p->description();
        shortNames << PlotsWidget::shortName(p->config(), T);
    }
    plots_->setPanelNames(names, shortNames);
    equations_->setPanelNames(names);
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
    plots_->setPanelCount(panelCount());
    updatePlotLegend();
    plotted_.assign(std::size_t(panelCount()), {nullptr, 0});
    for (int i = 0; i < panelCount(); ++i) {
        const Trajectory& tr = panels_[std::size_t(i)]->trajectory();
        plots_->beginPanel(i, tr.plannedSteps() ? tr.timesteps() : panels_[std::size_t(i)]->plannedTimesteps());
    }
    pullFrames();
    installPlotExports(plots_); // PNG / SVG / PDF / CSV context menus (export_plot.hpp)
}

void MainWindow::pullFrames()
{
    // The worker appends to the stores; the plots take what was published since
    // the last redraw (a new store starts its panel's curves afresh).
    plotted_.resize(std::size_t(panelCount()), {nullptr, 0});
    for (int i = 0; i < panelCount(); ++i) {
        const Trajectory& tr = panels_[std::size_t(i)]->trajectory();
        auto& [store, done] = plotted_[std::size_t(i)];
        if (store != &tr) {
            if (store)
                plots_->beginPanel(i, tr.plannedSteps() ? tr.timesteps() : panels_[std::size_t(i)]->plannedTimesteps());
            store = &tr;
            done = 0;
        }
        for (const int n = tr.size(); done < n; ++done) {
            const auto& info = tr.info(done);
            plots_->addStats(i, info.plan.t, info.stats);
            if (hasValues(info.metrics.values)) // steps between measured ones hold none (frame_metrics.hpp)
                plots_->addMetrics(i, info.plan.t, info.metrics.values);
        }
    }
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
    if (!model_)
        return nullptr;
    if (compare_ && compare_->property("modelPath").toString() != model_->path) {
        compare_->close();
        compare_->deleteLater();
        compare_ = nullptr;
    }
    if (!compare_) {
        compare_ = new CompareDialog(model_->path, this);
        compare_->setProperty("modelPath", model_->path);
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
    if (compareAct_)
        compareAct_->setEnabled(model_ && !loading_);
    runAct_->setEnabled(model_ && !loading_);
    stopAct_->setEnabled(running_);
    const bool images = model_ && !model_->card().is_2d_points();
    for (auto* a : fieldActs_)
        a->setEnabled(images);
}

// ------------------------------------------------------------------ models

void MainWindow::loadModel(const QString& path)
{
    if (!confirmDiscard(tr("open another model")))
        return;
    replayCard_.clear();
    abandonRun();
    loading_ = true;
    updateActions();
    statusLabel_->setText(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
    const quint64 token = loadToken_ = ++nextToken_;
    QMetaObject::invokeMethod(worker_, [w = worker_, token, path] { w->loadModel(token, path); },
                              Qt::QueuedConnection);
}

quint64 MainWindow::setPanelCard(int i, const QString& path)
{
    if (i < 0 || i >= panelCount())
        return 0;
    SamplerPanel* p = panels_[std::size_t(i)];
    abandonRun();
    if (path.isEmpty() || (model_ && QFileInfo(path).absoluteFilePath() == model_->path)) {
        p->setOwnModel(nullptr);
        rebuildPlots();
        updateTimelineMarks();
        return 0;
    }
    const quint64 token = ++nextToken_;
    panelLoads_[token] = p;
    statusLabel_->setText(tr("Loading %1 for panel %2 ...").arg(QFileInfo(path).fileName()).arg(i + 1));
    QMetaObject::invokeMethod(worker_, [w = worker_, token, path] { w->loadModel(token, path); },
                              Qt::QueuedConnection);
    return token;
}

void MainWindow::onPanelModelLoaded(SamplerPanel* p, LoadedModelPtr model)
{
    const int i = p->index();
    const ModelCard& card = model->card();
    const ModelCard& window = model_->card();
    const auto shape = [](const std::vector<std::int64_t>& s) {
        QStringList parts;
        for (auto d : s)
            parts << QString::number(d);
        return QStringLiteral("[%1]").arg(parts.join(QStringLiteral(", ")));
    };
    QString refusal;
    if (card.data_shape != window.data_shape)
        refusal = tr("its data shape is %1, the window's model (%2) has %3; a panel's card must have the same "
                     "data shape")
                      .arg(shape(card.data_shape), QString::fromStdString(window.name), shape(window.data_shape));
    else if (model->trainSteps() != model_->trainSteps())
        refusal = tr("it has T = %1 training steps, the window's model %2; panels are aligned on t")
                      .arg(model->trainSteps())
                      .arg(model_->trainSteps());
    if (!refusal.isEmpty()) {
        showError(tr("Panel %1 cannot use %2: %3.").arg(i + 1).arg(QDir::toNativeSeparators(model->path), refusal));
        p->setOwnModel(nullptr);
    } else {
        clearError();
        p->setOwnModel(std::move(model));
        statusLabel_->setText(tr("Panel %1 samples from %2. Press Run.").arg(i + 1).arg(QString::fromStdString(card.name)));
    }
    rebuildPlots();
    updateTimelineMarks();
}

void MainWindow::runIfCardsLoaded()
{
    if (runWhenCardsLoaded_ && panelLoads_.empty()) {
        runWhenCardsLoaded_ = false;
        startRun();
    }
}

void MainWindow::onModelLoaded(quint64 token, LoadedModelPtr model)
{
    if (auto it = panelLoads_.find(token); it != panelLoads_.end()) {
        const QPointer<SamplerPanel> p = it->second;
        panelLoads_.erase(it);
        if (p && model_)
            onPanelModelLoaded(p, std::move(model));
        if (auto saved = savedForLoad_.extract(token); !saved.empty() && p && p->hasOwnModel()) {
            p->showSaved(saved.mapped().first, saved.mapped().second);
            refreshViews();
        }
        if (!p || !p->hasOwnModel())
            runWhenCardsLoaded_ = false; // refused (one message): the user decides again
        runIfCardsLoaded();
        return;
    }
    if (token != loadToken_)
        return; // a newer load was asked for
    loading_ = false;
    model_ = std::move(model);
    clearError();
    const ModelCard& card = model_->card();
    for (auto* p : panels_)
        p->setModel(model_);
    plots_->setSchedule(model_->alphaBars, model_->betas, model_->logSnr);
    plots_->setMetricKind(model_->mixture ? PlotsWidget::MetricKind::Mixture
                          : model_->classifier ? PlotsWidget::MetricKind::Classes
                                               : PlotsWidget::MetricKind::Plain,
                          model_->mixture ? model_->mixture->components()
                          : model_->classifier ? model_->classifier->num_classes() : 0);
    rebuildPlots();
    timeline_->setTrainSteps(model_->trainSteps());
    timeline_->setCursor(model_->trainSteps() - 1);
    plots_->setCursor(model_->trainSteps() - 1);
    forward_->setModel(model_);
    {
        const QSignalBlocker b(batch_);
        batch_->setValue(card.is_2d_points() ? 512 : 16);
    }
    if (!card.is_2d_points() && field_ != Field::Xt)
        setField(field_);
    populateModelCombo();
    addRecent(model_->path);
    updateTitle();
    updateTimelineMarks();
    updateActions();
    statusLabel_->setText(tr("%1: %2. Press Run.")
                              .arg(QString::fromStdString(card.name),
                                   card.is_2d_points() ? tr("2-D points") : tr("images")));
    Q_EMIT modelReady();
}

void MainWindow::onModelFailed(quint64 token, const QString& path, const QString& message)
{
    if (auto it = panelLoads_.find(token); it != panelLoads_.end()) {
        const QPointer<SamplerPanel> p = it->second;
        panelLoads_.erase(it);
        savedForLoad_.erase(token);
        if (p) {
            showError(tr("Panel %1 cannot use %2: %3")
                          .arg(p->index() + 1)
                          .arg(QDir::toNativeSeparators(path), withoutPath(message, path)));
            p->setOwnModel(nullptr);
        }
        runWhenCardsLoaded_ = false; // the card failed (one message): the user decides again
        return;
    }
    if (token != loadToken_)
        return;
    loading_ = false;
    updateActions();
    showError(tr("Could not open the model card %1: %2").arg(QDir::toNativeSeparators(path), withoutPath(message, path)));
    statusLabel_->setText(model_ ? tr("Still using %1").arg(QString::fromStdString(model_->card().name))
                                 : tr("No model loaded"));
    // Nothing loaded yet (say the default digit model is broken): fall back to
    // the analytic ring so the window is usable; the message stays visible.
    const QString ring = QDir(modelsDir_).filePath("ring8.json");
    if (!model_ && QFileInfo(path).absoluteFilePath() != QFileInfo(ring).absoluteFilePath() &&
        QFileInfo::exists(ring)) {
        const QString message = errorText();
        loadModel(ring);
        connect(this, &MainWindow::modelReady, this, [this, message] { showError(message); },
                Qt::SingleShotConnection);
    }
}

// ------------------------------------------------------------------ runs

RunRecipe MainWindow::recipeOf(int i) const
{
    // What a panel's run is made of (core's RunRecipe, x_T left out: it follows
    // from seed, batch and data shape): a panel whose recipe did not change since
    // its finished run is not recomputed.
    const SamplerPanel* p = panels_[std::size_t(i)];
    const LoadedModel& m = *p->model();
    RunRecipe r;
    r.card = m.path.toStdString();
    r.fingerprint = m.fingerprint;
    r.sampler = p->config();
    r.sampler.steps = resolved_steps(r.sampler, m.trainSteps());
    const std::optional<double> clip = r.sampler.clip_x0 ? r.sampler.clip_x0 : m.card().default_clip();
    r.sampler.clip_x0 = clip && *clip > 0 ? *clip : 0.0;
    r.seed = quint64(seed_->value());
    r.batch = batch_->value();
    return r;
}

void MainWindow::startRun()
{
    if (!model_ || loading_)
        return;
    if (isReplay()) {
        // A reopened run whose card is not here: nothing can be sampled until the card is opened.
        showError(tr("The model card %1 is not here (this run was reopened from its saved frames). "
                     "Open the card (File > Open Model Card) to run again.")
                      .arg(QDir::toNativeSeparators(replayCard_)));
        return;
    }
    if (!panelLoads_.empty()) {
        // A panel's card is on its way: running now would sample that panel from the
        // window's card, then drop it when the card arrives. Run once it is here.
        runWhenCardsLoaded_ = true;
        statusLabel_->setText(tr("Loading a panel's card: the run starts when it is loaded."));
        return;
    }
    if (!confirmDiscard(tr("run again")))
        return;
    const int T = model_->trainSteps();
    std::vector<SamplerConfig> configs;
    for (int i = 0; i < panelCount(); ++i) {
        try {
            const SamplerConfig c = panels_[std::size_t(i)]->config();
            validate(c, panels_[std::size_t(i)]->model()->trainSteps());
            configs.push_back(c);
        } catch (const std::exception& e) {
            showError(tr("Panel %1 cannot run: %2").arg(i + 1).arg(QString::fromStdString(e.what())));
            return;
        }
    }
    clearError();
    // Newest run wins: everything older is cancelled, and what it still reports is stale.
    const quint64 gen = worker_->jobs().start();
    generation_ = gen;
    const std::vector<std::int64_t>& dataShape = model_->card().data_shape;
    std::vector<std::int64_t> shape{batch_->value()};
    shape.insert(shape.end(), dataShape.begin(), dataShape.end());

    RunJob job;
    job.generation = gen;
    job.seed = quint64(seed_->value());
    job.batch = batch_->value();
    job.pacing = pacing_;
    // The shared x_T, drawn here exactly as each Run would draw it from the seed
    // (a few thousand normals): every panel shows it the moment Run is pressed.
    job.x_T = initial_noise(dataShape, job.batch, job.seed);
    runPanels_.clear();
    for (int i = 0; i < panelCount(); ++i) {
        SamplerPanel* p = panels_[std::size_t(i)];
        const RunRecipe recipe = recipeOf(i);
        if (p->recipe() && *p->recipe() == recipe && p->trajectory().finished() &&
            (p->ranWithMetrics() || !metricsAct_->isChecked()))
            continue; // same recipe, complete: its trajectory stays
        const auto ts = p->plannedTimesteps();
        job.panels.push_back({i, p->model()->model, configs[std::size_t(i)],
                              p->beginRun(shape, ts, job.x_T, recipe, metricsAct_->isChecked())});
        runPanels_.push_back(i);
    }
    // A new run is followed live again until the user grabs the timeline.
    followAct_->setChecked(true);
    follow_ = true;
    timeline_->stop();
    if (job.panels.empty()) {
        if (running_) {
            // The run in flight has just completed every panel, its runFinished not yet
            // here (it is stale now, as gen is newer): it ends here, and it is new work.
            running_ = false;
            unsavedRun_ = true;
            progress_->hide();
            runPanels_.clear();
            updateActions();
        }
        timeline_->setCursor(TimelineMapping::kFinal);
        refreshViews();
        statusLabel_->setText(tr("Every panel already shows its recipe: change a panel, the seed or the batch, "
                                 "then Run."));
        Q_EMIT runFinished(false);
        return;
    }
    timeline_->setCursor(T - 1);
    plots_->setCursor(T - 1);
    running_ = true;
    runClock_.start();

    // core's one thread policy: the free cores but one, the GUI thread keeps a
    // core while it animates (threads.hpp). It stays set on the worker thread,
    // so it is always given.
    job.threads = default_threads(model_->card(), ThreadUse::Interactive);
    redrawPacer_->runStarted(job.threads);
    job.metrics = metricsAct_->isChecked();
    job.mixture = model_->mixture;
    job.classifier = model_->classifier;
    int total = 0;
    for (const auto& pj : job.panels)
        total += pj.store->plannedSteps();
    QMetaObject::invokeMethod(worker_, [w = worker_, job = std::move(job)] { w->run(job); }, Qt::QueuedConnection);
    progress_->setRange(0, std::max(1, total));
    progress_->setValue(0);
    progress_->show();
    updateActions();
    refreshViews(); // x_T in every recomputed panel, now
}

void MainWindow::abandonRun()
{
    // The panels are about to change under the run: cancel it and make whatever
    // it still reports stale at once (a Stop instead keeps what was computed).
    if (!running_)
        return;
    worker_->jobs().cancelAll();
    generation_ = 0;
    running_ = false;
    runPanels_.clear();
    progress_->hide();
    updateActions();
    updateTitle();
}

void MainWindow::stopRun()
{
    if (!running_)
        return;
    worker_->jobs().cancelUpTo(generation_);
    statusLabel_->setText(tr("Stopping..."));
}

void MainWindow::setPacing(Pacing p)
{
    pacing_ = p;
    const QString name = QString::fromStdString(to_string(p));
    for (QAction* a : pacingGroup_->actions())
        a->setChecked(a->data().toString() == name);
    const QSignalBlocker b(pacingCombo_);
    pacingCombo_->setCurrentIndex(pacingCombo_->findData(name));
}

void MainWindow::onProgress(quint64 gen)
{
    worker_->progressSeen();
    if (gen != generation_) {
        ++staleDropped_; // a stale run's news is never shown
        return;
    }
    scheduleRefresh();
}

void MainWindow::onRunFinished(quint64 gen, bool cancelled)
{
    if (gen != generation_)
        return;
    running_ = false;
    progress_->hide();
    if (cancelled)
        for (int i : runPanels_)
            panels_[std::size_t(i)]->runEnded(tr("stopped"));
    if (!cancelled)
        unsavedRun_ = true; // File > Save Run keeps it; closing or opening another asks first
    if (!cancelled && follow_)
        timeline_->setCursor(TimelineMapping::kFinal);
    refreshViews();
    runPanels_.clear();
    updateActions();
    statusLabel_->setText(cancelled ? tr("Stopped. Scrub the timeline to see what was computed.")
                                    : tr("Done. Scrub the timeline (drag, or Left/Right, Home/End, Space to play)."));
    Q_EMIT runFinished(cancelled);
}

void MainWindow::onRunFailed(quint64 gen, int panel, const QString& message)
{
    if (gen != generation_)
        return;
    running_ = false;
    progress_->hide();
    for (int i : runPanels_)
        panels_[std::size_t(i)]->runEnded(i == panel ? tr("failed") : tr("stopped: another panel failed"));
    refreshViews();
    runPanels_.clear();
    updateActions();
    const QString who = panel >= 0 && panel < panelCount()
                            ? tr("Panel %1 (%2)").arg(panel + 1).arg(panels_[std::size_t(panel)]->description())
                            : tr("The run");
    showError(tr("%1 failed: %2. The steps computed before the failure are kept.").arg(who, message));
    statusLabel_->setText(tr("Run failed"));
    Q_EMIT runFinished(true);
}

// ------------------------------------------------------------------ views

void MainWindow::onCursorMoved(int t)
{
    // The user grabbed the timeline: stop following the live run.
    if (running_ && follow_) {
        follow_ = false;
        followAct_->setChecked(false);
    }
    plots_->setCursor(t);
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
    pullFrames();
    if (running_ && follow_) {
        // Following the live run: every panel shows its newest state, and the
        // cursor stands at the noise level of the slowest panel still computing.
        int t = TimelineMapping::kFinal;
        for (int i : runPanels_) {
            const Trajectory& tr = panels_[std::size_t(i)]->trajectory();
            if (!tr.finished() && tr.plannedSteps() > 0)
                t = std::max(t, tr.timesteps()[std::size_t(std::max(0, tr.size() - 1))]);
        }
        timeline_->setCursor(t);
        for (auto* p : panels_)
            p->showNewest(field_);
    } else {
        const int t = timeline_->cursor();
        for (auto* p : panels_)
            p->showAt(t, field_);
    }
    plots_->setCursor(timeline_->cursor());
    for (auto& d : sampleDialogs_)
        if (d) {
            d->setPanels(sampleSources());
            d->showAt(timeline_->cursor());
        }
    if (const int e = equations_->panel(); e < panelCount()) {
        const SamplerPanel* p = panels_[std::size_t(e)];
        equations_->showStep(p->recipe() ? p->recipe()->sampler : p->config(), p->trajectoryPtr(),
                             std::min(p->displayedStep(), p->trajectory().size() - 1));
    }
    updateTimelineMarks();
    if (running_)
        progress_->setValue([this] {
            int n = 0;
            for (int i : runPanels_)
                n += panels_[std::size_t(i)]->trajectory().size();
            return n;
        }());
    updateStatus();
}

void MainWindow::updateTimelineMarks()
{
    std::vector<PanelMarks> marks;
    for (int i = 0; i < panelCount(); ++i) {
        const SamplerPanel* p = panels_[std::size_t(i)];
        PanelMarks m;
        m.color = panelColor(i);
        m.timesteps = p->trajectory().plannedSteps() ? p->trajectory().timesteps() : p->plannedTimesteps();
        m.visited = p->trajectory().size();
        marks.push_back(std::move(m));
    }
    timeline_->setPanels(std::move(marks));
}

void MainWindow::updateTitle()
{
    // The share of the run done leads the title while it runs (task bars show it;
    // scripts/screenshots.sh waits on it for its mid-run shots).
    const QString name = model_ ? tr("%1 \u2014 NoiseTrail").arg(QString::fromStdString(model_->card().name))
                                : tr("NoiseTrail");
    if (!running_ || progress_->maximum() <= 0) {
        setWindowTitle(name);
        return;
    }
    setWindowTitle(tr("%1% \u00b7 %2").arg(100 * progress_->value() / progress_->maximum()).arg(name));
}

void MainWindow::updateStatus()
{
    updateTitle();
    if (!running_)
        return;
    // Each computing panel's step, then the pace, the rate and the time left.
    QStringList parts;
    int done = 0, total = 0;
    for (int i : runPanels_) {
        const Trajectory& st = panels_[std::size_t(i)]->trajectory();
        parts << tr("Panel %1: step %2 of %3").arg(i + 1).arg(st.size()).arg(st.plannedSteps());
        done += st.size();
        total += st.plannedSteps();
    }
    progress_->setToolTip(tr("Progress of the run, all computing panels together:\n%1").arg(parts.join('\n')));
    if (done == 0) {
        statusLabel_->setText(tr("Starting: x_T is shown, the first step is being computed..."));
        return;
    }
    const double secs = std::max(1e-3, runClock_.elapsed() / 1000.0);
    const double rate = done / secs;
    const QString eta = done > 2 ? formatSeconds((total - done) / rate) : tr("...");
    statusLabel_->setText(tr("%1 \u00b7 %2 \u00b7 %3 steps/s \u00b7 %4 left")
                              .arg(parts.join(QStringLiteral(" \u00b7 ")))
                              .arg(pacingCombo_->currentText().toLower())
                              .arg(rate, 0, 'f', rate < 10 ? 1 : 0)
                              .arg(eta));
}

void MainWindow::setField(Field f)
{
    field_ = f;
    fieldActs_[int(f)]->setChecked(true);
    refreshViews();
}

void MainWindow::setMetricsEnabled(bool on) { metricsAct_->setChecked(on); }
bool MainWindow::metricsEnabled() const { return metricsAct_->isChecked(); }

void MainWindow::setSeed(quint64 seed) { seed_->setValue(int(seed)); }
quint64 MainWindow::seed() const { return quint64(seed_->value()); }
void MainWindow::setBatch(int b) { batch_->setValue(b); }
int MainWindow::batch() const { return batch_->value(); }

std::vector<SampleDialog::Source> MainWindow::sampleSources() const
{
    std::vector<SampleDialog::Source> out;
    for (int i = 0; i < panelCount(); ++i)
        out.push_back({panels_[std::size_t(i)]->trajectoryPtr(),
                       tr("Panel %1: %2").arg(i + 1).arg(panels_[std::size_t(i)]->description())});
    return out;
}

void MainWindow::openSample(int panel, int sample)
{
    const SamplerPanel* p = panels_.at(std::size_t(panel));
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

void MainWindow::styleErrorBanner()
{
    // Light pink on a light window, deep red with light text on a dark one;
    // the close cross in the text colour so it shows on both.
    const bool dark = palette().color(QPalette::Window).lightnessF() < 0.5;
    const QString bg = dark ? "#5a1d1a" : "#fdecea", border = dark ? "#b0554d" : "#e0a39d",
                  ink = dark ? "#ffdad6" : "#611a15";
    errorBanner_->setStyleSheet(QStringLiteral("#errorBanner{background:%1;border:1px solid %2;border-radius:4px;} "
                                               "#errorBanner QLabel, #errorBanner QToolButton{color:%3;} "
                                               "#errorBanner QToolButton{font-weight:bold;}")
                                    .arg(bg, border, ink));
}

void MainWindow::showError(const QString& message)
{
    styleErrorBanner();
    errorLabel_->setText(message);
    errorBanner_->show();
    Q_EMIT errorShown(message);
}

void MainWindow::clearError()
{
    errorLabel_->clear();
    errorBanner_->hide();
}

QString MainWindow::errorText() const { return errorBanner_->isHidden() ? QString() : errorLabel_->text(); }

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
    const auto urls = e->mimeData() ? e->mimeData()->urls() : QList<QUrl>();
    if (urls.isEmpty() || !urls[0].isLocalFile()) {
        showError(tr("Nothing to open in what was dropped: drop one model card (.json) file."));
        return;
    }
    const QString path = urls[0].toLocalFile();
    if (urls.size() > 1) {
        showError(tr("%n files were dropped: drop one model card (.json) at a time.", nullptr, int(urls.size())));
        return;
    }
    if (!path.endsWith(".json", Qt::CaseInsensitive)) {
        showError(tr("%1 is not a model card: drop a model card (.json) file.").arg(QDir::toNativeSeparators(path)));
        return;
    }
    loadModel(path);
    e->acceptProposedAction();
}

void MainWindow::addRecent(const QString& path)
{
    recent_.removeAll(path);
    recent_.prepend(path);
    while (recent_.size() > kMaxRecent)
        recent_.removeLast();
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    recentMenu_->clear();
    for (const QString& f : recent_) {
        QAction* a = recentMenu_->addAction(QFileInfo(f).fileName(), this, [this, f] { loadModel(f); });
        a->setToolTip(f);
        a->setStatusTip(f);
    }
    recentMenu_->setEnabled(!recent_.isEmpty());
}

void MainWindow::readSettings()
{
    QSettings s;
    if (!restoreGeometry(s.value("window/geometry").toByteArray()))
        resize(1340, 740);
    restoreState(s.value("window/state").toByteArray());
    splitter_->restoreState(s.value("window/splitter").toByteArray());
    plots_->restoreFolded();
    recent_ = s.value("recent").toStringList();
    updateRecentMenu();
    seed_->setValue(s.value("seed", 1).toInt());
    timeline_->setSpeed(s.value("speed", 60).toInt());
    try {
        setPacing(parse_pacing(s.value("pacing", "lockstep").toString().toStdString()));
    } catch (const std::exception&) {
        setPacing(Pacing::Lockstep); // an unknown name in old settings
    }
    const QStringList panels = s.value("panels").toStringList();
    std::vector<SamplerConfig> configs;
    for (const QString& p : panels)
        if (auto c = decodeConfig(p))
            configs.push_back(*c);
    if (!configs.empty() && int(configs.size()) <= kMaxPanels) {
        while (panelCount() < int(configs.size()))
            panels_.push_back(makePanel(panelCount()));
        while (panelCount() > int(configs.size())) {
            panels_.back()->deleteLater();
            panels_.pop_back();
        }
        for (std::size_t i = 0; i < configs.size(); ++i)
            panels_[i]->setConfig(configs[i]);
        relayoutPanels();
        // Panels' own cards are loaded once the window's model is there (each must match its data shape).
        settingsPanelCards_ = s.value("panelCards").toStringList();
        if (!settingsPanelCards_.isEmpty())
            connect(
                this, &MainWindow::modelReady, this,
                [this] {
                    const QStringList cards = std::exchange(settingsPanelCards_, {});
                    for (int i = 0; i < std::min(int(cards.size()), panelCount()); ++i)
                        if (!cards[i].isEmpty() && QFileInfo(cards[i]).isFile())
                            setPanelCard(i, cards[i]);
                },
                Qt::SingleShotConnection);
    }
}

void MainWindow::writeSettings()
{
    QSettings s;
    s.setValue("window/geometry", saveGeometry());
    s.setValue("window/state", saveState());
    s.setValue("window/splitter", splitter_->saveState());
    s.setValue("recent", recent_);
    s.setValue("seed", seed_->value());
    s.setValue("speed", timeline_->speed());
    s.setValue("pacing", QString::fromStdString(to_string(pacing_)));
    if (model_)
        s.setValue("model", model_->path);
    QStringList panels, cards;
    for (auto* p : panels_) {
        panels << encodeConfig(p->config());
        cards << (p->hasOwnModel() ? p->model()->path : QString());
    }
    s.setValue("panels", panels);
    s.setValue("panelCards", cards);
}

void MainWindow::closeEvent(QCloseEvent* e)
{
    if (!confirmDiscard(tr("quit"))) {
        e->ignore();
        return;
    }
    if (options_.useSettings)
        writeSettings();
    timeline_->stop();
    shutdownWorker();
    e->accept();
}

} // namespace noisetrail::ui
