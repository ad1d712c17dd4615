// The dialogs in front of a room (issue 19), on an offscreen screen of a
// 1366 x 768 projector: the Experiments window fits with its table, command
// line and export buttons on screen, and each of its tabs shows its own status;
// the Export Animation dialog starts at a projector's frame size and remembers
// what was exported (with settings only); the filmstrip draws each chosen sample
// at the cell size and labels each panel with its own t; the large sample view
// opens above the timeline and leaves the timeline's keys to the window.
#include "decision_strip.hpp"
#include "experiment_dialog.hpp"
#include "export_dialogs.hpp"
#include "image_grid_view.hpp"
#include "sample_dialog.hpp"
#include "sampler_panel.hpp"
#include "timeline_bar.hpp"
#include "ui_test_util.hpp"

#include "noisetrail/render.hpp"

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextDocumentFragment>
#include <QtTest/QtTest>

#include <memory>

using namespace noisetrail;
using namespace noisetrail::ui;
using noisetrail::ui::test::kModels;

namespace {

const QSize kProjector(1366, 768);

bool computeAndWait(ExperimentDialog& d, int timeoutMs = 120000)
{
    QSignalSpy done(&d, &ExperimentDialog::computeFinished);
    d.compute();
    return done.wait(timeoutMs) && !done.first().first().toBool();
}

/// A finished trajectory of B images (1 x H x W) whose x_t and x0_hat are, at
/// every step, -1 for every sample but `white`, which is +1.
std::shared_ptr<Trajectory> images(const std::vector<int>& timesteps, int B, int white, int H = 28, int W = 28)
{
    const int S = int(timesteps.size());
    auto tr = std::make_shared<Trajectory>(std::vector<std::int64_t>{B, 1, H, W}, timesteps, Trajectory::Precision::Half);
    const std::size_t per = std::size_t(H) * W;
    std::vector<float> v(std::size_t(B) * per, -1.f);
    std::fill(v.begin() + std::ptrdiff_t(per * white), v.begin() + std::ptrdiff_t(per * (white + 1)), 1.f);
    for (int k = 0; k < S; ++k) {
        StepFrame f;
        f.step = k;
        f.steps = S;
        f.plan.t = timesteps[std::size_t(k)];
        f.shape = {B, 1, H, W};
        f.x_t = v;
        f.x0_hat = v;
        f.eps_hat.assign(v.size(), 0.f);
        f.x_prev = v;
        tr->append(f);
    }
    return tr;
}

/// Whether `text`, drawn in the embedded font, appears in rows [y0, y1) of `img`:
/// every ink pixel of the text dark and every other pixel of its box light.
bool hasText(const RgbImage& img, int y0, int y1, const std::string& text)
{
    RgbImage probe(text_width(text), text_height(), 255);
    draw_text(probe, 0, 0, text, {0, 0, 0});
    for (int y = std::max(0, y0); y + probe.height <= std::min(img.height, y1); ++y)
        for (int x = 0; x + probe.width <= img.width; ++x) {
            bool match = true;
            for (int py = 0; py < probe.height && match; ++py)
                for (int px = 0; px < probe.width && match; ++px)
                    match = (probe.pixel(px, py)[0] < 128) == (img.pixel(x + px, y + py)[0] < 128);
            if (match)
                return true;
        }
    return false;
}

} // namespace

class TestLectureDialogs : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void experimentWindowFitsTheProjector();
    void decisionRowShowsAllSixteenSamples();
    void eachTabShowsItsOwnStatus();
    void exportAnimationStartsAtProjectorSizeAndRemembers();
    void filmstripDrawsEachChosenSampleAtTheCellSize();
    void filmstripLabelsEachPanelWithItsOwnT();
    void sampleViewLeavesTheTimelineAndItsKeys();
    void decisionTimeStripsHaveALegend();

private:
    QTemporaryDir settingsDir_;
};

void TestLectureDialogs::initTestCase()
{
    QCOMPARE(QGuiApplication::primaryScreen()->availableGeometry().size(), kProjector);
    // QSettings of this test in a folder of its own.
    QVERIFY(settingsDir_.isValid());
    QCoreApplication::setOrganizationName(QStringLiteral("NoiseTrailTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_lecture_dialogs"));
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir_.path());
}

