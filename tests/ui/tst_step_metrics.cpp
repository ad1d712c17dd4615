// Per-step diversity metrics in the GUI (issues 5 and 18): the worker records
// through core's recorder (tests/core/tst_recorder.cpp checks its values
// against hand computations), so its stores hold what the recorder computes
// on the same frames and what `noisetrail-cli run --session` stores for the
// same recipe; the plots show the stored values; the scatter's coverage overlay.
#include "main_window.hpp"
#include "ui_test_util.hpp"
#include "plots_widget.hpp"
#include "sampler_panel.hpp"
#include "scatter_view.hpp"

#include "noisetrail/classifier.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/session.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest/QtTest>

#include <cmath>
#include <map>
#include <memory>

using namespace noisetrail;
using namespace noisetrail::ui;

namespace {
using noisetrail::ui::test::kModels;

using noisetrail::ui::test::cfg;

bool close(double a, double b, double tol = 1e-9)
{
    if (std::isnan(a) || std::isnan(b))
        return std::isnan(a) && std::isnan(b);
    return std::abs(a - b) <= tol * std::max(1.0, std::abs(b));
}
} // namespace

class TestStepMetrics : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> open(const QString& card) { return test::open_main_window(card, {1280, 760}); }

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void everyStepOfEveryPanelHasTheRecordersMetricsPlotted()
    {
        auto w = open(kModels + "/ring8.json");
        QVERIFY(w->model()->mixture);
        QCOMPARE(w->plots()->metricKind(), PlotsWidget::MetricKind::Mixture);
        QCOMPARE(w->plots()->slotTitle(6), QString("components covered (of 8)"));
        w->panel(0)->setConfig(cfg("ddpm", 20));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(64);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);

        const metrics::GaussianMixture& mix = *w->model()->mixture;
        // The frames at full precision: a panel of a run set equals the same
        // recipe run alone (bit for bit), so run each panel again here.
        std::map<std::pair<int, int>, std::shared_ptr<const StepFrame>> byStep;
        for (int p = 0; p < 2; ++p) {
            RunOptions o;
            o.sampler = w->panel(p)->config();
            o.seed = w->seed();
            o.batch = 64;
            o.threads = 1;
            run_sampler(*w->model()->model, o, [&](std::shared_ptr<const StepFrame> f) { byStep[{p, f->step}] = f; });
        }
        for (int p = 0; p < 2; ++p) {
            const Trajectory& tr = w->panel(p)->trajectory();
            const int S = p == 0 ? 20 : 10;
            QCOMPARE(tr.size(), S);
            for (int slot = PlotsWidget::kStatSlots; slot < PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots;
                 ++slot)
                QCOMPARE(w->plots()->pointCount(slot, p), S);
            for (int k = 0; k < S; ++k) {
                const auto f = byStep.at({p, k});
                // The worker records through core's recorder: its metrics of the same frame.
                const metrics::StepMetrics want = computeFrameMetrics(*f, &mix, nullptr).values;
                const metrics::StepMetrics& got = tr.info(k).metrics.values;
                QVERIFY2(close(got.pairwise_distance, want.pairwise_distance), qPrintable(QString::number(k)));
                QVERIFY(close(got.coordinate_std, want.coordinate_std));
                QVERIFY(close(got.vendi, want.vendi));
                QVERIFY(close(got.components_covered, want.components_covered));
                QVERIFY(close(got.occupancy_entropy, want.occupancy_entropy));
                QVERIFY(std::isnan(got.class_entropy) && std::isnan(got.classes_covered));
                for (double v : {got.pairwise_distance, got.vendi, got.components_covered, got.occupancy_entropy})
                    QVERIFY(std::isfinite(v));
                // Full precision in the store, and what the plots show.
                const int t = tr.info(k).plan.t;
                QCOMPARE(w->plots()->plottedValue(4, p, t), got.pairwise_distance);
                QCOMPARE(w->plots()->plottedValue(5, p, t), got.vendi);
                QCOMPARE(w->plots()->plottedValue(6, p, t), got.components_covered);
                QCOMPARE(w->plots()->plottedValue(7, p, t), got.occupancy_entropy);
                // Component counts agree with core's coverage.
                const std::vector<double> x(f->x0_hat.begin(), f->x0_hat.end());
                const auto cov = metrics::mixture_coverage(mix, x, 64);
                QCOMPARE(tr.info(k).metrics.componentCounts, cov.occupancy.counts);
                int covered = 0;
                for (int n : tr.info(k).metrics.componentNear)
                    covered += n > 0 ? 1 : 0;
                QCOMPARE(double(covered), got.components_covered);
            }
        }
        // The exact ring sampler covers all 8 components at the end.
        QCOMPARE(w->panel(1)->trajectory().info(9).metrics.values.components_covered, 8.0);
        // The scatter shows it.
        const auto states = w->panel(1)->scatterView()->componentStates();
        QCOMPARE(int(states.size()), 8);
    }

    void workerRecordingEqualsTheCliSession()
    {
        // One recipe recorded the GUI's way (the worker on the window's loaded model)
        // and by `noisetrail-cli run --session`: the same metrics at the same steps,
        // so a CLI session opened in the GUI shows the same plots and decision
        // strips; `session info --json` lists the stored names (contract section 11).
        QTemporaryDir dir;
        const QJsonObject recipe{{"format", "noisetrail-run/1"},
                                 {"model", kModels + "/ring8.json"},
                                 {"seed", 3},
                                 {"batch", 16},
                                 {"panels", QJsonArray{QJsonObject{{"sampler", "ddpm"}, {"steps", 20}},
                                                       QJsonObject{{"sampler", "ddim"}, {"steps", 10}}}}};
        QFile rf(dir.filePath("r.run.json"));
        QVERIFY(rf.open(QIODevice::WriteOnly));
        rf.write(QJsonDocument(recipe).toJson());
        rf.close();
        const QString session = dir.filePath("r.ntsession");
        const auto cli = [](const QStringList& args) {
            QProcess p;
            p.start(NOISETRAIL_CLI, args);
            p.waitForFinished(120000);
            return std::pair{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                             QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError())};
        };
        const auto [code, out] = cli({"run", "--config", rf.fileName(), "--session", session});
        QVERIFY2(code == 0, qPrintable(out));
        const Session s = read_session(session.toStdString());
        QCOMPARE(int(s.panels.size()), 2);

        auto lm = loadModelAssets(kModels + "/ring8.json");
        RunJob job = test::single_panel_job(lm, cfg("ddpm", 20), 3, 16);
        job.recipe.panels.push_back({{}, cfg("ddim", 10)});
        job.panels.push_back(1);
        job.threads = 1; // as the window runs 2-D models (default_threads), as the CLI does
        job.mixture = lm->mixture;
        job.classifier = lm->classifier;
        SamplingWorker worker;
        const test::RunOutcome ran = test::run_job(worker, job);
        QVERIFY2(ran.finished && ran.stores.size() == 2, qPrintable(ran.error));
        for (int p = 0; p < 2; ++p) {
            const Trajectory& gui = *ran.stores[std::size_t(p)];
            const Trajectory& file = *s.panels[std::size_t(p)].trajectory;
            QCOMPARE(file.size(), gui.size());
            QVERIFY(gui.finished());
            for (int k = 0; k < gui.size(); ++k) {
                const FrameMetrics& a = gui.info(k).metrics;
                const FrameMetrics& b = file.info(k).metrics;
                const auto va = metrics::step_metric_values(a.values), vb = metrics::step_metric_values(b.values);
                for (std::size_t i = 0; i < va.size(); ++i)
                    QVERIFY2(close(va[i], vb[i], 0.0), qPrintable(QString("panel %1 step %2 %3").arg(p).arg(k).arg(
                                                            QString::fromStdString(metrics::step_metric_names()[i]))));
                QVERIFY(hasValues(a.values)); // a mixture card: every step
                QCOMPARE(b.componentCounts, a.componentCounts);
                QCOMPARE(b.componentNear, a.componentNear);
                QCOMPARE(b.assignment, a.assignment);
            }
            QCOMPARE(stored_metric_names(file), stored_metric_names(gui));
        }
        const auto [icode, info] = cli({"session", "info", session, "--json"});
        QCOMPARE(icode, 0);
        const QJsonArray names = QJsonDocument::fromJson(info.toUtf8()).object()["panels"].toArray()[0].toObject()["metrics"].toArray();
        QStringList got;
        for (const auto& n : names)
            got << n.toString();
        QVERIFY2(got.contains("xt_std") && got.contains("vendi") && got.contains("components_covered") &&
                     got.contains("assignment") && !got.contains("class_entropy"),
                 qPrintable(got.join(",")));
    }

    void coverageOverlayShowsAKnownState()
    {
        const ModelCard card = read_model_card((kModels + "/ring8.json").toStdString());
        auto mix = std::make_shared<const metrics::GaussianMixture>(*metrics::mixture_from_card(card));
        const int K = mix->components();
        QCOMPARE(K, 8);
        // 10 samples of x0_hat: 6 exactly on component 0, 4 on component 1, none elsewhere.
        StepFrame f;
        f.step = 0;
        f.steps = 1;
        f.shape = {10, 2};
        for (int i = 0; i < 10; ++i) {
            const int k = i < 6 ? 0 : 1;
            f.x0_hat.push_back(float(mix->means[2 * k]));
            f.x0_hat.push_back(float(mix->means[2 * k + 1]));
        }
        f.x_t = f.x0_hat;
        f.eps_hat.assign(20, 0.f);
        f.x_prev = f.x0_hat;
        const FrameMetrics m = computeFrameMetrics(f, mix.get(), nullptr);
        QCOMPARE(m.values.components_covered, 2.0);
        QVERIFY(close(m.values.occupancy_entropy, -(0.6 * std::log(0.6) + 0.4 * std::log(0.4))));
        Trajectory tr({10, 2}, {0}, Trajectory::Precision::Half);
        tr.append(f, &m);

        ScatterView view;
        view.resize(300, 300);
        view.setTarget({}, QRectF(-3, -3, 6, 6));
        view.setMixture(mix);
        view.setState(&tr, 0);
        const auto st = view.componentStates();
        QCOMPARE(int(st.size()), 8);
        QVERIFY(close(st[0].share, 0.6));
        QVERIFY(close(st[1].share, 0.4));
        QVERIFY(st[0].covered && st[1].covered);
        for (int k = 2; k < 8; ++k)
            QVERIFY(!st[k].covered && st[k].share == 0.0);
        // Red for the empty components, green for the over-full one.
        const QColor empty = ScatterView::coverageColor(st[2]);
        const QColor full = ScatterView::coverageColor(st[0]);
        QVERIFY(empty.red() > 180 && empty.green() < 80);
        QVERIFY(full.green() > full.red());
        // And on screen: a red ring around an empty component's mean.
        const QImage img = view.grab().toImage();
        // The target's extent [-3, 3]^2 is the view's targetRect (a square of equal units).
        const QRectF target = view.targetRect();
        const double side = target.width(), left = target.left(), top = target.top();
        QVERIFY(std::abs(target.height() - side) < 1.0);
        const double mx = mix->means[4], my = mix->means[5];
        const QPointF c(left + (mx + 3) / 6 * side, top + (3 - my) / 6 * side);
        const double r = std::max(6.0, 3 * mix->stds[2] * side / 6);
        int reddish = 0; // angles where the ring (within a pixel) is red
        for (int a = 0; a < 360; a += 10) {
            bool hit = false;
            for (double rr : {r - 1.0, r - 0.5, r, r + 0.5, r + 1.0}) {
                const int px = int(std::lround(c.x() + rr * std::cos(a * M_PI / 180)));
                const int py = int(std::lround(c.y() + rr * std::sin(a * M_PI / 180)));
                const QColor q = img.pixelColor(px, py);
                hit = hit || (q.red() > 150 && q.green() < 120 && q.blue() < 120);
            }
            reddish += hit ? 1 : 0;
        }
        QVERIFY2(reddish > 18, qPrintable(QString::number(reddish)));
        view.setShowCoverage(false);
        const QImage plain = view.grab().toImage();
        QVERIFY(plain != img);
    }

    void guiRunWithAndWithoutMetrics()
    {
        // The default comparison as a user runs it: DDPM 1000 steps and DDIM 50
        // steps, batch 512 on the ring, metrics off then on (wall time in the GUI).
        auto w = open(kModels + "/ring8.json");
        QCOMPARE(w->batch(), 512);
        double secs[2] = {0, 0};
        for (int on = 0; on < 2; ++on) {
            w->setMetricsEnabled(on == 1);
            QSignalSpy done(w.get(), &MainWindow::runFinished);
            QElapsedTimer clock;
            clock.start();
            w->startRun();
            QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 120000);
            secs[on] = clock.elapsed() / 1000.0;
            const double v = w->panel(0)->trajectory().info(999).metrics.values.vendi;
            QCOMPARE(std::isfinite(v), on == 1);
        }
        double perStep = 0;
        for (int k = 0; k < 1000; ++k)
            perStep += w->panel(0)->trajectory().info(k).metrics.seconds;
        qInfo("GUI run DDPM 1000 + DDIM 50, ring8, batch 512: %.2f s without metrics, %.2f s with "
              "(metrics %.2f ms/step on the worker)",
              secs[0], secs[1], perStep);
    }

    void imageMetricsUseTheClassifier()
    {
        // Digits: Vendi on classifier features, class entropy and classes covered,
        // with the classifier next to the card (mnist-500-exact: the exact denoiser of
        // 500 committed digits, so no trained model is needed).
        if (!QFileInfo::exists(kModels + "/mnist-500-exact.json") ||
            !QFileInfo::exists(kModels + "/mnist-classifier.json"))
            QSKIP("no digit card or classifier in models/");
        auto lm = loadModelAssets(kModels + "/mnist-500-exact.json");
        QVERIFY2(lm->classifier, qPrintable(lm->classifierNote));
        SamplingWorker worker;
        RunJob job = test::single_panel_job(lm, cfg("ddim", 20), 3, 16);
        job.classifier = lm->classifier;
        QElapsedTimer clock;
        clock.start();
        const test::RunOutcome ran = test::run_job(worker, job);
        QVERIFY2(ran.finished && ran.stores.size() == 1, qPrintable(ran.error));
        const auto store = ran.stores.at(0);
        const double total = clock.elapsed() / 1000.0;
        QCOMPARE(store->size(), 20);
        double metricSeconds = 0;
        for (int k = 0; k < store->size(); ++k) {
            const FrameMetrics& m = store->info(k).metrics;
            metricSeconds += m.seconds;
            QVERIFY(m.values.classes_covered >= 1 && m.values.classes_covered <= 10);
            QVERIFY(m.values.class_entropy >= 0 && m.values.class_entropy <= std::log(10.0) + 1e-12);
            QVERIFY(m.values.vendi >= 1 - 1e-9 && m.values.vendi <= 16 + 1e-9);
            QVERIFY(std::isnan(m.values.components_covered));
        }
        // The last step is the recorder's metrics of that frame, with the classifier
        // (the same recipe run alone: bit-identical frames).
        std::shared_ptr<const StepFrame> last;
        RunOptions alone;
        alone.sampler = cfg("ddim", 20);
        alone.seed = 3;
        alone.batch = 16;
        run_sampler(*lm->model, alone, [&](std::shared_ptr<const StepFrame> fr) { last = fr; });
        const FrameMetrics want = computeFrameMetrics(*last, nullptr, lm->classifier.get());
        const FrameMetrics& have = store->info(19).metrics;
        QVERIFY(close(have.values.vendi, want.values.vendi));
        QVERIFY(close(have.values.class_entropy, want.values.class_entropy));
        QCOMPARE(have.values.classes_covered, want.values.classes_covered);
        QVERIFY(close(have.values.pairwise_distance, want.values.pairwise_distance));
        QCOMPARE(have.assignment, lm->classifier->predict(last->x0_hat, 16));
        qInfo("digits (exact denoiser of 500 digits), DDIM 20 steps x 16 images: %.2f s, metrics with the "
              "classifier %.2f ms/step",
              total, 1000.0 * metricSeconds / 20);
    }

    void longPanelMeasuredAtPlotResolution()
    {
        // A panel of S steps is measured on every (S / kMetricPoints)-th step and on
        // its last: a 1000-step DDPM panel of an image model every 20th step (51
        // points), a 50-step DDIM panel on every step. The statistics stay at every
        // step, the metric curves get one point per measured step, and a measured
        // step's values are the recorder's metrics of that frame.
        if (!QFileInfo::exists(kModels + "/mnist-500-exact.json") ||
            !QFileInfo::exists(kModels + "/mnist-classifier.json"))
            QSKIP("no digit card or classifier in models/");
        auto w = open(kModels + "/mnist-500-exact.json");
        QVERIFY(w->model()->classifier);
        QCOMPARE(kMetricPoints, 50);
        w->panel(0)->setConfig(cfg("ddpm", 1000));
        w->panel(1)->setConfig(cfg("ddim", 50));
        w->setBatch(8);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 240000);
        const Trajectory& ddpm = w->panel(0)->trajectory();
        const Trajectory& ddim = w->panel(1)->trajectory();
        QCOMPARE(ddpm.size(), 1000);
        QCOMPARE(ddim.size(), 50);
        int measured = 0;
        for (int k = 0; k < 1000; ++k) {
            const bool want = k % 20 == 0 || k == 999;
            QVERIFY2(hasValues(ddpm.info(k).metrics.values) == want, qPrintable(QString::number(k)));
            measured += want ? 1 : 0;
        }
        QCOMPARE(measured, 51);
        for (int k = 0; k < 50; ++k)
            QVERIFY(hasValues(ddim.info(k).metrics.values));
        QTRY_COMPARE_WITH_TIMEOUT(w->plots()->pointCount(0, 0), 1000, 5000); // statistics: every step
        for (int slot = PlotsWidget::kStatSlots; slot < PlotsWidget::kStatSlots + PlotsWidget::kMetricSlots; ++slot) {
            QCOMPARE(w->plots()->pointCount(slot, 0), 51);
            QCOMPARE(w->plots()->pointCount(slot, 1), 50);
        }
        // Step 500 of the DDPM panel against core on the same frame (the recipe run alone).
        std::shared_ptr<const StepFrame> f500;
        RunOptions alone;
        alone.sampler = cfg("ddpm", 1000);
        alone.seed = w->seed();
        alone.batch = 8;
        run_sampler(*w->model()->model, alone, [&](std::shared_ptr<const StepFrame> fr) {
            if (fr->step == 500)
                f500 = fr;
        });
        QVERIFY(f500);
        const FrameMetrics want = computeFrameMetrics(*f500, nullptr, w->model()->classifier.get());
        const metrics::StepMetrics& have = ddpm.info(500).metrics.values;
        QVERIFY(close(have.vendi, want.values.vendi));
        QVERIFY(close(have.class_entropy, want.values.class_entropy));
        QCOMPARE(have.classes_covered, want.values.classes_covered);
        QVERIFY(close(have.pairwise_distance, want.values.pairwise_distance));
    }

    void metricCostOn1000StepDdpm()
    {
        // Reports the per-step cost of the metrics and their share of a
        // 1000-step DDPM run (ring8, batch 512, the 2-D default).
        auto lm = loadModelAssets(kModels + "/ring8.json");
        SamplingWorker worker;
        double secs[2] = {0, 0};
        double metricSeconds = 0;
        int metricFrames = 0;
        for (int withMetrics = 0; withMetrics < 2; ++withMetrics) {
            RunJob job = test::single_panel_job(lm, cfg("ddpm", 1000), 1, 512);
            job.threads = 1; // as the window runs 2-D models
            job.metrics = withMetrics == 1;
            job.mixture = lm->mixture;
            QElapsedTimer clock;
            clock.start();
            const test::RunOutcome ran = test::run_job(worker, job);
            secs[withMetrics] = clock.elapsed() / 1000.0;
            QVERIFY2(ran.finished && ran.stores.size() == 1, qPrintable(ran.error));
            const Trajectory& tr = *ran.stores.at(0);
            QCOMPARE(tr.size(), 1000);
            for (int k = 0; k < tr.size() && withMetrics; ++k, ++metricFrames)
                metricSeconds += tr.info(k).metrics.seconds;
        }
        QCOMPARE(metricFrames, 1000);
        qInfo("1000-step DDPM, ring8, batch 512: %.2f s without metrics, %.2f s with; metrics %.2f ms/step",
              secs[0], secs[1], 1000.0 * metricSeconds / metricFrames);
    }
};

QTEST_MAIN(TestStepMetrics)
#include "tst_step_metrics.moc"
