// File > Save Run / Open Run and the exports in the real window (offscreen):
// a saved run reopens with every panel's frames equal, also when its model card
// is gone (replay: scrubs and plays, Run refuses with one message); a bad file is
// one error and leaves the open run untouched; Export writes a GIF on a worker.
#include "media_util.hpp"
#include "session_util.hpp"
#include "ui_test_util.hpp"

#include "run_document.hpp"
#include "noisetrail/limits.hpp"

#include "export_job.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"
#include "timeline_mapping.hpp"

#include <QFile>
#include <QAbstractButton>
#include <QFileDialog>
#include <QLineEdit>
#include <QMessageBox>
#include <QApplication>
#include <QTimer>
#include <QAction>
#include <QSettings>
#include <QTemporaryDir>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <set>
#include <zlib.h>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

namespace {

void runSmall(MainWindow& w)
{
    w.panel(0)->setConfig(cfg("ddpm", 20));
    w.panel(1)->setConfig(cfg("ddim", 10));
    w.setBatch(32);
    QSignalSpy done(&w, &MainWindow::runFinished);
    w.startRun();
    QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 30000);
}

void compareStores(const Trajectory& a, const Trajectory& b)
{
    QCOMPARE(b.size(), a.size());
    QCOMPARE(b.timesteps(), a.timesteps());
    std::vector<float> va, vb;
    for (int k = 0; k <= a.size(); ++k) {
        a.decode(k, Field::Xt, va);
        b.decode(k, Field::Xt, vb);
        QVERIFY(va == vb);
    }
    for (int k = 0; k < a.size(); ++k) {
        a.decode(k, Field::X0Hat, va);
        b.decode(k, Field::X0Hat, vb);
        QVERIFY(va == vb);
        QCOMPARE(b.info(k).stats.xt_std, a.info(k).stats.xt_std);
    }
}

} // namespace

class TestSessionGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void saveAndReopenWithoutTheCard()
    {
        QTemporaryDir dir;
        // A private copy of the ring card, deleted after saving: the reopened run cannot load it.
        const QString card = dir.filePath("ring8.json");
        QVERIFY(QFile::copy(kModels + "/ring8.json", card));
        auto w = open_main_window(card);
        runSmall(*w);
        QVERIFY(w->hasUnsavedRun());
        const QString file = dir.filePath("run.ntsession");
        QVERIFY(w->saveRun(file));
        QVERIFY(!w->hasUnsavedRun());
        QVERIFY(QFile::remove(card));

        auto v = open_main_window(kModels + "/gaussian-2d.json");
        QSignalSpy opened(v.get(), &MainWindow::runOpened);
        QVERIFY(v->openRun(file));
        QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
        QVERIFY(v->isReplay());
        QVERIFY(QString::fromStdString(v->model()->card().name).startsWith("Ring of 8"));
        QCOMPARE(v->panelCount(), 2);
        QCOMPARE(v->seed(), w->seed());
        QCOMPARE(v->batch(), 32);
        for (int p = 0; p < 2; ++p)
            compareStores(w->panel(p)->trajectory(), v->panel(p)->trajectory());
        QCOMPARE(v->panel(1)->description(), QString("DDIM, 10 steps, eta 0, leading"));
        // It scrubs without the model: every panel follows the cursor.
        QCOMPARE(v->timeline()->cursor(), TimelineMapping::kFinal);
        QCOMPARE(v->panel(0)->displayedStep(), 20);
        v->timeline()->setCursor(999);
        v->refreshViews();
        QCOMPARE(v->panel(0)->displayedStep(), 0);
        QCOMPARE(v->panel(1)->displayedStep(), 0);
        v->timeline()->setCursor(500);
        v->refreshViews();
        QCOMPARE(v->panel(1)->displayedT(), 500);
        // Run asks for the card instead of sampling from nothing.
        QSignalSpy errors(v.get(), &MainWindow::errorShown);
        v->startRun();
        QVERIFY(!v->isRunning());
        QCOMPARE(errors.size(), 1);
        QVERIFY(errors.at(0).at(0).toString().contains("ring8.json"));
    }

    void reopenWithTheCardLoadsIt()
    {
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        runSmall(*w);
        const QString file = dir.filePath("run.ntsession");
        QVERIFY(w->saveRun(file));
        auto v = open_main_window(kModels + "/gaussian-2d.json");
        QSignalSpy opened(v.get(), &MainWindow::runOpened);
        QVERIFY(v->openRun(file));
        QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
        QVERIFY(!v->isReplay());
        for (int p = 0; p < 2; ++p)
            compareStores(w->panel(p)->trajectory(), v->panel(p)->trajectory());
        // Nothing changed since the run: Run recomputes nothing and finishes at once.
        QVERIFY(v->hasModel());
    }

    void panelWithItsOwnCardReopensOnIt()
    {
        // The learned two-moons MLP in the window, the exact two-moons denoiser in panel 2.
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/two-moons-mlp.json");
        const QString exact = QFileInfo(kModels + "/two-moons.json").absoluteFilePath();
        w->setPanelCard(1, exact);
        QTRY_VERIFY_WITH_TIMEOUT(w->document()->hasOwnModel(1), 20000);
        runSmall(*w);
        const QString file = dir.filePath("run.ntsession");
        QVERIFY(w->saveRun(file));

        auto v = open_main_window(kModels + "/gaussian-2d.json");
        QSignalSpy opened(v.get(), &MainWindow::runOpened);
        QVERIFY(v->openRun(file));
        QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(v->document()->hasOwnModel(1), 20000);
        QCOMPARE(v->panel(1)->model()->path, exact);
        QVERIFY(!v->document()->hasOwnModel(0));
        // The saved frames are shown again after the card came (setting a card clears a panel).
        QTRY_VERIFY_WITH_TIMEOUT(v->panel(1)->trajectory().size() == 10, 20000);
        for (int p = 0; p < 2; ++p)
            compareStores(w->panel(p)->trajectory(), v->panel(p)->trajectory());
        QVERIFY(!v->hasUnsavedRun());
        QVERIFY(v->errorText().isEmpty());
    }

    void panelCardsAreRemembered()
    {
        const QString exact = QFileInfo(kModels + "/two-moons.json").absoluteFilePath();
        MainWindowOptions o;
        o.modelPath = kModels + "/two-moons-mlp.json";
        o.modelsDir = kModels;
        o.useSettings = true; // test mode (initTestCase): not the user's settings
        {
            MainWindow w(o);
            QSignalSpy ready(&w, &MainWindow::modelReady);
            w.show();
            QVERIFY(ready.wait(20000));
            w.setPanelCard(1, exact);
            QTRY_VERIFY_WITH_TIMEOUT(w.document()->hasOwnModel(1), 20000);
            QVERIFY(w.close()); // writes the settings
        }
        MainWindow v(o);
        QSignalSpy ready(&v, &MainWindow::modelReady);
        v.show();
        QVERIFY(ready.wait(20000));
        QTRY_VERIFY_WITH_TIMEOUT(v.document()->hasOwnModel(1), 20000);
        QCOMPARE(v.panel(1)->model()->path, exact);
        QVERIFY(!v.document()->hasOwnModel(0));
        v.setPanelCard(1, QString());
        QVERIFY(v.close());
        QSettings().remove("panelCards");
    }

    void badFileIsOneErrorAndKeepsTheRun()
    {
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        runSmall(*w);
        const Trajectory* before = &w->panel(0)->trajectory();
        const QString file = dir.filePath("run.ntsession");
        QVERIFY(w->saveRun(file));
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.resize(f.size() / 2); // truncated
        f.close();
        QSignalSpy errors(w.get(), &MainWindow::errorShown);
        QVERIFY(!w->openRun(file));
        QCOMPARE(errors.size(), 1);
        QVERIFY(errors.at(0).at(0).toString().contains("run.ntsession"));
        QCOMPARE(&w->panel(0)->trajectory(), before);
        QCOMPARE(w->panelCount(), 2);
        // An unwritable place is one error too, and nothing is half-written.
        QVERIFY(!w->saveRun(dir.filePath("no/such/folder/x.ntsession")));
        QCOMPARE(errors.size(), 2);
    }

    /// Issue 27: a session's blocks are inflated when shown, so a damaged block is found
    /// by the view, not the reader. The run opens; each panel that cannot show its step
    /// says so once in the banner and is marked damaged; nothing crashes, and scrubbing
    /// on over damaged steps adds no more messages.
    void damagedFrameIsOneErrorPerPanel()
    {
        QTemporaryDir dir;
        Session s = noisetrail::test::make_session(dir.filePath("card.json").toStdString()); // 8x8 images, card embedded
        // All zeros: every 8-bit block is a zlib stream (deflated or a difference).
        const auto zeros = [](std::vector<int> ts, int stored) {
            auto t = std::make_shared<Trajectory>(std::vector<std::int64_t>{3, 1, 8, 8}, ts, Trajectory::Precision::UInt8);
            for (int k = 0; k < stored; ++k) {
                StepFrame f;
                f.step = k;
                f.steps = int(ts.size());
                f.plan = {ts[std::size_t(k)], k + 1 < int(ts.size()) ? ts[std::size_t(k) + 1] : -1, 0.5, 0.6, 0.1};
                f.shape = {3, 1, 8, 8};
                f.x_t = f.x0_hat = f.eps_hat = f.x_prev = std::vector<float>(192, 0.0f);
                t->append(f);
            }
            return t;
        };
        s.panels[0].trajectory = zeros({8, 6, 4, 2, 0}, 5);
        s.panels[1].trajectory = zeros({9, 4}, 2);
        const std::filesystem::path file = dir.filePath("damaged.ntsession").toStdString();
        write_session(file, s);
        std::string bytes;
        {
            std::ifstream in(file, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        // Garble the deflate data of every zlib stream (level 1: header 78 01), then make
        // the checksum agree: only inflating finds the damage.
        int garbled = 0;
        for (std::size_t z = bytes.find(std::string("\x78\x01", 2), 40); z != std::string::npos;
             z = bytes.find(std::string("\x78\x01", 2), z + 6), ++garbled)
            for (std::size_t i = z + 2; i < std::min(bytes.size(), z + 6); ++i)
                bytes[i] = char(~bytes[i]);
        QVERIFY(garbled >= 23); // panel 0: 6 + 5 + 5 blocks, panel 1: 3 + 2 + 2
        const std::uint32_t crc =
            std::uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data() + 40), bytes.size() - 40));
        std::memcpy(bytes.data() + 32, &crc, sizeof crc);
        std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;

        auto w = open_main_window(kModels + "/ring8.json");
        QSignalSpy opened(w.get(), &MainWindow::runOpened);
        QSignalSpy errors(w.get(), &MainWindow::errorShown);
        QVERIFY(w->openRun(QString::fromStdString(file.string())));
        QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 2, 5000);
        QSet<QString> panels;
        for (const auto& e : errors) {
            const QString m = e.at(0).toString();
            QVERIFY2(m.contains("cannot show this step") && m.contains("the stored frames are damaged") &&
                         m.contains("does not decode"),
                     qPrintable(m));
            panels << m.section(' ', 0, 1);
        }
        QCOMPARE(panels, (QSet<QString>{"Panel 1", "Panel 2"}));
        QVERIFY(!w->document()->damage(0).isEmpty());
        QVERIFY(!w->document()->damage(1).isEmpty());
        for (int cursor : {9, 4, 0, TimelineMapping::kFinal}) { // scrubbing over damaged steps
            w->timeline()->setCursor(cursor);
            w->refreshViews();
        }
        QTest::qWait(50);
        QCOMPARE(errors.size(), 2);
    }

    /// Issue 27: the window could save a run that File > Open Run then refused (over the
    /// memory budget), without a word. Save Run now asks first, with the reader's reason
    /// and what reads the file; Cancel writes nothing, Save writes it.
    void saveRunWarnsWhenTheWindowCouldNotReopenIt()
    {
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        runSmall(*w);
        const QString file = dir.filePath("big.ntsession");
        struct Budget { // a budget far below the run's payload, restored however the test ends
            std::uint64_t saved = memory_budget();
            Budget() { set_memory_budget(4096); }
            ~Budget() { set_memory_budget(saved); }
        } budget;
        QStringList warned;
        bool answerSave = false;
        auto* t = new QTimer(w.get());
        t->setInterval(20);
        connect(t, &QTimer::timeout, t, [&] {
            QWidget* modal = QApplication::activeModalWidget();
            if (auto* where = qobject_cast<QFileDialog*>(modal)) {
                // Typed into its name box, then its Save button (accept() is protected).
                if (auto* name = where->findChild<QLineEdit*>("fileNameEdit"))
                    name->setText(file);
                QMetaObject::invokeMethod(where, "accept");
            } else if (auto* box = qobject_cast<QMessageBox*>(modal)) {
                warned << box->text();
                box->button(answerSave ? QMessageBox::Save : QMessageBox::Cancel)->click();
            }
        });
        t->start();
        w->findChild<QAction*>("saveRunAction")->trigger();
        QCOMPARE(warned.size(), 1);
        QVERIFY2(warned[0].startsWith("File > Open Run will not open this run again: ") && warned[0].contains("big.ntsession") &&
                     warned[0].contains("its payload of") && warned[0].contains("over the memory budget of") &&
                     warned[0].contains("noisetrail-cli session (with --max-memory-mib) reads larger ones"),
                 qPrintable(warned[0]));
        QVERIFY(!QFile::exists(file)); // cancelled: nothing written
        QVERIFY(w->hasUnsavedRun());
        answerSave = true;
        w->findChild<QAction*>("saveRunAction")->trigger();
        t->stop();
        QCOMPARE(warned.size(), 2);
        QVERIFY(QFile::exists(file));
        QVERIFY(!w->hasUnsavedRun());
        set_memory_budget(budget.saved); // under the default budget it opens
        QCOMPARE(read_session(file.toStdString()).panels.size(), std::size_t(2));
    }

    void exportAnimationOnAWorker()
    {
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        runSmall(*w);
        // One frame per distinct timestep of both plans, then the final samples (counted here).
        std::set<int> levels;
        for (int p = 0; p < 2; ++p)
            levels.insert(w->panel(p)->trajectory().timesteps().begin(), w->panel(p)->trajectory().timesteps().end());
        const QString gif = dir.filePath("run.gif");
        AnimationExport o;
        o.fps = 10;
        o.hold_seconds = 1;
        o.render.width = 480;
        o.render.height = 270;
        // The job emits from its worker thread. A QSignalSpy would record there (it
        // connects directly) while this thread reads it, a data race (TSan); these
        // counters are updated by queued calls in this thread instead.
        QObject here;
        int progress = 0, finished = 0;
        bool cancelled = true;
        ExportJob* job = w->startAnimationExport(gif, AnimationFormat::Gif, o);
        QVERIFY(job);
        connect(job, &ExportJob::progress, &here, [&](int, int) { ++progress; }, Qt::QueuedConnection);
        connect(job, &ExportJob::finished, &here, [&](const QString&, bool c) { ++finished, cancelled = c; },
                Qt::QueuedConnection);
        QTRY_COMPARE_WITH_TIMEOUT(finished, 1, 60000);
        QCOMPARE(cancelled, false);
        QVERIFY(progress >= 1);
        const noisetrail::test::Decoded d = noisetrail::test::decode_gif(gif.toStdString());
        QCOMPARE(d.frames, int(levels.size()) + 1);
        QCOMPARE(d.width, 480);
        QCOMPARE(d.height, 270);

        // Cancelled: no file (or, had it finished first, a complete one).
        const QString mp4 = dir.filePath("run.mp4");
        ExportJob* second = w->startAnimationExport(mp4, AnimationFormat::Mp4, o);
        finished = 0;
        connect(second, &ExportJob::finished, &here, [&](const QString&, bool c) { ++finished, cancelled = c; },
                Qt::QueuedConnection);
        second->cancel();
        QTRY_COMPARE_WITH_TIMEOUT(finished, 1, 60000);
        QCOMPARE(cancelled, !QFile::exists(mp4));
    }

    // Export > Interactive Page: core's page writer on the export worker, with
    // progress; a 2-D run's page carries its points for the page's canvas.
    void exportPageOnAWorker()
    {
        QTemporaryDir dir;
        auto w = open_main_window(kModels + "/ring8.json");
        runSmall(*w);
        QVERIFY(w->findChild<QAction*>("exportPageAction"));
        const QString page = dir.filePath("run.html");
        QObject here;
        int progress = 0, finished = 0;
        bool cancelled = true;
        ExportJob* job = w->startPageExport(page, PageOptions{});
        QVERIFY(job);
        connect(job, &ExportJob::progress, &here, [&](int, int) { ++progress; }, Qt::QueuedConnection);
        connect(job, &ExportJob::finished, &here, [&](const QString&, bool c) { ++finished, cancelled = c; },
                Qt::QueuedConnection);
        QTRY_COMPARE_WITH_TIMEOUT(finished, 1, 60000);
        QCOMPARE(cancelled, false);
        QVERIFY(progress >= 1);
        QFile f(page);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray html = f.readAll();
        QVERIFY(html.startsWith("<!DOCTYPE html>"));
        QVERIFY(html.contains("\"kind\":\"points\""));
        QVERIFY(html.contains("\"stored\":20") && html.contains("\"stored\":10")); // runSmall's DDPM 20, DDIM 10

        // Cancelled: no file (or, had it finished first, a complete one).
        const QString second = dir.filePath("second.html");
        ExportJob* job2 = w->startPageExport(second, PageOptions{});
        finished = 0;
        connect(job2, &ExportJob::finished, &here, [&](const QString&, bool c) { ++finished, cancelled = c; },
                Qt::QueuedConnection);
        job2->cancel();
        QTRY_COMPARE_WITH_TIMEOUT(finished, 1, 60000);
        QCOMPARE(cancelled, !QFile::exists(second));
    }

    void nothingToSaveBeforeARun()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        QSignalSpy errors(w.get(), &MainWindow::errorShown);
        QTemporaryDir dir;
        QVERIFY(!w->saveRun(dir.filePath("x.ntsession")));
        QCOMPARE(errors.size(), 1);
        QVERIFY(!QFile::exists(dir.filePath("x.ntsession")));
        // File > Save Run says so at once, before asking where to save.
        bool askedWhere = false;
        QTimer::singleShot(2000, w.get(), [&askedWhere] {
            if (QWidget* modal = QApplication::activeModalWidget()) { // a file dialog: the bug
                askedWhere = true;
                modal->close();
            }
        });
        w->findChild<QAction*>("saveRunAction")->trigger();
        QCOMPARE(errors.size(), 2);
        QVERIFY(!askedWhere);
        QVERIFY(w->errorText().contains("press Run first"));
    }
};

QTEST_MAIN(TestSessionGui)
#include "tst_session_gui.moc"