void TestLectureDialogs::experimentWindowFitsTheProjector()
{
    ExperimentDialog d(kModels + "/ring8.json", 3);
    d.show();
    QVERIFY(QTest::qWaitForWindowExposed(&d));
    QVERIFY2(d.screen()->availableGeometry().contains(d.frameGeometry()),
             qPrintable(QStringLiteral("%1 x %2").arg(d.frameGeometry().width()).arg(d.frameGeometry().height())));
    d.showExperiment(ExperimentKind::Decision);
    d.countSpin(ExperimentKind::Decision)->setValue(40);
    d.samplersEdit(ExperimentKind::Decision)->setText("ddim:10,ddpm:20");
    QVERIFY(computeAndWait(d));
    QVERIFY(d.table()->rowCount() >= 3);
    // Everything a user reads or presses is inside the window, at its usable size.
    for (const char* name : {"experimentTabs", "experimentCompute", "experimentFigure", "experimentTable",
                             "experimentCommand", "experimentExportFigure", "experimentExportCsv"}) {
        auto* w = d.findChild<QWidget*>(name);
        QVERIFY2(w && w->isVisible(), name);
        const QRect r(w->mapTo(&d, QPoint(0, 0)), w->size());
        QVERIFY2(d.rect().contains(r), name);
        QVERIFY2(w->height() >= w->minimumSizeHint().height(), name);
    }
    QVERIFY(d.findChild<QWidget*>("experimentFigure")->height() >= 120);
    // The table's first rows are on screen, not scrolled away or clipped.
    QTableWidget* t = d.table();
    for (int row : {0, 1})
        QVERIFY(t->viewport()->rect().contains(t->visualItemRect(t->item(row, 0))));
    QVERIFY(!d.commandText().isEmpty());
}

void TestLectureDialogs::decisionRowShowsAllSixteenSamples()
{
    ExperimentDialog d(kModels + "/mnist-unet.json", 1);
    d.show();
    QVERIFY(QTest::qWaitForWindowExposed(&d));
    d.showExperiment(ExperimentKind::Decision);
    d.countSpin(ExperimentKind::Decision)->setValue(16);
    d.samplersEdit(ExperimentKind::Decision)->setText("ddim:3");
    QVERIFY(computeAndWait(d));
    const QSize full = d.result(ExperimentKind::Decision)->figure.boundingRect().size();
    QVERIFY(full.width() >= 16 * 2 * 28); // 16 digits of 28 px, twice enlarged, in the row
    // The view shows the whole width: no sample of a row is off to the right.
    auto* view = d.findChild<QScrollArea*>("experimentFigure");
    QVERIFY(view);
    const auto* label = qobject_cast<QLabel*>(view->widget());
    QVERIFY(label);
    const QSize shown = label->pixmap().size();
    QVERIFY(shown.width() <= view->viewport()->width());
    QVERIFY(shown.width() * 2 >= full.width()); // scaled down, at most to half
    QVERIFY(!view->horizontalScrollBar()->isVisible());
}

void TestLectureDialogs::eachTabShowsItsOwnStatus()
{
    ExperimentDialog d(kModels + "/ring8.json", 3);
    const QString initial = d.statusText();
    d.showExperiment(ExperimentKind::Decision);
    d.countSpin(ExperimentKind::Decision)->setValue(20);
    d.samplersEdit(ExperimentKind::Decision)->setText("ddim:10");
    QVERIFY(computeAndWait(d));
    const QString decision = d.statusText();
    QVERIFY2(decision.contains("decision t"), qPrintable(decision));

    auto* bar = d.findChild<QProgressBar*>();
    QVERIFY(bar);
    QCOMPARE(bar->value(), bar->maximum()); // done
    d.showExperiment(ExperimentKind::Inversion);
    QCOMPARE(d.statusText(), initial); // nothing computed here yet
    QVERIFY(bar->value() < bar->maximum()); // and the bar does not say "done" either
    d.countSpin(ExperimentKind::Inversion)->setValue(5);
    d.stepsEdit(ExperimentKind::Inversion)->setText("5,10");
    QVERIFY(computeAndWait(d));
    const QString inversion = d.statusText();
    QVERIFY2(inversion.contains("Reconstruction"), qPrintable(inversion));

    d.showExperiment(ExperimentKind::Decision);
    QCOMPARE(d.statusText(), decision);
    d.showExperiment(ExperimentKind::Consistency);
    QCOMPARE(d.statusText(), initial);
    d.showExperiment(ExperimentKind::Inversion);
    QCOMPARE(d.statusText(), inversion);

    // A bad setting is said on its own tab only.
    d.showExperiment(ExperimentKind::Interpolation);
    d.samplersEdit(ExperimentKind::Interpolation)->setText("nosuchsampler:5");
    d.compute();
    const QString bad = d.statusText();
    QVERIFY(bad != initial);
    d.showExperiment(ExperimentKind::Decision);
    QCOMPARE(d.statusText(), decision);
}

