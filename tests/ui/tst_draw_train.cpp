// Draw & Train (issue 23): drawing with the mouse puts points where it was drawn and
// undo takes them back; presets and the chosen count; a short training publishes
// checkpoint cards with quick samples and stops promptly when cancelled; Compare in
// Panels runs the chosen checkpoint, the final model and the exact denoiser from one
// x_T; a saved session reopens with the drawn data, the recipe and the checkpoints.
#include "ui_test_util.hpp"

#include "draw_data_view.hpp"
#include "plots_widget.hpp"
#include "point_drawing.hpp"
#include "run_document.hpp"
#include "training_folder.hpp"
#include "training_panel.hpp"
#include "training_worker.hpp"

#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/training.hpp"

#include <QComboBox>
#include <QAction>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>

#include <cmath>
#include <filesystem>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

/// Distance from (x, y) to the segment a-b.
double toSegment(double x, double y, double ax, double ay, double bx, double by)
{
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    const double f = len2 > 0 ? std::clamp(((x - ax) * dx + (y - ay) * dy) / len2, 0.0, 1.0) : 0.0;
    return std::hypot(x - (ax + f * dx), y - (ay + f * dy));
}

int pointsNear(const std::vector<float>& p, double x, double y, double r)
{
    int n = 0;
    for (std::size_t i = 0; i + 1 < p.size(); i += 2)
        n += std::hypot(p[i] - x, p[i + 1] - y) <= r;
    return n;
}

/// Drag the mouse over the canvas from data point a to b in `steps` moves.
void drag(DrawCanvas& c, QPointF a, QPointF b, int steps = 20)
{
    QTest::mousePress(&c, Qt::LeftButton, {}, c.toPixel(a.x(), a.y()).toPoint());
    for (int k = 1; k <= steps; ++k) {
        const QPointF d = a + (b - a) * (double(k) / steps);
        QTest::mouseMove(&c, c.toPixel(d.x(), d.y()).toPoint());
    }
    QTest::mouseRelease(&c, Qt::LeftButton, {}, c.toPixel(b.x(), b.y()).toPoint());
}

bool sameFile(const QString& a, const std::filesystem::path& b)
{
    return std::filesystem::weakly_canonical(a.toStdString()) == std::filesystem::weakly_canonical(b);
}

} // namespace

