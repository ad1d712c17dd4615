// The run document without a widget: the recipe is the one truth, edits are
// pending until Run, Run recomputes exactly the pending panels, labels come from
// what was computed, a model change resets the settings that no longer apply,
// and a session the CLI wrote opens with its panels and trajectories.
#include "run_document.hpp"

#include "noisetrail/run.hpp"
#include "noisetrail/session.hpp"

#include <QDir>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace noisetrail;
using namespace noisetrail::ui;

namespace {
const QString kModels = QStringLiteral(NOISETRAIL_SOURCE_DIR "/models");

SamplerConfig cfg(const char* sampler, int steps, double eta = 0.0)
{
    SamplerConfig c;
    c.sampler = sampler;
    c.steps = steps;
    c.eta = eta;
    return c;
}
} // namespace

class TestRunDocument : public QObject {
    Q_OBJECT

    /// A document on `card` with two small panels (DDPM 20, DDIM 10), batch 64.
    std::unique_ptr<RunDocument> open(const QString& card)
    {
        auto d = std::make_unique<RunDocument>();
        QSignalSpy ready(d.get(), &RunDocument::modelReady);
        d->loadModel(card);
        [&] { QVERIFY(ready.wait(20000)); }();
        d->setPanelConfig(0, cfg("ddpm", 20));
        d->setPanelConfig(1, cfg("ddim", 10));
        d->setBatch(64);
        return d;
    }

    void runToEnd(RunDocument& d)
    {
        QSignalSpy done(&d, &RunDocument::runFinished);
        QCOMPARE(d.run(), RunDocument::RunStart::Started);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
    }

private Q_SLOTS:
    void anEditMarksExactlyThatPanelPendingAndRunRecomputesOnlyIt()
    {
        auto d = open(kModels + "/ring8.json");
        QVERIFY(d->isPending(0) && d->isPending(1)); // nothing computed yet
        runToEnd(*d);
        QVERIFY(!d->isPending(0));
        QVERIFY(!d->isPending(1));
        QVERIFY(d->hasUnsavedRun());
        // Nothing changed: nothing to recompute, and nothing to ask about.
        QCOMPARE(d->run(), RunDocument::RunStart::NothingToDo);
        const auto kept = d->trajectory(0), old = d->trajectory(1);

        d->setPanelConfig(1, cfg("ddim", 10, 0.1));
        QVERIFY(!d->isPending(0));
        QVERIFY(d->isPending(1));
        QSignalSpy done(d.get(), &RunDocument::runFinished);
        QCOMPARE(d->run(), RunDocument::RunStart::Started);
        QCOMPARE(d->runPanels(), std::vector<int>{1});
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        QCOMPARE(d->trajectory(0), kept);
        QVERIFY(d->trajectory(1) != old);
        QVERIFY(d->trajectory(1)->finished());
        QCOMPARE(d->computed(1)->sampler.eta, 0.1);
        QVERIFY(!d->isPending(1));

        // Seed and batch belong to every panel: a new seed makes both pending.
        d->setSeed(d->seed() + 1);
        QVERIFY(d->isPending(0) && d->isPending(1));
        QVERIFY2(d->pendingNote(0).contains("seed"), qPrintable(d->pendingNote(0)));
        // Pacing is how panels advance together, not what they compute.
        d->setSeed(d->seed() - 1);
        d->setPacing(Pacing::Sequential);
        QVERIFY(!d->isPending(0) && !d->isPending(1));
    }

    void theSharedNoiseIsTheRunsOwn()
    {
        // x_T comes from what core computed (Run::recipe()), the same for every panel,
        // and equals initial_noise of the seed, as `noisetrail-cli sample --seed` draws it.
        auto d = open(kModels + "/ring8.json");
        runToEnd(*d);
        const auto x_T = initial_noise(d->model()->card().data_shape, 64, d->seed());
        QCOMPARE(d->computed(0)->x_T, x_T);
        QCOMPARE(d->computed(1)->x_T, x_T);
        QCOMPARE(d->session().x_T, x_T);
    }

