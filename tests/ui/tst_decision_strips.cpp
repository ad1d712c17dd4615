// Decision time in the main views (issue 13, point 4), offscreen: with
// View > Decision Time on, a 2-D mixture card's paths take the colour of the
// component each sample's x0_hat is assigned to, and the digit grid shows a
// strip under each sample with its class at every measured step, following
// the timeline's cursor. The truth is independent of the views: the nearest
// mixture mean read from the card's JSON, the classifier run by the test.
#include "decision_strip.hpp"
#include "image_grid_view.hpp"
#include "sampler_panel.hpp"
#include "scatter_view.hpp"
#include "timeline_bar.hpp"
#include "timeline_mapping.hpp"
#include "ui_test_util.hpp"

#include "noisetrail/classifier.hpp"

#include <QAction>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

/// The card's component means, straight from its JSON.
std::vector<QPointF> cardMeans(const QString& card)
{
    QFile f(card);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QJsonArray m = QJsonDocument::fromJson(f.readAll()).object().value("mixture").toObject().value("means").toArray();
    std::vector<QPointF> out;
    for (const auto& v : m)
        out.emplace_back(v.toArray().at(0).toDouble(), v.toArray().at(1).toDouble());
    return out;
}

} // namespace

class TestDecisionStrips : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void mixturePathsEndInTheComponentOfTheirSample()
    {
        const QString card = kModels + "/ring8.json";
        const std::vector<QPointF> means = cardMeans(card);
        QCOMPARE(int(means.size()), 8);
        auto w = open_main_window(card);
        auto* act = w->findChild<QAction*>("decisionAction");
        QVERIFY(act && act->isCheckable() && !act->isChecked());
        w->panel(0)->setConfig(cfg("ddpm", 50));
        w->panel(1)->setConfig(cfg("ddim", 20));
        w->setBatch(64);
        act->setChecked(true);
        run_to_end(*w);
        for (int p = 0; p < 2; ++p) {
            ScatterView* view = w->panel(p)->scatterView();
            QVERIFY(view->colorByComponent());
            const Trajectory& tr = w->panel(p)->trajectory();
            const int S = tr.size();
            QCOMPARE(S, tr.plannedSteps());
            std::vector<float> x0;
            tr.decode(S, Field::Xt, x0); // the final samples
            for (int b = 0; b < tr.batch(); ++b) {
                // The component the final x_0 lies in: the nearest mean (equal stds and weights).
                int truth = 0;
                for (int k = 1; k < 8; ++k)
                    if (std::hypot(x0[2 * b] - means[k].x(), x0[2 * b + 1] - means[k].y()) <
                        std::hypot(x0[2 * b] - means[truth].x(), x0[2 * b + 1] - means[truth].y()))
                        truth = k;
                QCOMPARE(view->pathColor(b, S - 1), classColor(truth)); // the last step's colour
                QCOMPARE(view->pathColor(b, S), classColor(truth));     // the final point's
            }
            // Distinct components get distinct colours, and the panel's own colour is gone.
            QVERIFY(classColor(0) != classColor(1));
        }
        // Off again: the panel's colour.
        act->setChecked(false);
        QVERIFY(!w->panel(0)->scatterView()->colorByComponent());
    }

    void digitStripsFollowTheTimeline()
    {
        auto w = open_main_window(kModels + "/mnist-unet.json");
        w->panel(0)->setConfig(cfg("ddim", 10));
        w->panel(1)->setConfig(cfg("ddim", 5));
        w->setBatch(6);
        auto* act = w->findChild<QAction*>("decisionAction");
        QVERIFY(act);
        run_to_end(*w);
        ImageGridView* grid = w->panel(0)->imageView();
        QVERIFY(grid->stripRect(0).isEmpty()); // off by default
        act->setChecked(true);
        QVERIFY(grid->showStrips());
        QCOMPARE(int(grid->strips().size()), 6);
        QVERIFY(!grid->stripRect(0).isEmpty());
        QVERIFY(grid->stripRect(0).top() > grid->cellRect(0).bottom()); // under the sample

        // At the final samples: each strip reaches the end, in the class the
        // classifier gives the final x_0.
        const Trajectory& tr = w->panel(0)->trajectory();
        std::vector<float> x0;
        tr.decode(tr.size(), Field::Xt, x0);
        const auto clf = Classifier::load((kModels + "/mnist-classifier.json").toStdString());
        const std::vector<int> classes = clf->predict(x0, tr.batch());
        grid->resize(600, 400);
        const QImage shot = grid->grab().toImage();
        TimelineMapping map;
        map.trainSteps = w->model()->trainSteps();
        for (int b = 0; b < 6; ++b) {
            const ClassStrip& s = grid->strips()[std::size_t(b)];
            QVERIFY(!s.segments.empty());
            QCOMPARE(s.segments.front().from, map.pixelOfT(tr.timesteps()[0])); // from the first step
            QCOMPARE(s.segments.back().to, 1.0);    // to the final samples
            QCOMPARE(s.lastLabel(), classes[std::size_t(b)]);
            // And that is the colour painted at the strip's right end.
            const QRect r = grid->stripRect(b);
            const QPoint at(r.right() - 1, r.center().y());
            QCOMPARE(QColor(shot.pixel(at * shot.devicePixelRatio())), classColor(classes[std::size_t(b)]));
        }

        // The cursor halfway: the strips stop at the shown step's end.
        w->timeline()->seek(500);
        QTRY_VERIFY(w->panel(0)->displayedStep() < tr.size());
        QCoreApplication::processEvents();
        const int k = w->panel(0)->displayedStep();
        const double end = grid->strips()[0].segments.back().to;
        QVERIFY2(end > 0.0 && end < 1.0, qPrintable(QString::number(end)));
        QCOMPARE(end, map.pixelOfT(tr.timesteps()[std::size_t(k) + 1]));

        // View > Decision Time off: no strips, the images take the room again.
        const int withStrips = grid->cellRect(0).width();
        act->setChecked(false);
        QVERIFY(grid->stripRect(0).isEmpty());
        QVERIFY(grid->cellRect(0).width() >= withStrips);
    }

    void screenshots_data()
    {
        QTest::addColumn<QString>("card");
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("cursor");
        QTest::newRow("digits") << "mnist-unet.json" << "screenshot-decision-strips-digits" << 300;
        QTest::newRow("ring8") << "ring8.json" << "screenshot-decision-paths-ring8" << 150;
    }

    /// With NOISETRAIL_SHOTS=DIR: the window at 1366x768 with decision time on,
    /// DDPM against DDIM, scrubbed to `cursor` (docs/experiments' screenshots).
    void screenshots()
    {
        const QString dir = qEnvironmentVariable("NOISETRAIL_SHOTS");
        if (dir.isEmpty())
            QSKIP("set NOISETRAIL_SHOTS=DIR to write the screenshots");
        QFETCH(QString, card);
        QFETCH(QString, name);
        QFETCH(int, cursor);
        auto w = open_main_window(kModels + "/" + card, {1366, 768});
        const bool image = w->model()->card().is_image();
        w->panel(0)->setConfig(cfg("ddpm", image ? 200 : 1000));
        w->panel(1)->setConfig(cfg("ddim", 50));
        if (image)
            w->setBatch(16);
        w->findChild<QAction*>("decisionAction")->setChecked(true);
        if (image) // x0_hat: what the classifier labels
            w->findChild<QAction*>("field_x0_hat")->trigger();
        run_to_end(*w);
        w->timeline()->seek(cursor);
        QTest::qWait(200);
        QVERIFY(w->grab().save(dir + "/" + name + ".png"));
    }

    void stripsFromLabelsOnThePlan()
    {
        // Plan t = 900, 600, 300, 0 of T = 1000; labels at steps 0 and 2 only.
        const std::vector<int> ts{900, 600, 300, 0};
        const std::vector<int> steps{0, 2}, labels{3, 5};
        TimelineMapping map;
        map.trainSteps = 1000;
        const ClassStrip all = classStrip(ts, steps, labels, 4, 1000);
        QCOMPARE(int(all.segments.size()), 2);
        QCOMPARE(all.segments[0].from, map.pixelOfT(900));
        QCOMPARE(all.segments[0].to, map.pixelOfT(300));
        QCOMPARE(all.segments[1].to, 1.0);
        QCOMPARE(all.lastLabel(), 5);
        // Shown at step 1: only step 0's label, up to step 2's t.
        const ClassStrip early = classStrip(ts, steps, labels, 1, 1000);
        QCOMPARE(int(early.segments.size()), 1);
        QCOMPARE(early.segments[0].to, map.pixelOfT(300));
        // Equal neighbours merge into one segment.
        const std::vector<int> same{4, 4};
        QCOMPARE(int(classStrip(ts, steps, same, 4, 1000).segments.size()), 1);
        QCOMPARE(classColor(-1), QColor(160, 160, 160));
        QCOMPARE(classColor(10), classColor(0)); // the palette repeats
    }
};

QTEST_MAIN(TestDecisionStrips)
#include "tst_decision_strips.moc"
