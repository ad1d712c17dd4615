// The shared noise axis (docs/ARCHITECTURE.md, "One noise axis"): a VP panel and a
// flow panel from one x_T meet where their signal-to-noise ratios agree. The truth
// is computed here from the closed forms: DDPM's linear schedule alpha_bar_t =
// prod (1 - beta_s) with beta linear from 1e-4 to 0.02 (Ho et al. 2020), and the
// flow path alpha_s = 1 - s, sigma_s = s (contract section 8), SNR = alpha^2 / sigma^2.
#include "equation_view.hpp"
#include "forward_view.hpp"
#include "noise_axis.hpp"
#include "noisetrail/noise_axis.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/run_set.hpp"
#include "plots_widget.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"
#include "ui_test_util.hpp"

#include <QtTest/QtTest>

#include <cmath>
#include <limits>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {
constexpr int T = 1000;

/// log SNR of DDPM's linear schedule at t, from the closed form (not the code under test).
double vpLogSnr(int t)
{
    double ab = 1.0;
    for (int i = 0; i <= t; ++i)
        ab *= 1.0 - (1e-4 + (0.02 - 1e-4) * i / (T - 1));
    return std::log(ab / (1.0 - ab));
}
/// log SNR of the flow path at s: log((1 - s)^2 / s^2).
double flowLogSnr(double s)
{
    return s >= 1.0 ? -std::numeric_limits<double>::infinity() : 2.0 * std::log((1.0 - s) / s);
}
/// The real VP t (DDPM's linear schedule) with log SNR `l`, by bisection over the table.
double vpPositionOf(double l, const std::vector<double>& table)
{
    if (l >= table.front())
        return 0.0;
    if (l <= table.back())
        return T - 1.0;
    int t = 0;
    while (table[std::size_t(t) + 1] >= l)
        ++t;
    return t + (table[std::size_t(t)] - l) / (table[std::size_t(t)] - table[std::size_t(t) + 1]);
}
std::vector<double> vpTable()
{
    std::vector<double> out(T);
    double ab = 1.0;
    for (int t = 0; t < T; ++t) {
        ab *= 1.0 - (1e-4 + (0.02 - 1e-4) * t / (T - 1));
        out[std::size_t(t)] = std::log(ab / (1.0 - ab));
    }
    return out;
}
NoiseSchedule linearVp()
{
    ScheduleConfig c;
    c.train_steps = T;
    return NoiseSchedule(c);
}
NoiseSchedule flowPath()
{
    ScheduleConfig c;
    c.train_steps = T;
    c.process = ProcessKind::Flow;
    return NoiseSchedule(c);
}
} // namespace

