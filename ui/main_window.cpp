#include "main_window.hpp"
#include "code_trust.hpp"

#include <algorithm>
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
#include "noisetrail/printable.hpp"
#include "noisetrail/threads.hpp"
#include "plots_widget.hpp"
#include "presentation.hpp"
#include "redraw_pacer.hpp"
#include "render.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"

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
#include <QPushButton>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#ifndef NOISETRAIL_SOURCE_MODELS_DIR
#define NOISETRAIL_SOURCE_MODELS_DIR ""
#endif

namespace noisetrail::ui {

namespace {
constexpr int kMaxRecent = 8;
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
    connect(doc_, &RunDocument::panelModelChanged, this, [this](int i, const QString& error) {
        if (error.isEmpty() && doc_->hasOwnModel(i)) {
            clearError();
            statusLabel_->setText(tr("Panel %1 samples from %2. Press Run.")
                                      .arg(i + 1)
                                      .arg(QString::fromStdString(doc_->panelModel(i)->card().name)));
        }
        rebuildPlots();
    });

    files_ = new RunFiles(doc_, this, [this] { return field_; }, options_.useSettings, options_.askBeforeDiscard);
    connect(files_, &RunFiles::error, this, &MainWindow::showError);
    connect(files_, &RunFiles::status, this, [this](const QString& m) { statusLabel_->setText(m); });
    connect(files_, &RunFiles::loadingCard, this, [this](const QString& path) {
        updateActions();
        statusLabel_->setText(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
    });
    connect(files_, &RunFiles::runShown, this, &MainWindow::onRunShown);
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
    if (options_.useSettings) {
        readSettings();
        std::vector<std::string> trusted;
        for (const QString& f : QSettings().value("trustedCode/fingerprints").toStringList())
            trusted.push_back(f.toStdString());
        setTrustedFingerprints(std::move(trusted)); // before the first card loads
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
    connect(followAct_, &QAction::toggled, this, &MainWindow::scheduleRefresh);

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
    // Saved runs (run_files.hpp).
    file->addSeparator();
    files_->addFileActions(file);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    QMenu* exportMenu = menuBar()->addMenu(tr("E&xport"));
    files_->addExportActions(exportMenu);
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
    addExperimentsMenu(this, [this] { return hasModel() && !doc_->loading() ? doc_->model()->path : QString(); },
                       [this] { return doc_->seed(); });
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
        connect(a, &QAction::triggered, this, [this, p = pc.pacing] { doc_->setPacing(p); });
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
        if (!p.isEmpty() && (!hasModel() || QFileInfo(p).absoluteFilePath() != model()->path))
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
    connect(seed_, &QSpinBox::valueChanged, this, [this](int v) { doc_->setSeed(quint64(v)); });
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
    connect(batch_, &QSpinBox::valueChanged, doc_, &RunDocument::setBatch);
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
        doc_->setPacing(parse_pacing(pacingCombo_->itemData(i).toString().toStdString()));
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
    errorLabel_->setTextFormat(Qt::PlainText); // a card's name is no markup
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
    connect(metricsAct_, &QAction::toggled, doc_, &RunDocument::setMetricsEnabled);
    connect(metricsAct_, &QAction::toggled, plots_, &PlotsWidget::setMetricsShown);
    plotsMenu_->addActions(plots_->foldActions());
    bottomTabs_->setCornerWidget(plots_->plotsButton(), Qt::TopRightCorner);

    statusLabel_ = new QLabel;
    statusLabel_->setObjectName("statusLabel");
    statusBar()->addWidget(statusLabel_, 1);
    // While a panel's metrics are measured on every k-th step only (core recorder.hpp), say so.
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
    cardChoices_ = listModelCards(modelsDir_);
    for (const CardChoice& c : cardChoices_) {
        modelCombo_->addItem(c.name, c.path);
        modelCombo_->setItemData(modelCombo_->count() - 1, c.tip.isEmpty() ? c.path : c.tip, Qt::ToolTipRole);
    }
    if (const auto& m = doc_->model()) {
        int i = modelCombo_->findData(m->path);
        if (i < 0) {
            modelCombo_->insertItem(0, QString::fromStdString(m->card().name), m->path);
            modelCombo_->setItemData(0, m->path, Qt::ToolTipRole);
            i = 0;
        }
        modelCombo_->setCurrentIndex(i);
    }
    for (auto* p : panels_)
        p->setCardChoices(cardChoices_);
}

SamplerPanel* MainWindow::makePanel(int index)
{
    auto* p = new SamplerPanel(doc_, index);
    p->setShowDecision(decisionAct_->isChecked());
    connect(p, &SamplerPanel::removeRequested, this, [this, p] { doc_->removePanel(p->index()); });
    connect(p, &SamplerPanel::sampleClicked, this, &MainWindow::openSample);
    connect(p, &SamplerPanel::etaEdited, this, [this] {
        // The hybrid knob: dragging eta re-runs the panel from the same x_T (only
        // changed panels are recomputed), coalesced so a drag is not a queue of runs.
        if (hasModel() && !doc_->loading())
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

void MainWindow::syncPanels()
{
    // One widget per document panel, in order.
    while (panelCount() < doc_->panelCount())
        panels_.push_back(makePanel(panelCount()));
    while (panelCount() > doc_->panelCount()) {
        panels_.back()->hide();
        panels_.back()->deleteLater();
        panels_.pop_back();
    }
    for (std::size_t i = 0; i < panels_.size(); ++i) {
        panels_[i]->setIndex(int(i));
        panels_[i]->setRemovable(panels_.size() > 1);
        panelsLayout_->addWidget(panels_[i], 1);
        panels_[i]->sync();
    }
    addPanelAct_->setEnabled(panelCount() < RunDocument::kMaxPanels);
    if (presentation_)
        presentation_->reapply();
    rebuildPlots();
    updateTimelineMarks();
}

void MainWindow::onDocumentChanged()
{
    // Every label follows the document: headers, legends, the Reverse step tab's names.
    for (auto* p : panels_)
        p->sync();
    {
        const QSignalBlocker b1(seed_), b2(batch_), b3(pacingCombo_);
        seed_->setValue(int(doc_->seed()));
        batch_->setValue(doc_->batch());
        const QString name = QString::fromStdString(to_string(doc_->pacing()));
        pacingCombo_->setCurrentIndex(pacingCombo_->findData(name));
        for (QAction* a : pacingGroup_->actions())
            a->setChecked(a->data().toString() == name);
    }
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
            if (hasValues(info.metrics.values)) // steps between measured ones hold none (core recorder.hpp)
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
    if (compareAct_)
        compareAct_->setEnabled(hasModel() && !doc_->loading());
    runAct_->setEnabled(hasModel() && !doc_->loading());
    stopAct_->setEnabled(isRunning());
    const bool images = hasModel() && !model()->card().is_2d_points();
    for (auto* a : fieldActs_)
        a->setEnabled(images);
}

// ------------------------------------------------------------------ models

void MainWindow::loadModel(const QString& path)
{
    if (!files_->confirmDiscard(tr("open another model")))
        return;
    doc_->loadModel(path);
    updateActions();
    statusLabel_->setText(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
}

quint64 MainWindow::setPanelCard(int i, const QString& path)
{
    const quint64 token = doc_->setPanelCard(i, path);
    if (token)
        statusLabel_->setText(tr("Loading %1 for panel %2 ...").arg(QFileInfo(path).fileName()).arg(i + 1));
    return token;
}

void MainWindow::onModelReady()
{
    const auto& m = doc_->model();
    const ModelCard& card = m->card();
    clearError();
    plots_->setSchedule(m->alphaBars, m->betas, m->logSnr);
    plots_->setMetricKind(m->mixture ? PlotsWidget::MetricKind::Mixture
                          : m->classifier ? PlotsWidget::MetricKind::Classes
                                          : PlotsWidget::MetricKind::Plain,
                          m->mixture ? m->mixture->components() : m->classifier ? m->classifier->num_classes() : 0);
    for (auto* p : panels_)
        p->sync();
    rebuildPlots();
    timeline_->setTrainSteps(m->trainSteps());
    timeline_->setCursor(m->trainSteps() - 1);
    plots_->setCursor(m->trainSteps() - 1);
    forward_->setModel(m);
    if (!card.is_2d_points() && field_ != Field::Xt)
        setField(field_);
    populateModelCombo();
    if (!doc_->isReplay())
        addRecent(m->path);
    updateTitle();
    updateTimelineMarks();
    updateActions();
    statusLabel_->setText(tr("%1: %2. Press Run.")
                              .arg(QString::fromStdString(card.name),
                                   card.is_2d_points() ? tr("2-D points") : tr("images")));
    Q_EMIT modelReady();
}

void MainWindow::onModelFailed(const QString& path, const QString& message)
{
    updateActions();
    showError(tr("Could not open the model card %1: %2").arg(QDir::toNativeSeparators(path), message));
    statusLabel_->setText(hasModel() ? tr("Still using %1").arg(QString::fromStdString(model()->card().name))
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
    const auto reload = [this, panel, path] {
        if (panel >= 0) {
            setPanelCard(panel, path);
        } else {
            doc_->loadModel(path); // the discard question was asked when this load began
            statusLabel_->setText(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
        }
    };
    const std::vector<std::string> trusted = trustedFingerprints();
    if (std::find(trusted.begin(), trusted.end(), fingerprint.toStdString()) != trusted.end())
        return reload(); // answered meanwhile (two panels with one card): ask once
    QMessageBox box(QMessageBox::Warning, tr("Run code from this model?"),
                    tr("%1 names a TorchScript module, %2.\n\nA model file of this kind is a program: it runs with "
                       "your permissions and can read and write your files. Run it only if you trust its source.")
                        .arg(QDir::toNativeSeparators(path), QDir::toNativeSeparators(module)),
                    QMessageBox::Cancel, this);
    box.setObjectName("trustCodeQuestion");
    box.setInformativeText(tr("Models in the bundled models folder run without asking. Your answer is remembered "
                              "for this content of the card and its files; if they change, you are asked again."));
    QPushButton* trust = box.addButton(tr("Trust and Open"), QMessageBox::AcceptRole);
    trust->setObjectName("trustAndOpen");
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    if (box.clickedButton() != trust) {
        doc_->declineCode(panel, path, module);
        return;
    }
    trustCode(fingerprint.toStdString());
    if (options_.useSettings) {
        QStringList list;
        for (const std::string& f : trustedFingerprints())
            list << QString::fromStdString(f);
        QSettings().setValue("trustedCode/fingerprints", list);
    }
    reload();
}

void MainWindow::onRunShown(const QString& path, const QString& title)
{
    followAct_->setChecked(false);
    timeline_->setCursor(TimelineMapping::kFinal);
    refreshViews();
    updateActions();
    setWindowTitle(title);
    Q_EMIT runOpened(path);
}

// ------------------------------------------------------------------ runs

void MainWindow::startRun()
{
    // Ask before discarding a finished run only when Run would replace something.
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
        statusLabel_->setText(tr("Nothing to recompute: every panel already shows its recipe. Change a panel, "
                                 "the seed or the batch, then Run."));
        Q_EMIT runFinished(false);
        break;
    case RunDocument::RunStart::WaitingForCard:
        statusLabel_->setText(tr("Loading a panel's card: the run starts when it is loaded."));
        break;
    case RunDocument::RunStart::Refused:
        break;
    }
}

void MainWindow::onRunStarted()
{
    // A new run is followed live again until the user grabs the timeline.
    followAct_->setChecked(true);
    timeline_->stop();
    const int T = model()->trainSteps();
    timeline_->setCursor(T - 1);
    plots_->setCursor(T - 1);
    runClock_.start();
    redrawPacer_->runStarted(default_threads(model()->card(), ThreadUse::Interactive));
    int total = 0;
    for (int i : doc_->runPanels())
        total += std::max(1, int(panels_[std::size_t(i)]->plannedTimesteps().size()));
    progress_->setRange(0, std::max(1, total));
    progress_->setValue(0);
    progress_->show();
    updateActions();
    refreshViews();
}

void MainWindow::onRunFinished(bool cancelled)
{
    progress_->hide();
    if (!cancelled && followAct_->isChecked())
        timeline_->setCursor(TimelineMapping::kFinal);
    refreshViews();
    updateActions();
    statusLabel_->setText(cancelled ? tr("Stopped. Scrub the timeline to see what was computed.")
                                    : tr("Done. Scrub the timeline (drag, or Left/Right, Home/End, Space to play)."));
    Q_EMIT runFinished(cancelled);
}

void MainWindow::onRunFailed(int panel, const QString& message)
{
    progress_->hide();
    refreshViews();
    updateActions();
    const QString who = panel >= 0 && panel < panelCount()
                            ? tr("Panel %1 (%2)").arg(panel + 1).arg(doc_->describe(panel))
                            : tr("The run");
    showError(tr("%1 failed: %2. The steps computed before the failure are kept.").arg(who, message));
    statusLabel_->setText(tr("Run failed"));
    Q_EMIT runFinished(true);
}

// ------------------------------------------------------------------ views

void MainWindow::onCursorMoved(int t)
{
    // The user grabbed the timeline: stop following the live run.
    if (isRunning())
        followAct_->setChecked(false);
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
    if (isRunning() && followAct_->isChecked()) {
        // Following the live run: every panel shows its newest state, and the
        // cursor stands at the noise level of the slowest panel still computing.
        int t = TimelineMapping::kFinal;
        for (int i : doc_->runPanels()) {
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
        // The sampler the shown store was computed with, never a pending edit.
        const SamplerPanel* p = panels_[std::size_t(e)];
        equations_->showStep(doc_->shownConfig(e), p->trajectoryPtr(),
                             std::min(p->displayedStep(), p->trajectory().size() - 1));
    }
    updateTimelineMarks();
    if (isRunning())
        progress_->setValue(doc_->runSteps().first);
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

void MainWindow::updateTitle() { setWindowTitle(doc_->windowTitle()); }

void MainWindow::updateStatus()
{
    updateTitle();
    if (!isRunning())
        return;
    progress_->setToolTip(tr("Progress of the run, all computing panels together:\n%1")
                              .arg(doc_->runPanelSteps().join('\n')));
    statusLabel_->setText(doc_->runStatus(runClock_.elapsed() / 1000.0, pacingCombo_->currentText()));
}

void MainWindow::setField(Field f)
{
    field_ = f;
    fieldActs_[int(f)]->setChecked(true);
    refreshViews();
}

void MainWindow::setMetricsEnabled(bool on) { metricsAct_->setChecked(on); }

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
    errorLabel_->setText(QString::fromStdString(noisetrail::printable(message.toStdString())));
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
    s.setValue("recent", recent_);
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
    if (!files_->confirmDiscard(tr("quit"))) {
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
