#include "window_actions.hpp"

#include "icons.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/run_set.hpp"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QMainWindow>
#include <QMenuBar>
#include <QMessageBox>
#include <QStyle>
#include <QTableWidget>
#include <QVBoxLayout>

namespace noisetrail::ui {

namespace {

QAction* make(QObject* parent, const QString& text, const QKeySequence& key, const QString& tip,
              const char* objectName = nullptr)
{
    auto* a = new QAction(text, parent);
    if (!key.isEmpty())
        a->setShortcut(key);
    a->setToolTip(tip);
    if (objectName)
        a->setObjectName(QString::fromLatin1(objectName));
    return a;
}

QAction* checkable(QAction* a, bool on)
{
    a->setCheckable(true);
    a->setChecked(on);
    return a;
}

} // namespace

WindowActions::WindowActions(QMainWindow* w) : QObject(w)
{
    const QColor ink = w->palette().color(QPalette::ButtonText);
    open = make(w, tr("&Open Model Card..."), QKeySequence::Open,
                tr("Open any model card (.json) (Ctrl+O); you can also drop one on the window"));
    open->setIcon(w->style()->standardIcon(QStyle::SP_DialogOpenButton));
    quit = make(w, tr("&Quit"), QKeySequence::Quit, tr("Quit NoiseTrail"));
    restore = make(w, tr("&Restore Discarded Run"), QKeySequence::Undo,
                   tr("Bring back the last finished run that was replaced without being saved (Ctrl+Z)"),
                   "restoreRunAction");
    restore->setEnabled(false);
    run = make(w, tr("&Run"), QKeySequence(Qt::CTRL | Qt::Key_R),
               tr("Sample every panel from the same starting noise (Ctrl+R)"), "runAction");
    run->setIcon(glyphIcon(Glyph::Play, QColor(0, 150, 90)));
    stop = make(w, tr("&Stop"), QKeySequence(Qt::Key_Escape),
                tr("Stop the run within one step (Esc); what was computed stays"), "stopAction");
    stop->setIcon(glyphIcon(Glyph::Stop, QColor(200, 60, 50)));
    reroll = make(w, tr("New &Seed"), QKeySequence(Qt::CTRL | Qt::Key_E),
                  tr("Draw a new random seed: a new shared starting noise x_T (Ctrl+E)"), "rerollAction");
    reroll->setIcon(glyphIcon(Glyph::Dice, ink));
    addPanel = make(w, tr("&Add Panel"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N),
                    tr("Add a sampler panel (up to 4) (Ctrl+Shift+N)"), "addPanelAction");
    compare = make(w, tr("&Compare DDPM vs DDIM..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C),
                   tr("The DDPM vs DDIM table of this model: eta 0, 0.2, 0.5, 1 and sigma-hat by number of steps, "
                      "with a metric-vs-steps plot (Ctrl+Shift+C)"),
                   "compareAction");

    guidanceSideBySide = make(w, tr("G&uidance Side by Side (W 0, 1, 3, 7)"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_G),
                              tr("Conditional models: four panels with panel 1's sampler and class, at guidance "
                                 "W = 0 (unconditional), 1 (conditional), 3 and 7, from the same x_T (Ctrl+Shift+G)"),
                              "guidanceSideBySideAction");
    guidanceSideBySide->setEnabled(false);
    compareGuidance = make(w, tr("Compare &Guidance Scales..."), {},
                           tr("Conditional models: the guidance trade-off measured per W (class accuracy, "
                              "within-class diversity, likelihood under the true class density or FD to held-out "
                              "digits), with panel 1's sampler"),
                           "compareGuidanceAction");
    compareGuidance->setEnabled(false);

    fieldGroup = new QActionGroup(this);
    const QString tips[kFields] = {
        tr("Show the noisy sample x_t at the cursor (Ctrl+1)"),
        tr("Show the model's prediction of the clean sample, x0_hat (Ctrl+2)"),
        tr("Show the predicted noise eps_hat, blue negative, red positive (Ctrl+3)"),
        tr("Guided panels: x0_hat of the conditional prediction at the same x_t, which guidance pushes away from "
           "the unconditional one (Ctrl+4)"),
        tr("Guided panels: x0_hat of the unconditional prediction (the null label) at the same x_t; not evaluated "
           "outside the guidance interval (Ctrl+5)")};
    for (int i = 0; i < kFields; ++i) {
        const QString name = QString::fromStdString(to_string(Field(i))); // core's names, as --field and the lessons
        fields[i] = checkable(make(w, name, QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)), tips[i]), i == 0);
        fields[i]->setObjectName(QStringLiteral("field_%1").arg(name));
        fieldGroup->addAction(fields[i]);
    }
    follow = checkable(make(w, tr("&Follow Live Run"), QKeySequence(Qt::CTRL | Qt::Key_L),
                            tr("Keep the cursor on the newest step while a run is live (Ctrl+L)")),
                       true);
    metrics = checkable(make(w, tr("Per-step &Diversity Metrics"), QKeySequence(Qt::CTRL | Qt::Key_M),
                             tr("Measure the batch's diversity at every step (pairwise distance, Vendi score, "
                                "mixture components or digit classes covered) on the worker; applies to the next "
                                "run (Ctrl+M)"),
                             "metricsAction"),
                        true);
    decision = checkable(make(w, tr("D&ecision Time"), QKeySequence(Qt::CTRL | Qt::Key_D),
                              tr("A strip under each image with its class (the classifier on x0_hat) at every "
                                 "measured step up to the cursor; on 2-D mixture cards each path in the colour of its "
                                 "component (Ctrl+D; needs the per-step metrics)"),
                              "decisionAction"),
                         false);
    fieldOverlay = checkable(make(w, tr("Field &Under the Points"), QKeySequence(Qt::CTRL | Qt::Key_F),
                                  tr("2-D models: arrows of the denoising direction alpha_t x0_hat(x) - x = "
                                     "sigma_t^2 grad log p_t(x) on a grid at the shown noise level, under each "
                                     "panel's points (its class and W when it has one) (Ctrl+F)"),
                                  "fieldOverlayAction"),
                             false);
    fieldDifference = checkable(make(w, tr("Field &Minus Panel 1's"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F),
                                     tr("With the field shown: panels 2-4 draw their field minus panel 1's at the "
                                        "same points and noise level (a learned card beside the exact denoiser of its "
                                        "data shows where it errs) (Ctrl+Shift+F)"),
                                     "fieldDifferenceAction"),
                                false);
    construction = checkable(make(w, tr("Step &Construction"), QKeySequence(Qt::CTRL | Qt::Key_K),
                                  tr("2-D models: click a point to draw the step at the cursor for it, built from the "
                                     "sampler's terms as the Reverse step tab writes them: DDIM's x0_hat and eps_hat, "
                                     "Heun's Euler predictor and second evaluation, DPM-Solver++'s previous x0_hat, "
                                     "DDPM's mean plus its noise (Ctrl+K)"),
                                  "constructionAction"),
                             true);
    exactPath = checkable(make(w, tr("E&xact ODE Path"), QKeySequence(Qt::CTRL | Qt::Key_J),
                               tr("2-D exact cards and deterministic samplers: the exact probability-flow ODE path "
                                  "from the same x_T, dashed, beside the sampled paths (a learned card in panels 2-4 "
                                  "uses panel 1's exact card) (Ctrl+J)"),
                               "exactPathAction"),
                          false);
    nfeAxis = checkable(make(w, tr("Model Calls &Axis (NFE)"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K),
                             tr("The timeline, the statistics and the ode_error plot count model calls (NFE) instead "
                                "of the noise level: each panel shows its last step within the cursor's calls, equal "
                                "cost side by side (Heun's S steps end at 2S - 1) (Ctrl+Shift+K)"),
                             "nfeAxisAction"),
                        false);
    present = checkable(make(w, tr("P&resentation"), QKeySequence(Qt::Key_F5),
                             tr("Full screen, large text, the controls a lecture needs, one large view (F5; Esc "
                                "leaves)"),
                             "presentationAction"),
                        false);
    cycleStage = make(w, tr("Next &Large View"), QKeySequence(Qt::Key_V),
                      tr("Presentation: show the next view large (the reverse step, the forward process, a plot) "
                         "(V)"),
                      "cycleStageAction");

