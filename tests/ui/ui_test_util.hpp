// Shared by the UI tests: a main window on a card, ready to run.
#pragma once
#include "main_window.hpp"

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

} // namespace noisetrail::ui::test
