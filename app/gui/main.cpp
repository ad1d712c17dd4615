// noisetrail: the GUI. Argument parsing and wiring only; everything else is in ui/.
#include "forward_view.hpp"
#include "lesson_player.hpp"
#include "compare_dialog.hpp"
#include "equation_view.hpp"
#include "main_window.hpp"
#include "noisetrail/lesson.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/threads.hpp"
#include "noisetrail/version.hpp"
#include "palette.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "startup.hpp"
#include "timeline_bar.hpp"

#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QDialog>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QPalette>
#include <QRegularExpression>
#include <QScreen>
#include <QStyleFactory>
#include <QTemporaryDir>
#include <QTabWidget>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

using namespace noisetrail::ui;
using noisetrail::Field;

namespace {

// Process events for `ms` milliseconds (screenshot mode only).
void settle(int ms)
{
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < ms)
        QApplication::processEvents(QEventLoop::AllEvents, 20);
}

// --screenshot: run the default comparison, scrub to the middle, save the
// window (and the forward view, and a sample's filmstrip for image models).
void scheduleScreenshots(MainWindow& w, const QString& prefix)
{
    auto started = std::make_shared<bool>(false);
    QObject::connect(&w, &MainWindow::modelReady, &w, [&w, started] {
        if (!*started) {
            *started = true;
            w.startRun();
        }
    });
    QObject::connect(&w, &MainWindow::errorShown, &w, [](const QString& m) {
        std::fprintf(stderr, "noisetrail: %s\n", qPrintable(m));
    });
    QObject::connect(&w, &MainWindow::runFinished, &w, [&w, prefix](bool) {
        const int mid = w.timeline()->trainSteps() / 2;
        w.timeline()->setCursor(mid);
        w.refreshViews();
        QTimer::singleShot(400, &w, [&w, prefix] {
            w.grab().save(prefix + ".png");
            std::printf("%s.png\n", qPrintable(prefix));
            w.bottomTabs()->setCurrentWidget(w.forwardView());
            w.forwardView()->setT(w.timeline()->trainSteps() / 4);
            QTimer::singleShot(300, &w, [&w, prefix] {
                w.grab().save(prefix + "-forward.png");
                std::printf("%s-forward.png\n", qPrintable(prefix));
                // The reverse step of panel 2 (DDIM) at the middle, written out with its numbers.
                w.bottomTabs()->setCurrentWidget(w.equationView());
                w.equationView()->setPanel(std::min(1, w.panelCount() - 1));
                w.refreshViews();
                settle(250);
                w.grab().save(prefix + "-equations.png");
                std::printf("%s-equations.png\n", qPrintable(prefix));
                // The end of the run: where DDIM's smooth and DDPM's jagged paths show best.
                w.bottomTabs()->setCurrentIndex(0);
                w.timeline()->setCursor(-1);
                w.refreshViews();
                settle(250); // let the coalesced replot land
                w.grab().save(prefix + "-final.png");
                std::printf("%s-final.png\n", qPrintable(prefix));
                if (w.model() && !w.model()->card().is_2d_points()) {
                    SamplerPanel* p = w.panel(0);
                    SampleDialog d(p->trajectory(), 0, p->displayedStep(), p->description(), &w);
                    d.show();
                    settle(100);
                    d.grab().save(prefix + "-sample.png");
                    std::printf("%s-sample.png\n", qPrintable(prefix));
                }
                w.close();
            });
        });
    });
}

// --screenshot-compare: open the Compare view, compute what the cache lacks,
// show `metric`, save PREFIX.png of the view, then quit.
void scheduleCompareScreenshot(MainWindow& w, const QString& prefix, int samples, bool quick, const QString& metric)
{
    auto started = std::make_shared<bool>(false);
    QObject::connect(&w, &MainWindow::modelReady, &w, [&w, started, prefix, samples, quick, metric] {
        if (*started)
            return;
        *started = true;
        CompareDialog* d = w.openCompare();
        d->resize(1200, 620);
        d->setQuick(quick);
        d->setSamples(samples);
        // The cache lookup (and the reference row) on the compare worker.
        for (int i = 0; i < 100 && !d->statusText().contains(QStringLiteral("cached")); ++i)
            settle(100);
        const auto save = [&w, d, prefix, metric] {
            const int i = d->metricCombo()->findData(metric);
            if (i >= 0)
                d->metricCombo()->setCurrentIndex(i);
            settle(400);
            d->grab().save(prefix + ".png");
            std::printf("%s.png\n", qPrintable(prefix));
            d->close();
            w.close();
        };
        if (d->statusText().startsWith(QStringLiteral("All"))) {
            save();
            return;
        }
        QObject::connect(d, &CompareDialog::computeFinished, &w, save);
        d->compute();
    });
}

} // namespace