void TestLectureDialogs::exportAnimationStartsAtProjectorSizeAndRemembers()
{
    const auto spin = [](QDialog& d, const char* name) { return d.findChild<QSpinBox*>(name); };
    {
        // A first opening: a frame a projector shows full screen.
        AnimationExportDialog d(Field::Xt, 50, nullptr, true);
        QCOMPARE(d.options().render.width, 1280);
        QCOMPARE(d.options().render.height, 720);
        QCOMPARE(d.format(), AnimationFormat::Gif);
        d.findChild<QComboBox*>("formatCombo")->setCurrentIndex(1); // MP4
        spin(d, "fpsSpin")->setValue(30);
        spin(d, "widthSpin")->setValue(1920);
        spin(d, "heightSpin")->setValue(1080);
        QVERIFY(d.findChild<QComboBox*>("sizePresetCombo")->currentText().contains("1920"));
        d.findChild<QDoubleSpinBox*>("holdSpin")->setValue(1.5);
        spin(d, "framesSpin")->setValue(40);
        d.accept();
    }
    // On disk, for the next session.
    const QString file = QSettings().fileName();
    QVERIFY(QFile::exists(file));
    QCOMPARE(QSettings(file, QSettings::IniFormat).value("exportAnimation/width").toInt(), 1920);
    {
        // The next opening starts from what was exported; the field is the window's.
        AnimationExportDialog d(Field::X0Hat, 50, nullptr, true);
        QCOMPARE(d.format(), AnimationFormat::Mp4);
        const AnimationExport o = d.options();
        QCOMPARE(o.render.field, Field::X0Hat);
        QCOMPARE(o.fps, 30);
        QCOMPARE(o.render.width, 1920);
        QCOMPARE(o.render.height, 1080);
        QCOMPARE(o.hold_seconds, 1.5);
        QCOMPARE(o.max_frames, 40);
        // Cancelled: nothing kept.
        spin(d, "fpsSpin")->setValue(10);
        d.reject();
    }
    {
        AnimationExportDialog d(Field::Xt, 50, nullptr, true);
        QCOMPARE(d.options().fps, 30);
    }
    {
        // A window without settings (tests, a broken settings file) reads nothing.
        AnimationExportDialog d(Field::Xt, 50, nullptr, false);
        QCOMPARE(d.format(), AnimationFormat::Gif);
        QCOMPARE(d.options().fps, 20);
        QCOMPARE(d.options().render.width, 1280);
        QCOMPARE(d.options().render.height, 720);
    }
}

void TestLectureDialogs::filmstripDrawsEachChosenSampleAtTheCellSize()
{
    const auto a = images({900, 600, 300, 0}, 4, 3);
    const std::vector<RenderPanel> panels{{a.get(), "A", 0}};
    const int cell = 112, K = 4;
    // Sample 3 is the only white thing in the picture: count its pixels.
    const auto whitePixels = [](const RgbImage& img) {
        int n = 0;
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x)
                n += img.pixel(x, y)[0] == 255 && img.pixel(x, y)[1] == 255;
        return n;
    };
    const RgbImage chosen = render_filmstrip(panels, {Field::X0Hat, K, {0, 3}, cell});
    // Each of the K cells holds sample 3 alone, filling the cell (a 2 px border).
    QVERIFY2(whitePixels(chosen) >= K * (cell - 4) * (cell - 4),
             qPrintable(QString::number(whitePixels(chosen))));
    // One row of cells per chosen sample: taller than one row, as wide as K cells.
    const RgbImage one = render_filmstrip(panels, {Field::X0Hat, K, {3}, cell});
    QVERIFY(chosen.height - one.height >= cell);
    QVERIFY(one.width >= K * cell && one.width < K * cell + 200);
    QCOMPARE(whitePixels(one), whitePixels(chosen));
}

