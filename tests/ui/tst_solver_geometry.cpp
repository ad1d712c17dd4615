// Issue 22 in the window: a clicked point shows its step's construction, which ends on
// the stored x_prev; the ode_error plot appears for an exact card and splits into the
// solver's and the model's part for the learned two-moons MLP beside its exact card in
// panel 1 (the solver's part is then panel 1's own ode_error: same sampler, plan and
// x_T on the exact card); the model-calls axis puts Heun's last step at 2S - 1.
#include "qcustomplot_test.hpp"
#include "ui_test_util.hpp"

#include "plots_widget.hpp"
#include "run_document.hpp"
#include "sampler_panel.hpp"
#include "scatter_view.hpp"
#include "timeline_bar.hpp"

#include <QAction>

#include <cmath>

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
        // The statistics too: Heun's last step at 15 calls, none beyond (std of x_t, slot 0).
        QVERIFY(std::isfinite(plots->plottedValue(0, 0, 15)));
        QVERIFY(std::isnan(plots->plottedValue(0, 0, 16)));
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
};

QTEST_MAIN(TestSolverGeometry)
#include "tst_solver_geometry.moc"