    pacingGroup = new QActionGroup(this);
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
        const QString name = QString::fromStdString(to_string(pc.pacing));
        QAction* a = checkable(make(w, pc.text, {}, pc.tip), false);
        a->setData(name);
        a->setObjectName(QStringLiteral("pacing_%1").arg(name));
        pacingGroup->addAction(a);
    }

    // The timeline's keys work window-wide (WindowShortcut) unless a text field or
    // a control the user clicked into is being edited (key_guard.hpp).
    const auto timelineKey = [w](const QString& text, QKeySequence key, const QString& tip, const char* name) {
        QAction* a = make(w, text, key, tip, name);
        a->setShortcutContext(Qt::WindowShortcut);
        w->addAction(a);
        return a;
    };
    playPause = timelineKey(tr("Play / Pause"), QKeySequence(Qt::Key_Space), tr("Play the timeline or pause it"),
                            "playPauseAction");
    stepBack = timelineKey(tr("Step Back"), QKeySequence(Qt::Key_Left), tr("One noise level back (more noise)"),
                           "stepBackAction");
    stepForward = timelineKey(tr("Step Forward"), QKeySequence(Qt::Key_Right),
                              tr("One noise level forward (less noise)"), "stepForwardAction");
    previousKey = timelineKey(tr("Previous Key Frame"), QKeySequence(Qt::Key_PageUp),
                              tr("Back to the previous tenth of the schedule (a clicker's Back)"),
                              "previousKeyAction");
    nextKey = timelineKey(tr("Next Key Frame"), QKeySequence(Qt::Key_PageDown),
                          tr("On to the next tenth of the schedule, then the final samples (a clicker's Next)"),
                          "nextKeyAction");
    toStart = timelineKey(tr("Jump to Start"), QKeySequence(Qt::Key_Home), tr("Pure noise, t = T-1"),
                          "toStartAction");
    toEnd = timelineKey(tr("Jump to End"), QKeySequence(Qt::Key_End), tr("The final samples"), "toEndAction");

    openLesson = make(w, tr("&Open Lesson..."), {}, tr("Open a lesson (.lesson.json): a sequence of runs with captions"),
                      "openLessonAction");
    openBundledLesson = make(w, tr("Open &Bundled Lesson: DDPM vs DDIM"), {},
                             tr("The lesson that ships with NoiseTrail: DDPM vs DDIM in 20 minutes"),
                             "openBundledLessonAction");
    // Window-wide like the timeline's keys: a clicker works wherever the focus is.
    nextStep = timelineKey(tr("&Next Step"), {}, tr("The lesson's next step (Page Down while a lesson is open)"),
                           "nextStepAction");
    previousStep = timelineKey(tr("&Previous Step"), {},
                               tr("The lesson's previous step (Page Up while a lesson is open)"),
                               "previousStepAction");
    recordStep = make(w, tr("&Record Current State as Step"), {},
                      tr("Add the window's recipe, field, tab and cursor to the lesson as a new step after the "
                         "current one"),
                      "recordStepAction");
    saveLesson = make(w, tr("&Save Lesson As..."), {}, tr("Write the lesson to a .lesson.json file"),
                      "saveLessonAction");
    closeLesson = make(w, tr("&Close Lesson"), {}, tr("Close the lesson; Page Up / Page Down walk the key frames again"),
                       "closeLessonAction");
    setLessonKeys(false);

    shortcuts = make(w, tr("&Keyboard Shortcuts"), QKeySequence(Qt::Key_F1), tr("Every key of the window (F1)"),
                     "shortcutsAction");
    about = make(w, tr("&About NoiseTrail"), {}, tr("Version and licence"), "aboutAction");
}

