// The presenter's keyboard model (issue 19): the timeline owns the clicker's and
// the arrow keys unless the user chose a control; nothing is discarded without a
// way back; Help > Keyboard Shortcuts lists exactly the keys that work.
#include "ui_test_util.hpp"

#include "noisetrail/render.hpp"
#include "run_document.hpp"
#include "timeline_bar.hpp"
#include "window_actions.hpp"

#include <QAction>
#include <QComboBox>
#include <QMenuBar>
#include <QSpinBox>
#include <QWheelEvent>

#include <set>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

std::unique_ptr<MainWindow> shown(const QString& card)
{
    auto w = open_main_window(card);
    w->activateWindow();
    [&] { QVERIFY(QTest::qWaitForWindowActive(w.get())); }();
    return w;
}

void wheel(QWidget* target, int delta)
{
    const QPointF at(target->width() / 2.0, target->height() / 2.0);
    QWheelEvent e(at, target->mapToGlobal(at), QPoint(), QPoint(0, delta), Qt::NoButton, Qt::NoModifier,
                  Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(target, &e);
}

} // namespace

class TestKeyboard : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void clickerKeysNeverChangeTheModel()
    {
        auto w = shown(kModels + "/ring8.json");
        auto* combo = w->findChild<QComboBox*>("modelCombo");
        QVERIFY(combo && combo->count() > 2);
        const QString model = w->model()->path;
        const int index = combo->currentIndex();
        // Focus lands on the model box as it would after launch or a closed dialog
        // (not by a click or Tab): Page Down, Down, Shift+Right and the wheel go
        // to the timeline or nowhere.
        combo->setFocus(Qt::OtherFocusReason);
        QCOMPARE(QApplication::focusWidget(), combo);
        const int before = w->timeline()->cursor();
        QTest::keyClick(combo, Qt::Key_PageDown);
        QCOMPARE(w->timeline()->cursor(), w->timeline()->mapping().nextKeyFrame(before, +1));
        QTest::keyClick(combo, Qt::Key_Down);
        QTest::keyClick(combo, Qt::Key_Right, Qt::ShiftModifier);
        QTest::keyClick(combo, Qt::Key_Up);
        wheel(combo, -120);
        QCOMPARE(combo->currentIndex(), index);
        QCOMPARE(w->model()->path, model);
        QVERIFY(!w->document()->loading());
    }

    void aChosenControlTakesItsKeys()
    {
        auto w = shown(kModels + "/ring8.json");
        auto* seed = w->findChild<QSpinBox*>("seed");
        QVERIFY(seed);
        const quint64 before = w->seed();
        // Focus by accident: Up does nothing.
        seed->setFocus(Qt::OtherFocusReason);
        QTest::keyClick(seed, Qt::Key_Up);
        QCOMPARE(w->seed(), before);
        // Clicked into: Up is the spin box's.
        QTest::mouseClick(seed, Qt::LeftButton, {}, QPoint(8, seed->height() / 2));
        QTest::keyClick(seed, Qt::Key_Up);
        QCOMPARE(w->seed(), before + 1);
        // Leaving it ends the choice.
        w->timeline()->track()->setFocus(Qt::OtherFocusReason);
        seed->setFocus(Qt::OtherFocusReason);
        QTest::keyClick(seed, Qt::Key_Up);
        QCOMPARE(w->seed(), before + 1);
    }

    void clickerWalksTheScheduleToTheEnd()
    {
        auto w = shown(kModels + "/ring8.json");
        run_to_end(*w);
        const QString model = w->model()->path;
        QTest::keyClick(w.get(), Qt::Key_Home);
        QCOMPARE(w->timeline()->cursor(), w->model()->trainSteps() - 1);
        int presses = 0;
        while (w->timeline()->cursor() != kFinalT && presses < 30) {
            const int t = w->timeline()->cursor();
            QTest::keyClick(QApplication::focusWidget() ? QApplication::focusWidget() : w.get(), Qt::Key_PageDown);
            QVERIFY(w->timeline()->cursor() < t);
            ++presses;
        }
        QCOMPARE(w->timeline()->cursor(), kFinalT);
        QCOMPARE(presses, 11); // nine tenths, t = 0, the final samples
        QTest::keyClick(w.get(), Qt::Key_PageUp);
        QCOMPARE(w->timeline()->cursor(), 0);
        QCOMPARE(w->model()->path, model);
        QVERIFY(w->document()->computed(0));
    }

    void shortcutTableListsEveryKeyOnce()
    {
        auto w = shown(kModels + "/ring8.json");
        const auto rows = WindowActions::shortcutRows(w->menuBar());
        // Every enabled-or-not action of the menus that has a key is listed, and no
        // key is bound twice (two actions on one key would make Qt ignore both).
        std::set<QString> keys, listed;
        for (const auto& r : rows) {
            for (const QString& k : r.keys.split(QStringLiteral(", "))) {
                QVERIFY2(keys.insert(k).second, qPrintable("key bound twice: " + k + " (" + r.action + ")"));
            }
            listed.insert(r.action);
        }
        for (QAction* a : w->findChildren<QAction*>()) {
            if (a->shortcut().isEmpty() || !a->isEnabled() || a->objectName() == "leavePresentationAction")
                continue;
            QVERIFY2(listed.count(a->text().remove('&')), qPrintable("not in Help > Keyboard Shortcuts: " + a->text()));
        }
        for (const char* name : {"Next Key Frame", "Previous Key Frame", "Play / Pause", "Run", "Presentation",
                                 "Restore Discarded Run"})
            QVERIFY2(listed.count(QString::fromLatin1(name)), name);
    }

    void discardedRunComesBack()
    {
        auto w = shown(kModels + "/ring8.json");
        run_to_end(*w);
        std::vector<float> first;
        w->panel(0)->trajectory().decode(w->panel(0)->trajectory().size(), Field::Xt, first);
        auto* restore = w->findChild<QAction*>("restoreRunAction");
        QVERIFY(restore && !restore->isEnabled());
        // A new seed and Run: the finished, unsaved run is replaced without a question (tests do not ask).
        w->setSeed(w->seed() + 1);
        run_to_end(*w);
        std::vector<float> second;
        w->panel(0)->trajectory().decode(w->panel(0)->trajectory().size(), Field::Xt, second);
        QVERIFY(first != second);
        QVERIFY(restore->isEnabled());
        QSignalSpy shownRun(w.get(), &MainWindow::runOpened);
        restore->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(shownRun.size(), 1, 20000);
        std::vector<float> back;
        w->panel(0)->trajectory().decode(w->panel(0)->trajectory().size(), Field::Xt, back);
        QCOMPARE(back, first);
        QVERIFY(w->hasUnsavedRun()); // still not saved
        // The run it replaced is kept in its place: Ctrl+Z again swaps them back.
        QVERIFY(restore->isEnabled());
        restore->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(shownRun.size(), 2, 20000);
        w->panel(0)->trajectory().decode(w->panel(0)->trajectory().size(), Field::Xt, back);
        QCOMPARE(back, second);
    }
};

QTEST_MAIN(TestKeyboard)
#include "tst_keyboard.moc"
