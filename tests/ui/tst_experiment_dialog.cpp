// The Experiments view (offscreen): each experiment computes on the worker,
// fills its figure, table and CLI command, exports the figure as PNG, SVG and
// PDF and the numbers as CSV (the consistency CSV byte for byte the CLI's), and a
// long computation can be cancelled, a Cancel of a job queued behind another included.
#include "experiment_dialog.hpp"
#include "experiment_menu.hpp"
#include "test_util.hpp"
#include "ui_test_util.hpp"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QLineEdit>
#include <QSvgRenderer>
#include <QXmlStreamReader>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest/QtTest>

using namespace noisetrail;
using namespace noisetrail::ui;

namespace {
using noisetrail::ui::test::kModels;

/// Compute the dialog's current experiment and wait for it.
bool computeAndWait(ExperimentDialog& d, int timeoutMs = 120000)
{
    QSignalSpy done(&d, &ExperimentDialog::computeFinished);
    d.compute();
    return done.wait(timeoutMs) && !done.first().first().toBool();
}
/// Export the current figure in each format; each file is written, non-empty
/// and parses as its format: PNG of the figure's size (not blank), SVG an XML
/// document with an <svg> root that Qt SVG renders at that size, PDF a
/// document that starts with %PDF and ends with %%EOF.
void checkFigureExports(const ExperimentDialog& d, const QSize& size)
{
    QTemporaryDir dir;
    QVERIFY(!size.isEmpty());
    const QString png = dir.filePath("f.png"), svg = dir.filePath("f.svg"), pdf = dir.filePath("f.pdf");
    QVERIFY(d.exportFigure(png));
    const QImage img(png);
    QCOMPARE(img.size(), size);
    bool inked = false;
    for (int y = 0; y < img.height() && !inked; y += 3)
        for (int x = 0; x < img.width() && !inked; x += 3)
            inked = img.pixel(x, y) != qRgb(255, 255, 255);
    QVERIFY(inked);

    QVERIFY(d.exportFigure(svg));
    QFile s(svg);
    QVERIFY(s.open(QIODevice::ReadOnly));
    QVERIFY(s.size() > 0);
    QXmlStreamReader xml(&s);
    while (!xml.atEnd() && !xml.isStartElement())
        xml.readNext();
    QCOMPARE(xml.name().toString(), QString("svg"));
    while (!xml.atEnd())
        xml.readNext();
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QSvgRenderer renderer(svg);
    QVERIFY(renderer.isValid());
    QCOMPARE(renderer.viewBox().size(), size);

    QVERIFY(d.exportFigure(pdf));
    QFile f(pdf);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray bytes = f.readAll();
    QVERIFY(bytes.startsWith("%PDF-"));
    QVERIFY(bytes.trimmed().endsWith("%%EOF"));
    QVERIFY(!QFile::exists(pdf + ".part") && !QFile::exists(svg + ".part"));
    QVERIFY(!d.exportFigure(dir.filePath("f.bmpx"))); // an unknown extension is refused
    // NOISETRAIL_SHOTS=DIR keeps the decision figures as SVG and PDF (docs/experiments).
    const QString keep = qEnvironmentVariable("NOISETRAIL_SHOTS");
    if (!keep.isEmpty() && d.currentKind() == ExperimentKind::Decision)
        for (const char* ext : {".svg", ".pdf"})
            QVERIFY(d.exportFigure(keep + "/export-decision-" + QFileInfo(d.modelPath()).baseName() + ext));
}

} // namespace

class TestExperimentDialog : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void eachExperimentOnTheRing_data();
    void eachExperimentOnTheRing();
    void digitInversionAndDecision();
    void longComputationCancels();
    void cancelOfAQueuedJobIsNotLost();
    void csvIsTheClis_data();
    void csvIsTheClis();
    void badSettingsSayWhy();
    void menuOpensTheViewOnItsTab();
};

