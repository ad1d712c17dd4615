// Lecture-ready views (issue 12): plot hover and click, presentation mode, and
// the live reverse-step equations checked against the contract's formulas
// computed here from the ring card's linear schedule.
#include "equation_view.hpp"
#include "forward_view.hpp"
#include "main_window.hpp"
#include "plots_widget.hpp"
#include "presentation.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"
#include "ui_test_util.hpp"

#include <QAction>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QMouseEvent>
#include <QtTest/QtTest>

#include <cmath>

using namespace noisetrail;
using namespace noisetrail::ui;
using noisetrail::ui::test::cfg;
using noisetrail::ui::test::kModels;
using noisetrail::ui::test::run_to_end;

namespace {
/// alpha_bar of the ring card's schedule: linear betas 1e-4 .. 0.02 over T = 1000 (contract section 1).
std::vector<double> ringAlphaBars()
{
    const int T = 1000;
    std::vector<double> ab(T);
    double prod = 1.0;
    for (int t = 0; t < T; ++t) {
        prod *= 1.0 - (1e-4 + (0.02 - 1e-4) * t / (T - 1));
        ab[std::size_t(t)] = prod;
    }
    return ab;
}

/// Sum of the coefficients of `q` in a list of terms (the predictor's, a grouped line's).
double coefficientIn(const std::vector<Term>& terms, Quantity q)
{
    double c = 0.0;
    for (const Term& t : terms)
        if (t.quantity == q)
            c += t.coefficient;
    return c;
}

/// The step of a panel's trajectory at timestep t (-1 if none).
int stepAtT(const Trajectory& tr, int t)
{
    for (int k = 0; k < tr.size(); ++k)
        if (tr.info(k).plan.t == t)
            return k;
    return -1;
}

void sendMouse(QWidget* target, QEvent::Type type, QPoint at, Qt::MouseButton button = Qt::NoButton)
{
    QMouseEvent e(type, QPointF(at), QPointF(target->mapToGlobal(at)), button,
                  type == QEvent::MouseMove ? Qt::NoButton : button, Qt::NoModifier);
    QApplication::sendEvent(target, &e);
}
} // namespace

