// The GUI's default comparison against the same runs without the GUI.
//
// Opens the main window offscreen on the default model (or --model CARD), presses
// Run and times it until the run finishes (the worker stepping the panels, per-step
// metrics, stores, redraws). Then runs the same panels (same configs, seed, batch,
// threads) headless, one after the other as `noisetrail-cli sample` would, with
// their frames built and dropped. Alternates the two --runs times; prints min and
// median of both and the ratio, and for every round the load average and the CPU
// seconds of each thread (the GUI thread "main", the worker "NoiseTrail samp", the
// publishing thread among the "ended threads", OpenBLAS and other helpers under the
// process's name): on a busy machine wall times mostly measure the other programs,
// the CPU split says where the GUI's extra work goes.
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

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
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

/// CPU seconds (user + system) of each of this process's threads, by thread name
/// (the main thread is "main"; several threads of one name add up).
std::map<std::string, double> thread_cpu()
{
    std::map<std::string, double> cpu;
    const double tick = double(sysconf(_SC_CLK_TCK));
    const std::string self = std::to_string(getpid());
    DIR* dir = opendir("/proc/self/task");
    if (!dir)
        return cpu;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] == '.')
            continue;
        std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(in, line))
            continue;
        // pid (comm) state ppid ... field 14 utime, 15 stime; comm may hold spaces.
        const auto open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos)
            continue;
        std::string name = e->d_name == self ? "main" : line.substr(open + 1, close - open - 1);
        std::istringstream rest(line.substr(close + 2));
        std::string field;
        double utime = 0, stime = 0;
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14)
                utime = std::stod(field);
            if (i == 15)
                stime = std::stod(field);
        }
        cpu[name] += (utime + stime) / tick;
    }
    closedir(dir);
    // Threads that ended (the worker's publishing thread ends with each run) count
    // in the process's total only: their share is the total less the live threads'.
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double live = 0;
    for (const auto& [name, s] : cpu)
        live += s;
    cpu["ended threads"] = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
                           1e-6 * ru.ru_stime.tv_usec - live;
    return cpu;
}

/// The threads' CPU seconds between two thread_cpu() readings, "name s, ...".
std::string cpu_between(const std::map<std::string, double>& a, const std::map<std::string, double>& b,
                        double* sum = nullptr)
{
    std::string out;
    double total = 0;
    for (const auto& [name, s] : b) {
        const auto it = a.find(name);
        const double d = s - (it == a.end() ? 0.0 : it->second);
        total += d;
        if (d >= 0.005) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", name.c_str(), d);
            out += buf;
        }
    }
    if (sum)
        *sum = total;
    char buf[48];
    std::snprintf(buf, sizeof buf, " (total %.2f)", total);
    return out + buf;
}

std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
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
    std::printf(" batch %d, metrics %s, threads %d (the policy now: %d for the GUI, %d headless), load average %s\n",
                w.batch(), metrics ? "on" : "off", used_threads, default_threads(m->card(), ThreadUse::Interactive),
                default_threads(m->card(), ThreadUse::Batch), load_average().c_str());

    std::vector<double> gui, headless, gui_cpu, headless_cpu;
    for (int r = 0; r < runs; ++r) {
        // A run of the same recipe is skipped as unchanged: a new seed each round (both sides use it).
        w.setSeed(quint64(100 + r));
        const auto cpu0 = thread_cpu();
        QElapsedTimer clock;
        clock.start();
        w.startRun();
        if (!wait_for(&w, SIGNAL(runFinished(bool)), 900000)) {
            std::fprintf(stderr, "bench-gui: the GUI run did not finish\n");
            return 3;
        }
        gui.push_back(clock.nsecsElapsed() * 1e-9);
        const auto cpu1 = thread_cpu();

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
        const auto cpu2 = thread_cpu();
        std::printf("  run %d: GUI %.2f s, headless %.2f s (load average %s)\n", r + 1, gui.back(), headless.back(),
                    load_average().c_str());
        double gc = 0, hc = 0;
        const std::string gs = cpu_between(cpu0, cpu1, &gc), hs = cpu_between(cpu1, cpu2, &hc);
        gui_cpu.push_back(gc);
        headless_cpu.push_back(hc);
        std::printf("    CPU s, GUI run: %s\n    CPU s, headless: %s\n", gs.c_str(), hs.c_str());
        std::fflush(stdout);
    }
    const double gmin = *std::min_element(gui.begin(), gui.end()), hmin = *std::min_element(headless.begin(), headless.end());
    std::printf("GUI      min %.2f s, median %.2f s\nheadless min %.2f s, median %.2f s\n"
                "ratio GUI/headless: %.3f (min), %.3f (median)\n",
                gmin, median(gui), hmin, median(headless), gmin / hmin, median(gui) / median(headless));
    std::vector<double> cpu_ratio;
    for (std::size_t i = 0; i < gui_cpu.size(); ++i)
        cpu_ratio.push_back(headless_cpu[i] > 0 ? gui_cpu[i] / headless_cpu[i] : 0);
    std::printf("CPU seconds GUI run/headless: %.3f (min), %.3f (median); load average %s\n",
                *std::min_element(cpu_ratio.begin(), cpu_ratio.end()), median(cpu_ratio), load_average().c_str());
    return 0;
}
