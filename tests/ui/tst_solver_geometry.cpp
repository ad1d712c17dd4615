// Issue 22 in the window: a clicked point shows its step's construction, which ends on
// the stored x_prev; the ode_error plot appears for an exact card and splits into the
// solver's and the model's part for the learned two-moons MLP beside its exact card in
// panel 1 (the solver's part is then panel 1's own ode_error: same sampler, plan and
// x_T on the exact card); the model-calls axis puts Heun's last step at 2S - 1, and on it
// the timeline scrubs at equal cost (Heun 5 beside DDIM 9: each panel at its last step
// within the cursor's model calls), hovering a plot names the step at those calls, and a
// click moves the cursor there. The exact ODE is computed only while something shows it.
#include "qcustomplot_test.hpp"
#include "ui_test_util.hpp"

#include "image_grid_view.hpp"
#include "plots_widget.hpp"
#include "run_document.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "scatter_view.hpp"
#include "timeline_bar.hpp"

#include <QAction>
#include <QLabel>
#include <QTabWidget>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

QAction* action(MainWindow& w, const char* name)
{
    for (QAction* a : w.findChildren<QAction*>())
        if (a->objectName() == QLatin1String(name))
            return a;
    return nullptr;
}

/// A pixel of `view` on sample `sample`'s shown point (probing a grid), or (-1, -1).
QPoint pixelOf(const ScatterView* view, int* sample)
{
    const QRect plot = view->plotRect().toRect();
    for (int y = plot.top() + plot.height() / 4; y < plot.bottom(); y += 3)
        for (int x = plot.left() + plot.width() / 4; x < plot.right(); x += 3)
            if (const int s = view->sampleAt(QPointF(x, y)); s >= 0) {
                *sample = s;
                return {x, y};
            }
    return {-1, -1};
}

/// The model calls that reached each state of a run (state 0 is x_T, state j the output of
/// step j), from the samplers' definitions: Heun evaluates the model twice a step (the
/// Euler predictor, then the corrector at its point; Karras et al. 2022, Alg. 1) but once
/// on its last step, which is Euler only; DDIM once a step.
std::vector<int> stateCalls(const std::string& sampler, int steps)
{
    std::vector<int> calls{0};
    for (int k = 0; k < steps; ++k)
        calls.push_back(calls.back() + (sampler == "heun" && k < steps - 1 ? 2 : 1));
    return calls;
}

/// Equal cost: the state a panel shows at `cursor` calls is the last reached within them.
int stateWithin(const std::vector<int>& calls, int cursor)
{
    int j = 0;
    for (int i = 0; i < int(calls.size()); ++i)
        if (calls[std::size_t(i)] <= cursor)
            j = i;
    return j;
}

void sendMouse(QWidget* target, QEvent::Type type, QPoint at, Qt::MouseButton button = Qt::NoButton)
{
    QMouseEvent e(type, QPointF(at), QPointF(target->mapToGlobal(at)), button,
                  type == QEvent::MouseMove ? Qt::NoButton : button, Qt::NoModifier);
    QApplication::sendEvent(target, &e);
}

/// A window on ring8 (VP, exact) with Heun 5 steps beside DDIM 9, run to the end.
std::unique_ptr<MainWindow> heunBesideDdim()
{
    auto w = open_main_window(kModels + "/ring8.json", {1366, 768});
    w->panel(0)->setConfig(cfg("heun", 5));
    w->panel(1)->setConfig(cfg("ddim", 9));
    w->setBatch(16);
    run_to_end(*w);
    return w;
}

} // namespace