void TestLectureDialogs::filmstripLabelsEachPanelWithItsOwnT()
{
    // A reaches t = 600 and 300; B jumps from 900 to 0 (a 2-step plan).
    const auto a = images({900, 600, 300, 0}, 2, 0);
    const auto b = images({900, 0}, 2, 0);
    const RgbImage one = render_filmstrip({{a.get(), "A", 0}}, {Field::X0Hat, 5, {0}, 64});
    const RgbImage both = render_filmstrip({{a.get(), "A", 0}, {b.get(), "B", 1}}, {Field::X0Hat, 5, {0}, 64});
    // Panel A's band is the first one's height; B's band follows.
    const int split = one.height - 12; // both end with the same bottom margin
    QVERIFY(hasText(both, 0, split, "t=600"));
    QVERIFY(hasText(both, 0, split, "t=300"));
    QVERIFY(!hasText(both, split, both.height, "t=600")); // B never was at 600 or 300
    QVERIFY(!hasText(both, split, both.height, "t=300"));
    QVERIFY(hasText(both, split, both.height, "t=900"));
}

void TestLectureDialogs::sampleViewLeavesTheTimelineAndItsKeys()
{
    auto w = ui::test::open_main_window(kModels + "/ring8.json", kProjector);
    w->move(0, 0);
    ui::test::run_to_end(*w);
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    Q_EMIT w->panel(0)->imageView()->sampleClicked(0);
    QTRY_COMPARE(int(w->sampleDialogs().size()), 1);
    SampleDialog* d = w->sampleDialogs().front();
    QVERIFY(QTest::qWaitForWindowExposed(d));
    // Above the timeline: its cursor stays in view.
    const int timelineTop = w->timeline()->mapToGlobal(QPoint(0, 0)).y();
    QVERIFY2(d->frameGeometry().bottom() < timelineTop,
             qPrintable(QStringLiteral("%1 >= %2").arg(d->frameGeometry().bottom()).arg(timelineTop)));
    // The dialog is the active window, and keys typed there move the timeline.
    d->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(d));
    TimelineBar* tl = w->timeline();
    QTest::keyClick(d->windowHandle(), Qt::Key_End);
    const int end = tl->cursor();
    QTest::keyClick(d->windowHandle(), Qt::Key_Left);
    const int back = tl->cursor();
    QVERIFY2(back != end, qPrintable(QString::number(back)));
    QTest::keyClick(d->windowHandle(), Qt::Key_Right);
    QCOMPARE(tl->cursor(), end);
    QTest::keyClick(d->windowHandle(), Qt::Key_Home);
    QVERIFY(tl->cursor() != end);
    QTest::keyClick(d->windowHandle(), Qt::Key_Space); // plays, does not press Close
    QVERIFY(d->isVisible());
    QTest::keyClick(d->windowHandle(), Qt::Key_Space);
    QTest::keyClick(d->windowHandle(), Qt::Key_Escape); // Esc still closes it
    QTRY_VERIFY(w->sampleDialogs().empty());
}

void TestLectureDialogs::decisionTimeStripsHaveALegend()
{
    // The ring of 8 colours its samples by the 8 components of its mixture.
    auto w = ui::test::open_main_window(kModels + "/ring8.json", kProjector);
    SamplerPanel* p = w->panel(0);
    auto* legend = p->findChild<QLabel*>("decisionLegend");
    QVERIFY(legend);
    QVERIFY(!legend->isVisible());
    p->setShowDecision(true);
    QVERIFY(legend->isVisible());
    const QString shown = QTextDocumentFragment::fromHtml(legend->text()).toPlainText().replace(QChar(0xa0), ' ');
    for (int k = 1; k <= 8; ++k)
        QVERIFY2(shown.contains(QStringLiteral("component %1").arg(k)), qPrintable(shown));
    QVERIFY(!shown.contains(QStringLiteral("component 9")));
    // Each name in the colour its strips and paths have.
    for (int k = 0; k < 8; ++k)
        QVERIFY(legend->text().contains(classColor(k).name()));
    p->setShowDecision(false);
    QVERIFY(!legend->isVisible());
}

int main(int argc, char** argv)
{
    // The offscreen platform with one 1366 x 768 screen.
    return noisetrail::ui::test::exec_on_screens<TestLectureDialogs>(argc, argv, {QSize(1366, 768)});
}

#include "tst_lecture_dialogs.moc"