int main(int argc, char** argv)
{
    noisetrail::prepare_process(argc, argv, noisetrail::ThreadUse::Interactive);
    // --help and --version need no display: answer them on the offscreen platform.
    for (int i = 1; i < argc; ++i) {
        const QByteArray a(argv[i]);
        if ((a == "-h" || a == "--help" || a == "--help-all" || a == "-v" || a == "--version") &&
            qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    QApplication::setOrganizationName("NoiseTrail");
    QApplication::setApplicationName("NoiseTrail");
    QApplication::setApplicationVersion(QString::fromLatin1(NOISETRAIL_VERSION));

    QCommandLineParser cli;
    cli.setApplicationDescription("NoiseTrail: watch DDPM and DDIM denoise the same noise, side by side.");
    cli.addHelpOption();
    cli.addVersionOption();
    QCommandLineOption model({"m", "model"}, "Open the model card CARD.", "CARD");
    QCommandLineOption shot("screenshot", "Run the default comparison, scrub to the middle, save PREFIX.png "
                                          "(and PREFIX-forward.png, PREFIX-final.png, PREFIX-sample.png), then quit.", "PREFIX");
    QCommandLineOption size("size", "Window size, e.g. 1366x768 (the default for --screenshot).", "WxH", "1366x768");
    QCommandLineOption panelModel("panel-model",
                                  "Panel I (1..4) samples from CARD instead of the window's model (same data "
                                  "shape); may be repeated.", "I=CARD");
    QCommandLineOption panelSampler("panel-sampler", "Panel I (1..4) uses SAMPLER with STEPS steps, e.g. 2=ddim:50; "
                                                     "may be repeated.", "I=SAMPLER:STEPS");
    QCommandLineOption pacing("pacing", "How the panels advance together: lockstep (default), realtime or sequential.",
                              "NAME");
    QCommandLineOption dark("dark", "Use a dark palette.");
    QCommandLineOption seed("seed", "Seed of the shared starting noise.", "N");
    QCommandLineOption panels("panels", "Number of sampler panels, 1..4 (default 2).", "N");
    QCommandLineOption field("field", "What image panels show: x_t, x0_hat, eps_hat, or on guided runs x0_cond or x0_uncond.", "FIELD", "x_t");
    QCommandLineOption shotCompare("screenshot-compare",
                                   "Open the Compare view (DDPM vs DDIM), compute what the cache lacks, save "
                                   "PREFIX.png of it, then quit.", "PREFIX");
    QCommandLineOption compareSamples("compare-samples", "Samples per cell for --screenshot-compare (default 1000).",
                                      "N", "1000");
    QCommandLineOption compareQuick("compare-quick", "Only S = 10, 20 for --screenshot-compare.");
    QCommandLineOption compareMetric("compare-metric", "Metric shown by --screenshot-compare (a CSV column name).",
                                     "KEY", "vendi");
    QCommandLineOption present("presentation", "Start in presentation mode (full screen, large text; Esc leaves).");
    QCommandLineOption presentScale("scale", "Presentation scale factor, 1.0 to 3.0 (default: from the screen height).",
                                    "F");
    QCommandLineOption run("run", "Open a saved run (a .ntsession from File > Save Run or 'noisetrail-cli run "
                                  "--session'): it scrubs and plays without recomputing.", "FILE");
    QCommandLineOption lesson("lesson", "Open a lesson (.lesson.json, docs/LESSONS.md) at its first step; Page Down "
                                        "and Page Up walk its steps. 'bundled' opens the lesson that ships with "
                                        "NoiseTrail.", "FILE");
    cli.addOptions({model, shot, size, dark, seed, panels, field, panelModel, panelSampler, pacing, shotCompare, compareSamples,
                    compareQuick, compareMetric, run, present, presentScale, lesson});
    cli.addPositionalArgument("card", "Model card to open (same as --model).", "[CARD]");
    cli.process(app);

    // Before any QSettings is made: a settings file that is a FIFO blocked its constructor
    // for ever, and no window appeared. Then run without settings (an empty folder), said once.
    std::optional<QTemporaryDir> noSettings;
    if (!noisetrail::ui::unusableSettingsFile().isEmpty()) {
        noSettings.emplace();
        std::fprintf(stderr, "noisetrail: %s\n", qPrintable(noisetrail::ui::guardSettings(noSettings->path())));
    }

    if (cli.isSet(dark)) {
        QApplication::setStyle(QStyleFactory::create("Fusion"));
        QApplication::setPalette(darkPalette());
    }
    MainWindowOptions opts;
    opts.modelPath = cli.value(model);
    if (opts.modelPath.isEmpty() && !cli.positionalArguments().isEmpty())
        opts.modelPath = cli.positionalArguments().first();
    if (!opts.modelPath.isEmpty() && !QFileInfo::exists(opts.modelPath)) {
        std::fprintf(stderr, "noisetrail: --model %s: no such file\n", qPrintable(opts.modelPath));
        return 2;
    }
    const bool screenshot = cli.isSet(shot) || cli.isSet(shotCompare);
    opts.useSettings = !screenshot; // screenshots are reproducible: defaults, not the user's settings
    opts.askBeforeDiscard = !screenshot;
    MainWindow w(opts);
    if (cli.isSet(seed))
        w.setSeed(cli.value(seed).toULongLong());
    try {
        w.setField(noisetrail::parse_field(cli.value(field).toStdString(), "--field")); // core's names, as the CLI's
    } catch (const std::exception& e) {
        std::fprintf(stderr, "noisetrail: %s\n", e.what());
        return 2;
    }
    if (cli.isSet(panels)) {
        const int n = std::clamp(cli.value(panels).toInt(), 1, 4);
        while (w.panelCount() < n)
            w.addPanel();
        while (w.panelCount() > n)
            w.removePanel(w.panelCount() - 1);
    }
    if (cli.isSet(pacing)) {
        try {
            w.setPacing(noisetrail::parse_pacing(cli.value(pacing).toStdString()));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "noisetrail: %s\n", e.what());
            return 2;
        }
    }
    for (const QString& v : cli.values(panelSampler)) {
        const QStringList parts = v.split(QRegularExpression("[=:]"));
        const int i = parts.size() == 3 ? parts[0].toInt() : 0;
        const auto& names = noisetrail::sampler_names();
        if (i < 1 || i > 4 || std::find(names.begin(), names.end(), parts[1].toStdString()) == names.end() ||
            parts[2].toInt() < 1) {
            std::fprintf(stderr, "noisetrail: --panel-sampler %s: expected I=SAMPLER:STEPS, I in 1..4, a registered "
                                 "sampler and STEPS >= 1\n", qPrintable(v));
            return 2;
        }
        while (w.panelCount() < i)
            w.addPanel();
        noisetrail::SamplerConfig c = w.panel(i - 1)->config();
        c.sampler = parts[1].toStdString();
        c.steps = parts[2].toInt();
        w.panel(i - 1)->setConfig(c);
    }
    std::vector<std::pair<int, QString>> panelCards;
    for (const QString& v : cli.values(panelModel)) {
        const int eq = int(v.indexOf('='));
        const int i = eq > 0 ? v.left(eq).toInt() : 0;
        const QString card = eq > 0 ? v.mid(eq + 1) : QString();
        if (i < 1 || i > 4 || !QFileInfo::exists(card)) {
            std::fprintf(stderr, "noisetrail: --panel-model %s: expected I=CARD with I in 1..4 and an existing card\n",
                         qPrintable(v));
            return 2;
        }
        panelCards.push_back({i - 1, card});
    }
    if (!panelCards.empty()) {
        // Once the window's model is there (each panel's card must match its data shape).
        auto given = std::make_shared<bool>(false);
        QObject::connect(&w, &MainWindow::modelReady, &w, [&w, panelCards, given] {
            if (*given)
                return;
            *given = true;
            for (const auto& [i, card] : panelCards) {
                while (w.panelCount() <= i)
                    w.addPanel();
                w.setPanelCard(i, card);
            }
        });
    }
    if (screenshot || cli.isSet(size)) {
        const QStringList wh = cli.value(size).split('x');
        if (wh.size() == 2)
            w.resize(wh[0].toInt(), wh[1].toInt());
    }
    if (screenshot) {
        if (cli.isSet(shot))
            scheduleScreenshots(w, cli.value(shot));
        else
            scheduleCompareScreenshot(w, cli.value(shotCompare), cli.value(compareSamples).toInt(),
                                      cli.isSet(compareQuick), cli.value(compareMetric));
    }
    double scale = 0.0; // 0: from the screen
    if (cli.isSet(presentScale)) {
        bool ok = false;
        scale = cli.value(presentScale).toDouble(&ok);
        if (!ok || scale < 1.0 || scale > 3.0) {
            std::fprintf(stderr, "noisetrail: --scale %s: expected a number from 1.0 to 3.0\n",
                         qPrintable(cli.value(presentScale)));
            return 2;
        }
        if (!cli.isSet(present)) {
            std::fprintf(stderr, "noisetrail: --scale applies to --presentation only\n");
            return 2;
        }
    }
    if (cli.isSet(run)) {
        const QString file = cli.value(run);
        if (!QFileInfo::exists(file)) {
            std::fprintf(stderr, "noisetrail: --run %s: no such file\n", qPrintable(file));
            return 2;
        }
        // After the start-up model is ready: loading it clears the banner, which hid this run's error.
        noisetrail::ui::openRunAtStartup(w, file);
    }
    if (cli.isSet(lesson)) {
        QString file = cli.value(lesson);
        if (file == "bundled")
            file = LessonPlayer::bundledLesson(MainWindow::findModelsDir());
        try {
            noisetrail::read_lesson(file.toStdString()); // a bad file is one line and exit code 2, before the window
        } catch (const std::exception& e) {
            std::fprintf(stderr, "noisetrail: --lesson: %s\n", e.what());
            return 2;
        }
        w.lessons()->open(file);
    }
    w.show();
    if (cli.isSet(present))
        w.setPresentation(true, scale);
    const int code = app.exec();
    // The window is closed and its settings written; what follows (w's destructor) joins
    // the worker, which a model call that never returns would hold for ever.
    noisetrail::ui::endIfTeardownHangs(code, std::chrono::milliseconds(1500));
    return code;
}