void TestExperimentDialog::eachExperimentOnTheRing_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("command");
    QTest::addColumn<int>("rows"); ///< of the first file, the table the view shows
    QTest::newRow("inversion") << int(ExperimentKind::Inversion) << "noisetrail-cli invert " << 2;
    QTest::newRow("interpolation") << int(ExperimentKind::Interpolation) << "noisetrail-cli interpolate " << 2 * 6;
    QTest::newRow("consistency") << int(ExperimentKind::Consistency) << "noisetrail-cli consistency " << 4;
    QTest::newRow("decision") << int(ExperimentKind::Decision) << "noisetrail-cli decision " << 2 * 20;
}

void TestExperimentDialog::eachExperimentOnTheRing()
{
    QFETCH(int, kind);
    QFETCH(QString, command);
    QFETCH(int, rows);
    ExperimentDialog d(kModels + "/ring8.json", 3);
    d.show();
    const auto k = ExperimentKind(kind);
    d.showExperiment(k);
    QCOMPARE(d.currentKind(), k);
    d.countSpin(k)->setValue(k == ExperimentKind::Interpolation ? 6 : 20);
    if (auto* s = d.stepsEdit(k))
        s->setText("10,50");
    if (auto* s = d.samplersEdit(k))
        s->setText(k == ExperimentKind::Consistency ? "ddim,ddpm" : "ddim:20,ddpm:100");
    QVERIFY(computeAndWait(d));
    const ExperimentResultPtr r = d.result(k);
    QVERIFY(r);
    QVERIFY(!r->figure.isNull());
    QCOMPARE(d.table()->rowCount(), rows);
    QCOMPARE(d.table()->columnCount(), int(r->headers.size()));
    QVERIFY2(d.commandText().startsWith(command), qPrintable(d.commandText()));
    QVERIFY(d.commandText().contains("ring8.json"));
    QVERIFY(!d.statusText().isEmpty());
    QTemporaryDir dir;
    checkFigureExports(d, r->figure.boundingRect().size());
    QVERIFY(d.exportCsv(dir.filePath("f.csv")));
    QFile csv(dir.filePath("f.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(csv.readLine()).trimmed(), r->headers.join(','));
    if (k == ExperimentKind::Inversion) {
        // Mixture draws have no file: the export writes the X0.npy the command names.
        QVERIFY(d.commandText().contains("X0.npy"));
        QVERIFY(QFile::exists(dir.filePath("X0.npy")));
        // DDIM's reconstruction error falls from S = 10 to 50 and stays below DDPM's.
        const double d10 = r->rows[0][2].toDouble(), d50 = r->rows[1][2].toDouble();
        QVERIFY2(d50 < d10 && d10 < r->rows[0][3].toDouble(), qPrintable(r->csv()));
    }
    if (k == ExperimentKind::Consistency) {
        // Rows: DDIM at 10, 50, then DDPM; DDIM's distance to S = 50 is well below DDPM's.
        QVERIFY2(r->rows[0][2].toDouble() < 0.25 * r->rows[2][2].toDouble(), qPrintable(r->csv()));
    }
}

void TestExperimentDialog::digitInversionAndDecision()
{
    ExperimentDialog d(kModels + "/mnist-unet.json", 1);
    d.showExperiment(ExperimentKind::Inversion);
    d.countSpin(ExperimentKind::Inversion)->setValue(2);
    d.stepsEdit(ExperimentKind::Inversion)->setText("5,20");
    QVERIFY(computeAndWait(d));
    // A bundled data file: the command names it and the rows it took.
    QVERIFY2(d.commandText().contains("mnist-heldout-500_images.npy --index 0,250"), qPrintable(d.commandText()));
    QCOMPARE(d.table()->rowCount(), 2);
    d.showExperiment(ExperimentKind::Decision);
    d.countSpin(ExperimentKind::Decision)->setValue(3);
    d.samplersEdit(ExperimentKind::Decision)->setText("ddim:5");
    QVERIFY(computeAndWait(d));
    QCOMPARE(d.table()->rowCount(), 3); // one panel, one row per sample
    QVERIFY(d.statusText().contains("class"));
    checkFigureExports(d, d.result(ExperimentKind::Decision)->figure.boundingRect().size());
}

void TestExperimentDialog::longComputationCancels()
{
    ExperimentDialog d(kModels + "/mnist-unet.json", 1);
    d.showExperiment(ExperimentKind::Consistency);
    d.countSpin(ExperimentKind::Consistency)->setValue(16);
    QSignalSpy done(&d, &ExperimentDialog::computeFinished);
    d.compute();
    QVERIFY(d.isComputing());
    QTest::qWait(300);
    d.cancel();
    QVERIFY(done.wait(60000));
    QVERIFY(done.first().first().toBool()); // cancelled
    QVERIFY(!d.isComputing());
    QVERIFY(d.statusText().startsWith("Cancelled"));
}

void TestExperimentDialog::cancelOfAQueuedJobIsNotLost()
{
    // A long job runs (a digit inversion up to S = 1000); Compute on another tab queues a
    // second job behind it (newest wins: the first is cancelled), and Cancel is pressed while
    // the first still winds down and the second waits. The second must end cancelled without
    // computing (a Cancel reset by the next job was lost: it then ran for minutes), and nothing
    // of the first may reach the view.
    ExperimentDialog d(kModels + "/mnist-unet.json", 1);
    d.showExperiment(ExperimentKind::Inversion);
    d.countSpin(ExperimentKind::Inversion)->setValue(8);
    QSignalSpy done(&d, &ExperimentDialog::computeFinished);
    d.compute();
    QTRY_VERIFY_WITH_TIMEOUT(d.statusText().contains("model calls"), 30000); // the first job runs
    d.showExperiment(ExperimentKind::Consistency);
    d.countSpin(ExperimentKind::Consistency)->setValue(16);
    d.compute();
    QVERIFY(d.isComputing());
    d.cancel();
    QElapsedTimer clock;
    clock.start();
    QVERIFY(done.wait(60000));
    qInfo("the queued job ended %lld ms after Cancel", clock.elapsed());
    QVERIFY(clock.elapsed() < 20000); // uncancelled, it samples 1180 steps of 16 digits per sampler
    QCOMPARE(done.size(), 1);
    QVERIFY(done.first().first().toBool()); // cancelled
    QVERIFY(!d.isComputing());
    QVERIFY2(d.statusText().startsWith("Cancelled"), qPrintable(d.statusText()));
    const ExperimentResultPtr r = d.result(ExperimentKind::Consistency);
    QVERIFY(r && r->cancelled && r->rows.isEmpty());
    QTest::qWait(200);
    QCOMPARE(done.size(), 1);
    QVERIFY(!d.result(ExperimentKind::Inversion)); // the superseded job's result was dropped
}

void TestExperimentDialog::csvIsTheClis_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("samplers");
    QTest::addColumn<QString>("steps");
    QTest::addColumn<int>("count");
    QTest::addColumn<QStringList>("files");
    QTest::addColumn<int>("rows"); ///< of the first file, the table the view shows
    QTest::newRow("consistency") << int(ExperimentKind::Consistency) << "ddim,ddpm,ddim:0:0.5" << "10,40" << 12
                                 << QStringList{"consistency.csv", "early_stop.csv"} << 3 * 2;
    QTest::newRow("interpolation") << int(ExperimentKind::Interpolation) << "ddim:20,ddpm:60" << QString() << 5
                                   << QStringList{"interpolation.csv"} << 2 * 5;
    QTest::newRow("decision") << int(ExperimentKind::Decision) << "ddpm:50,ddim:10" << QString() << 15
                              << QStringList{"decision.csv"} << 2 * 15;
    // Mixture draws: the view exports them as X0.npy beside the CSV, which its command reads.
    QTest::newRow("inversion") << int(ExperimentKind::Inversion) << QString() << "10,20" << 6
                               << QStringList{"table.csv", "mse.csv"} << 2;
}

void TestExperimentDialog::csvIsTheClis()
{
    // The view's numbers are the CLI's: the command it shows, run by the real binary,
    // writes CSV files byte for byte equal to the view's Export CSV.
    QFETCH(int, kind);
    QFETCH(QString, samplers);
    QFETCH(QString, steps);
    QFETCH(int, count);
    QFETCH(QStringList, files);
    QFETCH(int, rows);
    const auto k = ExperimentKind(kind);
    ExperimentDialog d(kModels + "/ring8.json", 3);
    d.showExperiment(k);
    d.countSpin(k)->setValue(count);
    if (!steps.isEmpty())
        d.stepsEdit(k)->setText(steps);
    if (!samplers.isEmpty())
        d.samplersEdit(k)->setText(samplers);
    QVERIFY(computeAndWait(d));
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir("gui"));
    QVERIFY(d.exportCsv(dir.filePath("gui/" + files.first())));
    // The command, without the view's note on X0.npy; that file is the one the export wrote.
    QStringList args = d.commandText().section(QStringLiteral("   ("), 0, 0).split(' ', Qt::SkipEmptyParts);
    QCOMPARE(args.takeFirst(), QString("noisetrail-cli"));
    QCOMPARE(args.last(), QString("DIR"));
    args.last() = dir.filePath("cli");
    if (const qsizetype i = args.indexOf("X0.npy"); i >= 0)
        args[i] = dir.filePath("gui/X0.npy");
    const noisetrail::test::CliResult cli = noisetrail::test::run_cli(args);
    QVERIFY2(cli.code == 0, qPrintable(cli.err));
    for (const QString& name : files) {
        QFile g(dir.filePath("gui/" + name)), c(dir.filePath("cli/" + name));
        QVERIFY2(g.open(QIODevice::ReadOnly) && c.open(QIODevice::ReadOnly), qPrintable(name));
        const QByteArray gb = g.readAll(), cb = c.readAll();
        if (name == files.first()) // the table the view shows
            QCOMPARE(gb.count('\n'), 1 + rows);
        QVERIFY(gb.count('\n') > 1);
        QCOMPARE(gb, cb);
    }
}

