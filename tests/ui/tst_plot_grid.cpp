// The plot grid under the panels (issue 12): subsampled metrics said in the
// status bar and drawn as points, a legend on every per-panel plot, plots folded
// and unfolded (remembered), tick labels apart at 1366x768, and the panel
// colours' contrast on the light and dark backgrounds (WCAG 2.1 relative
// luminance, computed here).
#include "qcustomplot_test.hpp"
#include "ui_test_util.hpp"

#include "palette.hpp"
#include "plots_widget.hpp"
#include "sampler_panel.hpp"

#include <QAction>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QToolButton>

#include <cmath>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

/// WCAG 2.1 relative luminance of an sRGB colour (its definition of "relative luminance").
double luminance(const QColor& c)
{
    const auto lin = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF());
}

/// WCAG 2.1 contrast ratio (L1 + 0.05) / (L2 + 0.05), lighter over darker.
double contrast(const QColor& a, const QColor& b)
{
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

/// `c` drawn at opacity `alpha` over `bg` (source-over, per channel).
QColor over(const QColor& c, double alpha, const QColor& bg)
{
    const auto mix = [&](double f, double b) { return alpha * f + (1 - alpha) * b; };
    return QColor::fromRgbF(float(mix(c.redF(), bg.redF())), float(mix(c.greenF(), bg.greenF())),
                            float(mix(c.blueF(), bg.blueF())));
}

QCPAxisRect* laidOutRect(PlotsWidget* plots, int slot)
{
    // Slot order is the layout order of the shown plots.
    int k = 0;
    for (int s = 0; s < slot; ++s)
        k += plots->slotShown(s) ? 1 : 0;
    return plots->statsPlot()->axisRects().value(k);
}

} // namespace

