// Guidance in the window (contract section 9), driven through real widgets: a
// panel's class picker and W knob (live, like eta), the x0_cond / x0_uncond field
// switch, the W 0 / 1 / 3 / 7 preset, and the 2-D target drawn and judged by p(x | c).
#include "guidance_dialog.hpp"
#include "main_window.hpp"
#include "image_grid_view.hpp"
#include "sampler_panel.hpp"
#include "scatter_view.hpp"
#include "timeline_bar.hpp"
#include "timeline_mapping.hpp"
#include "ui_test_util.hpp"
#include "window_actions.hpp"

#include <QAction>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <cmath>

using namespace noisetrail;
using namespace noisetrail::ui;
using noisetrail::ui::test::cfg;
using noisetrail::ui::test::kModels;

namespace {

/// The card's class names, read from the file (not from the loader).
QStringList cardClasses(const QString& card)
{
    QFile f(card);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList names;
    for (const auto& v : QJsonDocument::fromJson(f.readAll()).object().value("classes").toArray())
        names << v.toString();
    return names;
}

QAction* action(MainWindow& w, const char* name)
{
    for (QAction* a : w.findChildren<QAction*>())
        if (a->objectName() == QLatin1String(name))
            return a;
    qFatal("no action %s", name);
    return nullptr;
}

} // namespace

class TestGuidanceGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void classAndScaleAreLiveKnobsOfConditionalCards()
    {
        auto w = test::open_main_window(kModels + "/ring8.json");
        auto* row = w->panel(0)->findChild<QWidget*>("guidanceRow");
        QVERIFY(row);
        QVERIFY(!row->isVisible()); // an unconditional card has no class to pick
        QVERIFY(!action(*w, "field_x0_cond")->isVisible());

        const QString card = kModels + "/ring8-classes.json";
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        w->loadModel(card);
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 20000);
        w->panel(0)->setConfig(cfg("ddim", 10));
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(64);
        QTRY_VERIFY(row->isVisible());
        QVERIFY(action(*w, "field_x0_cond")->isVisible() && action(*w, "field_x0_uncond")->isVisible());

        // The picker offers no class, each in turn, and every class of the card by name.
        auto* classes = w->panel(1)->findChild<QComboBox*>("classCombo");
        auto* scale = w->panel(1)->findChild<QDoubleSpinBox*>("guidanceSpin");
        QVERIFY(classes && scale);
        const QStringList names = cardClasses(card);
        QCOMPARE(names.size(), 4);
        for (const QString& n : names)
            QVERIFY2(classes->findText(n) >= 0, qPrintable(n));
        QVERIFY(!scale->isEnabled()); // no class yet: W means nothing

        test::run_to_end(*w);
        const auto kept = w->panel(0)->trajectoryPtr();
        std::vector<float> x0, x1;
        kept->decode(0, Field::Xt, x0);

        // Pick class 3 and W = 3 as a user would: the panel alone re-runs, live, from the same x_T.
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        classes->setCurrentIndex(classes->findText(names[3]));
        QVERIFY(scale->isEnabled());
        scale->setValue(3.0);
        QCOMPARE(w->document()->panelConfig(1).guidance.classes, std::vector<int>{3});
        QCOMPARE(w->document()->panelConfig(1).guidance.scale.value_or(-1), 3.0);
        QTRY_VERIFY_WITH_TIMEOUT(done.size() >= 1 && !w->isRunning(), 30000); // no Run pressed
        QCOMPARE(w->panel(0)->trajectoryPtr(), kept);
        QCOMPARE(w->document()->computed(1)->sampler.guidance.scale.value_or(-1), 3.0);
        w->panel(1)->trajectory().decode(0, Field::Xt, x1);
        QCOMPARE(x1, x0);
        QVERIFY(w->panel(1)->description().contains(names[3]));
        QVERIFY(w->panel(1)->description().contains(QStringLiteral("W 3")));

        // Every final sample of class 3 (components 6 and 7: angles 270 and 315 degrees)
        // lies in that class's half-quadrant: W = 3 keeps the samples in the class.
        std::vector<float> xs;
        const Trajectory& t = w->panel(1)->trajectory();
        t.decode(t.size(), Field::Xt, xs);
        for (std::size_t i = 0; i + 1 < xs.size(); i += 2) {
            double deg = std::atan2(xs[i + 1], xs[i]) * 180 / M_PI;
            if (deg < 0)
                deg += 360;
            QVERIFY2(deg > 247.5 && deg < 337.5, qPrintable(QString::number(deg)));
        }

        // The scatter draws p(x | c) and judges coverage by it: the other classes' components are not judged.
        const auto states = w->panel(1)->scatterView()->componentStates();
        QCOMPARE(int(states.size()), 8);
        for (int k = 0; k < 8; ++k)
            QCOMPARE(states[std::size_t(k)].judged, k / 2 == 3);
        double expected = 0;
        for (const auto& s : states)
            expected += s.expected;
        QVERIFY(std::abs(expected - 1.0) < 1e-9); // the class's weights, renormalised
        // Panel 1 (no class) is judged by the whole mixture.
        for (const auto& s : w->panel(0)->scatterView()->componentStates())
            QVERIFY(s.judged);
    }

    void fieldSwitchShowsConditionalAndUnconditional()
    {
        // The class-labelled digits (an exact empirical card), guided with an interval:
        // x0_cond at every step, x0_uncond only inside the interval.
        auto w = test::open_main_window(kModels + "/mnist-500-classes.json");
        SamplerConfig c = cfg("ddim", 10);
        c.guidance.classes = {7};
        c.guidance.scale = 3.0;
        c.guidance.interval = std::array<double, 2>{0, 500};
        w->panel(0)->setConfig(c);
        w->panel(1)->setConfig(cfg("ddim", 10));
        w->setBatch(8);
        test::run_to_end(*w);
        const Trajectory& t = w->panel(0)->trajectory();
        QCOMPARE(t.size(), 10);
        for (int k = 0; k < t.size(); ++k) {
            QVERIFY(t.has(k, Field::X0Cond));
            QCOMPARE(t.has(k, Field::X0Uncond), t.info(k).plan.t <= 500);
        }
        QVERIFY(!w->panel(1)->trajectory().has(0, Field::X0Cond)); // not guided

        // Ctrl+5 (x0_uncond) at the first step (t = 900, outside the interval): the footer says why there is nothing.
        action(*w, "field_x0_uncond")->trigger();
        QCOMPARE(w->field(), Field::X0Uncond);
        action(*w, "toStartAction")->trigger(); // Home: the first step
        QTRY_VERIFY2(w->panel(0)->findChild<QLabel*>("panelFooter")->text().contains(QStringLiteral("outside the guidance interval")), qPrintable(w->panel(0)->findChild<QLabel*>("panelFooter")->text()));
        // Panel 2 has no class: its x0_hat is the unconditional prediction, and it shows it.
        const auto footer = [&](int p) { return w->panel(p)->findChild<QLabel*>("panelFooter")->text(); };
        QTRY_VERIFY2(footer(1).startsWith(QStringLiteral("step 1 of 10")), qPrintable(footer(1)));
        QVERIFY(w->panel(1)->imageView()->count() > 0);
        // At the last step (t inside the interval) it is shown.
        action(*w, "toEndAction")->trigger();
        action(*w, "stepBackAction")->trigger(); // one level back from the final samples: the last step
        QTRY_VERIFY(footer(0).startsWith(QStringLiteral("step 10 of 10")));
        QVERIFY(w->panel(0)->imageView()->count() > 0);
        // Ctrl+4 (x0_cond): panel 2, without a class, has none and says why.
        action(*w, "field_x0_cond")->trigger();
        QCOMPARE(w->field(), Field::X0Cond);
        QTRY_VERIFY2(footer(1).contains(QStringLiteral("no class")), qPrintable(footer(1)));
        QCOMPARE(w->panel(1)->imageView()->count(), 0);
        QVERIFY(w->panel(0)->imageView()->count() > 0);
    }

    void compareGuidanceScalesMeasuresTheTradeOff()
    {
        auto w = test::open_main_window(kModels + "/ring8-classes.json");
        w->panel(0)->setConfig(cfg("ddim", 20));
        QAction* open = action(*w, "compareGuidanceAction");
        QVERIFY(open->isEnabled());
        open->trigger();
        auto* d = w->findChild<GuidanceDialog*>("guidanceDialog");
        QVERIFY(d && d->isVisible());
        d->setScales(QStringLiteral("0, 3"));
        d->setSamples(100);
        QSignalSpy finished(d, &GuidanceDialog::computeFinished);
        d->compute();
        QVERIFY(d->isComputing());
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QCOMPARE(d->table()->rowCount(), 2);
        QCOMPARE(d->table()->item(1, 0)->text(), QStringLiteral("3"));
        // Column 1 is the accuracy: W = 0 reads a quarter of the samples as their class
        // (four classes of equal weight), W = 3 all of them.
        QVERIFY2(std::abs(d->table()->item(0, 1)->text().toDouble() - 0.25) < 0.1, qPrintable(d->table()->item(0, 1)->text()));
        QVERIFY(d->table()->item(1, 1)->text().toDouble() > 0.95);
        QCOMPARE(d->plotPointCount(), 2);
        QVERIFY(d->statusText().contains(QStringLiteral("exact")));

        // Bad scales: one message, nothing starts.
        d->setScales(QStringLiteral("0, x"));
        d->compute();
        QVERIFY(!d->isComputing());
        QVERIFY(d->statusText().contains(QStringLiteral("Scales W")));
        // Cancel stops within a step and says so.
        d->setScales(QStringLiteral("0, 1, 2, 3, 5, 7"));
        d->setSamples(20000);
        d->compute();
        d->cancel();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 60000);
        QCOMPARE(finished.at(1).at(0).toBool(), true);
        QVERIFY(!d->isComputing());
    }

    void presetShowsFourScalesOfOneClass()
    {
        auto w = test::open_main_window(kModels + "/ring8-classes.json");
        QAction* preset = action(*w, "guidanceSideBySideAction");
        QVERIFY(preset->isEnabled());
        SamplerConfig c = cfg("ddim", 10);
        c.guidance.classes = {1};
        w->panel(0)->setConfig(c);
        w->setBatch(64);
        QSignalSpy done(w.get(), &MainWindow::runFinished);
        preset->trigger();
        QCOMPARE(w->panelCount(), 4);
        const double want[4] = {0, 1, 3, 7};
        for (int i = 0; i < 4; ++i) {
            const SamplerConfig p = w->document()->panelConfig(i);
            QCOMPARE(p.sampler, std::string("ddim"));
            QCOMPARE(p.steps, 10);
            QCOMPARE(p.guidance.classes, std::vector<int>{1});
            QCOMPARE(guidance_scale(p), want[i]);
        }
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000); // it runs at once
        // W = 0 is the unconditional model: its samples reach other classes' components; W = 7's do not.
        const auto offClass = [&](int panel) {
            int n = 0;
            for (const auto& s : w->panel(panel)->scatterView()->componentStates())
                n += s.judged ? 0 : int(std::lround(s.share * 64));
            return n;
        };
        action(*w, "toEndAction")->trigger();
        QVERIFY(offClass(0) > 16);
        QCOMPARE(offClass(3), 0);

        // An unconditional card: the preset is off.
        QSignalSpy ready(w.get(), &MainWindow::modelReady);
        w->loadModel(kModels + "/ring8.json");
        QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 20000);
        QVERIFY(!preset->isEnabled());
    }
};

QTEST_MAIN(TestGuidanceGui)
#include "tst_guidance_gui.moc"