    void labelsComeFromTheComputedRecipe()
    {
        auto d = open(kModels + "/ring8.json");
        runToEnd(*d);
        const QString ran = d->describe(1), ranShort = d->shortName(1);
        QVERIFY2(ran.startsWith("DDIM, 10 steps, eta 0,"), qPrintable(ran));

        // eta 0.1 edited, not run: every label still names eta 0 (the curves' and
        // frames' recipe); the header says what is pending.
        d->setPanelConfig(1, cfg("ddim", 10, 0.1));
        QCOMPARE(d->describe(1), ran);
        QCOMPARE(d->shortName(1), ranShort);
        QVERIFY2(!d->shortName(1).contains("0.1"), qPrintable(d->shortName(1)));
        QCOMPARE(d->shownConfig(1).eta, 0.0);
        QVERIFY2(d->title(1).contains(QStringLiteral("\u03b7 0.1")) && d->title(1).contains("press Run"),
                 qPrintable(d->title(1)));
        QVERIFY2(d->title(1).startsWith(ran), qPrintable(d->title(1)));
        QVERIFY(d->title(0).indexOf("pending") < 0);

        // Heun chosen, not run: what is shown (and drawn in the Reverse step tab) is DDIM's.
        d->setPanelConfig(1, cfg("heun", 10));
        QCOMPARE(d->shownConfig(1).sampler, std::string("ddim"));
        QVERIFY(d->describe(1).startsWith("DDIM"));
        QVERIFY2(d->pendingNote(1).contains("Heun"), qPrintable(d->pendingNote(1)));
        QVERIFY2(d->title(1).contains("Heun") && d->title(1).contains("press Run"), qPrintable(d->title(1)));
        // The session (and the GIF/MP4 captions rendered from it) says what was computed.
        const Session s = d->session();
        QCOMPARE(s.recipe.panels[1].sampler.sampler, std::string("ddim"));
        QVERIFY2(QString::fromStdString(s.panels[1].caption).startsWith("DDIM"), s.panels[1].caption.c_str());

        // After Run the labels follow the new computed recipe.
        QSignalSpy done(d.get(), &RunDocument::runFinished);
        QCOMPARE(d->run(), RunDocument::RunStart::Started);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        QVERIFY2(d->describe(1).startsWith("Heun"), qPrintable(d->describe(1)));
        QCOMPARE(d->title(1), d->describe(1));
    }

    void labelsNameTheModelWhenPanelsDifferInModel()
    {
        auto d = open(kModels + "/two-moons-mlp.json");
        QVERIFY(d->describe(0).indexOf(QStringLiteral("\u00b7")) < 0); // one model: not named
        QSignalSpy changed(d.get(), &RunDocument::panelModelChanged);
        QVERIFY(d->setPanelCard(1, kModels + "/two-moons.json") != 0);
        QTRY_COMPARE_WITH_TIMEOUT(changed.size(), 1, 20000);
        QVERIFY(d->hasOwnModel(1));
        const QString own = QString::fromStdString(d->panelModel(1)->card().name);
        const QString window = QString::fromStdString(d->model()->card().name);
        QVERIFY2(d->describe(1).endsWith(own), qPrintable(d->describe(1)));
        QVERIFY2(d->describe(0).endsWith(window), qPrintable(d->describe(0)));
        QVERIFY2(d->shortName(1).endsWith(own), qPrintable(d->shortName(1)));
    }

