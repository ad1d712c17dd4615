// Lessons in the window (issue 25): the bundled lesson walked with a clicker's
// Page Down only, each step's recipe in the document and its view on screen; the
// clicker's keys and F1's list follow whether a lesson is open; a recorded lesson
// saves and reopens; a caption is Markdown, never the file's HTML; nothing is lost.
#include "ui_test_util.hpp"

#include "lesson_player.hpp"
#include "loaded_model.hpp"
#include "noisetrail/lesson.hpp"
#include "presentation.hpp"
#include "run_document.hpp"
#include "timeline_bar.hpp"
#include "window_actions.hpp"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QMenuBar>
#include <QTabWidget>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

const QString kBundled = kModels + "/lessons/ddpm-vs-ddim.lesson.json";

std::unique_ptr<MainWindow> shown(const QString& card)
{
    auto w = open_main_window(card, {1366, 768});
    w->activateWindow();
    [&] { QVERIFY(QTest::qWaitForWindowActive(w.get())); }();
    return w;
}

QString keysOf(const MainWindow& w, const QString& action)
{
    for (const auto& r : WindowActions::shortcutRows(w.menuBar()))
        if (r.action == action)
            return r.keys;
    return {};
}

/// The document holds `step`'s recipe (cards compared as the document keys them).
bool documentHolds(const RunDocument& doc, const LessonStep& step)
{
    const RunSetRecipe& r = doc.recipe();
    if (cardKey(r.model) != cardKey(step.recipe.model) || r.seed != step.recipe.seed ||
        r.batch != step.recipe.batch || r.pacing != step.recipe.pacing || r.panels.size() != step.recipe.panels.size())
        return false;
    for (std::size_t i = 0; i < r.panels.size(); ++i)
        if (!(r.panels[i].sampler == step.recipe.panels[i].sampler) ||
            cardKey(r.panels[i].model.empty() ? r.model : r.panels[i].model) !=
                cardKey(step.recipe.panels[i].model.empty() ? step.recipe.model : step.recipe.panels[i].model))
            return false;
    return true;
}

} // namespace

class TestLessonGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bundledLessonWalksWithPageDownOnly()
    {
        auto w = shown(kModels + "/ring8.json");
        LessonPlayer* player = w->lessons();
        QVERIFY(player->open(kBundled));
        const Lesson expected = read_lesson(kBundled.toStdString()); // the file, read independently
        QCOMPARE(player->stepCount(), int(expected.steps.size()));
        for (int k = 0; k < player->stepCount(); ++k) {
            if (k > 0) {
                QSignalSpy shownStep(player, &LessonPlayer::stepShown);
                QWidget* target = QApplication::focusWidget() ? QApplication::focusWidget() : w.get();
                QTest::keyClick(target, Qt::Key_PageDown);
                QCOMPARE(shownStep.size(), 1);
            }
            const LessonStep& s = expected.steps[std::size_t(k)];
            QCOMPARE(player->stepIndex(), k);
            QVERIFY2(player->stepLine().startsWith(QStringLiteral("Step %1 of %2: ").arg(k + 1).arg(expected.steps.size())),
                     qPrintable(player->stepLine()));
            QVERIFY(player->stepLine().endsWith(QString::fromStdString(s.title)));
            // The step's run, on its card, to the end; then the view is the step's.
            QTRY_VERIFY_WITH_TIMEOUT(w->hasModel() && !w->document()->loading() &&
                                         !w->document()->loadingPanelCard() && !w->isRunning() &&
                                         w->document()->computed(w->document()->panelCount() - 1),
                                     120000);
            QVERIFY2(documentHolds(*w->document(), s), qPrintable(player->stepLine()));
            for (int i = 0; i < w->document()->panelCount(); ++i)
                QVERIFY2(!w->document()->isPending(i), qPrintable(player->stepLine()));
            QCOMPARE(cardKey(w->model()->path.toStdString()), cardKey(s.recipe.model));
            if (s.show.field)
                QCOMPARE(int(w->field()), int(*s.show.field));
            if (s.show.tab && *s.show.tab != LessonTab::None)
                QCOMPARE(w->bottomTabs()->currentIndex(), int(*s.show.tab));
            if (s.show.cursor)
                QCOMPARE(w->timeline()->cursor(), *s.show.cursor);
            if (s.show.play) // played to its end (the timeline stops there)
                QTRY_COMPARE_WITH_TIMEOUT(w->timeline()->cursor(), s.show.play->to, 60000);
            QVERIFY(!player->captionText().isEmpty());
            QVERIFY(w->errorText().isEmpty());
        }
        // Past the last step Page Down does nothing; Page Up goes back one step.
        QTest::keyClick(w.get(), Qt::Key_PageDown);
        QCOMPARE(player->stepIndex(), player->stepCount() - 1);
        QTest::keyClick(w.get(), Qt::Key_PageUp);
        QCOMPARE(player->stepIndex(), player->stepCount() - 2);
        // Every finished step's run that the next one replaced was set aside, not lost.
        QVERIFY(w->runFiles()->hasDiscardedRun());
    }

    void clickerKeysFollowTheLesson()
    {
        auto w = shown(kModels + "/ring8.json");
        QCOMPARE(keysOf(*w, "Next Key Frame"), QKeySequence(Qt::Key_PageDown).toString(QKeySequence::NativeText));
        QVERIFY(keysOf(*w, "Next Step").isEmpty());
        run_to_end(*w);
        // A finished, unsaved run: opening a lesson sets it aside (Edit > Restore Discarded Run).
        QVERIFY(w->hasUnsavedRun());
        QVERIFY(w->lessons()->open(kBundled));
        QVERIFY(w->runFiles()->hasDiscardedRun());
        // F1's list is made from the menus: it says where the clicker's keys go now.
        QCOMPARE(keysOf(*w, "Next Step"), QKeySequence(Qt::Key_PageDown).toString(QKeySequence::NativeText));
        QCOMPARE(keysOf(*w, "Previous Step"), QKeySequence(Qt::Key_PageUp).toString(QKeySequence::NativeText));
        QVERIFY(keysOf(*w, "Next Key Frame").isEmpty());
        QVERIFY(w->lessons()->dock()->isVisible());
        w->lessons()->close();
        QVERIFY(!w->lessons()->dock()->isVisible());
        QCOMPARE(keysOf(*w, "Next Key Frame"), QKeySequence(Qt::Key_PageDown).toString(QKeySequence::NativeText));
        QVERIFY(keysOf(*w, "Next Step").isEmpty());
        // Closed: Page Down walks the key frames again.
        QTRY_VERIFY_WITH_TIMEOUT(w->hasModel() && !w->document()->loading(), 30000);
        const int before = w->timeline()->cursor();
        QTest::keyClick(w.get(), Qt::Key_PageDown);
        QCOMPARE(w->timeline()->cursor(), w->timeline()->mapping().nextKeyFrame(before, +1));
    }

    void recordedLessonSavesAndReopens()
    {
        auto w = shown(kModels + "/ring8.json");
        w->document()->setPanelConfig(0, cfg("ddim", 20, 0.5));
        w->setBatch(64);
        run_to_end(*w);
        w->timeline()->setCursor(300);
        w->bottomTabs()->setCurrentIndex(2);
        LessonPlayer* player = w->lessons();
        player->recordStep("Eta one half", "A *recorded* step");
        QVERIFY(player->isOpen());
        QCOMPARE(player->stepCount(), 1);
        QTemporaryDir dir;
        const QString file = dir.filePath("mine.lesson.json");
        QVERIFY(player->saveAs(file));
        player->close();
        const Lesson l = read_lesson(file.toStdString());
        QCOMPARE(l.steps.size(), std::size_t(1));
        const LessonStep& s = l.steps[0];
        QCOMPARE(s.title, std::string("Eta one half"));
        QCOMPARE(s.caption, std::string("A *recorded* step"));
        QCOMPARE(cardKey(s.recipe.model), cardKey((kModels + "/ring8.json").toStdString()));
        QCOMPARE(s.recipe.panels.at(0).sampler.eta, 0.5);
        QCOMPARE(s.recipe.panels.at(0).sampler.steps, 20);
        QVERIFY(s.recipe.batch == 64);
        QVERIFY(s.show.cursor == 300);
        QVERIFY(s.show.tab == LessonTab::ReverseStep);
        // Reopened, it restores what was recorded.
        w->setBatch(16);
        w->bottomTabs()->setCurrentIndex(0);
        QVERIFY(player->open(file));
        QTRY_VERIFY_WITH_TIMEOUT(!w->isRunning() && w->document()->computed(0), 60000);
        QVERIFY(documentHolds(*w->document(), s));
        QCOMPARE(w->bottomTabs()->currentIndex(), 2);
        QTRY_COMPARE(w->timeline()->cursor(), 300);
    }

    void captionsAreMarkdownNotHtml()
    {
        auto w = shown(kModels + "/ring8.json");
        QTemporaryDir dir;
        Lesson l = read_lesson(kBundled.toStdString());
        l.steps.resize(1);
        l.steps[0].recipe.model = (kModels + "/ring8.json").toStdString();
        l.steps[0].recipe.panels = {{{}, cfg("ddim", 5)}};
        l.steps[0].caption = "**bold** and <b>tag</b> <img src=\"/dev/zero\">";
        const QString file = dir.filePath("html.lesson.json");
        write_lesson(file.toStdString(), l);
        QVERIFY(w->lessons()->open(file));
        const QString text = w->lessons()->captionText();
        QVERIFY2(text.contains("bold") && !text.contains("**bold**"), qPrintable(text)); // Markdown is rendered
        QVERIFY2(text.contains("<b>tag</b>"), qPrintable(text));                        // HTML is shown as text
    }

    void stepWithAMissingCardIsOneErrorAndRunsNothingLater()
    {
        auto w = shown(kModels + "/ring8.json");
        QTemporaryDir dir;
        Lesson l;
        l.title = "Missing";
        LessonStep s;
        s.title = "Nowhere";
        s.recipe.model = dir.filePath("nope.json").toStdString();
        s.recipe.panels = {{{}, cfg("ddim", 5)}};
        l.steps = {s};
        const QString file = dir.filePath("missing.lesson.json");
        write_lesson(file.toStdString(), l);
        QVERIFY(w->lessons()->open(file));
        QTRY_VERIFY_WITH_TIMEOUT(w->errorText().contains("nope.json"), 20000);
        // A card opened afterwards is the user's: the step does not run on it.
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        w->loadModel(kModels + "/two-moons.json");
        QVERIFY(ready.wait(20000));
        QTest::qWait(100); // a queued run would start here
        QVERIFY(!w->isRunning());
        QVERIFY(!w->document()->computed(0));
    }

    void badLessonIsOneErrorAndKeepsTheOpenOne()
    {
        auto w = shown(kModels + "/ring8.json");
        QVERIFY(w->lessons()->open(kBundled));
        QTemporaryDir dir;
        QFile bad(dir.filePath("bad.lesson.json"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(R"({"format": "noisetrail-lesson/9", "title": "t", "steps": []})");
        bad.close();
        QSignalSpy error(w->lessons(), &LessonPlayer::error);
        QVERIFY(!w->lessons()->open(bad.fileName()));
        QCOMPARE(error.size(), 1);
        QVERIFY2(error.at(0).at(0).toString().contains("bad.lesson.json: field 'format'"),
                 qPrintable(error.at(0).at(0).toString()));
        QVERIFY(w->lessons()->isOpen());
        QCOMPARE(w->lessons()->lesson().title, std::string("DDPM vs DDIM in 20 minutes"));
        // The step list is clickable: choosing an entry goes to that step.
        auto* list = w->lessons()->dock()->findChild<QComboBox*>("lessonSteps");
        QVERIFY(list);
        QCOMPARE(list->count(), w->lessons()->stepCount());
        list->setCurrentIndex(2);
        Q_EMIT list->activated(2); // what a click on the third entry sends
        QCOMPARE(w->lessons()->stepIndex(), 2);
        QVERIFY(w->lessons()->stepLine().startsWith("Step 3 of "));
    }
};

QTEST_MAIN(TestLessonGui)
#include "tst_lesson_gui.moc"
