// The 2-D views and the plots as a room sees them (issue 19): the scatter uses its
// panel's area with equal units on both axes and its coverage legend fits beside
// the data; a clicked point is followed in every panel (one index in the run
// document); the path menu speaks English; right-click saves one plot of the grid
// (its own CSV columns, its own picture); tick labels and legends keep apart in a
// small window with three panels; the Compare view's legend sits beside its axes,
// its axis names the metric in words, and its cache path names the program once.
#include "qcustomplot_test.hpp"
#include "ui_test_util.hpp"

#include "compare_dialog.hpp"
#include "equation_view.hpp"
#include "export_plot.hpp"
#include "plots_widget.hpp"
#include "run_document.hpp"
#include "sampler_panel.hpp"
#include "scatter_view.hpp"

#include <QComboBox>
#include <QContextMenuEvent>
#include <QFontMetricsF>
#include <QImage>
#include <QMenu>
#include <QSet>
#include <QTemporaryDir>
#include <QTimer>

#include <cmath>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

/// A pixel of `view` where a sample's point is (found by probing a grid of pixels), or (-1, -1).
QPoint pointPixel(const ScatterView* view, int* sample)
{
    const QRect plot = view->plotRect().toRect();
    for (int y = plot.top(); y < plot.bottom(); y += 3)
        for (int x = plot.left(); x < plot.right(); x += 3)
            if (const int s = view->sampleAt(QPointF(x, y)); s >= 0) {
                *sample = s;
                return {x, y};
            }
    return {-1, -1};
}

/// The texts of the actions of a menu and its submenus.
QStringList actionTexts(const QMenu* menu)
{
    QStringList out;
    for (QAction* a : menu->actions()) {
        out << a->text();
        if (a->menu())
            out << actionTexts(a->menu());
    }
    return out;
}

/// Where adjacent tick labels of `axis` overlap or touch (their text extents, 2 px apart): empty if none.
QString tickLabelClash(QCPAxis* axis)
{
    const QVector<double> ticks = axis->tickVector();
    const QVector<QString> labels = axis->tickVectorLabels();
    const QFontMetricsF fm(axis->tickLabelFont());
    for (int i = 1; i < ticks.size(); ++i) {
        const double apart = std::abs(axis->coordToPixel(ticks[i]) - axis->coordToPixel(ticks[i - 1]));
        const double need = (fm.horizontalAdvance(labels[i]) + fm.horizontalAdvance(labels[i - 1])) / 2 + 2;
        if (apart < need)
            return QStringLiteral("\"%1\" and \"%2\": %3 px apart, %4 needed").arg(labels[i - 1], labels[i]).arg(apart).arg(need);
    }
    return {};
}

} // namespace

