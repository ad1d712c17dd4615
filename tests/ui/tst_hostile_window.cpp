// The window under models and files that do not play fair (issue 27), offscreen,
// with a watchdog on the GUI thread (a timer whose ticks must never be a second
// apart): Stop with a model call that never returns ends the run within the grace,
// says that the model did not respond, keeps and saves what was computed, and the
// next Run goes to a new worker thread; a session that takes seconds to read is
// read while the window answers, and one over the memory budget is one message.
#include "session_util.hpp"
#include "ui_test_util.hpp"

#include "noisetrail/limits.hpp"
#include "noisetrail/session.hpp"
#include "run_document.hpp"
#include "run_files.hpp"
#include "sampler_panel.hpp"
#include "startup.hpp"

#include <QAction>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QApplication>
#include <QLabel>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

/// Sanitizer builds run everything several times slower (tests/CMakeLists.txt).
constexpr int kScale = NOISETRAIL_TEST_TIMEOUT_SCALE;
/// The freezes these tests guard against lasted 15 s and more; the GUI thread's
/// pauses measured here are 0.1-0.25 s (printed). The bound leaves room for a
/// loaded 2-core CI machine, where the scheduler alone can stall a thread for a second.
constexpr int kFrozenMs = 4000;

/// The longest the GUI thread went without running a 50 ms timer, since start().
class Watchdog {
public:
    void start()
    {
        timer_.setInterval(50);
        QObject::connect(&timer_, &QTimer::timeout, [this] {
            maxGapMs_ = std::max(maxGapMs_, last_.restart());
        });
        last_.start();
        timer_.start();
    }
    qint64 maxGapMs() const { return std::max(maxGapMs_, last_.elapsed()); }

private:
    QTimer timer_;
    QElapsedTimer last_;
    qint64 maxGapMs_ = 0;
};

/// A model call that, from call `at` on, loops until released (a TorchScript
/// module stuck in a loop after a few steps); the threads that call it are noted.
struct Trap {
    int at = 5;
    std::atomic<int> calls{0};
    std::atomic<bool> held{true}, caught{false};
    std::mutex mutex;
    QThread* stuckThread = nullptr;
    std::set<QThread*> laterThreads; ///< threads of the calls after the stuck one

    /// Lets the call return when the test ends, passed or not: the window's teardown joins it.
    struct Release {
        std::shared_ptr<Trap> trap;
        ~Release() { trap->held = false; }
    };

    void call()
    {
        const int n = calls.fetch_add(1);
        if (n < at)
            return;
        if (n == at) {
            {
                std::lock_guard lock(mutex);
                stuckThread = QThread::currentThread();
            }
            caught = true;
            while (held.load())
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return;
        }
        std::lock_guard lock(mutex);
        laterThreads.insert(QThread::currentThread());
    }
};

void writeAll(const QString& path, const std::string& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes.data(), qint64(bytes.size())), qint64(bytes.size()));
}

/// A session header (noisetrail/session.hpp) declaring `payload` inflated bytes from
/// a deflated stream of `packed` bytes that follows it.
std::string sessionHeader(std::uint64_t payload, std::uint64_t packed)
{
    std::string h("\x89NTS\r\n\x1a\n", 8);
    const auto put = [&](auto v) { h.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(std::uint32_t(1)); // format 1: the payload is deflated
    put(std::uint32_t(0));
    put(payload);
    put(packed);
    put(std::uint32_t(0)); // CRC: never reached unless the payload inflates
    put(std::uint32_t(0));
    return h;
}

} // namespace

class TestHostileWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void stopWithAModelThatNeverReturns()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        w->panel(0)->setConfig(cfg("ddpm", 100));
        w->panel(1)->setConfig(cfg("ddim", 50));
        w->setBatch(16);
        auto trap = std::make_shared<Trap>();
        const Trap::Release release{trap};
        w->document()->setModel(hooked_model(*w->model(), [trap] { trap->call(); }));
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(trap->caught.load(), 20000);
        QVERIFY(w->isRunning());
        // The steps before the stuck call reach the store (core's recorder, its own thread).
        QTRY_VERIFY_WITH_TIMEOUT(w->document()->trajectory(0)->size() >= 1, 5000);
        QTest::qWait(200);
        const int computed = w->document()->trajectory(0)->size();

        Watchdog watchdog;
        watchdog.start();
        QElapsedTimer sinceStop;
        sinceStop.start();
        auto* stop = w->findChild<QAction*>("stopAction");
        auto* run = w->findChild<QAction*>("runAction");
        QVERIFY(stop && run);
        stop->trigger(); // Esc
        auto* status = w->findChild<QLabel*>("statusLabel");
        QTRY_VERIFY_WITH_TIMEOUT(status->text().startsWith("Stopping"), kFrozenMs * kScale);

        // The call never returns, yet the run ends after the grace, as stopped.
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, (RunDocument::kStopGraceMs + 3000) * kScale);
        qInfo("the run ended %lld ms after Stop", static_cast<long long>(sinceStop.elapsed()));
        QCOMPARE(done.at(0).at(0).toBool(), true);
        QVERIFY(trap->held.load()); // still stuck: the run ended without it
        QVERIFY(!w->isRunning());
        QVERIFY2(w->errorText().contains("did not respond to Stop"), qPrintable(w->errorText()));
        QVERIFY(!stop->isEnabled());
        QVERIFY(run->isEnabled());
        QVERIFY2(!status->text().startsWith("Stopping"), qPrintable(status->text()));
        QCOMPARE(w->document()->trajectory(0)->size(), computed); // what was computed stays
        QCOMPARE(w->panel(0)->trajectory().size(), computed);
        QVERIFY(w->document()->pendingNote(0).contains("did not respond"));

        // It can be saved, and reads back with the steps computed before Stop.
        QTemporaryDir dir;
        const QString file = dir.filePath("stuck.ntsession");
        QVERIFY2(w->saveRun(file), qPrintable(w->errorText()));
        const Session saved = read_session(file.toStdString());
        QCOMPARE(saved.panels.at(0).trajectory->size(), computed);

        // A new run: on a new worker thread, not the stuck one, and to its end.
        w->startRun();
        QVERIFY(w->isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 2, 60000 * kScale);
        QCOMPARE(done.at(1).at(0).toBool(), false);
        QVERIFY(w->panel(0)->trajectory().finished());
        QCOMPARE(w->panel(0)->trajectory().size(), 100);
        {
            std::lock_guard lock(trap->mutex);
            QVERIFY(trap->stuckThread);
            QVERIFY(!trap->laterThreads.empty());
            QVERIFY(!trap->laterThreads.count(trap->stuckThread));
        }
        qInfo("the GUI thread's longest pause: %lld ms", static_cast<long long>(watchdog.maxGapMs()));
        QVERIFY2(watchdog.maxGapMs() < kFrozenMs * kScale, qPrintable(QString::number(watchdog.maxGapMs())));

        // The stuck call returns at last: what its job still reports is stale.
        const Trajectory* shown = &w->panel(0)->trajectory();
        trap->held = false;
        QTest::qWait(500);
        QCOMPARE(done.size(), 2);
        QVERIFY(!w->isRunning());
        QCOMPARE(&w->panel(0)->trajectory(), shown);
        QVERIFY(w->panel(0)->trajectory().finished());
    }

    void quittingAfterAStuckStopEnds()
    {
        // The stuck thread the window gave up on still holds its call at Quit: the
        // teardown cannot join it, and the process ends 1.5 s later, saying why.
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("TST_HOSTILE_CHILD", "stuck-quit");
        child.setProcessEnvironment(env);
        child.start(QCoreApplication::applicationFilePath(), {});
        QVERIFY(child.waitForFinished(60000 * kScale));
        const QString out = QString::fromUtf8(child.readAllStandardOutput());
        const QString err = QString::fromUtf8(child.readAllStandardError());
        QCOMPARE(child.exitStatus(), QProcess::NormalExit);
        QVERIFY2(out.contains("stopped: The model did not respond to Stop"), qPrintable(out + err));
        QCOMPARE(child.exitCode(), 7);
        QVERIFY2(err.contains("the model did not respond within 1500 ms of quitting"), qPrintable(err));
    }

    void aRunQueuedBehindAStuckCallGoesToANewWorker()
    {
        // Not Stop: an edit abandons the stuck run and Run queues the next one behind it.
        RunDocument d;
        QSignalSpy ready(&d, &RunDocument::modelReady);
        d.loadModel(kModels + "/ring8.json");
        QVERIFY(ready.wait(20000));
        d.setPanelConfig(0, cfg("ddpm", 40));
        d.setPanelConfig(1, cfg("ddim", 20));
        d.setBatch(16);
        auto trap = std::make_shared<Trap>();
        const Trap::Release release{trap};
        d.setModel(hooked_model(*d.model(), [trap] { trap->call(); }));
        QSignalSpy finished(&d, &RunDocument::runFinished), errors(&d, &RunDocument::error);
        QCOMPARE(d.run(), RunDocument::RunStart::Started);
        QTRY_VERIFY_WITH_TIMEOUT(trap->caught.load(), 20000);
        d.setBatch(8);
        QCOMPARE(d.run(), RunDocument::RunStart::Started); // the newest wins: the stuck job is cancelled
        QVERIFY(!d.isStopping());
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, (RunDocument::kStopGraceMs + 60000) * kScale);
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QCOMPARE(d.trajectory(0)->batch(), 8);
        QVERIFY(d.trajectory(0)->finished() && d.trajectory(1)->finished());
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors.at(0).at(0).toString().contains("did not respond"), qPrintable(errors.at(0).at(0).toString()));
        // A card loads on the new worker too (it would wait behind the stuck call).
        QSignalSpy panel(&d, &RunDocument::panelModelChanged);
        d.setPanelCard(1, kModels + "/gaussian-2d.json");
        QTRY_COMPARE_WITH_TIMEOUT(panel.size(), 1, 20000);
    }

    void aSessionThatTakesSecondsToReadLeavesTheWindowAnswering()
    {
        // A file of about 1 MB declaring 257 MiB (within the budget): a real session's
        // description made to declare 256 x 1 x 512 x 512 samples (the most values a step
        // may have), then their x_T, all zeros, deflated, and nothing after it. The reader
        // streams (issue 27): it inflates the 256 MiB of x_T before it finds the panels
        // missing. A 1000 MiB payload of zeros alone is refused at its first field now.
        // Sessions used to be read on the GUI thread.
        QTemporaryDir dir;
        const QString file = dir.filePath("zeros.ntsession");
        std::string prefix; // the payload up to x_T's values: the description and x_T's count
        {
            const QString real = dir.filePath("real.ntsession");
            write_session(real.toStdString(), noisetrail::test::make_session(dir.filePath("card.json").toStdString()));
            QFile f(real);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray bytes = f.readAll();
            std::uint64_t len = 0;
            std::memcpy(&len, bytes.constData() + 40, sizeof len);
            QJsonObject meta = QJsonDocument::fromJson(bytes.mid(48, qsizetype(len))).object();
            meta["format"] = "noisetrail-session/1"; // format 1: a deflated payload
            meta["batch"] = 256;
            meta["data_shape"] = QJsonArray{1, 512, 512};
            QJsonArray panels = meta["panels"].toArray();
            for (qsizetype i = 0; i < panels.size(); ++i) {
                QJsonObject o = panels[i].toObject();
                o["shape"] = QJsonArray{256, 1, 512, 512};
                panels[i] = o;
            }
            meta["panels"] = panels;
            const QByteArray text = QJsonDocument(meta).toJson(QJsonDocument::Compact);
            const std::uint64_t text_len = std::uint64_t(text.size()), values = std::uint64_t(256) * 512 * 512;
            prefix.append(reinterpret_cast<const char*>(&text_len), sizeof text_len);
            prefix.append(text.constData(), std::size_t(text.size()));
            prefix.append(reinterpret_cast<const char*>(&values), sizeof values);
        }
        const std::uint64_t x_T_bytes = std::uint64_t(256) << 20;
        const std::uint64_t declared = prefix.size() + x_T_bytes;
        std::string zeros(std::size_t(64) << 20, '\0');
        std::string packed;
        {
            // Deflate the prefix, then x_T's zeros by streaming one 64 MiB buffer 4 times.
            z_stream z{};
            QCOMPARE(deflateInit(&z, Z_BEST_SPEED), Z_OK);
            std::string out(std::size_t(1) << 20, '\0');
            for (int k = -1; k < 4; ++k) {
                const std::size_t part = k < 0 ? prefix.size() : k < 3 ? zeros.size() : std::size_t(x_T_bytes - 3 * zeros.size());
                z.next_in = reinterpret_cast<Bytef*>(k < 0 ? prefix.data() : zeros.data());
                z.avail_in = uInt(part);
                const int flush = k < 3 ? Z_NO_FLUSH : Z_FINISH;
                do {
                    z.next_out = reinterpret_cast<Bytef*>(out.data());
                    z.avail_out = uInt(out.size());
                    deflate(&z, flush);
                    packed.append(out.data(), out.size() - z.avail_out);
                } while (z.avail_out == 0);
            }
            deflateEnd(&z);
        }
        writeAll(file, sessionHeader(declared, packed.size()) + packed);
        QVERIFY(packed.size() < (std::size_t(4) << 20));

        auto w = open_main_window(kModels + "/ring8.json");
        Watchdog watchdog;
        watchdog.start();
        QSignalSpy errors(w.get(), &MainWindow::errorShown);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(w->openRun(file)); // the header is fine: reading starts
        QVERIFY2(w->findChild<QLabel*>("statusLabel")->text().startsWith("Reading zeros.ntsession (257 MiB)") /* x_T and the description */,
                 qPrintable(w->findChild<QLabel*>("statusLabel")->text()));
        auto* files = w->findChild<RunFiles*>();
        QVERIFY(files);
        QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 1, 60000 * kScale);
        qInfo("read and refused in %lld ms; the GUI thread's longest pause: %lld ms (%s)",
              static_cast<long long>(clock.elapsed()), static_cast<long long>(watchdog.maxGapMs()),
              qPrintable(errors.at(0).at(0).toString()));
        QVERIFY2(errors.at(0).at(0).toString().contains("zeros.ntsession"), qPrintable(errors.at(0).at(0).toString()));
        QVERIFY(!files->isReadingRun());
        const QString status = w->findChild<QLabel*>("statusLabel")->text();
        QVERIFY2(status.contains("zeros.ntsession was not opened"), qPrintable(status));
        QVERIFY2(watchdog.maxGapMs() < kFrozenMs * kScale, qPrintable(QString::number(watchdog.maxGapMs())));
        QVERIFY(w->hasModel() && !w->isReplay()); // the window's run stays

        // Opened again and the window closed while it reads: reading is cancelled, not waited for.
        QVERIFY(w->openRun(file));
        QVERIFY(files->isReadingRun());
        QElapsedTimer closing;
        closing.start();
        w.reset();
        qInfo("the window went in %lld ms while the session was being read", static_cast<long long>(closing.elapsed()));
        QVERIFY2(closing.elapsed() < kFrozenMs * kScale, qPrintable(QString::number(closing.elapsed())));
    }

    void aSessionOverTheBudgetIsOneMessageAtOnce()
    {
        // 2 MiB declaring 2 GiB (a ratio deflate can reach): refused from its header,
        // before anything is read or allocated.
        QTemporaryDir dir;
        const QString file = dir.filePath("big.ntsession");
        const std::size_t packed = std::size_t(2) << 20;
        writeAll(file, sessionHeader(std::uint64_t(2) << 30, packed) + std::string(packed, '\0'));
        auto w = open_main_window(kModels + "/ring8.json");
        QSignalSpy errors(w.get(), &MainWindow::errorShown);
        QVERIFY(!w->openRun(file));
        QCOMPARE(errors.size(), 1);
        const QString m = errors.at(0).at(0).toString();
        QVERIFY2(m.startsWith("Could not open the run: ") && m.contains("big.ntsession"), qPrintable(m));
        QVERIFY2(m.contains("over the memory budget of 1024 MiB"), qPrintable(m));
        QVERIFY2(m.contains("The window opens runs of up to 1024 MiB"), qPrintable(m));
        QVERIFY(!w->findChild<RunFiles*>()->isReadingRun());
        QTest::qWait(200);
        QCOMPARE(errors.size(), 1);
    }
};

