// Shared by the UI tests: a main window on a card, ready to run.
#pragma once
#include "main_window.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "sampling_worker.hpp"

#include <QSignalSpy>
#include <QtTest>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QThread>

#include <cmath>
#include <functional>
#include <memory>
#include <span>

namespace noisetrail::ui::test {

/// A sampler config for a panel: sampler name, steps and eta.
inline SamplerConfig cfg(const char* sampler, int steps, double eta = 0.0)
{
    SamplerConfig c;
    c.sampler = sampler;
    c.steps = steps;
    c.eta = eta;
    return c;
}

inline const QString kModels = QStringLiteral(NOISETRAIL_SOURCE_DIR "/models");

/// A shown MainWindow on `card` (no saved settings), after its model has loaded.
inline std::unique_ptr<MainWindow> open_main_window(const QString& card, QSize size = {1280, 720})
{
    MainWindowOptions o;
    o.modelPath = card;
    o.useSettings = false;
    o.modelsDir = kModels;
    auto w = std::make_unique<MainWindow>(o);
    QSignalSpy ready(w.get(), &MainWindow::modelReady);
    w->resize(size);
    w->show();
    if (!w->hasModel())
        [&] { QVERIFY(ready.wait(20000)); }();
    return w;
}

/// Run the window's panels to the end (one runFinished, not cancelled).
inline void run_to_end(MainWindow& w, int timeoutMs = 60000)
{
    QSignalSpy done(&w, &MainWindow::runFinished);
    w.startRun();
    QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, timeoutMs);
    QCOMPARE(done.at(0).at(0).toBool(), false);
}

/// A worker job of one panel (document index 0) on a loaded model; the worker
/// hands its store over in its prepared news (run_job).
inline RunJob single_panel_job(const LoadedModelPtr& lm, const SamplerConfig& config, quint64 seed, int batch)
{
    RunJob job;
    job.recipe.model = lm->path.toStdString();
    job.recipe.seed = seed;
    job.recipe.batch = batch;
    job.recipe.panels.push_back({{}, config});
    job.panels = {0};
    job.models[cardKey(job.recipe.model)] = lm->model;
    return job;
}

/// What a job run by run_job reported.
struct RunOutcome {
    std::vector<std::shared_ptr<const Trajectory>> stores; ///< each panel's, as prepared
    bool finished = false, cancelled = false;
    QString error;
};

/// Run `job` on `worker` (living on this thread) through the worker's job API
/// (SamplingWorker::startRun) and wait for its end (at most `timeoutMs`).
inline RunOutcome run_job(SamplingWorker& worker, RunJob job, int timeoutMs = 120000)
{
    RunOutcome out;
    bool done = false;
    QObject receiver;
    RunNews news;
    news.prepared = [&](const PreparedPanels& p) {
        for (const auto& panel : p)
            out.stores.push_back(panel.store);
    };
    news.progress = [] {};
    news.finished = [&](bool cancelled) {
        out.finished = true;
        out.cancelled = cancelled;
        done = true;
    };
    news.failed = [&](int, const QString& message) {
        out.error = message;
        done = true;
    };
    worker.startRun(std::move(job), &receiver, news);
    QElapsedTimer clock;
    clock.start();
    while (!done && clock.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return out;
}

/// `m` with a denoiser that calls `before` first on every call (on the worker
/// thread): a slow model, one that never returns. Built from the outside through
/// Model::from_function (no test hook in the worker).
inline LoadedModelPtr hooked_model(const LoadedModel& m, std::function<void()> before)
{
    auto slow = std::make_shared<LoadedModel>(m);
    const std::shared_ptr<const Model> inner = m.model;
    slow->model = Model::from_function(inner->card(), [inner, before](std::span<const double> x, std::span<const std::int64_t> t) {
        before();
        const std::size_t B = t.size(), D = x.size() / std::max<std::size_t>(1, B);
        std::vector<double> out(x.size());
        for (std::size_t i = 0; i < B; ++i) {
            // Each sample at its own t (merged calls mix timesteps): one denoise per sample
            // group of equal t would be faster; tests keep batches small.
            std::size_t j = i;
            while (j < B && t[j] == t[i])
                ++j;
            const int n = int(j - i), ti = int(t[i]);
            const Denoised d = inner->denoise(x.subspan(i * D, std::size_t(n) * D), n, ti);
            const double ab = inner->schedule().alpha_bar(ti);
            for (std::size_t k = 0; k < std::size_t(n) * D; ++k) {
                const Prediction p = inner->card().prediction;
                out[i * D + k] = p == Prediction::Epsilon ? d.eps_hat[k]
                                 : p == Prediction::Sample ? d.x0_hat[k]
                                                            : std::sqrt(ab) * d.eps_hat[k] - std::sqrt(1 - ab) * d.x0_hat[k];
            }
            i = j - 1;
        }
        return out;
    });
    return slow;
}

/// `m` with a denoiser that waits `ms` before every call: a run that lasts, for
/// tests of Stop, a second Run and closing mid-run.
inline LoadedModelPtr slow_model(const LoadedModel& m, int ms)
{
    return hooked_model(m, [ms] { QThread::msleep(ms); });
}

/// Make the window's runs last: its model replaced by slow_model (same card, same path).
inline void make_runs_slow(MainWindow& w, int ms)
{
    w.document()->setModel(slow_model(*w.model(), ms));
}

/// Run the Qt Test class `Test` on the offscreen platform with screens of
/// `sizes`, side by side (the platform's JSON configuration, written before the
/// application starts): a laptop's and a projector's screen in one process.
template <class Test>
int exec_on_screens(int argc, char** argv, std::initializer_list<QSize> sizes)
{
    QTemporaryDir dir;
    const QString config = dir.filePath("screens.json");
    QFile f(config);
    if (!f.open(QIODevice::WriteOnly))
        return 2;
    QStringList screens;
    int x = 0;
    for (const QSize& s : sizes) {
        screens << QStringLiteral(R"({"name": "screen%1", "x": %2, "y": 0, "width": %3, "height": %4, )"
                                  R"("logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1})")
                       .arg(screens.size())
                       .arg(x)
                       .arg(s.width())
                       .arg(s.height());
        x += s.width();
    }
    f.write(QStringLiteral(R"({"screens": [%1]})").arg(screens.join(", ")).toUtf8());
    f.close();
    qputenv("QT_QPA_PLATFORM", ("offscreen:configfile=" + config).toUtf8());
    QApplication app(argc, argv);
    Test test;
    return QTest::qExec(&test, argc, argv);
}

} // namespace noisetrail::ui::test
