// Figures and tables out of the window: plots save as PNG / SVG / PDF at the
// requested size and their CSV has one column per series with the plotted values
// (checked against the schedule computed in core); tables copy as TSV on Ctrl+C
// and export CSV and Markdown.
#include "qcustomplot_test.hpp"
#include "ui_test_util.hpp"

#include "compare_dialog.hpp"
#include "export_plot.hpp"
#include "plots_widget.hpp"

#include <QApplication>
#include <QClipboard>
#include <QHeaderView>
#include <QImage>
#include <QSvgRenderer>
#include <QTableWidget>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <sys/stat.h>

using namespace noisetrail;
using namespace noisetrail::ui;
using namespace noisetrail::ui::test;

class TestExportPlots : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void plotsSaveAtTheRequestedSize()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        auto* plot = w->findChild<QCustomPlot*>("schedulePlot");
        QVERIFY(plot);
        QCOMPARE(plot->contextMenuPolicy(), Qt::CustomContextMenu); // the export menu is installed
        QTemporaryDir dir;
        QVERIFY(savePlot(plot, dir.filePath("s.png"), 640, 360));
        const QImage png(dir.filePath("s.png"));
        QCOMPARE(png.size(), QSize(640, 360));
        QVERIFY(savePlot(plot, dir.filePath("s.svg"), 640, 360));
        QSvgRenderer svg(dir.filePath("s.svg"));
        QVERIFY(svg.isValid());
        QCOMPARE(svg.viewBox(), QRect(0, 0, 640, 360)); // its user units are the requested pixels
        QVERIFY(savePlot(plot, dir.filePath("s.pdf"), 640, 360));
        QFile pdf(dir.filePath("s.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == "%PDF-");
        QVERIFY(!savePlot(plot, dir.filePath("s.bmpx")));
    }

    /// Exports go through core's atomic writer: a FIFO or a folder where the file goes
    /// is refused at once (never opened, so nothing blocks) and stays what it was; a
    /// replaced file is whole and no temporary is left beside it.
    void exportsRefuseSpecialFilesAndLeaveNoTemporaries()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        auto* plot = w->findChild<QCustomPlot*>("schedulePlot");
        QVERIFY(plot);
        QTemporaryDir dir;
        const QString fifo = dir.filePath("fifo.png");
        QCOMPARE(::mkfifo(fifo.toLocal8Bit().constData(), 0600), 0);
        QVERIFY(QDir().mkdir(dir.filePath("folder.svg")));
        for (const QString& target : {fifo, dir.filePath("folder.svg")}) {
            QVERIFY(!savePlot(plot, target, 320, 200)); // a blocking open() would hang here
        }
        QVERIFY(QFileInfo(fifo).exists() && !QFileInfo(fifo).isFile());
        QVERIFY(QFileInfo(dir.filePath("folder.svg")).isDir());
        QVERIFY(!writeFileAtomic(fifo, "x"));
        // Replacing an existing export: the new file, whole, and nothing else in the folder.
        QVERIFY(writeFileAtomic(dir.filePath("s.pdf"), "old"));
        QVERIFY(savePlot(plot, dir.filePath("s.pdf"), 320, 200));
        QFile pdf(dir.filePath("s.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == "%PDF-");
        QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot).size(), 3);
    }

    void csvHasOneColumnPerSeries()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        auto* plot = w->findChild<QCustomPlot*>("schedulePlot");
        const QStringList lines = plotCsv(plot).split('\n', Qt::SkipEmptyParts);
        const QStringList head = lines.first().split(',');
        QCOMPARE(head.size(), 1 + plot->graphCount());
        // The first series is alpha_bar over t: compare every row with core's schedule.
        const auto& sched = w->model()->model->schedule();
        int checked = 0;
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList cells = lines[i].split(',');
            QCOMPARE(cells.size(), head.size());
            const int t = cells[0].toInt();
            if (!cells[1].isEmpty()) {
                QCOMPARE(cells[1].toDouble(), sched.alpha_bar(t));
                ++checked;
            }
        }
        QCOMPARE(checked, sched.train_steps());
        // Descending t, as the timeline runs.
        QVERIFY(lines[1].split(',')[0].toInt() > lines[2].split(',')[0].toInt());
    }

    void allPlotsExportToAFolder()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        QTemporaryDir dir;
        QString error;
        const int n = exportAllPlots(w.get(), dir.path(), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(n >= 2);
        for (const char* f : {"schedulePlot.png", "schedulePlot.svg", "schedulePlot.pdf", "schedulePlot.csv", "statsPlot.csv"})
            QVERIFY2(QFile::exists(dir.filePath(f)), f);
    }

    void compareViewHasTheExports()
    {
        auto w = open_main_window(kModels + "/ring8.json");
        CompareDialog* d = w->openCompare();
        QVERIFY(d);
        QVERIFY(d->table()->property("noisetrailExport").toBool());
        QCOMPARE(d->table()->selectionMode(), QAbstractItemView::ExtendedSelection); // Ctrl+A selects all
        QCOMPARE(d->table()->contextMenuPolicy(), Qt::CustomContextMenu);
        auto* plot = d->findChild<QCustomPlot*>("comparePlot");
        QVERIFY(plot);
        QCOMPARE(plot->contextMenuPolicy(), Qt::CustomContextMenu);
        d->close();
    }

    void tablesCopyAsTsvAndExportCsvAndMarkdown()
    {
        QTableWidget t(2, 3);
        t.setHorizontalHeaderLabels({"S = 10", "S = 50", "S, quoted"});
        t.setVerticalHeaderLabels({"DDPM", "DDIM"});
        const char* cells[2][3] = {{"0.91", "0.95", "a,b"}, {"0.88", "0.97", "x|y"}};
        for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 3; ++c)
                t.setItem(r, c, new QTableWidgetItem(cells[r][c]));
        installTableExport(&t);
        t.show();
        QVERIFY(QTest::qWaitForWindowExposed(&t));
        t.setRangeSelected(QTableWidgetSelectionRange(0, 0, 1, 1), true);
        t.setFocus();
        QTest::keySequence(&t, QKeySequence::Copy);
        QCOMPARE(QApplication::clipboard()->text(), QString("\tS = 10\tS = 50\nDDPM\t0.91\t0.95\nDDIM\t0.88\t0.97\n"));
        QCOMPARE(tableText(&t, TableFormat::Csv, true),
                 QString(",S = 10,S = 50,\"S, quoted\"\nDDPM,0.91,0.95,\"a,b\"\nDDIM,0.88,0.97,x|y\n"));
        QCOMPARE(tableText(&t, TableFormat::Markdown, true),
                 QString("|  | S = 10 | S = 50 | S, quoted |\n| --- | --- | --- | --- |\n"
                         "| DDPM | 0.91 | 0.95 | a,b |\n| DDIM | 0.88 | 0.97 | x\\|y |\n"));
    }
};

QTEST_MAIN(TestExportPlots)
#include "tst_export_plots.moc"
