#include "lesson_player.hpp"

#include "key_guard.hpp"
#include "loaded_model.hpp"
#include "main_window.hpp"
#include "presentation.hpp"
#include "run_document.hpp"
#include "run_files.hpp"
#include "timeline_bar.hpp"
#include "timeline_mapping.hpp"
#include "window_actions.hpp"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QTabWidget>
#include <QTextBrowser>
#include <QTextDocument>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <utility>

namespace noisetrail::ui {

namespace {

/// A lesson's caption: Markdown only. Raw HTML in it is shown as text, links are not
/// followed and nothing is loaded (an image path in a hostile file could name a FIFO).
class CaptionView : public QTextBrowser {
public:
    CaptionView()
    {
        setObjectName("lessonCaption");
        setOpenLinks(false);
        setOpenExternalLinks(false);
        setFocusPolicy(Qt::NoFocus); // the clicker's keys stay with the window
        setFrameShape(QFrame::NoFrame);
        setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
        setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    }
    void setCaption(const QString& markdown)
    {
        markdown_ = markdown;
        refit();
    }
    QVariant loadResource(int, const QUrl&) override { return {}; }

protected:
    void changeEvent(QEvent* e) override
    {
        QTextBrowser::changeEvent(e);
        if (e->type() == QEvent::FontChange)
            refit(); // presentation mode scales the window's font: the caption follows
    }
    void resizeEvent(QResizeEvent* e) override
    {
        QTextBrowser::resizeEvent(e);
        fitHeight();
    }

private:
    void refit()
    {
        QFont f = font();
        f.setPointSizeF(f.pointSizeF() * 1.25); // prominent: a slide's text, not a tooltip's
        document()->setDefaultFont(f);
        document()->setMarkdown(markdown_, QTextDocument::MarkdownFeatures(QTextDocument::MarkdownDialectGitHub |
                                                                           QTextDocument::MarkdownNoHTML));
        fitHeight();
    }
    void fitHeight()
    {
        // As tall as the text, up to four lines of it (more scrolls): the panels keep the room.
        document()->setTextWidth(viewport()->width());
        const int line = QFontMetrics(document()->defaultFont()).lineSpacing();
        const int h = int(document()->size().height()) + 2 * frameWidth() + 2;
        setFixedHeight(std::clamp(h, line + 8, 4 * line + line / 2 + 12));
    }
    QString markdown_;
};

int tabIndex(LessonTab t)
{
    // The window's bottom tabs, in their order (main_window.cpp buildUi).
    switch (t) {
    case LessonTab::Statistics:
        return 0;
    case LessonTab::Forward:
        return 1;
    case LessonTab::ReverseStep:
        return 2;
    case LessonTab::None:
        return -1; // the window keeps its tab
    }
    return -1;
}

Presentation::Stage stageOf(LessonTab t)
{
    switch (t) {
    case LessonTab::Statistics:
        return Presentation::Stage::Plots;
    case LessonTab::Forward:
        return Presentation::Stage::Forward;
    case LessonTab::ReverseStep:
        return Presentation::Stage::ReverseStep;
    case LessonTab::None:
        return Presentation::Stage::None;
    }
    return Presentation::Stage::None;
}

} // namespace

LessonPlayer::LessonPlayer(MainWindow* window, WindowActions* actions, RunFiles* files, const QString& modelsDir)
    : QObject(window), w_(window), actions_(actions), files_(files), modelsDir_(modelsDir)
{
    buildDock();
    connect(actions_->openLesson, &QAction::triggered, this, [this] {
        const QString start = path_.isEmpty() ? QDir(modelsDir_).filePath("lessons") : QFileInfo(path_).absolutePath();
        const QString f =
            QFileDialog::getOpenFileName(w_, tr("Open Lesson"), start, tr("Lessons (*.lesson.json);;JSON (*.json)"));
        if (!f.isEmpty())
            open(f);
    });
    const QString bundled = bundledLesson(modelsDir_);
    actions_->openBundledLesson->setEnabled(!bundled.isEmpty());
    connect(actions_->openBundledLesson, &QAction::triggered, this, [this] { open(bundledLesson(modelsDir_)); });
    connect(actions_->nextStep, &QAction::triggered, this, &LessonPlayer::next);
    connect(actions_->previousStep, &QAction::triggered, this, &LessonPlayer::previous);
    connect(actions_->recordStep, &QAction::triggered, this, &LessonPlayer::askRecord);
    connect(actions_->saveLesson, &QAction::triggered, this, &LessonPlayer::askSave);
    connect(actions_->closeLesson, &QAction::triggered, this, &LessonPlayer::close);

    connect(w_, &MainWindow::modelReady, this, [this] {
        if (!waitingForModel_)
            return;
        waitingForModel_ = false;
        applyView();
        // Queued: the document gives the panels their own cards on this same signal,
        // after this slot (RunDocument::setRecipe); the run must see them.
        const int step = current_;
        QMetaObject::invokeMethod(
            this,
            [this, step] {
                if (!open_ || current_ != step || waitingForModel_)
                    return; // another step (or lesson) was asked for meanwhile
                waitingForRun_ = true;
                w_->startRun();
                if (!w_->isRunning() && !w_->document()->loadingPanelCard())
                    waitingForRun_ = false;
            },
            Qt::QueuedConnection);
    });
    // The step's card did not load: the error is shown, and a card loaded later is not the step's.
    connect(w_->document(), &RunDocument::modelFailed, this, [this] { waitingForModel_ = false; });
    connect(w_, &MainWindow::runFinished, this, [this](bool cancelled) {
        if (std::exchange(waitingForRun_, false) && !cancelled)
            placeCursor();
    });
    connect(w_->timeline(), &TimelineBar::cursorMoved, this, &LessonPlayer::onTimelineMoved);
}

QString LessonPlayer::bundledLesson(const QString& modelsDir)
{
    const QString f = QDir(modelsDir).filePath("lessons/ddpm-vs-ddim.lesson.json");
    return !modelsDir.isEmpty() && QFileInfo(f).isFile() ? f : QString();
}

void LessonPlayer::buildDock()
{
    dock_ = new QDockWidget(tr("Lesson"), w_);
    dock_->setObjectName("lessonDock");
    dock_->setFeatures(QDockWidget::NoDockWidgetFeatures);
    dock_->setTitleBarWidget(new QWidget(dock_)); // compact: Lesson > Close Lesson closes it
    auto* body = new QWidget;
    auto* col = new QVBoxLayout(body);
    col->setContentsMargins(6, 2, 6, 2);
    col->setSpacing(2);
    auto* row = new QHBoxLayout;
    title_ = new QLabel;
    title_->setObjectName("lessonTitle");
    title_->setTextFormat(Qt::PlainText);
    QFont bold = title_->font();
    bold.setBold(true);
    title_->setFont(bold);
    prev_ = new QToolButton;
    prev_->setDefaultAction(actions_->previousStep);
    prev_->setArrowType(Qt::LeftArrow);
    next_ = new QToolButton;
    next_->setDefaultAction(actions_->nextStep);
    next_->setArrowType(Qt::RightArrow);
    steps_ = new QComboBox;
    steps_->setObjectName("lessonSteps");
    steps_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    for (QWidget* c : std::initializer_list<QWidget*>{prev_, next_, steps_})
        c->setFocusPolicy(Qt::NoFocus); // Page Down stays the lesson's, never the list's
    connect(steps_, &QComboBox::activated, this, [this](int k) { goTo(k); });
    row->addWidget(title_);
    row->addWidget(prev_);
    row->addWidget(steps_);
    row->addWidget(next_);
    row->addStretch(1);
    col->addLayout(row);
    caption_ = new CaptionView;
    col->addWidget(caption_);
    dock_->setWidget(body);
    w_->addDockWidget(Qt::TopDockWidgetArea, dock_);
    dock_->hide();
}

bool LessonPlayer::open(const QString& path)
{
    Lesson l;
    try {
        l = read_lesson(path.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT error(tr("Could not open the lesson: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    lesson_ = std::move(l);
    path_ = QFileInfo(path).absoluteFilePath();
    open_ = true;
    current_ = -1;
    actions_->setLessonKeys(true);
    dock_->show();
    goTo(0);
    return true;
}

void LessonPlayer::close()
{
    if (!open_)
        return;
    open_ = false;
    lesson_ = {};
    path_.clear();
    current_ = -1;
    waitingForModel_ = waitingForRun_ = false;
    playTo_ = kLessonFinal - 1;
    actions_->setLessonKeys(false);
    dock_->hide();
}

void LessonPlayer::goTo(int k)
{
    if (!open_ || k < 0 || k >= stepCount())
        return;
    const LessonStep& s = lesson_.steps[std::size_t(k)];
    // A finished run the step replaces is set aside (Edit > Restore Discarded Run).
    if (!files_->confirmDiscard(tr("go to another step of the lesson")))
        return;
    RunDocument* doc = w_->document();
    w_->timeline()->stop();
    playTo_ = kLessonFinal - 1;
    waitingForRun_ = waitingForModel_ = false;
    try {
        doc->setRecipe(s.recipe);
    } catch (const std::exception& e) {
        Q_EMIT error(tr("Step %1 of the lesson: %2").arg(k + 1).arg(QString::fromStdString(e.what())));
        return;
    }
    current_ = k;
    updateStrip();
    if (s.show.presentation && *s.show.presentation != w_->presentation()->active())
        w_->setPresentation(*s.show.presentation);
    const bool sameCard = doc->model() && !doc->loading() &&
                          cardKey(doc->model()->path.toStdString()) == cardKey(s.recipe.model);
    if (sameCard) {
        applyView();
        waitingForRun_ = true;
        w_->startRun();
        if (!w_->isRunning() && !doc->loadingPanelCard())
            waitingForRun_ = false; // refused (the error is shown) or already placed (nothing to do)
    } else {
        waitingForModel_ = true; // applied and run once the card is here (modelReady)
        w_->loadModel(QString::fromStdString(s.recipe.model.string()));
    }
    Q_EMIT stepShown(k);
}

void LessonPlayer::applyView()
{
    if (current_ < 0)
        return;
    const LessonView& v = lesson_.steps[std::size_t(current_)].show;
    if (v.field)
        w_->setField(*v.field);
    if (v.tab) {
        if (w_->presentation()->active())
            w_->presentation()->setStage(stageOf(*v.tab));
        else if (tabIndex(*v.tab) >= 0)
            w_->bottomTabs()->setCurrentIndex(tabIndex(*v.tab));
    }
}

void LessonPlayer::placeCursor()
{
    if (current_ < 0)
        return;
    const LessonView& v = lesson_.steps[std::size_t(current_)].show;
    TimelineBar* t = w_->timeline();
    const auto clamp = [t](int pos) { return std::clamp(pos, TimelineMapping::kFinal, t->trainSteps() - 1); };
    if (v.play) {
        t->seek(clamp(v.play->from)); // seek: the views that follow the timeline follow it
        playTo_ = clamp(v.play->to);
        if (v.play->speed)
            t->setSpeed(*v.play->speed);
        if (!t->isPlaying())
            t->togglePlay();
    } else {
        t->seek(clamp(v.cursor.value_or(kLessonFinal)));
    }
    w_->refreshViews();
}

void LessonPlayer::onTimelineMoved(int t)
{
    // Playing a step's range: stop at its end.
    if (playTo_ < kLessonFinal || t > playTo_)
        return;
    playTo_ = kLessonFinal - 1;
    TimelineBar* bar = w_->timeline();
    if (bar->isPlaying())
        bar->togglePlay();
}

void LessonPlayer::updateStrip()
{
    title_->setText(QString::fromStdString(lesson_.title));
    {
        const QSignalBlocker b(steps_);
        steps_->clear();
        for (int i = 0; i < stepCount(); ++i)
            steps_->addItem(tr("Step %1 of %2: %3")
                                .arg(i + 1)
                                .arg(stepCount())
                                .arg(QString::fromStdString(lesson_.steps[std::size_t(i)].title)));
        steps_->setCurrentIndex(current_);
    }
    static_cast<CaptionView*>(caption_)->setCaption(
        current_ >= 0 ? QString::fromStdString(lesson_.steps[std::size_t(current_)].caption) : QString());
    actions_->previousStep->setEnabled(open_ && current_ > 0);
    actions_->nextStep->setEnabled(open_ && current_ + 1 < stepCount());
}

QString LessonPlayer::captionText() const { return caption_->toPlainText(); }

QString LessonPlayer::stepLine() const { return steps_->currentText(); }

void LessonPlayer::recordStep(const QString& title, const QString& caption)
{
    RunDocument* doc = w_->document();
    if (!doc->model()) {
        Q_EMIT error(tr("Nothing to record: no model is loaded."));
        return;
    }
    LessonStep s;
    s.title = title.simplified().left(int(kMaxLessonTitleBytes / 4)).toStdString();
    s.caption = caption.left(int(kMaxLessonCaptionBytes / 4)).toStdString();
    s.recipe = doc->recipe();
    s.recipe.model = doc->model()->path.toStdString();
    s.show.field = w_->field();
    // While presenting without a large view the samples have the room: record that.
    s.show.tab = w_->presentation()->active() && w_->presentation()->stage() == Presentation::Stage::None
                     ? LessonTab::None
                     : LessonTab(std::clamp(w_->bottomTabs()->currentIndex(), 0, 2));
    s.show.cursor = w_->timeline()->cursor();
    if (!open_) {
        lesson_ = {};
        lesson_.title = tr("Untitled lesson").toStdString();
        path_.clear();
        open_ = true;
        current_ = -1;
        actions_->setLessonKeys(true);
        dock_->show();
    }
    current_ = std::min(current_ + 1, stepCount());
    lesson_.steps.insert(lesson_.steps.begin() + current_, std::move(s));
    updateStrip();
}

bool LessonPlayer::saveAs(const QString& path)
{
    try {
        write_lesson(path.toStdString(), lesson_);
    } catch (const std::exception& e) {
        Q_EMIT error(tr("Could not save the lesson: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    path_ = QFileInfo(path).absoluteFilePath();
    return true;
}

void LessonPlayer::askRecord()
{
    bool ok = false;
    const QString title = QInputDialog::getText(w_, tr("Record Step"), tr("Title of the step (one line):"),
                                                QLineEdit::Normal, tr("Step %1").arg(stepCount() + 1), &ok);
    if (!ok)
        return;
    const QString caption = QInputDialog::getMultiLineText(w_, tr("Record Step"), tr("Caption (Markdown):"), {}, &ok);
    if (ok)
        recordStep(title, caption);
}

void LessonPlayer::askSave()
{
    const QString suggested = path_.isEmpty() || QFileInfo(path_).absolutePath().startsWith(modelsDir_)
                                  ? QDir::home().filePath("lesson.lesson.json")
                                  : path_;
    QString f = QFileDialog::getSaveFileName(w_, tr("Save Lesson As"), suggested, tr("Lessons (*.lesson.json)"));
    if (f.isEmpty())
        return;
    if (!f.endsWith(".json", Qt::CaseInsensitive))
        f += ".lesson.json";
    saveAs(f);
}

} // namespace noisetrail::ui
