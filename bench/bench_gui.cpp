// The GUI's default comparison against the same runs without the GUI.
//
// Opens the main window offscreen on the default model (or --model CARD), presses
// Run and times it until the run finishes (the worker stepping the panels, per-step
// metrics, stores, redraws). Then runs the same panels (same configs, seed, batch,
// threads) headless, one after the other as `noisetrail-cli sample` would, with
// their frames built and dropped. Alternates the two --runs times; prints min and
// median of both and the ratio.
//
// usage: noisetrail-bench-gui [--model CARD] [--runs N] [--no-metrics] [--threads N]
#include "main_window.hpp"
#include "sampler_panel.hpp"

#include "noisetrail/run.hpp"
#include "noisetrail/threads.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace noisetrail;
using namespace noisetrail::ui;

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool wait_for(QObject* sender, const char* signal, int timeout_ms)
{
    QEventLoop loop;
    QTimer::singleShot(timeout_ms, &loop, [&] { loop.exit(1); });
    QObject::connect(sender, signal, &loop, SLOT(quit()));
    return loop.exec() == 0;
}

} // namespace

int main(int argc, char** argv)
{
    prepare_process(argc, argv, ThreadUse::Interactive);
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QString model;
    int runs = 3, threads = 0;
    bool metrics = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--model" && i + 1 < argc)
            model = argv[++i];
        else if (a == "--runs" && i + 1 < argc)
            runs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--threads" && i + 1 < argc)
            threads = std::max(1, std::atoi(argv[++i]));
        else if (a == "--no-metrics")
            metrics = false;
        else {
            std::fprintf(stderr, "usage: noisetrail-bench-gui [--model CARD] [--runs N] [--no-metrics] [--threads N]\n");
            return 2;
        }
    }
    if (threads > 0)
        qputenv("OMP_NUM_THREADS", QByteArray::number(threads)); // the window's policy honours it

    MainWindowOptions opts;
    opts.modelPath = model;
    opts.useSettings = false;
    MainWindow w(opts);
    w.resize(1366, 768);
    w.show();
    if (!w.hasModel() && !wait_for(&w, SIGNAL(modelReady()), 120000)) {
        std::fprintf(stderr, "bench-gui: the model did not load\n");
        return 3;
    }
    w.setMetricsEnabled(metrics);
    const auto m = w.model()->model;
    std::vector<SamplerConfig> configs;
    for (int i = 0; i < w.panelCount(); ++i)
        configs.push_back(w.panel(i)->config());
    const int used_threads = threads > 0 ? threads : default_threads(m->card(), ThreadUse::Interactive);

    std::printf("model %s, %d panels:", m->card().name.c_str(), w.panelCount());
    for (const auto& c : configs)
        std::printf(" %s %d;", c.sampler.c_str(), resolved_steps(c, m->schedule().train_steps()));
    std::printf(" batch %d, metrics %s, threads %d\n", w.batch(), metrics ? "on" : "off", used_threads);

    std::vector<double> gui, headless;
    for (int r = 0; r < runs; ++r) {
        // A run of the same recipe is skipped as unchanged: a new seed each round (both sides use it).
        w.setSeed(quint64(100 + r));
        QElapsedTimer clock;
        clock.start();
        w.startRun();
        if (!wait_for(&w, SIGNAL(runFinished(bool)), 900000)) {
            std::fprintf(stderr, "bench-gui: the GUI run did not finish\n");
            return 3;
        }
        gui.push_back(clock.nsecsElapsed() * 1e-9);

        clock.restart();
        for (const auto& c : configs) {
            RunOptions o;
            o.sampler = c;
            o.seed = quint64(100 + r);
            o.batch = w.batch();
            o.threads = used_threads;
            Run run(m, o);
            while (!run.done())
                (void)run.step(); // frames built as `sample` builds them, then dropped
        }
        headless.push_back(clock.nsecsElapsed() * 1e-9);
        std::printf("  run %d: GUI %.2f s, headless %.2f s\n", r + 1, gui.back(), headless.back());
        std::fflush(stdout);
    }
    const double gmin = *std::min_element(gui.begin(), gui.end()), hmin = *std::min_element(headless.begin(), headless.end());
    std::printf("GUI      min %.2f s, median %.2f s\nheadless min %.2f s, median %.2f s\n"
                "ratio GUI/headless: %.3f (min), %.3f (median)\n",
                gmin, median(gui), hmin, median(headless), gmin / hmin, median(gui) / median(headless));
    return 0;
}