class TestDrawTrain : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void mappingRoundTrips_data()
    {
        QTest::addColumn<double>("w");
        QTest::addColumn<double>("h");
        QTest::newRow("square") << 400.0 << 400.0;
        QTest::newRow("wide") << 700.0 << 300.0;
        QTest::newRow("tall") << 250.0 << 600.0;
    }
    void mappingRoundTrips()
    {
        QFETCH(double, w);
        QFETCH(double, h);
        const DrawMapping m{w, h};
        // The square's corners are the extent's, y up, and the centre is the origin.
        double px = 0, py = 0, x = 0, y = 0;
        m.toPixel(0, 0, px, py);
        QCOMPARE(px, w / 2);
        QCOMPARE(py, h / 2);
        m.toPixel(-kDrawExtent, kDrawExtent, px, py);
        QCOMPARE(px, (w - std::min(w, h)) / 2);
        QCOMPARE(py, (h - std::min(w, h)) / 2);
        m.toData(px + 10, py + 30, x, y);
        double bx = 0, by = 0;
        m.toPixel(x, y, bx, by);
        QVERIFY(std::abs(bx - (px + 10)) < 1e-9 && std::abs(by - (py + 30)) < 1e-9);
        QVERIFY(y < kDrawExtent); // down the screen is down in y
    }

    void brushPutsPointsWhereTheMouseWent()
    {
        DrawCanvas c;
        c.resize(400, 400);
        c.show();
        QVERIFY(QTest::qWaitForWindowExposed(&c));
        QSignalSpy changed(&c, &DrawCanvas::changed);
        drag(c, {-1.0, 0.5}, {1.0, -0.5});
        QVERIFY(changed.size() > 0);
        const auto& p = c.drawing().points();
        // About kBrushDensity points per unit of the 2.24-unit stroke, all near it.
        QVERIFY2(c.drawing().count() > 100, qPrintable(QString::number(c.drawing().count())));
        for (std::size_t i = 0; i + 1 < p.size(); i += 2)
            QVERIFY(toSegment(p[i], p[i + 1], -1.0, 0.5, 1.0, -0.5) < 5 * PointDrawing::kBrushRadius);
        // Both ends and the middle are covered, nothing far from the stroke.
        QVERIFY(pointsNear(p, -1.0, 0.5, 0.15) > 3);
        QVERIFY(pointsNear(p, 0.0, 0.0, 0.15) > 3);
        QVERIFY(pointsNear(p, 1.0, -0.5, 0.15) > 3);
        QCOMPARE(pointsNear(p, 1.0, 1.0, 0.6), 0);
    }

    void eraserAndUndo()
    {
        DrawCanvas c;
        c.resize(400, 400);
        c.show();
        QVERIFY(QTest::qWaitForWindowExposed(&c));
        drag(c, {-1.0, 0.0}, {1.0, 0.0});
        const std::vector<float> stroke = c.drawing().points();
        QVERIFY(pointsNear(stroke, 0.0, 0.0, PointDrawing::kEraserRadius) > 0);
        c.setTool(PointDrawing::Tool::Eraser);
        QTest::mouseClick(&c, Qt::LeftButton, {}, c.toPixel(0.0, 0.0).toPoint());
        QCOMPARE(pointsNear(c.drawing().points(), 0.0, 0.0, PointDrawing::kEraserRadius * 0.95), 0);
        QVERIFY(c.drawing().count() < int(stroke.size() / 2));
        QVERIFY(pointsNear(c.drawing().points(), -1.0, 0.0, 0.2) > 0); // the rest stays
        QVERIFY(c.undo());
        QCOMPARE(c.drawing().points(), stroke);
        QVERIFY(c.undo());
        QCOMPARE(c.drawing().count(), 0);
        QVERIFY(!c.undo());
    }

    void ctrlZUndoesInTheWindow()
    {
        QTemporaryDir dir;
        TrainingWindow tw(nullptr, dir.path());
        tw.show();
        tw.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&tw));
        DrawCanvas& c = *tw.canvas();
        drag(c, {-0.5, -0.5}, {0.5, 0.5});
        const int first = c.drawing().count();
        drag(c, {-0.5, 0.5}, {0.5, -0.5});
        QVERIFY(c.drawing().count() > first);
        QTest::keyClick(&tw, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(c.drawing().count(), first);
        // The Clear button and Undo, with the mouse.
        QTest::mouseClick(tw.findChild<QToolButton*>("clearButton"), Qt::LeftButton);
        QCOMPARE(c.drawing().count(), 0);
        QTest::mouseClick(tw.findChild<QToolButton*>("undoButton"), Qt::LeftButton);
        QCOMPARE(c.drawing().count(), first);
    }

    void datasetHasTheChosenCount_data()
    {
        QTest::addColumn<int>("drawn");
        QTest::addColumn<int>("n");
        QTest::newRow("fewer drawn") << 40 << 300;
        QTest::newRow("as many") << 300 << 300;
        QTest::newRow("more drawn") << 900 << 300;
    }
    void datasetHasTheChosenCount()
    {
        QFETCH(int, drawn);
        QFETCH(int, n);
        PointDrawing d;
        d.replace(PointDrawing::ring(drawn, 3));
        const std::vector<float> set = d.dataset(n, 5);
        QCOMPARE(int(set.size()), 2 * n);
        QCOMPARE(d.dataset(n, 5), set); // deterministic
        // Every point of the set is a drawn point or lies within a few jitters of one.
        const auto& p = d.points();
        for (std::size_t i = 0; i < set.size(); i += 2) {
            double best = 1e9;
            for (std::size_t j = 0; j < p.size(); j += 2)
                best = std::min(best, std::hypot(double(set[i] - p[j]), double(set[i + 1] - p[j + 1])));
            QVERIFY(best <= (drawn >= n ? 0.0 : 5 * PointDrawing::kJitter));
        }
        QVERIFY(PointDrawing().dataset(n).empty()); // nothing drawn: no set
    }

    void presetsHaveTheirShapes()
    {
        // Ring: radius 1.2.
        for (const auto& r : {PointDrawing::ring(500)}) {
            for (std::size_t i = 0; i < r.size(); i += 2)
                QVERIFY(std::abs(std::hypot(r[i], r[i + 1]) - 1.2) < 0.3);
        }
        DrawCanvas c;
        c.presetSmiley(2000);
        const auto& s = c.drawing().points();
        QCOMPARE(c.drawing().count(), 2000);
        // A face: ink on the outline circle, in both eyes (upper half, left and right), a
        // smile (lower half) and nothing at the centre between them.
        int outline = 0;
        for (std::size_t i = 0; i < s.size(); i += 2)
            outline += std::abs(std::hypot(s[i], s[i + 1]) - 1.34) < 0.12;
        QVERIFY2(outline > 600, qPrintable(QString::number(outline)));
        QVERIFY(pointsNear(s, -0.45, 0.38, 0.15) > 20);
        QVERIFY(pointsNear(s, 0.45, 0.38, 0.15) > 20);
        QVERIFY(pointsNear(s, 0.0, -0.7, 0.15) > 20);
        QCOMPARE(pointsNear(s, 0.0, 0.0, 0.1), 0);
        // Text: "I" in a bold font is a vertical bar: taller than wide.
        QVERIFY(c.presetText(QStringLiteral("I"), 800));
        const auto& t = c.drawing().points();
        float minX = 9, maxX = -9, minY = 9, maxY = -9;
        for (std::size_t i = 0; i < t.size(); i += 2) {
            minX = std::min(minX, t[i]);
            maxX = std::max(maxX, t[i]);
            minY = std::min(minY, t[i + 1]);
            maxY = std::max(maxY, t[i + 1]);
        }
        QVERIFY(maxY - minY > 2 * (maxX - minX));
        QVERIFY(!c.presetText(QStringLiteral("   "), 800));
        QVERIFY(c.undo()); // the presets are undoable: back to the smiley
        QCOMPARE(c.drawing().count(), 2000);
    }

    void drawnSetFolderHoldsAnExactCard()
    {
        QTemporaryDir dir;
        const std::vector<float> pts{-1, 0, 1, 0, 0, 1, 0, -1, 0.5f, 0.5f};
        const DrawnSetFolder f = writeDrawnSet(dir.path(), pts);
        const auto model = Model::load(f.exactCard().toStdString());
        QCOMPARE(model->card().kind, std::string("empirical"));
        QCOMPARE(model->card().data_shape, std::vector<std::int64_t>{2});
        // The exact denoiser of a finite set (contract section 2): at a small noise level,
        // near sqrt(alpha_bar) x_i, x0_hat is the drawn point x_i.
        const double a = std::sqrt(model->schedule().alpha_bars()[0]);
        const std::vector<double> x{a * 0.5 + 0.001, a * 0.5 - 0.001};
        const Denoised d = model->denoise(x, 1, 0);
        QVERIFY(std::abs(d.x0_hat[0] - 0.5) < 1e-3 && std::abs(d.x0_hat[1] - 0.5) < 1e-3);
        QCOMPARE(drawnSetOf(f.exactCard())->folder, f.folder);
        QVERIFY(!drawnSetOf(kModels + "/ring8.json"));
        QVERIFY_THROWS_EXCEPTION(InputError, writeDrawnSet(dir.path(), {0.f, 1.f}));
    }

    void trainingPublishesCheckpointsAndStops()
    {
        QTemporaryDir dir;
        TrainingWindow tw(nullptr, dir.path());
        tw.show();
        tw.canvas()->presetSmiley(400);
        tw.findChild<QSpinBox*>("pointCount")->setValue(400);
        tw.findChild<QSpinBox*>("trainSteps")->setValue(300);
        tw.findChild<QSpinBox*>("cardEvery")->setValue(100);
        QSignalSpy ticks(tw.worker(), &TrainingWorker::tick);
        QSignalSpy done(tw.worker(), &TrainingWorker::finished);
        QTest::mouseClick(tw.findChild<QPushButton*>("trainButton"), Qt::LeftButton);
        QVERIFY(tw.isTraining());
        QVERIFY(!tw.canvas()->editable()); // no drawing under a running training
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 120000);
        QVERIFY(!done.at(0).at(0).value<TrainingOutcome>().cancelled);
        QVERIFY(ticks.size() > 0);
        // A card at every 100 steps, each loadable, with a quick sample and a quality row.
        const auto& cps = tw.checkpoints();
        QCOMPARE(int(cps.size()), 3);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(cps[std::size_t(i)].step, 100 * (i + 1));
            QVERIFY(QFileInfo::exists(cps[std::size_t(i)].card));
            QCOMPARE(Model::load(cps[std::size_t(i)].card.toStdString())->card().kind, std::string("noisetrail-mlp"));
            QCOMPARE(int(cps[std::size_t(i)].samples.size()), 2 * TrainingWindow::kQuickCount);
            for (float v : cps[std::size_t(i)].samples)
                QVERIFY(std::isfinite(v));
            QVERIFY(cps[std::size_t(i)].quality);
            QVERIFY(QFileInfo::exists(tw.folder()->quickSample(cps[std::size_t(i)].step)));
        }
        QCOMPARE(int(readQuality(*tw.folder()).size()), 3);
        QVERIFY(QFileInfo::exists(tw.folder()->trainConfig()));
        // The timeline shows each checkpoint's quick sample over the data.
        auto* slider = tw.findChild<QSlider*>("checkpointSlider");
        QCOMPARE(slider->maximum(), 2);
        slider->setValue(0);
        QCOMPARE(tw.canvas()->overlay(), cps[0].samples);
        slider->setValue(2);
        QCOMPARE(tw.canvas()->overlay(), cps[2].samples);

        // A long training stopped: it ends within a step or so, its last step a checkpoint card.
        tw.findChild<QSpinBox*>("trainSteps")->setValue(100000);
        QSignalSpy ticks2(tw.worker(), &TrainingWorker::tick);
        QVERIFY(tw.train());
        QTRY_VERIFY_WITH_TIMEOUT(ticks2.size() > 0, 60000);
        QElapsedTimer clock;
        clock.start();
        QTest::mouseClick(tw.findChild<QPushButton*>("stopButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 2, 20000);
        QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
        const auto outcome = done.at(1).at(0).value<TrainingOutcome>();
        QVERIFY(outcome.cancelled);
        QVERIFY(outcome.stepsDone < 100000);
        QVERIFY(!tw.checkpoints().empty());
        QCOMPARE(tw.checkpoints().back().step, outcome.stepsDone);
        QVERIFY(QFileInfo::exists(tw.checkpoints().back().card));
        QVERIFY(tw.canvas()->editable());
    }

    void compareInPanelsAndReopenTheSession()
    {
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        TrainingWindow tw(w.get(), dir.path());
        tw.show();
        tw.canvas()->presetSmiley(300);
        tw.findChild<QSpinBox*>("pointCount")->setValue(300);
        tw.findChild<QSpinBox*>("trainSteps")->setValue(200);
        tw.findChild<QSpinBox*>("cardEvery")->setValue(100);
        QSignalSpy done(tw.worker(), &TrainingWorker::finished);
        QVERIFY(tw.train());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 120000);
        QCOMPARE(int(tw.checkpoints().size()), 2);
        // Any checkpoint is a model: each panel's model box offers every one of them.
        auto* box = w->panel(0)->findChild<QComboBox*>("cardCombo");
        QVERIFY(box);
        for (const auto& cp : tw.checkpoints())
            QVERIFY2(box->findData(QFileInfo(cp.card).absoluteFilePath()) >= 0, qPrintable(cp.card));
        tw.showCheckpoint(0);
        QSignalSpy ran(w.get(), &MainWindow::runFinished);
        QTest::mouseClick(tw.findChild<QPushButton*>("compareInPanelsButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(ran.size(), 1, 120000);
        QCOMPARE(ran.at(0).at(0).toBool(), false);
        QVERIFY(!tw.isVisible()); // stepped aside: the panels are what to look at now
        RunDocument* doc = w->document();
        QCOMPARE(doc->panelCount(), 3);
        const QString exact = tw.folder()->exactCard();
        QVERIFY(sameFile(exact, doc->recipe().model));
        QVERIFY(sameFile(tw.checkpoints()[0].card, doc->computed(0)->card));
        QVERIFY(sameFile(tw.checkpoints()[1].card, doc->computed(1)->card));
        QVERIFY(sameFile(exact, doc->computed(2)->card));
        for (int i = 1; i < 3; ++i)
            QCOMPARE(doc->computed(i)->x_T, doc->computed(0)->x_T); // one x_T
        // The checkpoint's and the exact model's samples differ (different models).
        QVERIFY(doc->trajectory(0)->size() > 0);
        // ode_error is measured only where an exact path exists for the panel's own card: the
        // exact panel, not the checkpoints (panel 1, the reference for a split, is learned).
        const auto odeCurves = [](MainWindow& m) {
            m.refreshViews();
            PlotsWidget* plots = m.plots();
            QTest::qWaitFor([&] { return plots->odeCurveCount(2) == 1; }, 60000); // the exact panel's, at least
            return std::vector<int>{plots->odeCurveCount(0), plots->odeCurveCount(1), plots->odeCurveCount(2)};
        };
        const std::vector<int> liveCurves = odeCurves(*w);
        QCOMPARE(liveCurves, (std::vector<int>{0, 0, 1}));

        // Save the session and reopen it in another window: the same cards, the drawn data, the recipe.
        const QString file = dir.filePath("draw.ntsession");
        QVERIFY(w->saveRun(file));
        auto v = open_main_window(kModels + "/gaussian-2d.json");
        QSignalSpy opened(v.get(), &MainWindow::runOpened);
        QVERIFY(v->openRun(file));
        QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(!v->document()->loadingPanelCard() && !v->document()->loading(), 20000);
        QVERIFY(!v->isReplay()); // the exact card itself, not the session's copy
        QVERIFY(sameFile(v->model()->path, exact.toStdString()));
        QCOMPARE(v->panelCount(), 3);
        QVERIFY(sameFile(tw.checkpoints()[0].card, v->document()->computed(0)->card));
        QVERIFY(sameFile(tw.checkpoints()[1].card, v->document()->computed(1)->card));
        QVERIFY(v->document()->hasOwnModel(0) && v->document()->hasOwnModel(1) && !v->document()->hasOwnModel(2));
        // The reopened panels measure their own cards, as the live window did (their stores are
        // shown before their cards have loaded: nothing may be measured on the window's card then).
        QCOMPARE(odeCurves(*v), liveCurves);
        const auto f = drawnSetOf(QString::fromStdString(v->document()->recipe().model.string()));
        QVERIFY(f);
        QCOMPARE(read_npy(f->data().toStdString()).f32, tw.canvas()->drawing().dataset(300));
        const TrainConfig recipe = read_train_config(f->trainConfig().toStdString());
        QCOMPARE(recipe.steps, 200);
        QCOMPARE(recipe.kind, std::string("noisetrail-mlp"));
        QCOMPARE(recipe.card_every, 100); // the saved recipe trains the same way again
        // Draw & Train on the reopened window shows that set, its checkpoints and quick samples.
        TrainingWindow reopened(v.get(), dir.path());
        QVERIFY(reopened.folder());
        QCOMPARE(reopened.folder()->folder, f->folder);
        QCOMPARE(reopened.canvas()->drawing().count(), 300);
        QCOMPARE(int(reopened.checkpoints().size()), 2);
        QCOMPARE(reopened.checkpoints()[0].samples, tw.checkpoints()[0].samples);
    }

    void useAsExactModelAtOnce()
    {
        // The drawn set is the main window's model without any training: its empirical card.
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        TrainingWindow tw(w.get(), dir.path());
        tw.show();
        tw.findChild<QSpinBox*>("pointCount")->setValue(300);
        QTest::mouseClick(tw.findChild<QToolButton*>("moonsPreset"), Qt::LeftButton);
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        QTest::mouseClick(tw.findChild<QPushButton*>("useExactButton"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 20000);
        QCOMPARE(w->model()->card().kind, std::string("empirical"));
        QVERIFY(sameFile(w->model()->path, tw.folder()->exactCard().toStdString()));
        QCOMPARE(int(read_npy(tw.folder()->data().toStdString()).f32.size()), 2 * 300);
        // An empty canvas has no set to use.
        tw.canvas()->clear();
        QVERIFY(!tw.findChild<QPushButton*>("useExactButton")->isEnabled());
        QVERIFY(!tw.useExact());
    }

    void menuOpensTheWindow()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        QAction* a = w->findChild<QAction*>("drawTrainAction");
        QVERIFY(a);
        QCOMPARE(a->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
        a->trigger();
        auto* tw = w->findChild<TrainingWindow*>("trainingWindow");
        QVERIFY(tw && tw->isVisible());
        a->trigger(); // raised, not a second one
        QCOMPARE(w->findChildren<TrainingWindow*>().size(), 1);
    }
};

QTEST_MAIN(TestDrawTrain)
#include "tst_draw_train.moc"