class TestViews2d : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void scatterUsesItsPanelAndItsLegendFits_data()
    {
        QTest::addColumn<QSize>("window");
        QTest::addColumn<int>("panels");
        QTest::newRow("1366x768, two panels") << QSize(1366, 768) << 2;
        QTest::newRow("1366x768, four panels") << QSize(1366, 768) << 4;
        QTest::newRow("1920x1080, three panels") << QSize(1920, 1080) << 3;
    }
    void scatterUsesItsPanelAndItsLegendFits()
    {
        QFETCH(QSize, window);
        QFETCH(int, panels);
        auto w = open_main_window(kModels + "/ring8.json", window);
        while (w->document()->panelCount() < panels)
            w->addPanel();
        for (int i = 0; i < panels; ++i)
            w->panel(i)->setConfig(i == 0 ? cfg("ddpm", 100) : cfg("ddim", 10));
        run_to_end(*w);
        w->refreshViews();
        QApplication::processEvents();
        for (int i = 0; i < panels; ++i) {
            ScatterView* v = w->panel(i)->scatterView();
            QVERIFY(v->isVisible());
            const QRectF all(QPointF(0, 0), QSizeF(v->size()));
            const QRectF plot = v->plotRect(), legend = v->legendRect();
            // The coverage legend is there, outside the plot, inside the view.
            QVERIFY2(!legend.isEmpty(), qPrintable(QStringLiteral("panel %1 has no legend").arg(i + 1)));
            QVERIFY(all.contains(legend));
            QVERIFY(all.contains(plot));
            QVERIFY(!legend.intersects(plot));
            // The plot is all of the view but the legend's strip (a column beside it or a row
            // above it) and a few pixels of margin.
            const bool beside = legend.right() <= plot.left();
            const double strip = beside ? legend.width() * all.height() : legend.height() * all.width();
            QVERIFY2(plot.width() * plot.height() >= 0.85 * (all.width() * all.height() - strip),
                     qPrintable(QStringLiteral("panel %1: plot %2x%3 in a view of %4x%5")
                                    .arg(i + 1)
                                    .arg(plot.width())
                                    .arg(plot.height())
                                    .arg(all.width())
                                    .arg(all.height())));
            // Equal units: the target's extent (a square of the plane) is a square on screen, whole in the plot.
            const QRectF target = v->targetRect();
            QVERIFY(std::abs(target.width() - target.height()) < 1.0);
            QVERIFY(plot.adjusted(-0.5, -0.5, 0.5, 0.5).contains(target));
            QVERIFY(std::abs(target.width() - std::min(plot.width(), plot.height())) < 1.0);
            // The view takes the panel's room below its controls: most of the panel's height.
            QVERIFY2(v->height() >= 0.45 * w->panel(i)->height(),
                     qPrintable(QStringLiteral("view %1 px of a %2 px panel").arg(v->height()).arg(w->panel(i)->height())));
            // Every legend line fits the legend's box (its ring icon included), none is cut.
            const QStringList lines = v->legendLines();
            QCOMPARE(lines.size(), 5);
            QVERIFY(lines.contains(QString::fromUtf8("\u2248 weight")));
            const QFontMetricsF fm(v->legendFont());
            for (int k = 0; k < lines.size(); ++k) {
                const double need = fm.horizontalAdvance(lines[k]) + (k >= 2 ? fm.height() : 0.0);
                QVERIFY2(need <= legend.width() - 4, qPrintable(QStringLiteral("\"%1\": %2 px in %3").arg(lines[k]).arg(need).arg(legend.width())));
            }
            QVERIFY(lines.size() * fm.height() <= legend.height());
        }
    }

    void fieldUnderThePointsIsTheClosedForm()
    {
        // View > Field Under the Points on the single Gaussian N(mu, s^2 I): at level t the
        // arrows are sqrt(ab) E[x_0 | x_t] - x, with E[x_0 | x] = mu + sqrt(ab) s^2 / (ab s^2 + 1 - ab)
        // (x - sqrt(ab) mu), ab of the linear schedule computed here.
        auto w = open_main_window(kModels + "/gaussian-2d.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddim", 10));
        w->panel(1)->setConfig(cfg("ddim", 20));
        w->setBatch(64);
        run_to_end(*w);
        QAction* overlay = nullptr;
        for (QAction* a : w->findChildren<QAction*>())
            if (a->objectName() == QLatin1String("fieldOverlayAction"))
                overlay = a;
        QVERIFY(overlay && overlay->isEnabled());
        overlay->trigger();
        for (QAction* a : w->findChildren<QAction*>())
            if (a->objectName() == QLatin1String("toStartAction"))
                a->trigger(); // the first step: t = 900 (DDIM 10, leading) and 950 (DDIM 20)
        const int wantT[2] = {900, 950};
        for (int p = 0; p < 2; ++p) {
            ScatterView* view = w->panel(p)->scatterView();
            QTRY_VERIFY_WITH_TIMEOUT(view->fieldArrows() && view->fieldArrows()->request.level == wantT[p], 30000);
            const auto f = view->fieldArrows();
            QCOMPARE(f->points.size(), std::size_t(2 * f->request.n * f->request.n));
            double ab = 1;
            for (int i = 0; i <= wantT[p]; ++i)
                ab *= 1 - (1e-4 + (0.02 - 1e-4) * i / 999.0);
            const double mu[2] = {1.0, -0.5}, s2 = 0.25, a = std::sqrt(ab);
            double worst = 0;
            for (std::size_t i = 0; i < f->points.size(); ++i) {
                const double x = f->points[i], m = mu[i % 2];
                const double x0 = m + a * s2 / (ab * s2 + 1 - ab) * (x - a * m);
                worst = std::max(worst, std::abs(a * x0 - x - f->arrows[i]));
            }
            QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
        }
        // Field minus panel 1's: panel 2 samples the same card, so its difference is zero
        // at every grid point, at panel 2's own level; panel 1 keeps its own field.
        QAction* minus = nullptr;
        for (QAction* a : w->findChildren<QAction*>())
            if (a->objectName() == QLatin1String("fieldDifferenceAction"))
                minus = a;
        QVERIFY(minus && minus->isEnabled());
        minus->trigger();
        ScatterView* second = w->panel(1)->scatterView();
        QTRY_VERIFY_WITH_TIMEOUT(second->fieldArrows() && !second->fieldArrows()->request.minusCard.isEmpty(), 30000);
        QCOMPARE(second->fieldArrows()->request.level, 950.0);
        for (float v : second->fieldArrows()->arrows)
            QCOMPARE(v, 0.0f);
        QVERIFY(w->panel(0)->scatterView()->fieldArrows()->request.minusCard.isEmpty());
        minus->trigger();
        overlay->trigger(); // off: no arrows, and no difference to take
        QVERIFY(!w->panel(0)->scatterView()->fieldArrows());
        QVERIFY(!minus->isEnabled());
    }

    void followedSampleIsOneIndexForEveryPanel()
    {
        auto w = open_main_window(kModels + "/ring8.json", {1366, 768});
        w->panel(0)->setConfig(cfg("ddpm", 100));
        w->panel(1)->setConfig(cfg("ddim", 10));
        run_to_end(*w);
        w->refreshViews();
        QApplication::processEvents();
        RunDocument* doc = w->document();
        QSignalSpy changed(doc, &RunDocument::followedSampleChanged);
        // A click on a point of panel 2 follows that sample in both panels.
        ScatterView* second = w->panel(1)->scatterView();
        int sample = -1;
        const QPoint at = pointPixel(second, &sample);
        QVERIFY(sample >= 0);
        QTest::mouseClick(second, Qt::LeftButton, {}, at);
        QCOMPARE(doc->followedSample(), sample);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(w->equationView()->sample(), sample); // the Reverse step shows the followed sample
        for (int i = 0; i < 2; ++i)
            QCOMPARE(w->panel(i)->scatterView()->highlighted(), sample);
        // A panel added now follows it too (all panels start from the same x_T).
        w->addPanel();
        QCOMPARE(w->panel(2)->scatterView()->highlighted(), sample);
        // The document is the one place: setting it there moves every panel.
        doc->setFollowedSample(7);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(w->panel(i)->scatterView()->highlighted(), 7);
        QCOMPARE(w->equationView()->sample(), 7);
        // A click beside every point stops following, everywhere.
        ScatterView* first = w->panel(0)->scatterView();
        const QPoint corner = first->plotRect().topRight().toPoint() + QPoint(-2, 2);
        QCOMPARE(first->sampleAt(corner), -1);
        QTest::mouseClick(first, Qt::LeftButton, {}, corner);
        QCOMPARE(doc->followedSample(), -1);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(w->panel(i)->scatterView()->highlighted(), -1);
    }

    void pathMenuSpeaksEnglish()
    {
        ScatterView view;
        view.resize(400, 300);
        view.show();
        QStringList texts;
        QTimer::singleShot(0, [&] {
            if (auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget())) {
                texts = actionTexts(menu);
                menu->close();
            }
        });
        QContextMenuEvent e(QContextMenuEvent::Mouse, QPoint(10, 10), view.mapToGlobal(QPoint(10, 10)));
        QApplication::sendEvent(&view, &e);
        QVERIFY2(texts.contains("10 points") && texts.contains("100 points"), qPrintable(texts.join(" | ")));
        for (const QString& t : texts)
            QVERIFY2(!t.contains("(s)"), qPrintable(t));
    }

    void onePlotSavesItsOwnCsv()
    {
        // Two panels of the same settings: the columns still differ, and say which plot they are.
        PlotsWidget plots;
        plots.resize(1200, 300);
        plots.show();
        plots.setSchedule({0.9, 0.5, 0.1}, {0.1, 0.4, 0.8}, {2.2, 0.0, -2.2});
        plots.setMetricKind(PlotsWidget::MetricKind::Mixture, 8);
        plots.setPanelCount(2);
        plots.setPanelNames({"DDIM, 2 steps", "DDIM, 2 steps"}, {"DDIM 2 (η 0)", "DDIM 2 (η 0)"});
        plots.beginPanel(0, {2, 0});
        plots.beginPanel(1, {2, 0});
        for (int p = 0; p < 2; ++p)
            for (int t : {2, 0}) {
                StepStats s;
                s.xt_std = 10 * p + t + 0.5; // a value per panel and t, to find in the file
                s.eps_norm = s.x0_change = s.x0_batch_std = 1.0;
                plots.addStats(p, t, s);
                metrics::StepMetrics m;
                m.vendi = 100 * p + t + 0.25;
                m.components_covered = 8;
                m.occupancy_entropy = 2.0;
                plots.addMetrics(p, t, m);
            }
        QSet<QString> allColumns;
        for (int plot = 0; plot <= PlotsWidget::kSchedulePlot; ++plot) {
            const QStringList lines = plots.plotCsv(plot).split('\n', Qt::SkipEmptyParts);
            QVERIFY(lines.size() >= 3);
            const QStringList head = lines.first().split(',');
            QCOMPARE(head.first(), QString("t"));
            const int curves = plot == PlotsWidget::kSchedulePlot ? 3 + 2 : 2; // the schedule's 3, or one per panel
            QCOMPARE(head.size(), 1 + curves);
            QCOMPARE(QSet<QString>(head.begin(), head.end()).size(), head.size()); // distinct
            for (int c = 1; c < head.size(); ++c) {
                QVERIFY2(!allColumns.contains(head[c]), qPrintable(head[c])); // distinct across plots too
                allColumns.insert(head[c]);
            }
        }
        // The std of x_t plot: its own values, by panel, named after the statistic.
        const QStringList xt = plots.plotCsv(0).split('\n', Qt::SkipEmptyParts);
        QVERIFY(xt[0].contains("xt_std"));
        QCOMPARE(xt[1], QString("2,2.5,12.5"));
        QCOMPARE(xt[2], QString("0,0.5,10.5"));
        const QStringList vendi = plots.plotCsv(5).split('\n', Qt::SkipEmptyParts);
        QVERIFY(vendi[0].contains("vendi") && vendi[0].contains("panel 1") && vendi[0].contains("panel 2"));
        QCOMPARE(vendi[1], QString("2,2.25,102.25"));
        // The whole grid's CSV (Export > All Plots) has distinct columns as well.
        const QString grid = plotCsv(plots.statsPlot()).section('\n', 0, 0);
        const QStringList gridHead = grid.split(',');
        QCOMPARE(gridHead.size(), 1 + 2 * (PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots));
        QCOMPARE(QSet<QString>(gridHead.begin(), gridHead.end()).size(), gridHead.size());
        // Right-click "Save Data as CSV" writes that text.
        QTemporaryDir dir;
        QVERIFY(plots.savePlot(5, dir.filePath("vendi.csv")));
        QFile f(dir.filePath("vendi.csv"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(f.readAll()), plots.plotCsv(5));
    }

    void onePlotSavesItsOwnPicture()
    {
        PlotsWidget plots;
        plots.resize(1000, 300);
        plots.show();
        plots.setSchedule({0.9, 0.5, 0.1}, {0.1, 0.4, 0.8}, {2.2, 0.0, -2.2});
        plots.setPanelCount(1);
        QVERIFY(QTest::qWaitForWindowExposed(&plots));
        const int shown = plots.shownSlotCount();
        QTemporaryDir dir;
        // The picture is the requested size, not the grid's.
        QVERIFY(plots.savePlot(5, dir.filePath("vendi.png"), QSize(600, 380)));
        QCOMPARE(QImage(dir.filePath("vendi.png")).size(), QSize(600, 380));
        // And it holds that one plot: its title, no other's (SVG keeps the texts).
        QVERIFY(plots.savePlot(5, dir.filePath("vendi.svg"), QSize(600, 380)));
        QFile svg(dir.filePath("vendi.svg"));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(svg.readAll());
        QVERIFY(text.contains(plots.slotTitle(5)));
        for (int other : {0, 1, 4})
            QVERIFY2(!text.contains(plots.slotTitle(other)), qPrintable(plots.slotTitle(other)));
        // The grid on screen is laid out as before.
        QCOMPARE(plots.shownSlotCount(), shown);
        // Vendi's title says which way is better.
        QVERIFY(plots.slotTitle(5).contains("higher"));
    }

    void smallWindowKeepsTicksAndLegendsApart()
    {
        // Three panels' legends in a plot grid as narrow as the window's minimum.
        PlotsWidget plots;
        plots.resize(830, 240);
        plots.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plots));
        std::vector<double> ab(1000), beta(1000), snr(1000);
        for (int t = 0; t < 1000; ++t) {
            beta[std::size_t(t)] = 1e-4 + (0.02 - 1e-4) * t / 999.0;
            ab[std::size_t(t)] = (t ? ab[std::size_t(t - 1)] : 1.0) * (1 - beta[std::size_t(t)]);
            snr[std::size_t(t)] = std::log(ab[std::size_t(t)] / (1 - ab[std::size_t(t)]));
        }
        plots.setSchedule(ab, beta, snr);
        plots.setPanelCount(3);
        plots.setPanelNames({"a", "b", "c"}, {"DDPM 1000", "DDIM 50 (η 0)", "DDIM 20 (η 0)"});
        for (const QSize size : {QSize(830, 240), QSize(600, 240), QSize(1366, 260)}) {
            plots.resize(size);
            QTest::qWait(150); // the coalesced replot after the resize
            plots.schedulePlot()->replot();
            plots.statsPlot()->replot();
            const QString where = QStringLiteral("%1x%2: ").arg(size.width()).arg(size.height());
            const QString clash = tickLabelClash(plots.schedulePlot()->xAxis);
            QVERIFY2(clash.isEmpty(), qPrintable(where + "schedule t axis: " + clash));
            for (QCPAxisRect* r : plots.statsPlot()->axisRects()) {
                const QString c = tickLabelClash(r->axis(QCPAxis::atBottom));
                QVERIFY2(c.isEmpty(), qPrintable(where + "t axis: " + c));
            }
            // Legend entries whole and apart, titles within their column.
            QList<QCPLegend*> legends{plots.schedulePlot()->legend};
            for (QCPLayoutElement* e : plots.statsPlot()->plotLayout()->elements(true))
                if (auto* l = qobject_cast<QCPLegend*>(e); l && l->visible())
                    legends << l;
            for (QCPLegend* l : legends) {
                QList<QRect> items;
                for (int i = 0; i < l->itemCount(); ++i) {
                    QCPAbstractLegendItem* item = l->item(i);
                    if (!item)
                        continue; // an empty cell of the last row
                    QVERIFY2(item->outerRect().width() >= item->minimumOuterSizeHint().width() - 1 &&
                                 item->outerRect().height() >= item->minimumOuterSizeHint().height() - 1,
                             qPrintable(where + "an entry is squeezed"));
                    for (const QRect& other : items)
                        QVERIFY2(!other.intersects(item->outerRect()), qPrintable(where + "two entries overlap"));
                    items << item->outerRect();
                }
            }
            for (QCPLayoutElement* e : plots.statsPlot()->plotLayout()->elements(true))
                if (auto* title = qobject_cast<QCPTextElement*>(e); title && title->visible())
                    for (const QString& line : title->text().split('\n'))
                        QVERIFY2(QFontMetricsF(title->font()).horizontalAdvance(line) <= title->outerRect().width() + 1,
                                 qPrintable(where + line));
        }
    }

    void compareViewLegendAxisAndCache()
    {
        QCoreApplication::setOrganizationName("NoiseTrail");
        QCoreApplication::setApplicationName("NoiseTrail");
        CompareDialog d(kModels + "/ring8.json");
        d.show();
        // The cache folder names the program once.
        QVERIFY2(!d.cacheFile().contains("NoiseTrail/NoiseTrail"), qPrintable(d.cacheFile()));
        QVERIFY2(d.cacheFile().startsWith(QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation) + "/NoiseTrail/"),
                 qPrintable(d.cacheFile()));
        // The committed grid shows at once; every metric's axis is its title in words.
        QTRY_VERIFY_WITH_TIMEOUT(d.grid() && d.metricCombo()->count() > 1, 20000);
        QCustomPlot* plot = d.plot();
        for (int i = 0; i < d.metricCombo()->count(); ++i) {
            d.metricCombo()->setCurrentIndex(i);
            QCOMPARE(plot->yAxis->label(), d.metricCombo()->itemText(i));
            QVERIFY(plot->yAxis->label() != d.metricCombo()->itemData(i).toString());
        }
        // The legend is beside the axes, so it covers no point (S = 1000 is at the right edge).
        plot->replot();
        QVERIFY(plot->legend->visible());
        QVERIFY(!plot->legend->outerRect().intersects(plot->axisRect()->rect()));
        QCoreApplication::setOrganizationName(QString());
        QCoreApplication::setApplicationName(QString());
    }
};

QTEST_MAIN(TestViews2d)
#include "tst_views2d.moc"