/// The child of quittingAfterAStuckStopEnds: app/gui/main.cpp's steps with a model call
/// that never returns, stopped (the window gives up on it), then Quit.
int stuckQuitChild(int argc, char** argv)
{
    QApplication app(argc, argv);
    MainWindowOptions o;
    o.modelPath = kModels + "/ring8.json";
    o.useSettings = false;
    o.modelsDir = kModels;
    MainWindow w(o);
    w.show();
    QSignalSpy ready(&w, &MainWindow::modelReady), done(&w, &MainWindow::runFinished);
    if (!w.hasModel() && !ready.wait(20000))
        return 10;
    w.setBatch(16);
    auto trap = std::make_shared<Trap>(); // never released
    w.document()->setModel(hooked_model(*w.model(), [trap] { trap->call(); }));
    w.startRun();
    for (int i = 0; i < 2000 && !trap->caught.load(); ++i)
        QTest::qWait(10);
    w.stopRun();
    if (!done.wait(10000 * kScale) || w.isRunning())
        return 11;
    std::printf("stopped: %s\n", qPrintable(w.errorText()));
    std::fflush(stdout);
    QTimer::singleShot(0, &w, &QWidget::close); // Ctrl+Q
    const int code = app.exec();
    endIfTeardownHangs(code == 0 ? 7 : 12, std::chrono::milliseconds(1500));
    return code; // w's destructor waits for the stuck thread: the watchdog ends the process
}

int main(int argc, char** argv)
{
    if (qEnvironmentVariable("TST_HOSTILE_CHILD") == "stuck-quit")
        return stuckQuitChild(argc, argv);
    QApplication app(argc, argv);
    TestHostileWindow t;
    return QTest::qExec(&t, argc, argv);
}
#include "tst_hostile_window.moc"