WindowActions::Menus WindowActions::buildMenus(QMenuBar* bar, const std::function<void(QMenu*)>& fileExtras,
                                               const std::function<void(QMenu*)>& exportExtras)
{
    Menus m;
    m.file = bar->addMenu(tr("&File"));
    m.file->addAction(open);
    m.recent = m.file->addMenu(tr("Open &Recent"));
    m.file->addSeparator();
    fileExtras(m.file);
    m.file->addSeparator();
    m.file->addAction(quit);
    m.edit = bar->addMenu(tr("&Edit"));
    m.edit->addAction(restore);
    m.exports = bar->addMenu(tr("E&xport"));
    exportExtras(m.exports);
    m.run = bar->addMenu(tr("&Run"));
    m.run->addActions({run, stop});
    m.run->addSeparator();
    m.run->addActions({reroll, addPanel});
    m.run->addSeparator();
    m.run->addActions({guidanceSideBySide, compare, compareGuidance});
    m.view = bar->addMenu(tr("&View"));
    for (QAction* a : fields)
        m.view->addAction(a);
    m.view->addSeparator();
    m.view->addActions({follow, metrics, decision, fieldOverlay, fieldDifference});
    m.view->addActions({construction, exactPath, nfeAxis});
    m.plots = m.view->addMenu(tr("P&lots"));
    m.view->addSeparator();
    m.view->addActions({present, cycleStage});
    m.view->addSeparator();
    QMenu* pacing = m.view->addMenu(tr("&Pacing"));
    pacing->addActions(pacingGroup->actions());
    m.timeline = bar->addMenu(tr("&Timeline"));
    m.timeline->addActions({playPause, stepBack, stepForward, previousKey, nextKey, toStart, toEnd});
    m.lesson = bar->addMenu(tr("&Lesson"));
    m.lesson->addActions({openLesson, openBundledLesson});
    m.lesson->addSeparator();
    m.lesson->addActions({nextStep, previousStep});
    m.lesson->addSeparator();
    m.lesson->addActions({recordStep, saveLesson, closeLesson});
    m.help = bar->addMenu(tr("&Help"));
    m.help->addActions({shortcuts, about});
    return m;
}