    void aModelChangeResetsTheSettingsThatNoLongerApply()
    {
        // Clip 1 on the digit model (data in [-1, 1]) means nothing on the ring's
        // 2-D points: on the new model it returns to its default (off), and the
        // settings written afterwards do not bring it back.
        auto d = open(kModels + "/mnist-500-exact.json");
        SamplerConfig c = cfg("ddim", 50);
        c.clip_x0 = 1.0;
        d->setPanelConfig(1, c);
        QSignalSpy ready(d.get(), &RunDocument::modelReady);
        d->loadModel(kModels + "/ring8.json");
        QVERIFY(ready.wait(20000));
        QVERIFY(!d->panelConfig(1).clip_x0.has_value());
        QCOMPARE(d->panelConfig(1).steps, 50); // steps still apply (T = 1000 on both)
        RunDocument restarted;
        QVERIFY(restarted.restoreRecipeText(d->recipeText()));
        QCOMPARE(restarted.panelCount(), d->panelCount());
        QVERIFY(!restarted.panelConfig(1).clip_x0.has_value());
        QCOMPARE(restarted.panelConfig(1).sampler, std::string("ddim"));
        QCOMPARE(restarted.batch(), d->batch());
        // Reloading the same card is no change of model: an explicit clip stays.
        d->setPanelConfig(1, c);
        d->loadModel(kModels + "/ring8.json");
        QVERIFY(ready.wait(20000));
        QCOMPARE(d->panelConfig(1).clip_x0, std::optional<double>(1.0));
    }

    void classesOfAnotherCardDoNotCarryOver()
    {
        // A class of the conditional ring means nothing on the unconditional one: the
        // panel samples unconditionally there, and the label names no class.
        auto d = open(kModels + "/ring8-classes.json");
        SamplerConfig c = cfg("ddim", 20);
        c.guidance.classes = {2};
        c.guidance.scale = 3.0;
        d->setPanelConfig(0, c);
        QVERIFY(d->describe(0).startsWith(QStringLiteral("class 180\u00b0 and 225\u00b0, W 3")));
        QSignalSpy ready(d.get(), &RunDocument::modelReady);
        d->loadModel(kModels + "/ring8.json");
        QVERIFY(ready.wait(20000));
        QVERIFY(d->panelConfig(0).guidance.classes.empty());
        QVERIFY(!d->panelConfig(0).guidance.scale.has_value());
        QVERIFY(!d->describe(0).contains(QStringLiteral("class")));
    }

    void aCliSessionOpensWithItsPanelsAndTrajectories()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString recipe = dir.filePath("run.json"), session = dir.filePath("run.ntsession");
        {
            RunSetRecipe r;
            r.model = (kModels + "/ring8.json").toStdString();
            r.seed = 7;
            r.batch = 32;
            r.panels = {{{}, cfg("ddpm", 12)}, {{}, cfg("ddim", 6, 0.5)}};
            write_run_recipe(recipe.toStdString(), r);
        }
        QProcess cli;
        cli.start(QStringLiteral(NOISETRAIL_CLI), {"run", "--config", recipe, "--session", session});
        QVERIFY(cli.waitForFinished(120000));
        QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());

        // Opened as the window opens it: the card is loaded, then the session restored.
        const Session s = read_session(session.toStdString());
        RunDocument d;
        QSignalSpy ready(&d, &RunDocument::modelReady);
        d.loadModel(QString::fromStdString(s.recipe.model.string()));
        QVERIFY(ready.wait(20000));
        d.restore(s);
        QCOMPARE(d.panelCount(), 2);
        QCOMPARE(d.seed(), quint64(7));
        QCOMPARE(d.batch(), 32);
        QCOMPARE(d.trajectory(0)->size(), 12);
        QCOMPARE(d.trajectory(1)->size(), 6);
        QVERIFY(d.trajectory(1)->finished());
        QCOMPARE(d.computed(1)->sampler.eta, 0.5);
        QVERIFY2(d.describe(1).startsWith("DDIM, 6 steps, eta 0.5"), qPrintable(d.describe(1)));
        // Its x_T is the CLI's, which is the seed's.
        QCOMPARE(d.computed(0)->x_T, initial_noise({2}, 32, 7));
        // Nothing is pending but what the CLI did not measure.
        d.setMetricsEnabled(false);
        QVERIFY(!d.isPending(0) && !d.isPending(1));
        QCOMPARE(d.run(), RunDocument::RunStart::NothingToDo);
    }
};

QTEST_GUILESS_MAIN(TestRunDocument)
#include "tst_run_document.moc"
