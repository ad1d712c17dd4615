// The Compare view on a real window (offscreen): opened from the Run menu's
// action, a small quick grid fills the table and the plot, cells are cached,
// and a long computation can be cancelled, also while it waits behind another job.
#include "compare_dialog.hpp"
#include "main_window.hpp"
#include "ui_test_util.hpp"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QPushButton>
#include <QSemaphore>
#include <QThread>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <memory>

using namespace noisetrail;
using namespace noisetrail::ui;

namespace {
using noisetrail::ui::test::kModels;
}

class TestCompareView : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> open(const QString& card) { return test::open_main_window(card, {1280, 720}); }

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void escapeKeepsTheMetricChoice()
    {
        auto w = open(kModels + "/ring8.json");
        CompareDialog* d = w->openCompare();
        QVERIFY(d && d->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(d->metricCombo()->count() > 1, 60000); // the worker prepares the reference first; 8 s under CI load
        d->metricCombo()->setCurrentIndex(1);
        const QString chosen = d->metricCombo()->currentData().toString();
        QTest::keyClick(d, Qt::Key_Escape);
        QTRY_VERIFY(!d->isVisible());
        CompareDialog* again = w->openCompare();
        QCOMPARE(again, d);
        QCOMPARE(again->metricCombo()->currentData().toString(), chosen);
    }

    void quickGridFillsTheTableAndIsCached()
    {
        auto w = open(kModels + "/ring8.json");
        auto* act = w->findChild<QAction*>("compareAction");
        QVERIFY(act && act->isEnabled());
        QCOMPARE(act->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
        act->trigger();
        CompareDialog* d = w->compareDialog();
        QVERIFY(d && d->isVisible());
        QTemporaryDir dir;
        d->setReadOnlyCaches({});
        d->setCacheFile(dir.filePath("cache.json"));
        d->findChild<QCheckBox*>("compareQuick")->setChecked(true);
        d->findChild<QSpinBox*>("compareSamples")->setValue(40);
        QCOMPARE(d->stepCounts(), (std::vector<int>{10, 20}));
        QSignalSpy done(d, &CompareDialog::computeFinished);
        QTest::mouseClick(d->findChild<QPushButton*>("compareCompute"), Qt::LeftButton);
        QVERIFY(d->isComputing());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QTableWidget* t = d->table();
        QCOMPARE(t->columnCount(), 2);
        QCOMPARE(t->rowCount(), 5 + 1); // 4 etas + sigma-hat, and the true-mixture row
        QCOMPARE(t->verticalHeaderItem(4)->text(), QString("DDPM sigma-hat"));
        for (int r = 0; r < 6; ++r)
            for (int c = 0; c < 2; ++c) {
                bool ok = false;
                t->item(r, c)->text().toDouble(&ok);
                QVERIFY2(ok, qPrintable(t->item(r, c)->text()));
            }
        // The plot: one line per sampler with a point per S, plus the dashed reference.
        QCOMPARE(d->plotLineCount(), 6);
        QCOMPARE(d->plotPointCount(0), 2);
        QVERIFY(d->plotLogX());
        // Another metric re-fills the table from the same grid.
        d->metricCombo()->setCurrentIndex(d->metricCombo()->findData("components_covered"));
        QCOMPARE(t->item(5, 0)->text(), QString("8")); // exact draws cover the ring

        // Reopened: every cell comes from the cache at once.
        d->setQuick(false);
        d->setQuick(true);
        QTRY_VERIFY_WITH_TIMEOUT(d->statusText().contains("All 10 cells are cached"), 10000);
    }

    void equalCostPutsHeunBesideDdimAtTheSameModelCalls()
    {
        // Equal cost: columns are model-call budgets; Heun (2 calls a step, 1 on its last)
        // gets a row, and each row takes the steps that fit: Heun S steps cost 2S - 1 calls.
        auto w = open(kModels + "/ring8.json");
        w->findChild<QAction*>("compareAction")->trigger();
        CompareDialog* d = w->compareDialog();
        QTemporaryDir dir;
        d->setReadOnlyCaches({});
        d->setCacheFile(dir.filePath("cache.json"));
        d->findChild<QCheckBox*>("compareQuick")->setChecked(true);
        d->findChild<QSpinBox*>("compareSamples")->setValue(40);
        d->findChild<QCheckBox*>("compareEqualCost")->setChecked(true);
        QSignalSpy done(d, &CompareDialog::computeFinished);
        d->compute();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        QTableWidget* t = d->table();
        QCOMPARE(t->horizontalHeaderItem(0)->text(), QString("NFE = 10"));
        QCOMPARE(t->horizontalHeaderItem(1)->text(), QString("NFE = 20"));
        const auto g = d->grid();
        QVERIFY(g && g->equal_nfe);
        int heun = -1;
        for (std::size_t i = 0; i < g->variants.size(); ++i)
            if (g->variants[i].config.sampler == "heun")
                heun = int(i);
        QVERIFY(heun >= 0);
        QVERIFY(t->verticalHeaderItem(heun)->text().contains(QStringLiteral("Heun")));
        for (std::size_t k = 0; k < g->steps.size(); ++k) {
            const int S = g->cell_steps(std::size_t(heun), k);
            QVERIFY(2 * S - 1 <= g->steps[k] && 2 * (S + 1) - 1 > g->steps[k]); // the most steps within the budget
            QCOMPARE(g->cell_steps(0, k), g->steps[k]); // DDIM: one call a step
        }
    }

    void opensOnTheCliCache()
    {
        // docs/compare-ring8/ holds the CLI's full 1000-sample grid: the view
        // follows it and shows the whole table at once, computing nothing.
        const QString cli = QStringLiteral(NOISETRAIL_SOURCE_DIR "/docs/compare-ring8/compare-cache.json");
        if (!QFileInfo::exists(cli))
            QSKIP("no CLI cache under docs/compare-ring8");
        auto w = open(kModels + "/ring8.json");
        CompareDialog* d = w->openCompare();
        QVERIFY(d);
        QTRY_COMPARE_WITH_TIMEOUT(d->samples(), 1000, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(d->statusText().contains("All 25 cells are cached"), 10000);
        QCOMPARE(d->table()->rowCount(), 6);
        // The numbers of docs/compare-ring8/compare.csv (DDIM eta 0, S = 10).
        QCOMPARE(d->metricCombo()->currentData().toString(), QString("log_likelihood"));
        QCOMPARE(d->table()->item(0, 0)->text(), QString("-2.185"));
        d->metricCombo()->setCurrentIndex(d->metricCombo()->findData("vendi"));
        QCOMPARE(d->table()->item(0, 0)->text(), QString("12.64"));
        QVERIFY(!d->isComputing());
    }

    void digitViewOpensFilledOnAFreshClone()
    {
        // A fresh clone: the bundled models and the committed digit cache copied to a
        // new place (new paths, new modification times). The cache is keyed on content,
        // so the Compare view of the default digit model opens with its table filled.
        const QString src = QStringLiteral(NOISETRAIL_SOURCE_DIR);
        const QString csv = src + "/docs/compare-mnist-unet/compare.csv";
        if (!QFileInfo::exists(src + "/models/mnist-unet.pt"))
            QSKIP("the digit UNet's weights are not there");
        QTemporaryDir clone;
        const auto copyTree = [](const QString& from, const QString& to) {
            QDirIterator it(from, QDir::Files, QDirIterator::Subdirectories);
            while (it.hasNext()) {
                const QString f = it.next();
                const QString dst = to + "/" + QDir(from).relativeFilePath(f);
                QDir().mkpath(QFileInfo(dst).absolutePath());
                QVERIFY(QFile::copy(f, dst));
            }
        };
        copyTree(src + "/models", clone.filePath("models"));
        copyTree(src + "/docs/compare-mnist-unet", clone.filePath("docs/compare-mnist-unet"));
        auto w = open(clone.filePath("models/mnist-unet.json"));
        CompareDialog* d = w->openCompare();
        QVERIFY(d);
        QTRY_COMPARE_WITH_TIMEOUT(d->samples(), 100, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(d->statusText().contains("All 25 cells are cached"), 20000);
        QVERIFY(!d->isComputing());
        QCOMPARE(d->table()->rowCount(), 6); // 4 etas + sigma-hat, and the held-out digits
        // The numbers of the committed table (compare.csv): FD of every cell.
        d->metricCombo()->setCurrentIndex(d->metricCombo()->findData("fd_classifier"));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
        const QStringList head = lines[0].split(',');
        const int col_fd = head.indexOf("fd_classifier"), col_s = head.indexOf("steps");
        QVERIFY(col_fd > 0 && col_s > 0);
        const std::vector<int> steps = compare::kFullSteps;
        int checked = 0;
        for (int row = 0; row < 5; ++row)
            for (int k = 0; k < 5; ++k) {
                const QStringList c = lines[1 + row * 5 + k].split(',');
                QCOMPARE(c[col_s].toInt(), steps[k]);
                const double expect = c[col_fd].toDouble(), shown = d->table()->item(row, k)->text().toDouble();
                QVERIFY2(std::abs(shown - expect) <= 0.01 * expect,
                         qPrintable(QString("%1 vs %2").arg(shown).arg(expect)));
                ++checked;
            }
        QCOMPARE(checked, 25);
    }

    void changedModelSaysWhyCellsAreRecomputed()
    {
        // The ring card edited after its cache was committed (same name, other content):
        // no cached cell is used, and the status line says why.
        const QString src = QStringLiteral(NOISETRAIL_SOURCE_DIR);
        QTemporaryDir clone;
        QDir().mkpath(clone.filePath("models"));
        QDir().mkpath(clone.filePath("docs/compare-ring8"));
        QVERIFY(QFile::copy(src + "/docs/compare-ring8/compare-cache.json",
                            clone.filePath("docs/compare-ring8/compare-cache.json")));
        QFile in(src + "/models/ring8.json");
        QVERIFY(in.open(QIODevice::ReadOnly));
        QByteArray card = in.readAll();
        card.replace("\"stds\"", "\"note\": \"edited\", \"stds\"");
        QFile out(clone.filePath("models/ring8.json"));
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(card);
        out.close();
        auto w = open(clone.filePath("models/ring8.json"));
        CompareDialog* d = w->openCompare();
        QVERIFY(d);
        d->setSamples(1000);
        QTRY_VERIFY_WITH_TIMEOUT(d->statusText().contains("0 of 25 cells cached"), 10000);
        QVERIFY2(d->statusText().contains("25 cells in the cache were measured on other content of this model"),
                 qPrintable(d->statusText()));
        QVERIFY(!d->isComputing());
    }

    void longGridCanBeCancelled()
    {
        auto w = open(kModels + "/ring8.json");
        CompareDialog* d = w->openCompare();
        QVERIFY(d);
        QTemporaryDir dir;
        d->setReadOnlyCaches({});
        d->setCacheFile(dir.filePath("cache.json"));
        d->setQuick(false); // S up to 1000: long enough to cancel
        d->setSamples(400);
        QSignalSpy done(d, &CompareDialog::computeFinished);
        d->compute();
        QTRY_VERIFY_WITH_TIMEOUT(d->statusText().contains("step"), 20000);
        QTest::mouseClick(d->findChild<QPushButton*>("compareCancel"), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 20000);
        QCOMPARE(done.at(0).at(0).toBool(), true);
        QVERIFY(d->statusText().startsWith("Cancelled"));
        QVERIFY(d->grid());
        int notDone = 0;
        for (const auto& row : d->grid()->cells)
            for (const auto& c : row)
                notDone += c.done ? 0 : 1;
        QVERIFY(notDone > 0);
        QVERIFY(d->findChild<QPushButton*>("compareCompute")->isEnabled());
    }

    void cancelOfAQueuedComputeIsNotLost()
    {
        // Compute pressed while the worker is still busy with an earlier job (the view's own
        // cache lookups, held here until Cancel is pressed), then Cancel: the queued grid must
        // end cancelled without sampling a cell. (The worker used to reset its cancel flag when
        // the next job started, so that Cancel was lost and the whole grid ran.)
        auto w = open(kModels + "/ring8.json");
        CompareDialog* d = w->openCompare();
        QVERIFY(d);
        QTemporaryDir dir;
        d->setReadOnlyCaches({});
        d->setCacheFile(dir.filePath("cache.json"));
        d->setQuick(false);
        d->setSamples(2000); // minutes of sampling if it ran
        QThread* thread = d->findChild<QThread*>();
        QVERIFY(thread && thread->isRunning());
        QSemaphore release;
        auto* busy = new QObject;
        busy->moveToThread(thread);
        QMetaObject::invokeMethod(busy, [&release, busy] { release.acquire(); busy->deleteLater(); },
                                  Qt::QueuedConnection);
        QSignalSpy done(d, &CompareDialog::computeFinished);
        d->compute();
        QVERIFY(d->isComputing());
        QTest::mouseClick(d->findChild<QPushButton*>("compareCancel"), Qt::LeftButton);
        release.release();
        QElapsedTimer clock;
        clock.start();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 20000);
        qInfo("the queued grid ended %lld ms after the worker was free", clock.elapsed());
        QCOMPARE(done.at(0).at(0).toBool(), true);
        QVERIFY2(d->statusText().startsWith("Cancelled"), qPrintable(d->statusText()));
        QVERIFY(!d->isComputing());
        QVERIFY(!d->grid() || d->grid()->computed == 0);
        QVERIFY(!QFile::exists(dir.filePath("cache.json"))); // no cell was measured
        QTest::qWait(300);
        QCOMPARE(done.size(), 1);
        QVERIFY(d->findChild<QPushButton*>("compareCompute")->isEnabled());
    }
};

QTEST_MAIN(TestCompareView)
#include "tst_compare_view.moc"
