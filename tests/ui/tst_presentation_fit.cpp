// Presentation mode at a projector's sizes (issue 19): at 1366x768 and
// 1920x1080 the lecture's controls stay visible (Run, Stop, the pacing, the
// field switch, the timeline) and no label's text is cut. The offscreen
// platform gets two screens of exactly those sizes (its configfile option).
#include "ui_test_util.hpp"

#include "plots_widget.hpp"
#include "presentation.hpp"
#include "run_toolbar.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"

#include <QAbstractButton>
#include <QComboBox>
#include <QLabel>
#include <QScreen>
#include <QTemporaryDir>
#include <QTabWidget>
#include <QToolBar>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

/// Every shown label whose one-line text is wider than its room, and every shown
/// button or combo box narrower than its text needs.
QStringList cutTexts(QWidget* root, int* checked = nullptr)
{
    QStringList cut;
    int n = 0;
    for (auto* l : root->findChildren<QLabel*>()) {
        if (!l->isVisible() || l->wordWrap() || l->text().isEmpty() || l->textFormat() == Qt::RichText ||
            Qt::mightBeRichText(l->text()) || !l->pixmap().isNull() || l->inherits("noisetrail::ui::ElidingLabel"))
            continue; // an eliding label shows "..." and has the whole text as its tooltip
        ++n;
        const int need = l->fontMetrics().horizontalAdvance(l->text());
        if (need > l->contentsRect().width() + 1)
            cut << QStringLiteral("label %1 '%2': %3 px in %4").arg(l->objectName(), l->text()).arg(need).arg(l->contentsRect().width());
    }
    for (auto* b : root->findChildren<QAbstractButton*>()) {
        if (!b->isVisible() || b->text().isEmpty())
            continue;
        ++n;
        if (b->width() < b->minimumSizeHint().width())
            cut << QStringLiteral("button '%1': %2 px, needs %3").arg(b->text()).arg(b->width()).arg(b->minimumSizeHint().width());
    }
    for (auto* c : root->findChildren<QComboBox*>()) {
        if (!c->isVisible())
            continue;
        ++n;
        if (c->width() < c->minimumSizeHint().width())
            cut << QStringLiteral("combo '%1': %2 px, needs %3").arg(c->currentText()).arg(c->width()).arg(c->minimumSizeHint().width());
    }
    if (checked)
        *checked = n;
    return cut;
}

bool visibleIn(QWidget* w, QWidget* window)
{
    if (!w || !w->isVisible())
        return false;
    const QRect r(w->mapTo(window, QPoint(0, 0)), w->size());
    return window->rect().contains(r);
}

} // namespace