void WindowActions::setLessonKeys(bool lessonOpen)
{
    // One key, one action: Qt would call an ambiguous shortcut neither's.
    const QKeySequence down(Qt::Key_PageDown), up(Qt::Key_PageUp);
    nextKey->setShortcut(lessonOpen ? QKeySequence() : down);
    previousKey->setShortcut(lessonOpen ? QKeySequence() : up);
    nextStep->setShortcut(lessonOpen ? down : QKeySequence());
    previousStep->setShortcut(lessonOpen ? up : QKeySequence());
    for (QAction* a : {nextStep, previousStep, saveLesson, closeLesson}) // Record starts a lesson if none is open
        a->setEnabled(lessonOpen);
}

namespace {

void collectRows(const QMenu* menu, const QString& path, QList<WindowActions::ShortcutRow>& rows)
{
    for (QAction* a : menu->actions()) {
        if (a->menu()) {
            collectRows(a->menu(), path + QStringLiteral(" \u203a ") + a->text().remove('&'), rows);
        } else if (!a->isSeparator()) {
            QStringList keys;
            for (const QKeySequence& k : a->shortcuts())
                keys << k.toString(QKeySequence::NativeText);
            if (!keys.isEmpty())
                rows.push_back({path, a->text().remove('&'), keys.join(QStringLiteral(", "))});
        }
    }
}

} // namespace

QList<WindowActions::ShortcutRow> WindowActions::shortcutRows(const QMenuBar* bar)
{
    QList<ShortcutRow> rows;
    for (QAction* top : bar->actions())
        if (top->menu())
            collectRows(top->menu(), top->text().remove('&'), rows);
    return rows;
}

void WindowActions::showShortcuts(QWidget* parent, const QMenuBar* bar)
{
    const auto rows = shortcutRows(bar);
    QDialog d(parent);
    d.setObjectName("shortcutsDialog");
    d.setWindowTitle(tr("Keyboard Shortcuts"));
    auto* col = new QVBoxLayout(&d);
    auto* table = new QTableWidget(int(rows.size()), 3, &d);
    table->setObjectName("shortcutsTable");
    table->setHorizontalHeaderLabels({tr("Menu"), tr("Action"), tr("Keys")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    for (int r = 0; r < rows.size(); ++r) {
        table->setItem(r, 0, new QTableWidgetItem(rows[r].menu));
        table->setItem(r, 1, new QTableWidgetItem(rows[r].action));
        table->setItem(r, 2, new QTableWidgetItem(rows[r].keys));
    }
    table->resizeColumnsToContents();
    table->horizontalHeader()->setStretchLastSection(true);
    col->addWidget(table);
    col->addWidget(new QLabel(tr("The timeline's keys work everywhere in the window except while you edit a field "
                                 "you clicked into; a presenter's clicker sends Page Up and Page Down (while a lesson is "
                                 "open they walk its steps, else the key frames)."),
                              &d));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, &d);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &d, &QDialog::reject);
    col->addWidget(buttons);
    d.resize(560, 520);
    d.exec();
}

} // namespace noisetrail::ui