class TestSolverGeometry : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void clickedPointShowsItsStepConstruction()
    {
        auto w = open_main_window(kModels + "/gaussian-2d.json", {1366, 768});
        w->panel(0)->setConfig(cfg("heun", 6));
        w->panel(1)->setConfig(cfg("dpmpp2m", 6));
        w->setBatch(32);
        run_to_end(*w);
        QAction* toStart = action(*w, "toStartAction");
        QAction* forward = action(*w, "stepForwardAction");
        QVERIFY(toStart && forward && action(*w, "constructionAction")->isChecked());
        toStart->trigger();
        forward->trigger();
        forward->trigger(); // the third step of both plans: Heun's predictor, DPM++'s previous x0_hat
        QApplication::processEvents();
        ScatterView* view = w->panel(0)->scatterView();
        int sample = -1;
        const QPoint at = pixelOf(view, &sample);
        QVERIFY(sample >= 0);
        QTest::mouseClick(view, Qt::LeftButton, {}, at);
        QCOMPARE(w->document()->followedSample(), sample);
        for (int p = 0; p < 2; ++p) {
            ScatterView* v = w->panel(p)->scatterView();
            QTRY_VERIFY_WITH_TIMEOUT(v->construction() != nullptr, 20000);
            const auto c = v->construction();
            const int step = w->panel(p)->displayedStep();
            QCOMPARE(c->request.step, step);
            QCOMPARE(c->request.sample, sample);
            // The construction ends on the sample's stored x_prev (x_t of the next step),
            // within the half-precision store's rounding of its inputs.
            std::vector<float> next;
            w->panel(p)->trajectory().decode(step + 1, Field::Xt, next);
            const auto end = c->geometry.end();
            for (int j = 0; j < 2; ++j)
                QVERIFY2(std::abs(end[j] - next[std::size_t(2 * sample + j)]) < 4e-3,
                         qPrintable(QString("panel %1: %2 vs %3").arg(p).arg(end[j]).arg(next[std::size_t(2 * sample + j)])));
            QVERIFY(QRectF(v->rect()).contains(v->constructionEndPixel()));
            const QStringList legend = v->constructionLegend();
            QVERIFY(legend.size() >= 3);
            if (p == 0) { // Heun: the Euler predictor and the second evaluation
                QVERIFY(!c->geometry.predictor.empty());
                QCOMPARE(c->geometry.eps_predictor.size(), std::size_t(2));
                QVERIFY(legend.join(' ').contains(QStringLiteral("predictor")));
            } else { // DPM-Solver++(2M) leans on the step before's x0_hat where its terms say so
                const bool second = step_terms(c->request.config, c->request.plan, step).coefficient(Quantity::X0HatLast) != 0;
                QCOMPARE(c->geometry.x0_hat_last.size(), std::size_t(second ? 2 : 0));
            }
        }
        // Off: nothing drawn; a click beside every point clears it too.
        action(*w, "constructionAction")->trigger();
        QVERIFY(!view->construction());
    }

    void odeErrorAppearsAndSplitsForTheLearnedTwin()
    {
        // Panel 1: the exact two-moons card; panel 2: the learned MLP trained on its data.
        auto w = open_main_window(kModels + "/two-moons.json", {1366, 768});
        w->panel(0)->setConfig(cfg("heun", 8));
        w->panel(1)->setConfig(cfg("heun", 8));
        w->setBatch(48);
        w->setPanelCard(1, kModels + "/two-moons-mlp.json");
        run_to_end(*w);
        w->refreshViews();
        PlotsWidget* plots = w->plots();
        QTRY_VERIFY_WITH_TIMEOUT(plots->odeCurveCount(0) == 1 && plots->odeCurveCount(1) == 3, 60000);
        QVERIFY(plots->odePlot()->isVisible());
        const auto exact = plots->odeCurve(0, 0), total = plots->odeCurve(1, 0), solver = plots->odeCurve(1, 1),
                   model = plots->odeCurve(1, 2);
        QCOMPARE(int(exact.size()), 8);
        QCOMPARE(int(solver.size()), 8);
        for (std::size_t k = 0; k < 8; ++k) {
            // The solver's part is what panel 1 measured for itself (its half-precision store
            // against the split's float32 rerun).
            QCOMPARE(solver[k].first, exact[k].first);
            QVERIFY2(std::abs(solver[k].second - exact[k].second) < 2e-3 + 0.01 * exact[k].second,
                     qPrintable(QString("%1 vs %2").arg(solver[k].second).arg(exact[k].second)));
            QVERIFY(total[k].second <= solver[k].second + model[k].second + 1e-9);
        }
        QVERIFY(model.back().second > 0);

        // The model-calls axis: Heun's 8 steps end at 15 calls.
        QAction* nfe = action(*w, "nfeAxisAction");
        QVERIFY(nfe);
        nfe->trigger();
        QVERIFY(plots->nfeAxis());
        const auto calls = plots->odeCurve(0, 0);
        QCOMPARE(calls.back().first, 2.0 * 8 - 1);
        QCOMPARE(calls.front().first, 2.0);
        // The statistics too, each step's x_t at the calls that reached it: the first at 0,
        // the last (after 7 two-call steps) at 14, none beyond (std of x_t, slot 0).
        QVERIFY(std::isfinite(plots->plottedValue(0, 0, 0)));
        QVERIFY(std::isfinite(plots->plottedValue(0, 0, 14)));
        QVERIFY(std::isnan(plots->plottedValue(0, 0, 15)));
        QCOMPARE(plots->pointCount(0, 0), 8);
        nfe->trigger();
        QCOMPARE(plots->odeCurve(0, 0).back().first, exact.back().first);
        QVERIFY(std::isfinite(plots->plottedValue(0, 0, int(exact.back().first)))); // back on t

        // The exact path beside the sampled ones: on for every panel (drawn without error).
        QAction* path = action(*w, "exactPathAction");
        QVERIFY(path && path->isEnabled());
        path->trigger();
        w->panel(1)->scatterView()->grab();
        path->trigger();
    }

    void timelineScrubsAtEqualCost()
    {
        auto w = heunBesideDdim();
        TimelineBar* timeline = w->timeline();
        const std::vector<int> heun = stateCalls("heun", 5), ddim = stateCalls("ddim", 9);
        QCOMPARE(heun.back(), 9); // 2S - 1
        QCOMPARE(ddim.back(), 9);
        QAction* nfe = action(*w, "nfeAxisAction");
        QVERIFY(nfe);
        auto* readout = timeline->findChild<QLabel*>("timelineReadout");
        QVERIFY(readout && !readout->isVisible()); // the t axis has none
        nfe->trigger();
        QVERIFY(timeline->nfeAxis());
        QVERIFY(readout->isVisible());
        QCOMPARE(timeline->totalCalls(), 9);
        QCOMPARE(timeline->cursorCalls(), 9); // the run ended on the final samples: all the calls
        QCOMPARE(w->panel(0)->displayedStep(), 5);
        QCOMPARE(w->panel(1)->displayedStep(), 9);

        // What the panels show at a cursor position, from the samplers' definitions.
        const auto check = [&](const char* how) {
            const int c = timeline->cursorCalls();
            const int h = stateWithin(heun, c), d = stateWithin(ddim, c);
            QVERIFY2(w->panel(0)->displayedStep() == h,
                     qPrintable(QString("%1 at %2 calls: Heun shows %3, not %4").arg(how).arg(c).arg(w->panel(0)->displayedStep()).arg(h)));
            QVERIFY2(w->panel(1)->displayedStep() == d,
                     qPrintable(QString("%1 at %2 calls: DDIM shows %3, not %4").arg(how).arg(c).arg(w->panel(1)->displayedStep()).arg(d)));
            // The readout: the calls, and panel 1's step and level there (t is the timeline's).
            const Trajectory& tr = w->panel(0)->trajectory();
            const QString where = h < 5 ? QString("step %1, t = %2").arg(h + 1).arg(tr.timesteps()[std::size_t(h)])
                                        : QString("final samples");
            QCOMPARE(readout->text(), QString("call %1 of 9 (%2)").arg(c).arg(where));
            QCOMPARE(timeline->cursor(), h < 5 ? tr.timesteps()[std::size_t(h)] : TimelineMapping::kFinal);
        };

        // Home, then Right: every call count some panel's step ends on, in increasing order.
        w->activateWindow();
        QTest::keyClick(w.get(), Qt::Key_Home);
        QCOMPARE(timeline->cursorCalls(), 0);
        check("Home");
        std::set<int> stops(heun.begin(), heun.end());
        stops.insert(ddim.begin(), ddim.end());
        std::vector<int> visited{0};
        for (int i = 0; i < 30 && timeline->cursorCalls() < 9; ++i) {
            QTest::keyClick(w.get(), Qt::Key_Right);
            visited.push_back(timeline->cursorCalls());
            check("Right");
        }
        QCOMPARE(visited, std::vector<int>(stops.begin(), stops.end()));
        // Left goes back down through the same stops; End and Page Up / Down too.
        QTest::keyClick(w.get(), Qt::Key_Left);
        QCOMPARE(timeline->cursorCalls(), *std::next(stops.rbegin()));
        check("Left");
        QTest::keyClick(w.get(), Qt::Key_Home);
        int last = 0;
        for (int i = 0; i < 30 && timeline->cursorCalls() < 9; ++i) {
            QTest::keyClick(w.get(), Qt::Key_PageDown);
            QVERIFY(timeline->cursorCalls() > last);
            last = timeline->cursorCalls();
            check("Page Down");
        }
        QTest::keyClick(w.get(), Qt::Key_PageUp);
        QVERIFY(timeline->cursorCalls() < 9);
        check("Page Up");
        QTest::keyClick(w.get(), Qt::Key_End);
        QCOMPARE(timeline->cursorCalls(), 9);
        check("End");

        // The mouse: a click at 5 calls, then a drag to 7.
        TimelineTrack* track = timeline->track();
        const int y = track->height() / 2;
        QTest::mousePress(track, Qt::LeftButton, {}, QPoint(int(std::lround(track->pixelOfCalls(5))), y));
        QCOMPARE(timeline->cursorCalls(), 5);
        check("click");
        QTest::mouseMove(track, QPoint(int(std::lround(track->pixelOfCalls(6))), y));
        QTest::mouseMove(track, QPoint(int(std::lround(track->pixelOfCalls(7))), y));
        QTest::mouseRelease(track, Qt::LeftButton, {}, QPoint(int(std::lround(track->pixelOfCalls(7))), y));
        QCOMPARE(timeline->cursorCalls(), 7);
        check("drag");

        // Off: the t axis again, at panel 1's level; nothing on the panels moves.
        const int heunStep = w->panel(0)->displayedStep();
        nfe->trigger();
        QVERIFY(!timeline->nfeAxis());
        QVERIFY(!readout->isVisible());
        QCOMPARE(timeline->cursor(), w->panel(0)->trajectory().timesteps()[std::size_t(heunStep)]);
        QCOMPARE(w->panel(0)->displayedStep(), heunStep);
    }

    void modelCallsAxisBeforeRun()
    {
        // On before Run: the planned steps' calls mark the timeline, and a run followed live
        // ends with the cursor at all the calls and every panel on its final samples.
        auto w = open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("heun", 5));
        w->panel(1)->setConfig(cfg("ddim", 9));
        w->setBatch(16);
        action(*w, "nfeAxisAction")->trigger();
        TimelineBar* timeline = w->timeline();
        const std::vector<int> heun = stateCalls("heun", 5), ddim = stateCalls("ddim", 9);
        QCOMPARE(timeline->totalCalls(), heun.back());
        QCOMPARE(timeline->panels().at(0).calls, std::vector<int>(heun.begin() + 1, heun.end())); // by the end of each step
        QCOMPARE(timeline->panels().at(1).calls, std::vector<int>(ddim.begin() + 1, ddim.end()));
        run_to_end(*w);
        QCOMPARE(timeline->cursorCalls(), 9);
        QCOMPARE(w->panel(0)->displayedStep(), 5);
        QCOMPARE(w->panel(1)->displayedStep(), 9);
        QCOMPARE(timeline->cursor(), TimelineMapping::kFinal);
    }

    void plotHoverAndClickOnModelCalls()
    {
        auto w = heunBesideDdim();
        const std::vector<int> heun = stateCalls("heun", 5), ddim = stateCalls("ddim", 9);
        action(*w, "nfeAxisAction")->trigger();
        PlotsWidget* plots = w->plots();
        QWidget* stats = plots->statsPlot();
        for (int calls : {6, 8}) {
            const QPoint at = plots->statsPixel(0, calls); // std of x_t
            QTest::mouseMove(stats, at);
            sendMouse(stats, QEvent::MouseMove, at);
            const QString hover = plots->hoverText();
            QVERIFY2(hover.startsWith(QString("%1 at model calls %2").arg(plots->slotTitle(0)).arg(calls)), qPrintable(hover));
            // Each panel: the state those calls reached (both have one) is the x_t of the next
            // step, whose record the statistic shows: its value, and its step and level as the
            // panel's footer names them.
            int p = 0;
            for (const auto* states : {&heun, &ddim}) {
                const auto it = std::find(states->begin(), states->end(), calls);
                QVERIFY(it != states->end());
                const int k = int(it - states->begin()); // state j is step j + 1's x_t
                QVERIFY(k < w->panel(p)->trajectory().size());
                const Trajectory& tr = w->panel(p)->trajectory();
                const QString want = QString("Panel %1 (%2): %3 at model calls %4 (step %5, t = %6)")
                                         .arg(p + 1)
                                         .arg(w->document()->describe(p))
                                         .arg(tr.info(k).stats.xt_std, 0, 'g', 4)
                                         .arg(calls)
                                         .arg(k + 1)
                                         .arg(tr.info(k).plan.t);
                QVERIFY2(hover.contains(want), qPrintable(hover + "\nwanted: " + want));
                ++p;
            }
        }
        // A click on a point moves the cursor onto it, as on the t axis: 4 calls, where
        // Heun's second step and DDIM's fourth end.
        const QPoint at4 = plots->statsPixel(0, 4);
        sendMouse(stats, QEvent::MouseButtonPress, at4, Qt::LeftButton);
        sendMouse(stats, QEvent::MouseButtonRelease, at4, Qt::LeftButton);
        QCOMPARE(w->timeline()->cursorCalls(), 4);
        QCOMPARE(w->panel(0)->displayedStep(), stateWithin(heun, 4));
        QCOMPARE(w->panel(1)->displayedStep(), stateWithin(ddim, 4));
    }

    void sampleDialogFollowsEqualCost()
    {
        // A sample's filmstrip on the model-calls axis: each row is the state its panel
        // reached within the cursor's calls (no single t names both).
        auto w = open_main_window(kModels + "/mnist-500-exact.json", {1366, 768});
        QVERIFY(w->model()->card().is_image());
        w->panel(0)->setConfig(cfg("heun", 5));
        w->panel(1)->setConfig(cfg("ddim", 9));
        w->setBatch(4);
        run_to_end(*w);
        const std::vector<int> heun = stateCalls("heun", 5), ddim = stateCalls("ddim", 9);
        action(*w, "nfeAxisAction")->trigger();
        w->timeline()->seekCalls(6);
        w->refreshViews();
        ImageGridView* grid = w->panel(0)->imageView();
        QTest::mouseClick(grid, Qt::LeftButton, {}, grid->cellRect(1).center());
        SampleDialog* d = nullptr;
        QTRY_VERIFY((d = w->findChild<SampleDialog*>()) != nullptr);
        for (int calls : {6, 7}) {
            w->timeline()->seekCalls(calls);
            w->refreshViews();
            QCOMPARE(d->rowCount(), 2);
            int row = 0;
            for (const auto* states : {&heun, &ddim}) {
                const int j = stateWithin(*states, calls);
                const Trajectory& tr = w->panel(row)->trajectory();
                QCOMPARE(d->rowCaption(row), QString("t = %1").arg(tr.timesteps()[std::size_t(j)]));
                ++row;
            }
        }
        // Back on t: the rows follow the cursor's t again (panel 1's level there).
        action(*w, "nfeAxisAction")->trigger();
        w->refreshViews();
        QCOMPARE(d->rowCaption(0), QString("t = %1").arg(w->timeline()->cursor()));
    }

    void exactOdeOnlyWhenWanted()
    {
        auto w = open_main_window(kModels + "/gaussian-2d.json", {1366, 768});
        w->panel(0)->setConfig(cfg("heun", 6));
        w->panel(1)->setConfig(cfg("ddim", 6));
        w->setBatch(16);
        // The plots out of sight (the Forward process tab) and no exact path: nothing wants the ODE.
        w->bottomTabs()->setCurrentIndex(1);
        QVERIFY(!w->plots()->isVisible());
        run_to_end(*w);
        w->refreshViews();
        QTest::qWait(1500); // the field worker would have answered by now (it takes ~0.1 s here)
        QVERIFY(!w->panel(0)->odeResult());
        QVERIFY(!w->panel(1)->odeResult());
        QCOMPARE(w->plots()->odeCurveCount(0), 0);

        // The plots back in sight: computed now, for both panels.
        w->bottomTabs()->setCurrentIndex(0);
        QTRY_VERIFY_WITH_TIMEOUT(w->plots()->odeCurveCount(0) == 1 && w->plots()->odeCurveCount(1) == 1, 60000);
        QVERIFY(w->plots()->odePlot()->isVisible());
        const OdeResultPtr first = w->panel(0)->odeResult();
        QVERIFY(first);
        // Kept, not computed again: away and back, the same result.
        w->bottomTabs()->setCurrentIndex(1);
        w->bottomTabs()->setCurrentIndex(0);
        w->refreshViews();
        QTest::qWait(500);
        QCOMPARE(w->panel(0)->odeResult().get(), first.get());

        // A new run with the plots away: none; View > Exact ODE Path wants it.
        w->bottomTabs()->setCurrentIndex(1);
        w->panel(0)->setConfig(cfg("heun", 7));
        run_to_end(*w);
        w->refreshViews();
        QTest::qWait(1500);
        QVERIFY(!w->panel(0)->odeResult());
        QAction* path = action(*w, "exactPathAction");
        QVERIFY(path && path->isEnabled());
        path->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(0)->odeResult() != nullptr, 60000);
        QCOMPARE(int(w->panel(0)->odeResult()->errors.total.size()), 7);
        path->trigger();
    }
};

QTEST_MAIN(TestSolverGeometry)
#include "tst_solver_geometry.moc"
