// Shared by the UI tests: a main window on a card, ready to run.
#pragma once
#include "main_window.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <QSignalSpy>
#include <QtTest>

#include <memory>

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

/// A worker job of one panel (window index 0) on a loaded model, its store planned.
inline RunJob single_panel_job(const LoadedModelPtr& lm, const SamplerConfig& config, quint64 seed, int batch)
{
    RunJob job;
    job.generation = 1;
    job.seed = seed;
    job.batch = batch;
    job.x_T = initial_noise(lm->card().data_shape, batch, seed);
    std::vector<std::int64_t> shape{batch};
    shape.insert(shape.end(), lm->card().data_shape.begin(), lm->card().data_shape.end());
    std::vector<int> ts;
    for (const auto& s : make_plan(lm->model->schedule(), config).steps)
        ts.push_back(s.t);
    const auto precision = lm->card().is_2d_points() ? Trajectory::Precision::Half : Trajectory::Precision::UInt8;
    job.panels.push_back({0, lm->model, config, std::make_shared<Trajectory>(shape, ts, precision, job.x_T)});
    return job;
}

} // namespace noisetrail::ui::test