void TestExperimentDialog::badSettingsSayWhy()
{
    ExperimentDialog d(kModels + "/ring8.json", 1);
    d.showExperiment(ExperimentKind::Consistency);
    d.stepsEdit(ExperimentKind::Consistency)->setText("50,10");
    d.compute();
    QVERIFY(!d.isComputing());
    QVERIFY2(d.statusText().contains("ascending"), qPrintable(d.statusText()));
    d.stepsEdit(ExperimentKind::Consistency)->setText("10,50");
    d.samplersEdit(ExperimentKind::Consistency)->setText("ddim:x");
    d.compute();
    QVERIFY(!d.isComputing());
    QVERIFY2(d.statusText().contains("Samplers"), qPrintable(d.statusText()));
    // An unknown sampler name is the worker's InputError, reported in the status line.
    d.samplersEdit(ExperimentKind::Consistency)->setText("lms");
    QSignalSpy done(&d, &ExperimentDialog::computeFinished);
    d.compute();
    QVERIFY(done.wait(20000));
    QVERIFY2(d.statusText().contains("unknown sampler"), qPrintable(d.statusText()));
}

void TestExperimentDialog::menuOpensTheViewOnItsTab()
{
    auto w = ui::test::open_main_window(kModels + "/ring8.json");
    auto* seed = w->findChild<QSpinBox*>("seed");
    auto* act = w->findChild<QAction*>("experimentAction2");
    QVERIFY(act && seed);
    seed->setValue(42);
    QVERIFY(!experimentDialog(w.get()));
    act->trigger();
    ExperimentDialog* d = experimentDialog(w.get());
    QVERIFY(d);
    QVERIFY(d->isVisible());
    QCOMPARE(d->currentKind(), ExperimentKind::Consistency);
    QVERIFY(d->modelPath().endsWith("ring8.json"));
    QCOMPARE(quint64(d->job().seed), quint64(42));
    // The same view, raised on another tab.
    w->findChild<QAction*>("experimentAction3")->trigger();
    QCOMPARE(experimentDialog(w.get()), d);
    QCOMPARE(d->currentKind(), ExperimentKind::Decision);
}

QTEST_MAIN(TestExperimentDialog)
#include "tst_experiment_dialog.moc"