class TestLecture : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void hoverShowsEveryPanelAndClickSeeks()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 20));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(64);
        run_to_end(*w);
        auto* stats = w->plots()->findChild<QWidget*>("statsPlot");
        QVERIFY(stats);
        // DDIM on an exact card gets the exact ODE on its own thread; when it arrives the
        // ode_error plot opens beside the statistics and moves their pixels. Aim after that.
        auto* ode = w->plots()->findChild<QWidget*>("odeErrorPlot");
        QVERIFY(ode);
        QTRY_VERIFY_WITH_TIMEOUT(w->panel(1)->odeResult() != nullptr, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(ode->isVisible(), 10000);
        QTest::qWait(50); // the layout settles
        const QPoint at = w->plots()->statsPixel(0, 500); // std of x_t
        QTest::mouseMove(stats, at);
        sendMouse(stats, QEvent::MouseMove, at);
        const QString hover = w->plots()->hoverText();
        QVERIFY2(hover.contains("t = 500"), qPrintable(hover));
        // Every panel's value at t = 500, read from its trajectory (both plans visit 500).
        for (int p = 0; p < 2; ++p) {
            const Trajectory& tr = w->panel(p)->trajectory();
            const int k = stepAtT(tr, 500);
            QVERIFY(k >= 0);
            const QString want = QStringLiteral("Panel %1").arg(p + 1);
            QVERIFY2(hover.contains(want), qPrintable(hover));
            QVERIFY2(hover.contains(QString::number(tr.info(k).stats.xt_std, 'g', 4)), qPrintable(hover));
        }
        // A click at t = 300 moves the timeline's cursor there.
        const QPoint at300 = w->plots()->statsPixel(0, 300);
        sendMouse(stats, QEvent::MouseButtonPress, at300, Qt::LeftButton);
        sendMouse(stats, QEvent::MouseButtonRelease, at300, Qt::LeftButton);
        QVERIFY2(std::abs(w->timeline()->cursor() - 300) <= 1, qPrintable(QString::number(w->timeline()->cursor())));
        // The panels follow: DDIM 10's step at or before... it shows t = 300 exactly.
        QCOMPARE(w->panel(1)->displayedT(), 300);
    }

    void legendAndHiddenPlots()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1366, 768});
        QVERIFY(w->plots()->slotShown(6)); // ring8 is a mixture: components covered applies
        w->setMetricsEnabled(false);
        for (int s = PlotsWidget::kStatSlots; s < PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots; ++s)
            QVERIFY(!w->plots()->slotShown(s));
        QCOMPARE(w->plots()->shownSlotCount(), PlotsWidget::kStatSlots);
        w->setMetricsEnabled(true);
        QCOMPARE(w->plots()->shownSlotCount(), PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots);
    }

    void presentationScalesAndRestores()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1280, 720});
        w->move(40, 30);
        QTest::qWait(50);
        const QRect geometry = w->geometry();
        const QFont font = w->font();
        auto* title = w->panel(0)->findChild<QLabel*>("panelTitle");
        const double titlePt = title->font().pointSizeF();
        const double pen = w->plots()->lineWidth(0, 0);
        auto* present = w->findChild<QAction*>("presentationAction");
        auto* stop = w->findChild<QAction*>("stopAction");
        QVERIFY(present && stop);
        QCOMPARE(present->shortcut(), QKeySequence(Qt::Key_F5));

        w->setPresentation(true, 2.0);
        QVERIFY(w->presentation()->active());
        QVERIFY(present->isChecked());
        QVERIFY(w->isFullScreen());
        QCOMPARE(title->font().pointSizeF(), titlePt * 2.0);
        QCOMPARE(w->plots()->lineWidth(0, 0), pen * 2.0);
        QVERIFY(!w->panel(0)->findChild<QWidget*>("samplerCombo")->isVisibleTo(w.get()));
        auto* caption = w->panel(0)->findChild<QLabel*>("panelCaption");
        QVERIFY(caption->isVisibleTo(w.get()));
        // Before any run the caption says so, not a field or a t it does not show.
        QVERIFY2(caption->text().startsWith("DDPM") && caption->text().contains("press Run") &&
                     !caption->text().contains("x_t") && !caption->text().contains("final"),
                 qPrintable(caption->text()));
        QVERIFY(caption->font().pointSizeF() > title->font().pointSizeF());
        // Esc leaves (Stop gives its Esc up meanwhile; the timeline keeps its keys).
        QVERIFY(stop->shortcuts().isEmpty());
        auto* leave = w->findChild<QAction*>("leavePresentationAction");
        QCOMPARE(leave->shortcut(), QKeySequence(Qt::Key_Escape));
        QVERIFY(w->timeline()->isVisibleTo(w.get()));
        leave->trigger();

        QVERIFY(!w->presentation()->active());
        QVERIFY(!present->isChecked());
        QTRY_VERIFY(!w->isFullScreen());
        QTRY_COMPARE(w->geometry(), geometry);
        QCOMPARE(w->font(), font);
        QCOMPARE(title->font().pointSizeF(), titlePt);
        QCOMPARE(w->plots()->lineWidth(0, 0), pen);
        QVERIFY(w->panel(0)->findChild<QWidget*>("samplerCombo")->isVisibleTo(w.get()));
        QVERIFY(!caption->isVisibleTo(w.get()));
        QCOMPARE(stop->shortcut(), QKeySequence(Qt::Key_Escape));
        // F5 (the action) toggles it on again.
        present->trigger();
        QVERIFY(w->presentation()->active());
        present->trigger();
        QVERIFY(!w->presentation()->active());
    }

    void equationsMatchTheContract()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50, 0.0));
        w->addPanel();
        w->panel(2)->setConfig(cfg("ddim", 50, 0.5));
        w->setBatch(32);
        run_to_end(*w);
        const std::vector<double> ab = ringAlphaBars();
        EquationView* eq = w->equationView();
        for (int t : {980, 500, 20}) {
            w->timeline()->seek(t);
            // DDPM 1000 steps: t_prev = t - 1 (Ho et al. eq. 6-7).
            eq->setPanel(0);
            w->refreshViews();
            QVERIFY(eq->shownTerms());
            {
                const double a = ab[std::size_t(t)], ap = ab[std::size_t(t - 1)];
                const double betaP = 1 - a / ap;
                const double cx0 = std::sqrt(ap) * betaP / (1 - a), cxt = std::sqrt(1 - betaP) * (1 - ap) / (1 - a);
                const double sigma = std::sqrt(betaP * (1 - ap) / (1 - a)); // fixed_small
                const StepTerms& c = *eq->shownTerms();
                QVERIFY(std::abs(c.coefficient(Quantity::X0Hat) - cx0) < 1e-9 * cx0);
                QVERIFY(std::abs(c.coefficient(Quantity::Xt) - cxt) < 1e-9 * cxt);
                const double cz = c.coefficient(Quantity::Noise);
                QVERIFY2(std::abs(cz - sigma) < 1e-7 * sigma, qPrintable(QString::number(cz - sigma)));
                QCOMPARE(c.coefficient(Quantity::EpsHat), 0.0);
                QVERIFY2(eq->equationText().contains(QString::number(cx0, 'g', 6)), qPrintable(eq->equationText()));
                QVERIFY(eq->equationText().contains(QString::number(cxt, 'g', 6)));
                QVERIFY(eq->termsText().contains(QStringLiteral("&sigma; z")));
            }
            // DDIM 50 leading steps: t = 980, 960, ..., 0, so t_prev = t - 20 (Song et al. eq. 12, 16).
            for (int panel : {1, 2}) {
                const double eta = panel == 1 ? 0.0 : 0.5;
                eq->setPanel(panel);
                w->refreshViews();
                QVERIFY(eq->shownTerms());
                const double a = ab[std::size_t(t)], ap = ab[std::size_t(t - 20)];
                const double sigma = eta * std::sqrt((1 - ap) / (1 - a)) * std::sqrt(1 - a / ap);
                const double cx0 = std::sqrt(ap), ceps = std::sqrt(1 - ap - sigma * sigma);
                const StepTerms& c = *eq->shownTerms();
                QVERIFY(std::abs(c.coefficient(Quantity::X0Hat) - cx0) < 1e-9);
                QVERIFY(std::abs(c.coefficient(Quantity::EpsHat) - ceps) < 1e-9);
                QVERIFY(std::abs(c.coefficient(Quantity::Noise) - sigma) < 1e-9);
                QCOMPARE(c.coefficient(Quantity::Xt), 0.0);
                QVERIFY(eq->equationText().contains(QString::number(ceps, 'g', 6)));
                if (eta == 0.0) // deterministic: the noise term of a sample is exactly zero
                    QVERIFY2(eq->termsText().contains(QStringLiteral("|&sigma; z| = 0.000")), qPrintable(eq->termsText()));
            }
        }
    }

    void heunAndDpmSolverTermByTerm()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("heun", 10));
        SamplerConfig dpm = cfg("dpmpp2m", 10);
        dpm.spacing = Spacing::Leading; // the plan below (its default is logsnr)
        w->panel(1)->setConfig(dpm);
        w->setBatch(32);
        run_to_end(*w);
        const std::vector<double> ab = ringAlphaBars();
        const auto lambda = [](double a) { return 0.5 * std::log(a / (1 - a)); }; // log(alpha / sigma)
        const auto shows = [](EquationView* eq, double v) {
            return eq->equationText().contains(QString::number(std::abs(v), 'g', 6));
        };
        EquationView* eq = w->equationView();
        // 10 leading steps: t = 900, 800, ..., 0 and t_prev = t - 100 (contract section 1).
        for (int t : {900, 500, 100}) {
            w->timeline()->seek(t);
            const double a = ab[std::size_t(t)], ap = ab[std::size_t(t - 100)];
            // Heun (Karras et al. 2022, Alg. 1) on x_bar = x / sqrt(ab), sigma = s = sqrt((1 - ab) / ab):
            // x_prev = sqrt(ab') (x_bar + (s' - s) (d + d') / 2), the Euler predictor with (s' - s) d.
            eq->setPanel(0);
            w->refreshViews();
            QVERIFY(eq->shownTerms());
            {
                const Trajectory& tr = w->panel(0)->trajectory();
                QCOMPARE(tr.info(stepAtT(tr, t)).plan.t_prev, t - 100);
                const double s = std::sqrt((1 - a) / a), sp = std::sqrt((1 - ap) / ap);
                const double cxt = std::sqrt(ap) / std::sqrt(a), cd = std::sqrt(ap) * (sp - s) / 2;
                const StepTerms& c = *eq->shownTerms();
                QVERIFY(std::abs(c.coefficient(Quantity::Xt) - cxt) < 1e-12);
                QVERIFY(std::abs(c.coefficient(Quantity::EpsHat) - cd) < 1e-12);
                QVERIFY(std::abs(c.coefficient(Quantity::EpsHatPredictor) - cd) < 1e-12);
                QVERIFY(c.predictor); // the Euler point x' = cxt x_t + 2 cd d, where d' is evaluated
                QVERIFY(std::abs(coefficientIn(c.predictor->terms, Quantity::Xt) - cxt) < 1e-12);
                QVERIFY(std::abs(coefficientIn(c.predictor->terms, Quantity::EpsHat) - 2 * cd) < 1e-12);
                QCOMPARE(c.coefficient(Quantity::X0Hat), 0.0);
                QCOMPARE(c.coefficient(Quantity::Noise), 0.0);
                QVERIFY2(shows(eq, cxt) && shows(eq, cd) && shows(eq, 2 * cd), qPrintable(eq->equationText()));
                QVERIFY(eq->equationText().contains("d&prime;"));
                // Every term's size for the sample, and Heun's correction over Euler.
                QVERIFY2(eq->termsText().count("| = ") == 4, qPrintable(eq->termsText()));
                QVERIFY(eq->termsText().contains("correction"));
            }
            // DPM-Solver++(2M) (Lu et al. 2022, Alg. 2): alpha = sqrt(ab), sigma = sqrt(1 - ab),
            // x_prev = (sigma'/sigma) x - alpha' (e^-h - 1) D, D = (1 + 1/2r) x0 - 1/2r x0_last, r = h_last / h.
            eq->setPanel(1);
            w->refreshViews();
            QVERIFY(eq->shownTerms());
            {
                const double h = lambda(ap) - lambda(a);
                const double cxt = std::sqrt(1 - ap) / std::sqrt(1 - a), cD = -std::sqrt(ap) * (std::exp(-h) - 1);
                const bool first = t == 900;
                const double hLast = first ? 0 : lambda(ab[std::size_t(t)]) - lambda(ab[std::size_t(t + 100)]);
                const double r = hLast / h;
                // First order on the first step, and where r < 1/2 (the 2M step-ratio rule, docs/CLI.md).
                const bool firstOrder = first || r < 0.5;
                const double cx0 = firstOrder ? cD : cD * (1 + 1 / (2 * r)), cLast = firstOrder ? 0 : -cD / (2 * r);
                const StepTerms& c = *eq->shownTerms();
                QVERIFY(std::abs(c.coefficient(Quantity::Xt) - cxt) < 1e-12);
                // The grouped form x_prev = cxt x_t + cD D.
                QVERIFY(!c.lines.empty());
                QVERIFY(std::abs(coefficientIn(c.lines.back().terms, Quantity::Defined) - cD) < 1e-12);
                QVERIFY(std::abs(c.coefficient(Quantity::X0Hat) - cx0) < 1e-12);
                QVERIFY(std::abs(c.coefficient(Quantity::X0HatLast) - cLast) < 1e-12);
                QCOMPARE(c.scalar("r") != nullptr, !first);
                if (!first)
                    QVERIFY(std::abs(c.scalar("r")->value - r) < 1e-12);
                QVERIFY2(shows(eq, cxt) && shows(eq, cD) && shows(eq, cx0), qPrintable(eq->equationText()));
                QVERIFY(firstOrder ? eq->equationText().contains("first order") : shows(eq, cLast) && shows(eq, r));
                QVERIFY2(eq->termsText().count("| = ") == (firstOrder ? 2 : 3), qPrintable(eq->termsText()));
                // The terms add up to the x_prev the run stored (float16 store).
                const Trajectory& tr = w->panel(1)->trajectory();
                const int k = stepAtT(tr, t);
                std::vector<float> xt, x0, x0Last, xPrev;
                tr.decode(k, Field::Xt, xt);
                tr.decode(k, Field::X0Hat, x0);
                tr.decode(std::max(0, k - 1), Field::X0Hat, x0Last);
                tr.decode(k + 1, Field::Xt, xPrev);
                for (int j = 0; j < 2 * 32; ++j) {
                    const double want = cxt * xt[std::size_t(j)] + cx0 * x0[std::size_t(j)] + cLast * x0Last[std::size_t(j)];
                    QVERIFY2(std::abs(xPrev[std::size_t(j)] - want) < 1e-2 * (1 + std::abs(want)),
                             qPrintable(QStringLiteral("t %1, value %2: %3 vs %4").arg(t).arg(j).arg(xPrev[std::size_t(j)]).arg(want)));
                }
            }
        }
        // The last step (t = 0) of both lands on x0_hat.
        w->timeline()->seek(0);
        for (int panel : {0, 1}) {
            eq->setPanel(panel);
            w->refreshViews();
            QVERIFY(eq->shownTerms());
            QCOMPARE(eq->shownTerms()->coefficient(Quantity::X0Hat), 1.0);
            QCOMPARE(eq->shownTerms()->coefficient(Quantity::Xt), 0.0);
            QVERIFY(eq->equationText().contains("lands on"));
        }
    }

    void etaKnobRerunsThatPanelAlone()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 20));
        w->panel(1)->setConfig(cfg("ddim", 10, 0.0));
        w->setBatch(64);
        run_to_end(*w);
        const Trajectory* ddpm = &w->panel(0)->trajectory();
        std::vector<float> before;
        w->panel(1)->trajectory().decode(w->panel(1)->trajectory().size(), Field::Xt, before);
        auto* eta = w->panel(1)->findChild<QDoubleSpinBox*>("etaSpin");
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        eta->setValue(0.5); // as a drag would
        auto* title = w->panel(1)->findChild<QLabel*>("panelTitle");
        // Until the live re-run has computed it, the header says the edit is pending.
        QVERIFY2(title->text().contains(QStringLiteral("\u03b7 0.5")) && title->text().contains("press Run"),
                 qPrintable(title->text()));
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 20000);
        QVERIFY2(title->text().contains("50% of DDPM"), qPrintable(title->text()));
        QCOMPARE(&w->panel(0)->trajectory(), ddpm); // the DDPM panel was not recomputed
        QVERIFY(w->panel(1)->trajectory().finished());
        QCOMPARE(w->document()->computed(1)->sampler.eta, 0.5);
        std::vector<float> after, start0, start1;
        w->panel(1)->trajectory().decode(w->panel(1)->trajectory().size(), Field::Xt, after);
        QVERIFY(after != before);
        // From the same x_T as the other panel.
        w->panel(0)->trajectory().decode(0, Field::Xt, start0);
        w->panel(1)->trajectory().decode(0, Field::Xt, start1);
        QVERIFY(start0 == start1);
    }

    void forwardFollowsTheTimelineUnlessUnlinked()
    {
        auto w = test::open_main_window(kModels + "/ring8.json", {1366, 768});
        w->timeline()->seek(400);
        QCOMPARE(w->forwardView()->t(), 400);
        w->forwardView()->setLinked(false);
        w->timeline()->seek(700);
        QCOMPARE(w->forwardView()->t(), 400);
    }
};

QTEST_MAIN(TestLecture)
#include "tst_lecture.moc"