class TestPresentationFit : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void screensAreThere()
    {
        const auto screens = QGuiApplication::screens();
        QCOMPARE(screens.size(), 2);
        QCOMPARE(screens[0]->geometry().size(), QSize(1366, 768));
        QCOMPARE(screens[1]->geometry().size(), QSize(1920, 1080));
    }

    void everyLabelFits_data()
    {
        QTest::addColumn<int>("screen");
        QTest::addColumn<QString>("card");
        QTest::newRow("1366x768 digits") << 0 << QStringLiteral("mnist-unet.json");
        QTest::newRow("1920x1080 digits") << 1 << QStringLiteral("mnist-unet.json");
        QTest::newRow("1366x768 ring") << 0 << QStringLiteral("ring8.json");
        QTest::newRow("1920x1080 ring") << 1 << QStringLiteral("ring8.json");
    }
    void everyLabelFits()
    {
        QFETCH(int, screen);
        QFETCH(QString, card);
        QScreen* s = QGuiApplication::screens().at(screen);
        MainWindowOptions o;
        o.modelPath = kModels + "/" + card;
        o.useSettings = false;
        o.modelsDir = kModels;
        auto w = std::make_unique<MainWindow>(o);
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        w->setScreen(s);
        w->move(s->geometry().topLeft());
        w->show();
        if (!w->hasModel())
            QVERIFY(ready.wait(30000));
        // The default comparison, short enough to run here.
        w->panel(0)->setConfig(cfg("ddpm", card.startsWith("mnist") ? 100 : 1000));
        w->setBatch(card.startsWith("mnist") ? 4 : 512);
        w->setPresentation(true, Presentation::defaultScale(s->geometry().height()));
        QTRY_COMPARE(w->size(), s->geometry().size());
        // Before Run, during it (the captions say so) and at its end.
        QStringList cut = cutTexts(w.get());
        QVERIFY2(cut.isEmpty(), qPrintable("before Run: " + cut.join("; ")));
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectory().size() >= 2, 60000);
        w->refreshViews();
        for (int i = 0; i < w->panelCount(); ++i) { // a live run is not "press Run"
            const QString live = w->panel(i)->findChild<QLabel*>("panelCaption")->text();
            QVERIFY2(!live.contains(QStringLiteral("press Run")), qPrintable(live));
        }
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 120000);
        w->refreshViews();
        QCoreApplication::processEvents();
        // Long status lines or captions never widen the window past the screen.
        QCOMPARE(w->size(), s->geometry().size());
        QVERIFY(w->minimumSizeHint().width() <= s->geometry().width());
        int checked = 0;
        cut = cutTexts(w.get(), &checked);
        QVERIFY2(cut.isEmpty(), qPrintable("after Run: " + cut.join("; ")));
        QVERIFY2(checked >= 6, qPrintable(QString::number(checked))); // captions, info lines, buttons, the pacing
        for (int i = 0; i < w->panelCount(); ++i) {
            auto* caption = w->panel(i)->findChild<QLabel*>("panelCaption");
            QVERIFY(caption && caption->isVisible());
            QVERIFY2(caption->text().contains(QStringLiteral("final samples")), qPrintable(caption->text()));
        }
        // What a lecture needs stays on screen, nothing behind an overflow menu.
        for (const char* name : {"runButton", "stopButton", "pacingCombo", "field_x_t", "timeline", "timelineTrack"}) {
            QWidget* c = w->findChild<QWidget*>(name);
            if (!c) // the field switch: the toolbar's button of the action
                if (auto* a = w->findChild<QAction*>(name))
                    c = w->toolBar()->widgetForAction(a);
            if (card.startsWith("ring") && QByteArray(name).startsWith("field"))
                continue; // 2-D points have no fields
            QVERIFY2(visibleIn(c, w.get()), name);
        }
        // The timeline's end labels are whole: T-1 and 0 fit between its margins.
        TimelineTrack* track = w->timeline()->track();
        QFont f = track->font();
        f.setPointSizeF(f.pointSizeF() * 0.85);
        const int half = QFontMetrics(f).horizontalAdvance(QString::number(w->model()->trainSteps() - 1)) / 2;
        QVERIFY(track->pixelOfT(w->model()->trainSteps() - 1) >= half);
        QVERIFY(track->width() - track->pixelOfT(-1) >= half);
        // The large view cycles and fits too.
        // V: the reverse step, the forward process, then each shown plot alone, then none.
        const QList<int> plots = w->plots()->shownPlots();
        QVERIFY(plots.size() >= 2);
        QList<int> alone;
        int k = 0;
        do {
            w->presentation()->cycleStage();
            QCoreApplication::processEvents();
            cut = cutTexts(w.get());
            QVERIFY2(cut.isEmpty(), qPrintable(QStringLiteral("large view %1: ").arg(k) + cut.join("; ")));
            if (w->presentation()->stage() == Presentation::Stage::Plots)
                alone << w->presentation()->stagePlot();
            QCOMPARE(w->bottomTabs()->isVisible(), w->presentation()->stage() != Presentation::Stage::None);
        } while (w->presentation()->stage() != Presentation::Stage::None && ++k < 30);
        QCOMPARE(alone, plots);
        QCOMPARE(w->plots()->shownAlone(), -1);
        w->setPresentation(false);
    }
};

int main(int argc, char** argv)
{
    return exec_on_screens<TestPresentationFit>(argc, argv, {QSize(1366, 768), QSize(1920, 1080)});
}

#include "tst_presentation_fit.moc"
