// Start-up that neither blocks nor loses a message (issue 27): a settings file that
// is a FIFO made QSettings' constructor block for ever (no window appeared);
// `noisetrail --run BROKEN.ntsession` showed no error, because loading the start-up
// model cleared the banner. Quitting with a model call that never returns hung for ever.
#include "main_window.hpp"
#include "startup.hpp"
#include "ui_test_util.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QLabel>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

using namespace noisetrail::ui;
using noisetrail::ui::test::kModels;

class TestStartup : public QObject {
    Q_OBJECT
    QTemporaryDir config_, systemConfig_;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(config_.isValid() && systemConfig_.isValid());
        qputenv("XDG_CONFIG_HOME", config_.path().toUtf8());
        qputenv("XDG_CONFIG_DIRS", systemConfig_.path().toUtf8());
        QCoreApplication::setOrganizationName("NoiseTrail");
        QCoreApplication::setApplicationName("NoiseTrail");
    }

    void regularOrAbsentSettingsAreUsed()
    {
        QCOMPARE(unusableSettingsFile(), QString()); // absent
        QVERIFY(QDir(config_.path()).mkpath("NoiseTrail"));
        QFile f(config_.filePath("NoiseTrail/NoiseTrail.conf"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("[General]\nmodel=x\n");
        f.close();
        QCOMPARE(unusableSettingsFile(), QString());
        QCOMPARE(guardSettings(config_.filePath("unused")), QString());
        QVERIFY(f.remove());
    }

    void fifoSettingsDoNotBlock()
    {
        const QString fifo = config_.filePath("NoiseTrail/NoiseTrail.conf");
        QVERIFY(QDir(config_.path()).mkpath("NoiseTrail"));
        QCOMPARE(mkfifo(fifo.toLocal8Bit().constData(), 0600), 0);
        QVERIFY2(unusableSettingsFile().contains(fifo), qPrintable(unusableSettingsFile()));
        QTemporaryDir fallback;
        const QString said = guardSettings(fallback.path());
        QVERIFY2(said.contains(fifo) && said.contains("running without settings"), qPrintable(said));

        // Watchdog: QSettings made, read and written in a thread; a blocked open never returns.
        auto done = std::make_shared<std::atomic<bool>>(false);
        std::thread([done] {
            QSettings s;
            s.setValue("model", "ring8.json");
            s.sync();
            done->store(s.value("model").toString() == "ring8.json" && s.status() == QSettings::NoError);
        }).detach();
        for (int i = 0; i < 100 && !done->load(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        QVERIFY2(done->load(), "QSettings did not answer within 1 s");
        QVERIFY(QFileInfo(fifo).exists() && !QFileInfo(fifo).isFile()); // the FIFO untouched
    }

    void runErrorAtStartupStaysVisible()
    {
        QTemporaryDir dir;
        // Its name is markup with an escape sequence: the banner shows it as text, escaped.
        const QString broken = dir.filePath("<b>broken\x1b[2J.ntsession");
        QFile f(broken);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not a session at all");
        f.close();
        MainWindowOptions o;
        o.modelPath = kModels + "/ring8.json";
        o.useSettings = false;
        o.modelsDir = kModels;
        MainWindow w(o); // as app/gui/main.cpp: the start-up model loads while --run is scheduled
        openRunAtStartup(w, broken);
        QTRY_VERIFY_WITH_TIMEOUT(w.hasModel(), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(w.errorText().contains(".ntsession"), 5000);
        QTest::qWait(500); // anything still queued from the model's load has run
        QVERIFY2(w.errorText().contains("<b>broken\\x1B[2J.ntsession"), qPrintable(w.errorText()));
        auto* label = w.findChild<QLabel*>("errorLabel");
        QVERIFY(label);
        QCOMPARE(label->textFormat(), Qt::PlainText);
    }

    void quittingEndsWhenTheTeardownHangs()
    {
        // This executable as the app after its event loop: a teardown stuck for ever (a
        // worker in a model call that never returns), or one that ends at once.
        for (const bool stuck : {true, false}) {
            QProcess child;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("TST_STARTUP_TEARDOWN", stuck ? "stuck" : "quick");
            child.setProcessEnvironment(env);
            QElapsedTimer timer;
            timer.start();
            child.start(QCoreApplication::applicationFilePath(), {});
            QVERIFY(child.waitForFinished(240000)); // a hang guard, not a timing
            const QString err = QString::fromUtf8(child.readAllStandardError());
            QCOMPARE(child.exitStatus(), QProcess::NormalExit);
            if (stuck) {
                qInfo("stuck teardown ended after %lld ms", static_cast<long long>(timer.elapsed()));
                QCOMPARE(child.exitCode(), 5);
                QVERIFY2(err.contains("the model did not respond"), qPrintable(err));
            } else {
                QCOMPARE(child.exitCode(), 3);
                QVERIFY2(!err.contains("did not respond"), qPrintable(err));
            }
        }
    }
};

int main(int argc, char** argv)
{
    // The child of quittingEndsWhenTheTeardownHangs: what app/gui/main.cpp does after app.exec().
    const QByteArray teardown = qgetenv("TST_STARTUP_TEARDOWN");
    if (!teardown.isEmpty()) {
        // A stuck teardown is ended after 300 ms; a quick one must never meet its watchdog,
        // however busy the machine (a 300 ms one fired at load 8 before the process had exited).
        const bool stuck = teardown == "stuck";
        endIfTeardownHangs(stuck ? 5 : 0, stuck ? std::chrono::milliseconds(300) : std::chrono::milliseconds(120000));
        if (teardown == "stuck")
            std::this_thread::sleep_for(std::chrono::hours(1)); // a join that never ends
        return 3;
    }
    QApplication app(argc, argv);
    TestStartup t;
    return QTest::qExec(&t, argc, argv);
}
#include "tst_startup.moc"
