// The main window driven through real widgets on the offscreen platform:
// runs, scrubbing, Stop, a second run during the first, closing mid-run,
// errors, and an image model.
#include "equation_view.hpp"
#include "forward_view.hpp"
#include "image_grid_view.hpp"
#include "main_window.hpp"
#include "ui_test_util.hpp"
#include "plots_widget.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QDialog>
#include <QDoubleSpinBox>
#include <QAction>
#include <QElapsedTimer>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest/QtTest>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

using namespace noisetrail;
using namespace noisetrail::ui;

namespace {
using noisetrail::ui::test::kModels;

using noisetrail::ui::test::cfg;

QToolButton* button(MainWindow& w, const char* name)
{
    auto* b = w.findChild<QToolButton*>(name);
    if (!b)
        qFatal("no button %s", name);
    return b;
}
} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> open(const QString& card) { return test::open_main_window(card, {1280, 720}); }

    // Two panels: DDPM 20 steps and DDIM 10 steps, small batch: seconds.
    void configureSmall(MainWindow& w)
    {
        w.panel(0)->setConfig(cfg("ddpm", 20));
        w.panel(1)->setConfig(cfg("ddim", 10));
        w.setBatch(32);
    }

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void chooseModelAndRunTwoPanels()
    {
        auto w = open(kModels + "/gaussian-2d.json");
        QCOMPARE(QString::fromStdString(w->model()->card().name), QString("Single Gaussian 2-D (exact)"));
        // Choose the ring from the model picker, as a user would.
        auto* combo = w->findChild<QComboBox*>("modelCombo");
        QVERIFY(combo);
        const int ring = combo->findData(QFileInfo(kModels + "/ring8.json").absoluteFilePath());
        QVERIFY(ring >= 0);
        QVERIFY(!combo->itemData(ring, Qt::ToolTipRole).toString().isEmpty()); // description as tooltip
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        combo->setCurrentIndex(ring);
        Q_EMIT combo->activated(ring);
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 20000);
        QVERIFY(QString::fromStdString(w->model()->card().name).startsWith("Ring of 8"));
        QCOMPARE(w->batch(), 512); // 2-D default

        configureSmall(*w);
        QCOMPARE(w->panel(1)->description(), QString("DDIM, 10 steps, eta 0, leading"));
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QVERIFY(w->isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        // Every step of every panel is in its store, in plan order.
        for (int p = 0; p < 2; ++p) {
            const auto plan = make_plan(w->model()->model->schedule(), w->panel(p)->config());
            const Trajectory& tr = w->panel(p)->trajectory();
            QCOMPARE(tr.size(), plan.size());
            for (int k = 0; k < tr.size(); ++k) {
                QCOMPARE(tr.info(k).step, k);
                QCOMPARE(tr.info(k).plan.t, plan.steps[std::size_t(k)].t);
            }
        }
        QCOMPARE(w->panel(0)->trajectory().size(), 20);
        QCOMPARE(w->panel(1)->trajectory().size(), 10);
        QVERIFY(w->panel(0)->trajectory().finished());
        QCOMPARE(w->panel(0)->trajectory().batch(), 32);
        // Same starting noise in both panels: a fair comparison.
        std::vector<float> a, b;
        w->panel(0)->trajectory().decode(0, Field::Xt, a);
        w->panel(1)->trajectory().decode(0, Field::Xt, b);
        QCOMPARE(a, b);
        // Following the live run, the cursor ends on the final samples.
        QCOMPARE(w->timeline()->cursor(), TimelineMapping::kFinal);
        QCOMPARE(w->panel(0)->displayedStep(), 20);
        QCOMPARE(w->panel(1)->displayedStep(), 10);
        QVERIFY(!w->document()->worker()->isBusy());
    }

    void scrubMovesEveryPanel()
    {
        auto w = open(kModels + "/ring8.json");
        configureSmall(*w);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);

        // Drag the timeline with the mouse from the noise to the middle.
        TimelineTrack* track = w->timeline()->track();
        const int y = track->height() / 2;
        QTest::mousePress(track, Qt::LeftButton, {}, QPoint(int(track->pixelOfT(999)), y));
        QCOMPARE(w->panel(0)->displayedStep(), 0);
        QCOMPARE(w->panel(1)->displayedStep(), 0);
        for (int t = 990; t >= 500; t -= 10)
            QTest::mouseMove(track, QPoint(int(track->pixelOfT(t)), y));
        QTest::mouseRelease(track, Qt::LeftButton, {}, QPoint(int(track->pixelOfT(500)), y));
        const int t = w->timeline()->cursor();
        QVERIFY(std::abs(t - 500) <= 2);
        // Leading spacing: DDPM 20 steps at t = 950, 900, ...; DDIM 10 at 900, 800, ...
        const int k0 = w->panel(0)->displayedStep(), k1 = w->panel(1)->displayedStep();
        QVERIFY(k0 > 0 && k0 < 20);
        QVERIFY(k1 > 0 && k1 < 10);
        // Each panel at its smallest noise level at or above the cursor (core step_at).
        for (int i : {0, 1}) {
            const Trajectory& tr = w->panel(i)->trajectory();
            const int k = w->panel(i)->displayedStep();
            QVERIFY(tr.info(k).plan.t >= t);
            QVERIFY(k + 1 >= tr.size() || tr.info(k + 1).plan.t < t);
        }

        // Keys: Home, Right, End.
        w->activateWindow();
        QTest::keyClick(w.get(), Qt::Key_Home);
        QCOMPARE(w->timeline()->cursor(), 999);
        QCOMPARE(w->panel(0)->displayedStep(), 0);
        QTest::keyClick(w.get(), Qt::Key_Right);
        QCOMPARE(w->timeline()->cursor(), 950);
        QCOMPARE(w->panel(0)->displayedStep(), 0); // t = 950 is DDPM's first step
        QTest::keyClick(w.get(), Qt::Key_Right);
        QCOMPARE(w->timeline()->cursor(), 900);
        QCOMPARE(w->panel(0)->displayedStep(), 1);
        QCOMPARE(w->panel(1)->displayedStep(), 0);
        QTest::keyClick(w.get(), Qt::Key_End);
        QCOMPARE(w->panel(0)->displayedStep(), 20);
        QCOMPARE(w->panel(1)->displayedStep(), 10);
        QTest::keyClick(w.get(), Qt::Key_Left);
        QCOMPARE(w->timeline()->cursor(), 0);
        QCOMPARE(w->panel(0)->displayedStep(), 19);

        // Play from the start runs to the end by itself.
        w->timeline()->setSpeed(2000);
        QTest::keyClick(w.get(), Qt::Key_Home);
        QTest::keyClick(w.get(), Qt::Key_Space);
        QVERIFY(w->timeline()->isPlaying());
        QTRY_COMPARE_WITH_TIMEOUT(w->timeline()->cursor(), TimelineMapping::kFinal, 5000);
        QVERIFY(!w->timeline()->isPlaying());
    }

    void stopMidRun()
    {
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 200));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(16);
        test::make_runs_slow(*w, 15);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectory().size() >= 3, 10000);
        // The status bar says each computing panel's step k of S, the pace, the rate and the time left.
        auto* status = w->findChild<QLabel*>("statusLabel");
        QTRY_VERIFY_WITH_TIMEOUT(status->text().contains("of 200"), 2000);
        QVERIFY2(status->text().startsWith("Panel 1: step "), qPrintable(status->text()));
        QVERIFY2(status->text().contains("Panel 2: step ") && status->text().contains(" of 10"),
                 qPrintable(status->text()));
        QVERIFY(status->text().contains("lockstep"));
        QVERIFY(status->text().contains("steps/s"));
        QVERIFY(status->text().contains("left"));
        QTest::mouseClick(button(*w, "stopButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 5000);
        QCOMPARE(done.at(0).at(0).toBool(), true); // cancelled
        QTRY_VERIFY_WITH_TIMEOUT(!w->document()->worker()->isBusy(), 2000);
        QVERIFY(!w->isRunning());
        const int n = w->panel(0)->trajectory().size(), n1 = w->panel(1)->trajectory().size();
        QVERIFY2(n < 200, qPrintable(QString::number(n)));
        QVERIFY(n1 < 10);
        QTest::qWait(100);
        QCOMPARE(w->panel(0)->trajectory().size(), n); // nothing more arrives
        QCOMPARE(w->panel(1)->trajectory().size(), n1);
        QVERIFY(!button(*w, "stopButton")->isEnabled());
        // The window stays usable: scrub what was computed.
        QTest::keyClick(w.get(), Qt::Key_Home);
        QCOMPARE(w->panel(0)->displayedStep(), 0);
    }

    void secondRunWins()
    {
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 100));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(16);
        test::make_runs_slow(*w, 10);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        const quint64 first = w->generation();
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectory().size() >= 3, 10000);
        // Change the first panel and run again while the first run is live.
        w->panel(0)->findChild<QSpinBox*>()->setValue(7);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QVERIFY(w->generation() > first);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 20000);
        QCOMPARE(done.at(0).at(0).toBool(), false); // the second run completed
        // Panel 0 holds exactly the second run: its 7 leading timesteps, nothing of the 100.
        const Trajectory& tr = w->panel(0)->trajectory();
        QCOMPARE(tr.size(), 7);
        const auto plan = make_plan(w->model()->model->schedule(), cfg("ddpm", 7));
        for (int k = 0; k < 7; ++k)
            QCOMPARE(tr.info(k).plan.t, plan.steps[k].t);
        QCOMPARE(w->panel(1)->trajectory().size(), 10);
        QTest::qWait(100);
        QCOMPARE(tr.size(), 7);
    }

    void runShowsTheSharedNoiseAtOnce()
    {
        // Right after Run, before the worker's first model call can have been
        // drawn: every panel shows x_T, the same in each, as a grid of the batch.
        constexpr int kBatch = 1024;
        struct Shown {
            int step = -1, tiles = 0;
            QString footer;
        };
        std::vector<Shown> seen; // before the window: it outlives the connection below
        auto w = open(kModels + "/mnist-500-exact.json");
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50));
        // A slow first step (1024 x 500 exact distances of 784 pixels, a tenth of a
        // second and more) keeps the worker's first frame away from the moment below.
        w->setBatch(kBatch);
        // The worker builds the runs (core's make_run_set) and hands over their stores
        // holding x_T before its first model call. Look at the panels the moment the
        // document announces them, on this thread: a polling wait could let the
        // first step's frame in first.
        connect(w->document(), &RunDocument::progress, w.get(), [&] {
            if (!seen.empty() || !w->document()->computed(0) || !w->document()->computed(1))
                return;
            w->refreshViews();
            for (int p = 0; p < 2; ++p)
                seen.push_back({w->panel(p)->displayedStep(), w->panel(p)->imageView()->count(),
                                w->panel(p)->findChild<QLabel*>("panelFooter")->text()});
        });
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(!seen.empty(), 10000);
        const auto x_T = initial_noise(w->model()->card().data_shape, kBatch, w->seed());
        for (int p = 0; p < 2; ++p) {
            SamplerPanel* panel = w->panel(p);
            QCOMPARE(seen[std::size_t(p)].step, 0);
            QVERIFY(panel->trajectory().hasStart());
            QCOMPARE(seen[std::size_t(p)].tiles, kBatch);
            QVERIFY2(seen[std::size_t(p)].footer.startsWith("x_T"), qPrintable(seen[std::size_t(p)].footer));
            std::vector<float> shown;
            panel->trajectory().decode(0, Field::Xt, shown);
            const auto [lo, hi] = std::minmax_element(x_T.begin(), x_T.end());
            for (std::size_t i = 0; i < shown.size(); ++i)
                QVERIFY(std::abs(shown[i] - x_T[i]) <= (*hi - *lo) / 255.f * 0.51f);
        }
        w->stopRun();
        QTRY_VERIFY_WITH_TIMEOUT(!w->isRunning(), 10000);
    }

    void lockstepPanelsShowTheSameT()
    {
        // The default comparison, DDPM 1000 + DDIM 50 in lockstep (the default):
        // after 1 s both panels show the same noise level, within one DDIM step
        // (20 timesteps), and DDIM denoises while DDPM does, not after it.
        auto w = open(kModels + "/mnist-500-exact.json");
        QCOMPARE(w->pacing(), Pacing::Lockstep);
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50));
        w->setBatch(64);             // seconds of work even on a fast machine
        w->setMetricsEnabled(false); // the denoiser's pace alone
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        const auto check = [&](const char* when) {
            w->refreshViews();
            const int t0 = w->panel(0)->displayedT(), t1 = w->panel(1)->displayedT();
            qInfo("%s: DDPM step %d (t = %d), DDIM step %d (t = %d)", when, w->panel(0)->trajectory().size(), t0,
                  w->panel(1)->trajectory().size(), t1);
            QVERIFY2(std::abs(t0 - t1) <= 20, qPrintable(QString("t %1 vs %2").arg(t0).arg(t1)));
            QVERIFY(std::abs(w->timeline()->cursor() - t0) <= 20); // the cursor follows them
        };
        QTest::qWait(1000);
        QVERIFY(w->isRunning());
        check("after 1 s");
        // Both are computing: DDIM's steps arrive during DDPM's run.
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(1)->trajectory().size() >= 5, 60000);
        QVERIFY(w->isRunning());
        QVERIFY(w->panel(0)->trajectory().size() < 1000);
        check("DDIM at step 5");
        w->stopRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 20000);
    }

    void pacingDecidesWhoAdvances()
    {
        // The same two panels (DDPM 20, DDIM 10) under the other two pacings.
        auto w = open(kModels + "/ring8.json");
        configureSmall(*w);
        test::make_runs_slow(*w, 20);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        // Sequential: panel 2 waits for panel 1 to finish (today's old behaviour, on request).
        w->setPacing(Pacing::Sequential);
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectory().size() >= 5, 10000);
        if (!w->panel(0)->trajectory().finished())
            QCOMPARE(w->panel(1)->trajectory().size(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        // Real time: every panel steps at once, so the 10-step panel finishes first.
        w->setSeed(w->seed() + 1);
        w->setPacing(Pacing::Realtime);
        const auto sequential1 = w->panel(1)->trajectoryPtr();
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(1)->trajectoryPtr() != sequential1 && w->panel(1)->trajectory().finished(),
                                 10000);
        QVERIFY(w->panel(0)->trajectory().size() < 20);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 2, 30000);
        QVERIFY(w->panel(0)->trajectory().finished());
    }

    void labelsShowWhatWasComputedUntilRun()
    {
        // Issue 18: an edit not yet run is shown as pending, never as if computed.
        auto w = open(kModels + "/ring8.json");
        configureSmall(*w);
        test::run_to_end(*w);
        PlotsWidget* plots = w->plots();
        QCOMPARE(plots->legendEntries(0).at(1), QStringLiteral("DDIM 10 (\u03b7 0)"));
        auto* title = w->panel(1)->findChild<QLabel*>("panelTitle");
        // eta 0.1 set, not run: the legends still name the eta 0 curves; the header says what waits.
        w->panel(1)->setConfig(cfg("ddim", 10, 0.1));
        for (int slot : {0, 1, PlotsWidget::kStatSlots})
            QCOMPARE(plots->legendEntries(slot).at(1), QStringLiteral("DDIM 10 (\u03b7 0)"));
        QVERIFY2(title->text().startsWith("DDIM, 10 steps, eta 0,"), qPrintable(title->text()));
        QVERIFY2(title->text().contains(QStringLiteral("\u03b7 0.1")) && title->text().contains("press Run"),
                 qPrintable(title->text()));
        // Heun set, not run: the Reverse step tab shows DDIM's step and says Heun is pending.
        w->panel(1)->setConfig(cfg("heun", 10));
        w->equationView()->setPanel(1);
        w->refreshViews();
        auto* picker = w->equationView()->findChild<QComboBox*>("equationPanel");
        const QString name = picker->itemText(1);
        QVERIFY2(name.contains("DDIM") && name.contains("Heun") && name.contains("pending"), qPrintable(name));
        QVERIFY2(title->text().contains("Heun") && title->text().contains("press Run"), qPrintable(title->text()));
        // Run: every label follows what was computed, nothing pending.
        test::run_to_end(*w);
        QCOMPARE(plots->legendEntries(0).at(1), QStringLiteral("Heun 10"));
        QVERIFY2(title->text().startsWith("Heun") && !title->text().contains("press Run"), qPrintable(title->text()));
        QVERIFY2(picker->itemText(1).contains("Heun") && !picker->itemText(1).contains("pending"),
                 qPrintable(picker->itemText(1)));
        // Run again with nothing changed: nothing to recompute, and no question.
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        const auto kept = w->panel(1)->trajectoryPtr();
        w->startRun();
        QCOMPARE(done.size(), 1);
        QCOMPARE(w->panel(1)->trajectoryPtr(), kept);
        QVERIFY(w->findChild<QLabel*>("statusLabel")->text().contains("Nothing to recompute"));
    }

    void runAgainRecomputesOnlyChangedPanels()
    {
        auto w = open(kModels + "/ring8.json");
        configureSmall(*w);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        const auto first0 = w->panel(0)->trajectoryPtr(), first1 = w->panel(1)->trajectoryPtr();
        std::vector<float> before;
        first0->decode(20, Field::Xt, before);
        // Change panel 2's eta with its spin box, as a user would, and Run again.
        auto* eta = w->panel(1)->findChild<QDoubleSpinBox*>("etaSpin");
        QVERIFY(eta->isEnabled()); // DDIM uses eta (the registry says so)
        eta->setValue(0.5);
        w->startRun();
        QCOMPARE(w->document()->runPanels(), std::vector<int>{1}); // only the edited panel runs
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(1)->trajectoryPtr() != first1, 10000);
        QCOMPARE(w->panel(0)->trajectoryPtr(), first0); // kept, not recomputed
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 2, 30000);
        QCOMPARE(w->panel(0)->trajectoryPtr(), first0);
        std::vector<float> after;
        w->panel(0)->trajectory().decode(20, Field::Xt, after);
        QCOMPARE(after, before);
        QVERIFY(w->panel(1)->trajectory().finished());
        QCOMPARE(w->document()->computed(1)->sampler.eta, 0.5);
        // The recomputed panel started from the same x_T as the kept one.
        std::vector<float> a, b;
        w->panel(0)->trajectory().decode(0, Field::Xt, a);
        w->panel(1)->trajectory().decode(0, Field::Xt, b);
        QCOMPARE(a, b);
        // Nothing changed: nothing is recomputed. A new seed: everything is.
        w->startRun();
        QCOMPARE(w->panel(0)->trajectoryPtr(), first0);
        w->setSeed(w->seed() + 1);
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectoryPtr() != first0, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!w->isRunning(), 30000);
    }

    void panelCardOfTheSameShapeRunsSideBySide()
    {
        // Two-moons: the learned MLP in the window, the exact denoiser in panel 2.
        auto w = open(kModels + "/two-moons-mlp.json");
        auto* combo = w->panel(1)->cardCombo();
        const int exact = combo->findData(QFileInfo(kModels + "/two-moons.json").absoluteFilePath());
        QVERIFY(exact > 0); // offered: same data shape
        QVERIFY(combo->findData(QFileInfo(kModels + "/mnist-500-exact.json").absoluteFilePath()) < 0);
        combo->setCurrentIndex(exact);
        Q_EMIT combo->activated(exact);
        QTRY_VERIFY_WITH_TIMEOUT(w->document()->hasOwnModel(1), 20000);
        QVERIFY(w->errorText().isEmpty());
        QVERIFY(w->panel(1)->description().contains("exact", Qt::CaseInsensitive));
        w->panel(0)->setConfig(cfg("ddim", 20));
        w->panel(1)->setConfig(cfg("ddim", 20));
        w->setBatch(64);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QVERIFY(w->document()->computed(0)->fingerprint != w->document()->computed(1)->fingerprint);
        std::vector<float> a, b;
        w->panel(0)->trajectory().decode(0, Field::Xt, a);
        w->panel(1)->trajectory().decode(0, Field::Xt, b);
        QCOMPARE(a, b); // one x_T
        w->panel(0)->trajectory().decode(20, Field::Xt, a);
        w->panel(1)->trajectory().decode(20, Field::Xt, b);
        QVERIFY(a != b); // two denoisers
        // Back to the window's card.
        w->setPanelCard(1, QString());
        QVERIFY(!w->document()->hasOwnModel(1));
    }

    void runPressedWhileAPanelCardLoadsWaitsForIt()
    {
        // Run right after choosing a panel's card: the run waits for the card,
        // then samples that panel from it (not from the window's card).
        auto w = open(kModels + "/two-moons-mlp.json");
        w->panel(0)->setConfig(cfg("ddim", 10));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(64);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->setPanelCard(1, kModels + "/two-moons.json");
        QVERIFY(w->loadingPanelCard());
        w->startRun();
        QVERIFY(!w->isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QVERIFY(w->document()->hasOwnModel(1));
        QVERIFY(w->panel(1)->trajectory().finished());
        QVERIFY(w->document()->computed(0)->fingerprint != w->document()->computed(1)->fingerprint);
        std::vector<float> a, b;
        w->panel(0)->trajectory().decode(10, Field::Xt, a);
        w->panel(1)->trajectory().decode(10, Field::Xt, b);
        QVERIFY(a != b); // two denoisers from one x_T
    }

    void panelCardOfAnotherShapeIsRefused()
    {
        auto w = open(kModels + "/ring8.json");
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        w->setPanelCard(1, kModels + "/mnist-500-exact.json");
        QTRY_COMPARE_WITH_TIMEOUT(err.size(), 1, 20000);
        const QString msg = w->errorText();
        QVERIFY2(msg.startsWith("Panel 2 cannot use") && msg.contains("mnist-500-exact.json") &&
                     msg.contains("data shape is [1, 28, 28]") && msg.contains("[2]"),
                 qPrintable(msg));
        QVERIFY(!w->document()->hasOwnModel(1));
        QCOMPARE(w->panel(1)->cardCombo()->currentIndex(), 0); // "same as the window"
        // Still usable.
        configureSmall(*w);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
    }

    void runAgainJustAsTheRunCompletes()
    {
        // Run pressed again after the run's last step, before its runFinished arrives:
        // nothing is left to compute, and the window must not wait for a run that ended.
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 20));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(64);
        test::make_runs_slow(*w, 10); // the run lasts longer than handing over its stores
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QVERIFY(w->isRunning());
        QElapsedTimer clock;
        clock.start();
        // The worker hands over the stores it made (a queued runPrepared)...
        while (!(w->document()->computed(0) && w->document()->computed(1)) && clock.elapsed() < 20000)
            QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        QVERIFY(done.isEmpty());
        // ...then, without processing events: the worker's runFinished stays queued.
        while (!(w->panel(0)->trajectory().finished() && w->panel(1)->trajectory().finished()) &&
               clock.elapsed() < 20000)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        QVERIFY(w->panel(1)->trajectory().finished());
        w->startRun();
        QVERIFY(!w->isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 10000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QVERIFY(w->hasUnsavedRun()); // the completed run is asked about before it is discarded
        QTest::qWait(50);           // the stale runFinished changes nothing
        QVERIFY(!w->isRunning());
        QCOMPARE(done.size(), 1);
    }

    /// The cancel/restart soak: Run, (every other cycle Run again while running),
    /// Stop, on the worker thread and its run set of two panels, each cycle under
    /// the next pacing. 20 cycles by default; NOISETRAIL_SOAK_CYCLES=100 is the
    /// sanitizer soak (docs/HARDENING.md).
    void runStopRunAgainCycles()
    {
        const int cycles = qEnvironmentVariableIntValue("NOISETRAIL_SOAK_CYCLES") > 0
                               ? qEnvironmentVariableIntValue("NOISETRAIL_SOAK_CYCLES")
                               : 20;
        QElapsedTimer clock;
        clock.start();
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 300));
        w->panel(1)->setConfig(cfg("ddim", 30));
        w->setBatch(256);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        const Pacing pacings[] = {Pacing::Lockstep, Pacing::Realtime, Pacing::Sequential};
        for (int cycle = 0; cycle < cycles; ++cycle) {
            w->setPacing(pacings[cycle % 3]);
            w->startRun();
            QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectory().size() >= 1 || !w->isRunning(), 10000);
            if (cycle % 2)
                w->startRun(); // Run again while running: the newest run wins
            w->stopRun();
            QTRY_VERIFY_WITH_TIMEOUT(!w->isRunning(), 10000);
        }
        QTRY_VERIFY_WITH_TIMEOUT(!w->document()->worker()->isBusy(), 10000);
        QVERIFY(w->errorText().isEmpty());
        // And a last run goes to the end.
        const int before = int(done.size());
        w->startRun();
        QTRY_COMPARE_WITH_TIMEOUT(int(done.size()), before + 1, 60000);
        QCOMPARE(done.last().at(0).toBool(), false);
        QVERIFY(w->panel(0)->trajectory().finished() && w->panel(1)->trajectory().finished());
        QTRY_VERIFY_WITH_TIMEOUT(!w->document()->worker()->isBusy(), 5000);
        qInfo("%d Run/Stop/Run-again cycles and a full run in %lld ms", cycles, static_cast<long long>(clock.elapsed()));
    }

    void samplerControlsFollowTheRegistry()
    {
        auto w = open(kModels + "/ring8.json");
        SamplerPanel* p = w->panel(0);
        auto* sampler = p->findChild<QComboBox*>("samplerCombo");
        QVERIFY(sampler->findData("ddpm") >= 0);
        QCOMPARE(sampler->count(), int(samplers().size()));
        for (const SamplerInfo& info : samplers()) {
            const int i = sampler->findData(QString::fromStdString(info.name));
            QVERIFY2(i >= 0, info.name.c_str());
            QCOMPARE(sampler->itemText(i), QString::fromStdString(info.title));
            p->setConfig(cfg(info.name.c_str(), 10));
            auto* eta = p->findChild<QDoubleSpinBox*>("etaSpin");
            QCOMPARE(eta->isEnabled(), info.uses_eta);
            // Spacing unset: the control's first item names the sampler's own plan.
            auto* spacing = p->findChild<QComboBox*>("spacingCombo");
            QCOMPARE(spacing->currentIndex(), 0);
            QCOMPARE(spacing->currentText(),
                     QString("default (%1)").arg(QString::fromStdString(to_string(info.default_spacing))));
            QVERIFY(!p->config().spacing);
        }
    }

    void unstablePlanWarnsInPanelHeader()
    {
        // Heun from t = 999 of a cosine schedule: the panel header says so before Run.
        QTemporaryDir dir;
        QFile f(dir.filePath("cos.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"format": "noisetrail-model/1", "name": "cosine pair", "kind": "gaussian-mixture",
            "data_shape": [2], "prediction": "epsilon", "schedule": {"kind": "cosine", "train_steps": 1000},
            "mixture": {"weights": [0.5, 0.5], "means": [[2, 0], [-2, 0]], "stds": [0.1, 0.1]}})");
        f.close();
        auto w = open(dir.filePath("cos.json"));
        SamplerPanel* p = w->panel(0);
        auto* title = p->findChild<QLabel*>("panelTitle");
        SamplerConfig c = cfg("heun", 10);
        c.spacing = Spacing::Trailing;
        p->setConfig(c);
        QTRY_VERIFY2(title->text().contains("Heun may diverge"), qPrintable(title->text()));
        c.spacing = Spacing::Leading;
        p->setConfig(c);
        QTRY_VERIFY2(!title->text().contains("diverge"), qPrintable(title->text()));
    }

    void closeDuringRun()
    {
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->setBatch(64);
        test::make_runs_slow(*w, 5);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->trajectory().size() >= 2, 10000);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(w->close());
        w.reset(); // cancel, quit(), wait(): no crash, no hang
        qInfo("closed during a run in %lld ms", static_cast<long long>(clock.elapsed()));
    }

    void dropACardOpensIt()
    {
        auto w = open(kModels + "/ring8.json");
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(kModels + "/gaussian-2d.json")});
        const QPoint at = w->rect().center();
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(w.get(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        QApplication::sendEvent(w.get(), &drop);
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 10000);
        QVERIFY(QString::fromStdString(w->model()->card().name).startsWith("Single Gaussian"));
        // Not a card: taken, then one message naming the file; the model stays.
        QMimeData npy;
        npy.setUrls({QUrl::fromLocalFile(kModels + "/two-moons.npy")});
        QDragEnterEvent enterNpy(at, Qt::CopyAction, &npy, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(w.get(), &enterNpy);
        QVERIFY(enterNpy.isAccepted());
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        QDropEvent dropNpy(QPointF(at), Qt::CopyAction, &npy, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(w.get(), &dropNpy);
        QCOMPARE(err.size(), 1);
        QVERIFY2(w->errorText().contains("two-moons.npy") && w->errorText().contains("not a model card"),
                 qPrintable(w->errorText()));
        QCOMPARE(w->errorText().count("two-moons.npy"), 1);
        QVERIFY(QString::fromStdString(w->model()->card().name).startsWith("Single Gaussian"));
    }

    void dropWithoutUrlsDoesNotCrash()
    {
        auto w = open(kModels + "/ring8.json");
        const QPoint at = w->rect().center();
        QMimeData text; // text only, no URLs (a drag from a text editor)
        text.setText(QStringLiteral("hello"));
        QDragEnterEvent enter(at, Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
        enter.setAccepted(false);
        QApplication::sendEvent(w.get(), &enter);
        QVERIFY(!enter.isAccepted());
        // Delivered anyway (a platform whose data changed since the enter):
        // straight to the window's handler, no crash, one message, same model.
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        QDropEvent drop(QPointF(at), Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
        static_cast<QObject*>(w.get())->event(&drop);
        QCOMPARE(err.size(), 1);
        QVERIFY(QString::fromStdString(w->model()->card().name).startsWith("Ring of 8"));
        QMimeData empty;
        QDropEvent drop2(QPointF(at), Qt::CopyAction, &empty, Qt::LeftButton, Qt::NoModifier);
        static_cast<QObject*>(w.get())->event(&drop2);
        QCOMPARE(err.size(), 2);
    }

    void bannerAndPathSaidOnce()
    {
        auto w = open(kModels + "/ring8.json");
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        const QString missing = QDir::temp().filePath("noisetrail-no-such-card.json");
        w->loadModel(missing);
        QTRY_COMPARE_WITH_TIMEOUT(err.size(), 1, 10000);
        QVERIFY2(w->errorText().count("noisetrail-no-such-card.json") == 1, qPrintable(w->errorText()));
        // Dark palette: the banner's text is light (readable on its dark fill).
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(40, 40, 40));
        dark.setColor(QPalette::WindowText, QColor(230, 230, 230));
        w->setPalette(dark);
        w->loadModel(missing);
        QTRY_COMPARE_WITH_TIMEOUT(err.size(), 2, 10000);
        auto* label = w->findChild<QLabel*>("errorLabel");
        auto* close = w->findChild<QToolButton*>("errorClose");
        QVERIFY(label && close);
        QVERIFY(label->palette().color(QPalette::WindowText).lightnessF() > 0.7);
        QVERIFY(close->palette().color(QPalette::ButtonText).lightnessF() > 0.7);
    }

    void stoppedPanelsSaySo()
    {
        // Sequential pacing, DDPM 1000 first: Stop at once leaves panel 2 with no step.
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setPacing(Pacing::Sequential);
        w->setBatch(64);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        w->stopRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 20000);
        QCOMPARE(w->panel(1)->trajectory().size(), 0);
        w->refreshViews();
        const QString footer = w->panel(1)->findChild<QLabel*>("panelFooter")->text();
        QVERIFY2(!footer.contains("waiting") && footer.contains("stopped"), qPrintable(footer));
    }

    void clipZeroSaysOff()
    {
        auto w = open(kModels + "/ring8.json");
        auto* clip = w->panel(0)->findChild<QDoubleSpinBox*>("clipSpin");
        QVERIFY(clip);
        clip->setValue(0.0);
        QCOMPARE(clip->text(), QStringLiteral("off"));
        clip->setValue(1.0);
        QVERIFY(clip->text().startsWith("1"));
        clip->setValue(clip->minimum());
        QCOMPARE(clip->text(), QStringLiteral("auto"));
    }

    void panelsAddRemoveAndSettingsRemembered()
    {
        QCoreApplication::setOrganizationName("NoiseTrailTest");
        QSettings().clear();
        MainWindowOptions o;
        o.modelPath = kModels + "/ring8.json";
        o.modelsDir = kModels;
        {
            MainWindow w(o);
            QSignalSpy ready(&w, &MainWindow::modelReady);
            w.show();
            QVERIFY(ready.wait(20000));
            QCOMPARE(w.panelCount(), 2);
            w.addPanel();
            w.addPanel();
            w.addPanel(); // at most four
            QCOMPARE(w.panelCount(), 4);
            // Remove the second panel with its own button; colours and names follow the order.
            QTest::mouseClick(w.panel(1)->findChild<QToolButton*>(), Qt::LeftButton);
            QTRY_COMPARE(w.panelCount(), 3);
            QCOMPARE(w.panel(1)->objectName(), QString("panel1"));
            w.panel(0)->setConfig(cfg("ddim", 33, 0.5));
            w.setSeed(77);
            w.setBatch(24);
            // Pacing: the toolbar combo and the View menu are one setting.
            auto* pacing = w.findChild<QComboBox*>("pacingCombo");
            QVERIFY(pacing);
            QCOMPARE(w.pacing(), Pacing::Lockstep); // the default
            pacing->setCurrentIndex(pacing->findData("sequential"));
            Q_EMIT pacing->activated(pacing->currentIndex());
            QCOMPARE(w.pacing(), Pacing::Sequential);
            QVERIFY(w.findChild<QAction*>("pacing_sequential")->isChecked());
            w.findChild<QAction*>("pacing_realtime")->trigger();
            QCOMPARE(w.pacing(), Pacing::Realtime);
            QCOMPARE(pacing->currentData().toString(), QString("realtime"));
            QSignalSpy done(&w, &MainWindow::runFinished);
            w.startRun();
            QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
            QCOMPARE(w.panel(2)->trajectory().size(), w.panel(2)->trajectory().plannedSteps());
            w.close();
        }
        {
            MainWindow w(o);
            QCOMPARE(w.panelCount(), 3);
            QCOMPARE(w.panel(0)->description(), QString("DDIM, 33 steps, eta 0.5, leading"));
            QCOMPARE(w.seed(), quint64(77));
            QCOMPARE(w.pacing(), Pacing::Realtime);
            w.close();
        }
        QSettings().clear();
        QCoreApplication::setOrganizationName(QString());
    }

    void runErrorShowsOneMessage()
    {
        // A real failing model (a TorchScript fixture that raises for t < 500):
        // DDPM 20 leading steps visit 950, 900, ..., so step 10 (t = 450) fails,
        // and in lockstep only that panel is due then (DDIM 10's next t is 400).
        // A TorchScript module runs without asking only from the bundled models folder
        // (contract section 2); this test is about the error, so the fixtures' folder is
        // the models folder while it runs.
        const QByteArray savedModels = qgetenv("NOISETRAIL_MODELS");
        qputenv("NOISETRAIL_MODELS", NOISETRAIL_SOURCE_DIR "/tests/fixtures/torchscript");
        const auto restoreModels = qScopeGuard([&] {
            if (savedModels.isNull())
                qunsetenv("NOISETRAIL_MODELS");
            else
                qputenv("NOISETRAIL_MODELS", savedModels);
        });
        auto w = open(QStringLiteral(NOISETRAIL_SOURCE_DIR "/tests/fixtures/torchscript/fails_late.json"));
        configureSmall(*w);
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 10000);
        QCOMPARE(err.size(), 1);
        const QString msg = w->errorText();
        QVERIFY2(msg.startsWith("Panel 1 (DDPM, 20 steps"), qPrintable(msg));
        QVERIFY2(msg.contains("step 10") && msg.contains("t = 450"), qPrintable(msg));
        QVERIFY(!w->isRunning());
        QCOMPARE(w->panel(0)->trajectory().size(), 10); // the steps before the failure are kept
        QCOMPARE(w->panel(1)->trajectory().size(), 5);  // DDIM's 900 ... 500, in lockstep
        // Still usable: a run on a good model works and clears the message.
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        w->loadModel(kModels + "/ring8.json");
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 20000);
        configureSmall(*w);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 2, 30000);
        QCOMPARE(done.at(1).at(0).toBool(), false);
        QVERIFY(w->errorText().isEmpty());
        QCOMPARE(w->panel(1)->trajectory().size(), 10);
    }

    void torchScriptOutsideTheModelsFolderIsAskedAbout()
    {
        // Contract section 2: a TorchScript module outside the bundled models folder
        // runs only when trusted; the window asks once per card content.
        const QByteArray savedModels = qgetenv("NOISETRAIL_MODELS");
        qputenv("NOISETRAIL_MODELS", kModels.toUtf8()); // the fixtures are outside it
        const auto restoreModels = qScopeGuard([&] {
            if (savedModels.isNull())
                qunsetenv("NOISETRAIL_MODELS");
            else
                qputenv("NOISETRAIL_MODELS", savedModels);
        });
        const QString fixtures = QStringLiteral(NOISETRAIL_SOURCE_DIR "/tests/fixtures/torchscript");
        auto w = open(kModels + "/ring8.json");
        const std::string ring = w->model()->card().name;

        // Answer the question with `button` when it shows; what it said is kept.
        QStringList asked;
        auto answerWith = [&](std::function<QAbstractButton*(QMessageBox&)> button) {
            auto* t = new QTimer(w.get());
            t->setInterval(20);
            connect(t, &QTimer::timeout, t, [&asked, t, button] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                if (!box || box->objectName() != "trustCodeQuestion")
                    return;
                asked << box->text();
                t->deleteLater();
                button(*box)->click();
            });
            t->start();
        };
        auto cancel = [](QMessageBox& b) { return b.button(QMessageBox::Cancel); };
        auto trust = [](QMessageBox& b) {
            for (QAbstractButton* x : b.buttons())
                if (x->text() == QStringLiteral("Trust and Open"))
                    return x;
            return static_cast<QAbstractButton*>(nullptr);
        };

        // Cancel: one clear message, nothing loaded, the ring stays.
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        answerWith(cancel);
        w->loadModel(fixtures + "/gaussian_eps.json");
        QTRY_COMPARE_WITH_TIMEOUT(err.size(), 1, 20000);
        QCOMPARE(asked.size(), 1);
        QVERIFY2(asked[0].contains("gaussian_eps.pt") && asked[0].contains("read and write your files"),
                 qPrintable(asked[0]));
        QVERIFY2(w->errorText().contains("gaussian_eps.json") && w->errorText().contains("not trusted"),
                 qPrintable(w->errorText()));
        QCOMPARE(w->model()->card().name, ring);
        QTest::qWait(200);
        QCOMPARE(err.size(), 1);

        // Trust and Open: the card loads, samples, and is not asked about again.
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        answerWith(trust);
        w->loadModel(fixtures + "/gaussian_eps.json");
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 20000);
        QCOMPARE(asked.size(), 2);
        QCOMPARE(w->model()->card().name, std::string("Gaussian eps* (TorchScript, float32)"));
        QVERIFY(w->errorText().isEmpty());
        w->loadModel(kModels + "/ring8.json");
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 2, 20000);
        w->loadModel(fixtures + "/gaussian_eps.json");
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 3, 20000);
        QCOMPARE(asked.size(), 2); // remembered

        // A panel's card is asked about too, and loads into that panel on yes.
        QSignalSpy panelChanged(w->document(), &RunDocument::panelModelChanged);
        answerWith(trust);
        w->setPanelCard(1, fixtures + "/gaussian_eps_f64.json");
        QTRY_VERIFY_WITH_TIMEOUT(w->document()->hasOwnModel(1), 20000);
        QCOMPARE(asked.size(), 3);
        QVERIFY2(asked[2].contains("gaussian_eps_f64.pt"), qPrintable(asked[2]));
        QCOMPARE(w->document()->panelModel(1)->card().name, std::string("Gaussian eps* (TorchScript, float64 output)"));
        configureSmall(*w);
        test::run_to_end(*w);
        QCOMPARE(w->panel(1)->trajectory().size(), 10);
    }

    void startsOnTheSharperDigitModelAndKeepsTheFirst()
    {
        // The card the window opens on from a models folder.
        const auto openedName = [](const QString& modelsDir) {
            MainWindowOptions o;
            o.useSettings = false;
            o.modelsDir = modelsDir;
            MainWindow w(o);
            QSignalSpy ready(&w, &MainWindow::modelReady);
            if (!ready.wait(20000) || !w.errorText().isEmpty())
                return std::string("(no model: ") + w.errorText().toStdString() + ")";
            return w.model()->card().name;
        };
        // Bundled: the wide digit UNet is the default (issue 24).
        QCOMPARE(openedName(kModels), std::string("MNIST digits (wide UNet, trained here)"));
        // An install without it opens the larger digit UNet, and one without
        // both the first digit UNet: the earlier models stay loadable.
        QTemporaryDir dir;
        for (const char* f : {"mnist-unet.json", "mnist-unet.pt", "mnist-unet-large.json", "mnist-unet-large.pt",
                              "ring8.json"})
            QVERIFY(QFile::copy(kModels + "/" + f, dir.filePath(f)));
        QCOMPARE(openedName(dir.path()), std::string("MNIST digits (larger UNet, trained here)"));
        QVERIFY(QFile::remove(dir.filePath("mnist-unet-large.json")));
        QCOMPARE(openedName(dir.path()), std::string("MNIST digits (UNet, trained here)"));
    }

    void brokenStartupModelFallsBackToTheRing()
    {
        QTemporaryDir dir;
        const QString bad = dir.filePath("mnist-unet.json");
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not json");
        f.close();
        MainWindowOptions o;
        o.modelPath = bad;
        o.useSettings = false;
        o.modelsDir = kModels;
        MainWindow w(o);
        QSignalSpy ready(&w, &MainWindow::modelReady);
        QVERIFY(ready.wait(20000));
        QVERIFY(QString::fromStdString(w.model()->card().name).startsWith("Ring of 8"));
        QTRY_VERIFY(w.errorText().contains("mnist-unet.json")); // the reason stays on screen
    }

    void badCardShowsOneMessage()
    {
        auto w = open(kModels + "/ring8.json");
        QTemporaryDir dir;
        const QString bad = dir.filePath("bad.json");
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"format\": \"noisetrail-model/1\", \"name\": \"broken\"");
        f.close();
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        w->loadModel(bad);
        QTRY_COMPARE_WITH_TIMEOUT(err.size(), 1, 10000);
        QVERIFY(w->errorText().contains("bad.json"));
        // Still usable with the previous model.
        QVERIFY(w->hasModel());
        configureSmall(*w);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        QVERIFY(w->errorText().isEmpty());
    }

    // A tiny image model: a gaussian mixture over 1 x side x side "images".
    static QString writeImageCard(const QTemporaryDir& dir, int side)
    {
        const QString card = dir.filePath(QString("img%1.json").arg(side));
        QString means;
        for (int k = 0; k < 2; ++k) {
            QStringList v;
            for (int i = 0; i < side * side; ++i)
                v << ((i / side / 2 + i % side / 2 + k) % 2 ? "0.8" : "-0.8");
            means += (k ? "," : "") + QString("[%1]").arg(v.join(','));
        }
        QFile f(card);
        if (!f.open(QIODevice::WriteOnly))
            return {};
        f.write(QString(R"({"format": "noisetrail-model/1", "name": "Checkers", "kind": "gaussian-mixture",
            "data_shape": [1, %2, %2], "data_range": [-1, 1], "prediction": "epsilon",
            "schedule": {"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "train_steps": 1000},
            "mixture": {"weights": [0.5, 0.5], "means": [%1], "stds": [0.1, 0.1]}})").arg(means).arg(side).toUtf8());
        return card;
    }

    void scrubTiming1000Steps()
    {
        // The issue's case: 1000-step DDPM and 50-step DDIM, 16 images of 28x28 each.
        QTemporaryDir dir;
        auto w = open(writeImageCard(dir, 28));
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50));
        w->setBatch(16);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QElapsedTimer clock;
        clock.start();
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        qInfo("run of 1050 steps x 16 images (analytic model): %lld ms", static_cast<long long>(clock.elapsed()));
        const double mib = (w->panel(0)->trajectory().bytes() + w->panel(1)->trajectory().bytes()) / 1048576.0;
        qInfo("frame stores: %.1f MiB for 1050 steps x 16 x 784 x 3 fields", mib);
        QVERIFY(mib < 64);
        // Scrub across all 1000 timesteps, painting the whole window each time.
        for (Field f : {Field::Xt, Field::EpsHat}) {
            w->setField(f);
            clock.restart();
            int changes = 0, last = -2;
            for (int t = 999; t >= -1; t -= 4) {
                w->timeline()->setCursor(t);
                w->refreshViews();
                w->repaint();
                changes += w->panel(0)->displayedStep() != last;
                last = w->panel(0)->displayedStep();
            }
            const double ms = clock.nsecsElapsed() / 1e6 / 251;
            qInfo("scrub redraw (field %d): %.2f ms per cursor position, window repainted", int(f), ms);
            QCOMPARE(changes, 251);
        }
    }

    void scatterScrubTiming()
    {
        // 2-D: 512 points with their paths, DDPM 1000 steps against DDIM 50.
        auto w = open(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50));
        QCOMPARE(w->batch(), 512);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        const int replotsBefore = w->plots()->replotCount();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 120000);
        // 1050 frames arrived; the plots were redrawn far fewer times (coalesced).
        const int replots = w->plots()->replotCount() - replotsBefore;
        qInfo("1050 frames, %d plot redraws", replots);
        QVERIFY(replots < 1050 / 3);
        QElapsedTimer clock;
        clock.start();
        for (int t = 999; t >= -1; t -= 4) {
            w->timeline()->setCursor(t);
            w->refreshViews();
            w->repaint();
        }
        const double ms = clock.nsecsElapsed() / 1e6 / 251;
        qInfo("scatter scrub redraw: %.2f ms per cursor position (512 points, 100 paths per panel)", ms);
    }

    void imageModelGridFieldsAndFilmstrip()
    {
        QTemporaryDir dir;
        auto w = open(writeImageCard(dir, 8));
        QVERIFY(w->model()->card().is_image());
        QCOMPARE(w->batch(), 16);
        w->panel(0)->setConfig(cfg("ddpm", 12));
        w->panel(1)->setConfig(cfg("ddim", 6));
        w->setBatch(4);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(button(*w, "runButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
        ImageGridView* grid = w->panel(0)->imageView();
        QVERIFY(grid->isVisible());
        QCOMPARE(grid->count(), 4);
        // Forward view has real examples (the mixture's means) and its numbers.
        QVERIFY(w->model()->exampleCount > 0);
        w->forwardView()->setT(500);
        QVERIFY(w->forwardView()->formulaText().contains("t = 500"));
        // Switch to eps_hat with its shortcut; scrub to the middle.
        QTest::keyClick(w.get(), Qt::Key_3, Qt::ControlModifier);
        QCOMPARE(w->field(), Field::EpsHat);
        w->timeline()->setCursor(500);
        w->refreshViews();
        QVERIFY(w->panel(0)->displayedStep() > 0);
        // Click a sample: its filmstrip opens.
        QTest::mouseClick(grid, Qt::LeftButton, {}, grid->cellRect(1).center());
        QDialog* d = nullptr;
        QTRY_VERIFY((d = w->findChild<QDialog*>("sampleDialog")) != nullptr);
        QVERIFY(d->windowTitle().contains("Sample 2"));
        // Linked: sample 2 of every panel, and it follows the timeline.
        auto* sd = qobject_cast<SampleDialog*>(d);
        QVERIFY(sd);
        QCOMPARE(sd->rowCount(), w->panelCount());
        // Each row shows the step its panel shows, and moves with the timeline.
        for (int t : {500, 200}) {
            w->timeline()->seek(t);
            for (int i = 0; i < 2; ++i) {
                QVERIFY(w->panel(i)->displayedT() >= t && w->panel(i)->displayedT() < t + 170);
                QCOMPARE(sd->rowCaption(i), QStringLiteral("t = %1").arg(w->panel(i)->displayedT()));
            }
        }
        d->close();
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