class TestPlotGrid : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void subsampledMetricsAreSaidAndDrawnAsPoints()
    {
        // Two moons (no mixture): the worker measures a 1000-step panel on every
        // 20th step (kMetricPoints = 50) and on its last, a 50-step one on every step.
        auto w = open_main_window(kModels + "/two-moons.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50, 0.0));
        w->setBatch(64);
        auto* note = w->statusBar()->findChild<QLabel*>("metricsNote");
        QVERIFY(note);
        QVERIFY(!note->isVisibleTo(w.get())); // a plan alone is not a run shown
        run_to_end(*w);
        PlotsWidget* plots = w->plots();
        // Steps 0, 20, ..., 980 (50 of them) and the last, 999.
        const int k = 1000 / 50, points = 1000 / k + ((1000 - 1) % k != 0 ? 1 : 0);
        QCOMPARE(points, 51);
        QCOMPARE(plots->metricSampling(0).stride, k);
        QCOMPARE(plots->metricSampling(0).points, points);
        QCOMPARE(plots->metricSampling(1).stride, 1);
        QVERIFY(plots->metricsSubsampled(0));
        QVERIFY(!plots->metricsSubsampled(1));
        for (int slot = PlotsWidget::kStatSlots; slot < PlotsWidget::kStatSlots + 2; ++slot) {
            QCOMPARE(plots->pointCount(slot, 0), points);
            QCOMPARE(plots->pointCount(slot, 1), 50);
        }
        // The status bar says it, in words.
        QVERIFY(note->isVisibleTo(w.get()));
        QVERIFY2(note->text().contains("every 20th step of panel 1, DDPM 1000 (51 points)"), qPrintable(note->text()));
        QVERIFY2(!note->text().contains("panel 2"), qPrintable(note->text()));
        // The subsampled panel's metric curves are points, not lines; its step
        // statistics (every step) and the other panel's metrics stay lines.
        const auto& graphs = plots->statsPlot();
        int points0 = 0, lines = 0;
        for (int i = 0; i < graphs->graphCount(); ++i) {
            QCPGraph* g = graphs->graph(i);
            if (!g->visible() || g->dataCount() == 0)
                continue;
            const bool isPoints = g->lineStyle() == QCPGraph::lsNone && g->scatterStyle().shape() != QCPScatterStyle::ssNone;
            if (g->dataCount() == points)
                points0 += isPoints ? 1 : 0;
            else
                lines += isPoints ? 0 : 1;
        }
        QCOMPARE(points0, 2);    // pairwise distance and Vendi of panel 1 (no mixture, no classifier)
        QCOMPARE(lines, 4 + 4 + 2); // panel 1's and 2's statistics, panel 2's metrics
        // Hover between two measured steps names the step shown and says why.
        QWidget* stats = plots->statsPlot();
        const QPoint at = plots->statsPixel(PlotsWidget::kStatSlots, 510);
        QMouseEvent move(QEvent::MouseMove, QPointF(at), QPointF(stats->mapToGlobal(at)), Qt::NoButton, Qt::NoButton,
                         Qt::NoModifier);
        QApplication::sendEvent(stats, &move);
        const QStringList lines2 = plots->hoverText().split('\n');
        QVERIFY2(lines2.size() == 3, qPrintable(plots->hoverText()));
        // Panel 1's measured steps are t = 999 - 20 j: t = 519 or 499 is nearest to 510.
        QVERIFY2(lines2[1].contains("(t = 519)") || lines2[1].contains("(t = 499)"), qPrintable(lines2[1]));
        QVERIFY2(lines2[1].contains("every 20th step"), qPrintable(lines2[1]));
        QVERIFY2(!lines2[2].contains("every"), qPrintable(lines2[2]));
        // Metrics off: nothing to say.
        w->setMetricsEnabled(false);
        QVERIFY(plots->metricsNote().isEmpty());
        QVERIFY(!note->isVisibleTo(w.get()));
    }

    void mixtureCardsMeasureEveryStep()
    {
        // ring8 (a mixture): the scatter's coverage overlay needs every frame measured.
        auto w = open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        QCOMPARE(w->plots()->metricSampling(0).stride, 1);
        QCOMPARE(w->plots()->metricSampling(0).points, 1000);
        QVERIFY(!w->plots()->metricsSubsampled(0));
    }

    void everyPlotHasALegendWithEachPanel()
    {
        auto w = open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 20));
        w->panel(1)->setConfig(cfg("ddim", 10, 0.5));
        w->addPanel();
        w->panel(2)->setConfig(cfg("heun", 10));
        const QStringList want{"DDPM 20", "DDIM 10 (η 0.5)", "Heun 10"};
        PlotsWidget* plots = w->plots();
        QCOMPARE(plots->shownSlotCount(), PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots);
        for (int slot = 0; slot < PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots; ++slot) {
            QVERIFY2(plots->legendShown(slot), qPrintable(plots->slotTitle(slot)));
            QCOMPARE(plots->legendEntries(slot), want);
            const QList<QColor> colors = plots->legendColors(slot);
            QCOMPARE(colors.size(), 3);
            for (int p = 0; p < 3; ++p)
                QCOMPARE(colors[p], panelColor(p));
        }
        // The schedule: its three curves, then each panel's visited steps.
        QVERIFY(plots->legendShown(PlotsWidget::kSchedulePlot));
        const QStringList schedule = plots->legendEntries(PlotsWidget::kSchedulePlot);
        QCOMPARE(schedule.mid(schedule.size() - 3), want);
        // Presentation: the legends grow with everything else.
        QCPLegend* legend = nullptr;
        for (auto* e : plots->statsPlot()->plotLayout()->elements(true))
            if ((legend = qobject_cast<QCPLegend*>(e)))
                break;
        QVERIFY(legend);
        const double pt = legend->font().pointSizeF();
        plots->setScale(2.0);
        QCOMPARE(legend->font().pointSizeF(), 2.0 * pt);
        plots->setScale(1.0);
        QCOMPARE(legend->font().pointSizeF(), pt);
    }

    void plotsFoldGiveTheirRoomAndAreRemembered()
    {
        QCoreApplication::setOrganizationName("NoiseTrailPlotGridTest");
        QSettings().clear();
        {
            PlotsWidget plots;
            plots.setMetricKind(PlotsWidget::MetricKind::Mixture, 8);
            plots.setPanelCount(2);
            plots.resize(1366, 260);
            plots.show();
            plots.restoreFolded();
            QCOMPARE(plots.shownSlotCount(), 8);
            plots.statsPlot()->replot();
            const QRect before = laidOutRect(&plots, 0)->rect();
            const int statsWidth = plots.statsPlot()->width();
            // Fold four plots from the menu: the other four share one row, twice as tall.
            QList<QAction*> actions = plots.foldActions();
            QCOMPARE(actions.size(), PlotsWidget::kSchedulePlot + 1);
            for (int slot : {1, 2, 3, 5})
                actions[slot]->trigger();
            for (int slot : {1, 2, 3, 5}) {
                QVERIFY(plots.folded(slot));
                QVERIFY(!plots.slotShown(slot));
                QVERIFY(!actions[slot]->isChecked());
            }
            QCOMPARE(plots.shownSlotCount(), 4);
            plots.statsPlot()->replot();
            const QRect after = laidOutRect(&plots, 0)->rect();
            QVERIFY2(after.height() > 1.6 * before.height(),
                     qPrintable(QStringLiteral("%1 -> %2").arg(before.height()).arg(after.height())));
            // Fold the schedule: the statistics take the whole width.
            actions[PlotsWidget::kSchedulePlot]->trigger();
            QVERIFY(!plots.schedulePlot()->isVisible());
            QTRY_VERIFY(plots.statsPlot()->width() > 1.4 * statsWidth);
            QStringList keys = QSettings().value("plots/folded").toStringList();
            keys.sort();
            QCOMPARE(keys, (QStringList{"eps_norm", "schedule", "vendi", "x0_batch_std", "x0_change"}));
            // Unfold one again.
            actions[2]->trigger();
            QVERIFY(plots.slotShown(2));
            QCOMPARE(plots.shownSlotCount(), 5);
        }
        {
            // A new window reads them back.
            PlotsWidget plots;
            plots.setMetricKind(PlotsWidget::MetricKind::Mixture, 8);
            plots.restoreFolded();
            for (int plot = 0; plot <= PlotsWidget::kSchedulePlot; ++plot)
                QCOMPARE(plots.folded(plot), plot == 1 || plot == 3 || plot == 5 || plot == PlotsWidget::kSchedulePlot);
            QCOMPARE(plots.foldActions()[3]->isChecked(), false);
            // Everything folded: the tab says where the plots went.
            plots.show();
            for (int plot = 0; plot <= PlotsWidget::kSchedulePlot; ++plot)
                plots.setFolded(plot, true);
            QCOMPARE(plots.shownSlotCount(), 0);
            QVERIFY(plots.findChild<QLabel*>("allPlotsFolded")->isVisible());
            // "Show all plots" unfolds everything and forgets it.
            QMenu* menu = plots.plotsButton()->menu();
            QVERIFY(menu);
            menu->actions().last()->trigger();
            for (int plot = 0; plot <= PlotsWidget::kSchedulePlot; ++plot)
                QVERIFY(!plots.folded(plot));
            QVERIFY(QSettings().value("plots/folded").toStringList().isEmpty());
        }
        QSettings().clear();
    }

    void windowOffersTheFoldMenu()
    {
        auto w = open_main_window(kModels + "/ring8.json", {1366, 768});
        // View > Plots and the button at the tab bar's corner hold the same actions.
        QAction* vendi = w->findChild<QAction*>("foldPlot_vendi");
        QVERIFY(vendi);
        QVERIFY(w->plots()->plotsButton()->isVisibleTo(w.get()));
        QVERIFY(w->plots()->plotsButton()->menu()->actions().contains(vendi));
        bool inView = false;
        for (QMenu* m : w->findChildren<QMenu*>())
            if (m->title().remove('&') == "Plots" && m->actions().contains(vendi))
                inView = true;
        QVERIFY(inView);
        vendi->trigger();
        QVERIFY(!w->plots()->slotShown(PlotsWidget::kStatSlots + 1));
        vendi->trigger();
        QVERIFY(w->plots()->slotShown(PlotsWidget::kStatSlots + 1));
        // Plots that do not apply cannot be unfolded: metrics off disables theirs.
        w->setMetricsEnabled(false);
        QVERIFY(!vendi->isEnabled());
        QVERIFY(w->findChild<QAction*>("foldPlot_xt_std")->isEnabled());
    }

    void tickLabelsDoNotOverlapAt1366x768()
    {
        // (Presentation mode gives the plots' room to the panels: no plots to check there.)
        // Two panels at both sizes, and four (two legend rows) at 1366x768.
        for (const auto& [size, panels] : {std::pair{QSize(1366, 768), 2}, std::pair{QSize(1920, 1080), 2},
                                           std::pair{QSize(1366, 768), 4}}) {
            auto w = open_main_window(kModels + "/ring8.json", size);
            w->setBatch(64);
            while (w->panelCount() < panels)
                w->addPanel();
            w->panel(0)->setConfig(cfg("ddpm", 50));
            run_to_end(*w);
            QTest::qWait(120); // the coalesced replot
            w->plots()->statsPlot()->replot();
            w->plots()->schedulePlot()->replot();
            QList<QCPAxisRect*> rects = w->plots()->statsPlot()->axisRects();
            rects << w->plots()->schedulePlot()->axisRect();
            QCOMPARE(rects.size(), 9);
            for (QCPAxisRect* r : rects) {
                QCPAxis* bottom = r->axis(QCPAxis::atBottom);
                const QFontMetricsF fm(bottom->tickLabelFont());
                // Every visible value axis (the schedule has three).
                for (QCPAxis* left : r->axes(QCPAxis::atLeft | QCPAxis::atRight)) {
                    if (!left->visible() || !left->tickLabels())
                        continue;
                    const QVector<double> ys = left->tickVector();
                    for (int i = 1; i < ys.size(); ++i)
                        QVERIFY2(std::abs(left->coordToPixel(ys[i]) - left->coordToPixel(ys[i - 1])) >= fm.height(),
                             qPrintable(QStringLiteral("%1 px wide: y ticks %2, %3 in a %4 px plot")
                                            .arg(size.width())
                                            .arg(ys[i - 1])
                                            .arg(ys[i])
                                            .arg(r->height())));
                }
                const QVector<double> xs = bottom->tickVector();
                const QVector<QString> labels = bottom->tickVectorLabels();
                for (int i = 1; i < xs.size(); ++i) {
                    const double half = (fm.horizontalAdvance(labels[i]) + fm.horizontalAdvance(labels[i - 1])) / 2;
                    QVERIFY2(std::abs(bottom->coordToPixel(xs[i]) - bottom->coordToPixel(xs[i - 1])) > half,
                             qPrintable(QStringLiteral("%1 px wide: t ticks %2, %3").arg(size.width()).arg(xs[i - 1]).arg(xs[i])));
                }
            }
        }
    }

    void panelColoursHaveContrastOnLightAndDark()
    {
        // The backgrounds plots and the 2-D scatter draw on: the light style's Base and --dark's.
        const QColor light = QApplication::style()->standardPalette().color(QPalette::Base);
        const QColor dark = darkPalette().color(QPalette::Base);
        QVERIFY(!isDark(QApplication::style()->standardPalette()));
        QVERIFY(isDark(darkPalette()));
        for (int p = 0; p < 4; ++p) {
            for (const auto& [bg, onDark] : {std::pair{light, false}, std::pair{dark, true}}) {
                const QColor c = panelColor(p, onDark);
                // Curves, points and swatches: the colour itself.
                QVERIFY2(contrast(c, bg) >= 3.0, qPrintable(QStringLiteral("panel %1 on %2: %3")
                                                                .arg(p + 1)
                                                                .arg(bg.name())
                                                                .arg(contrast(c, bg))));
                // Paths: one path at its opacity over the background, few and many paths.
                for (int paths : {25, 500}) {
                    const QColor path = over(c, pathAlpha(paths), bg);
                    QVERIFY2(contrast(path, bg) >= 3.0, qPrintable(QStringLiteral("panel %1 path (%2) on %3: %4")
                                                                       .arg(p + 1)
                                                                       .arg(paths)
                                                                       .arg(bg.name())
                                                                       .arg(contrast(path, bg))));
                }
            }
            // The four stay distinct from each other.
            for (int q = 0; q < p; ++q)
                for (bool onDark : {false, true})
                    QVERIFY(panelColor(p, onDark) != panelColor(q, onDark));
        }
        // The known failures this guards against: Okabe-Ito orange on white, blue on the dark base.
        QVERIFY(contrast(QColor(230, 159, 0), light) < 3.0);
        QVERIFY(contrast(over(QColor(0, 114, 178), 0.55, dark), dark) < 3.0);
    }
};

QTEST_MAIN(TestPlotGrid)
#include "tst_plot_grid.moc"