class TestNoiseAxis : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void flowLevelsSitAtTheVpTOfTheSameSnr()
    {
        const auto table = vpTable();
        QCOMPARE(vpLogSnr(500), table[500]); // the two closed-form routes agree
        const NoiseSchedule vp = linearVp(), flow = flowPath();
        for (int tf : {0, 4, 9, 49, 99, 249, 499, 749, 899, 949, 989, 998, 999}) {
            const double s = (tf + 1.0) / T; // the flow grid s_t = (t + 1) / T
            const int a = axis_t(flow, tf, vp);
            const double want = vpPositionOf(flowLogSnr(s), table);
            QVERIFY2(std::abs(a - want) <= 0.5 + 1e-9,
                     qPrintable(QStringLiteral("s %1: axis t %2, the VP t of equal SNR is %3").arg(s).arg(a).arg(want)));
        }
        // s = 1/2 has SNR 1: on DDPM's schedule alpha_bar = 1/2 falls near t = 258.
        QVERIFY(std::abs(axis_t(flow, 499, vp) - vpPositionOf(0.0, table)) <= 0.5);
        QVERIFY(axis_t(flow, 499, vp) > 240 && axis_t(flow, 499, vp) < 280);
        // And back: a VP t on a flow axis is s T - 1 for the s of that SNR (s = sigma / (alpha + sigma)).
        for (int t : {0, 100, 258, 500, 900, 999}) {
            const double l = table[std::size_t(t)], r = std::exp(-l / 2); // sigma / alpha
            const double s = r / (1 + r);
            QVERIFY(std::abs(axis_t(vp, t, flow) - std::clamp(s * T - 1, 0.0, T - 1.0)) <= 0.5 + 1e-9);
        }
        QCOMPARE(axis_t(flow, -1, vp), -1); // the final samples stay the final samples
    }

    void vpPanelsKeepTheirT()
    {
        // VP beside VP aligns on t as it always has, whatever the schedules: VP runs look as before.
        ScheduleConfig c;
        c.kind = "cosine";
        const NoiseSchedule cosine(c), vp = linearVp();
        for (int t : {999, 750, 500, 1, 0, -1})
            QCOMPARE(axis_t(cosine, t, vp), t);
        const auto sp = [](const NoiseSchedule& s) { return std::make_shared<const NoiseSchedule>(s); };
        const NoiseAxis axis = NoiseAxis::choose({sp(vp), sp(cosine)});
        QVERIFY(!axis.mixed && !axis.flow());
        QCOMPARE(axis.toAxis(&cosine, std::vector<int>{999, 500, 0}), (std::vector<int>{999, 500, 0}));
        QCOMPARE(axis.tickText(750), QStringLiteral("750"));
        QCOMPARE(axis.axisTitle(), QStringLiteral("t (noise level)"));
        // A flow panel first, a VP one second: the VP one is the reference (it keeps its t).
        const NoiseAxis mixed = NoiseAxis::choose({sp(flowPath()), sp(vp)});
        QVERIFY(mixed.mixed && !mixed.flow());
        QCOMPARE(mixed.reference->process(), ProcessKind::Vp);
        // Flow alone: the axis is s, written as s.
        const NoiseAxis flowOnly = NoiseAxis::choose({sp(flowPath())});
        QVERIFY(flowOnly.flow());
        QCOMPARE(flowOnly.tickText(499), QStringLiteral("0.5"));
        QCOMPARE(flowOnly.axisTitle(), QStringLiteral("s (noise level)"));
        QCOMPARE(levelText(flowPath(), 499), QStringLiteral("s = 0.500"));
        QCOMPARE(levelText(vp, 500), QStringLiteral("t = 500"));
    }

    void lockstepAdvancesFlowAndVpAtEqualSnr()
    {
        // DDPM (100 steps, VP) and Euler (10 steps, flow) from one x_T: a tick never advances a
        // panel that is less noisy than another one still waiting (positions on DDPM's t, +-1 for rounding).
        RunSetRecipe r;
        r.model = (kModels + "/ring8.json").toStdString();
        r.seed = 3;
        r.batch = 8;
        r.panels.push_back({{}, cfg("ddpm", 100)});
        r.panels.push_back({(kModels + "/ring8-flow.json").toStdString(), cfg("euler", 10)});
        RunSet set = make_run_set(r);
        QCOMPARE(set.run(1).model()->schedule().process(), ProcessKind::Flow);
        const auto table = vpTable();
        const auto position = [&](int i) {
            const PlanStep& step = set.run(i).plan().steps.at(std::size_t(set.run(i).steps_done()));
            return step.process == ProcessKind::Flow ? vpPositionOf(flowLogSnr(step.level), table)
                                                     : double(step.t);
        };
        int ticks = 0, together = 0;
        while (!set.done()) {
            const std::vector<int> due = set.next_panels();
            for (int i : due)
                for (int j = 0; j < set.size(); ++j)
                    if (!set.run(j).done() && std::ranges::find(due, j) == due.end())
                        QVERIFY2(position(i) >= position(j) - 1.0,
                                 qPrintable(QStringLiteral("tick %1: panel %2 at %3 went before panel %4 at %5")
                                                .arg(ticks).arg(i).arg(position(i)).arg(j).arg(position(j))));
            together += due.size() > 1 ? 1 : 0;
            set.tick();
            ++ticks;
        }
        QVERIFY(together >= 1); // the last steps (t = 0, s = 1/T) are taken together
    }

    void cursorShowsEachPanelAtTheMatchingNoiseLevel()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        while (w->panelCount() < 2)
            w->addPanel();
        QSignalSpy loaded(w->document(), &RunDocument::panelModelChanged);
        w->setPanelCard(1, kModels + "/ring8-flow.json");
        QTRY_COMPARE_WITH_TIMEOUT(loaded.size(), 1, 20000);
        QVERIFY(w->document()->hasOwnModel(1));
        w->panel(0)->setConfig(cfg("ddim", 20));
        w->panel(1)->setConfig(cfg("euler", 20));
        w->setBatch(32);
        run_to_end(*w);
        const auto table = vpTable();
        const Trajectory& flow = w->panel(1)->trajectory();
        const Trajectory& vp = w->panel(0)->trajectory();
        QCOMPARE(flow.info(0).plan.process, ProcessKind::Flow);
        for (int c : {999, 900, 700, 500, 300, 150, 60, 20, 5, 0}) {
            w->timeline()->seek(c);
            w->refreshViews();
            // VP: the state when the cursor's t was reached, the last step with t >= c (identity axis);
            // above the first timestep, step 0 (x_T).
            const int k0 = w->panel(0)->displayedStep();
            QVERIFY(k0 >= 0 && k0 < vp.plannedSteps());
            QVERIFY(vp.info(k0).plan.t >= c || k0 == 0);
            if (k0 + 1 < vp.plannedSteps())
                QVERIFY(vp.info(k0 + 1).plan.t < c);
            // Flow: the same rule at equal SNR. Its shown step is at least as noisy as the cursor,
            // and its next step is past it (one axis index of rounding either way).
            const int k = w->panel(1)->displayedStep();
            QVERIFY(k >= 0 && k < flow.plannedSteps());
            const double here = vpPositionOf(flowLogSnr(flow.info(k).plan.level), table);
            QVERIFY2(here >= c - 1.0 || k == 0, qPrintable(QStringLiteral("cursor %1: flow step at VP-equivalent t %2").arg(c).arg(here)));
            if (k + 1 < flow.plannedSteps()) {
                const double next = vpPositionOf(flowLogSnr(flow.info(k + 1).plan.level), table);
                QVERIFY2(next < c + 1.0, qPrintable(QStringLiteral("cursor %1: the flow step after it is at %2").arg(c).arg(next)));
            }
            // What a teacher reads: s on the flow panel, t on the VP one.
            const QString flowLevel = QStringLiteral("s = %1").arg(flow.info(k).plan.level, 0, 'f', 3);
            QVERIFY2(w->panel(1)->captionText().contains(flowLevel), qPrintable(w->panel(1)->captionText()));
            QVERIFY2(w->panel(0)->captionText().contains(QStringLiteral("t = ")), qPrintable(w->panel(0)->captionText()));
            QVERIFY(!w->panel(0)->captionText().contains(QStringLiteral("s = ")));
        }
        // The timeline's ticks say both (the axis is DDPM's t; a flow s at the same SNR under it).
        QVERIFY(w->timeline()->axis().mixed);
        QVERIFY(w->timeline()->axis().tickText(500).contains(QStringLiteral("s 0.")));
        QVERIFY(w->plots()->axisTitle().contains(QStringLiteral("flow")));
        // The Reverse step on the flow panel: its terms are the path's (alpha' x0_hat + sigma' eps_hat), with s.
        w->equationView()->setPanel(1);
        w->timeline()->seek(500);
        w->refreshViews();
        const auto& terms = w->equationView()->shownTerms();
        QVERIFY(terms.has_value());
        const PlanStep& ps = flow.info(w->panel(1)->displayedStep()).plan;
        QCOMPARE(terms->coefficient(Quantity::X0Hat), 1.0 - ps.level_prev);  // alpha_s' = 1 - s'
        QCOMPARE(terms->coefficient(Quantity::EpsHat), ps.level_prev);        // sigma_s' = s'
        const QString eq = w->equationView()->equationText();
        QVERIFY2(eq.contains(QStringLiteral("flow path")) && eq.contains(QStringLiteral("s = 0.")), qPrintable(eq));
        QVERIFY2(eq.contains(QStringLiteral("velocity")), qPrintable(eq));
    }

    void forwardTabShowsTheFlowPath()
    {
        auto w = open_main_window(kModels + "/ring8-flow.json");
        ForwardView* f = w->forwardView();
        f->setLinked(false);
        f->setT(249); // s = 0.25
        QCOMPARE(f->levelName(), QStringLiteral("s"));
        const QString text = f->formulaText();
        QVERIFY2(text.contains(QStringLiteral("x<sub>s</sub> = (1 &minus; s) x<sub>0</sub> + s &epsilon;")), qPrintable(text));
        // Its numbers: alpha_s = 1 - s = 0.75, sigma_s = s = 0.25, s = 0.250.
        QVERIFY2(text.contains(QStringLiteral("<b>0.750</b> x<sub>0</sub> + <b>0.250</b> &epsilon;")), qPrintable(text));
        QVERIFY(text.contains(QStringLiteral("s = 0.250")));
        QVERIFY(!text.contains(QStringLiteral("&radic;")));
        // A flow-only window: the timeline says s.
        QVERIFY(w->timeline()->axis().flow());
        QCOMPARE(w->plots()->axisTitle(), QStringLiteral("s (noise level)"));
        // A VP card keeps the VP formula.
        auto v = open_main_window(kModels + "/ring8.json");
        QCOMPARE(v->forwardView()->levelName(), QStringLiteral("t"));
        QVERIFY(v->forwardView()->formulaText().contains(QStringLiteral("&radic;")));
        QCOMPARE(v->plots()->axisTitle(), QStringLiteral("t (noise level)"));
    }
};

QTEST_MAIN(TestNoiseAxis)
#include "tst_noise_axis.moc"
