// Training (training.hpp): a few hundred L_simple steps on tiny synthetic data
// lower the loss well below its start; an interrupted run resumes to exactly the
// weights of an uninterrupted one; bad configs are one clear InputError.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/training.hpp"

#include <QtTest>

#include <cmath>
#include <fstream>
#include <random>

using namespace noisetrail;

namespace {

/// Two tight clusters at (+-1, 0.5): nearly deterministic given the cluster, so
/// the optimal epsilon predictor has a small L_simple and a model must learn it.
std::string write_points(const QTemporaryDir& dir, int n)
{
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.f, 0.05f);
    std::vector<float> p;
    for (int i = 0; i < n; ++i) {
        p.push_back((i % 2 ? 1.f : -1.f) + g(rng));
        p.push_back(0.5f + g(rng));
    }
    const std::string path = dir.filePath("points.npy").toStdString();
    write_npy(path, {n, 2}, p.data());
    return path;
}

/// Images 1x8x8: a bright left half or a bright top half, on -1 background.
std::string write_images(const QTemporaryDir& dir, int n)
{
    std::vector<float> x;
    for (int i = 0; i < n; ++i)
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c)
                x.push_back((i % 2 ? c < 4 : r < 4) ? 1.f : -1.f);
    const std::string path = dir.filePath("images.npy").toStdString();
    write_npy(path, {n, 1, 8, 8}, x.data());
    return path;
}

/// (first, last) loss of a loss log CSV "step,loss,...".
std::pair<double, double> first_last_loss(const std::filesystem::path& csv)
{
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    std::vector<double> losses;
    while (std::getline(in, line))
        losses.push_back(std::stod(line.substr(line.find(',') + 1)));
    if (losses.empty())
        return {NAN, NAN};
    return {losses.front(), losses.back()};
}

TrainConfig mlp_config(const std::string& data, const std::string& out, int steps)
{
    TrainConfig c;
    c.kind = "noisetrail-mlp";
    c.data = data;
    c.out = out;
    c.architecture_json = R"({"hidden": 64, "blocks": 2, "time_dim": 32})";
    c.steps = steps;
    c.batch = 128;
    c.lr = 3e-3;
    c.warmup_steps = 20;
    c.log_every = 20;
    c.checkpoint_every = 1000;
    c.sample_count = 64;
    c.threads = 1;
    c.seed = 3;
    return c;
}

std::string file_bytes(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

class TestTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mlpLossDecreases()
    {
        QTemporaryDir dir;
        const auto data = write_points(dir, 512);
        const auto r = train(mlp_config(data, dir.filePath("m.json").toStdString(), 300));
        QCOMPARE(r.steps_done, 300);
        QVERIFY(!r.cancelled);
        const auto [first, last] = first_last_loss(r.loss_log);
        qInfo("MLP L_simple: first %.4f, last %.4f", first, last);
        QVERIFY(first > 0.3);
        QVERIFY2(last < 0.4 * first, qPrintable(QString("loss %1 -> %2").arg(first).arg(last)));
        // The card it wrote loads and denoises.
        const auto model = Model::load(r.card);
        QCOMPARE(model->card().kind, std::string("noisetrail-mlp"));
        QVERIFY(std::filesystem::exists(r.weights));
        QVERIFY(std::filesystem::exists(r.preview));
    }

    void unetLossDecreases()
    {
        QTemporaryDir dir;
        TrainConfig c;
        c.kind = "noisetrail-unet";
        c.data = write_images(dir, 64);
        c.out = dir.filePath("u.json").toStdString();
        c.architecture_json = R"({"base_channels": 8, "channel_mult": [1, 2], "time_dim": 32, "groups": 4})";
        c.steps = 200;
        c.batch = 16;
        c.lr = 2e-3;
        c.warmup_steps = 20;
        c.log_every = 20;
        c.sample_count = 4;
        c.threads = 1;
        const auto r = train(c);
        const auto [first, last] = first_last_loss(r.loss_log);
        qInfo("UNet L_simple: first %.4f, last %.4f", first, last);
        QVERIFY2(last < 0.5 * first, qPrintable(QString("loss %1 -> %2").arg(first).arg(last)));
        const auto model = Model::load(r.card);
        QVERIFY(model->card().data_range.has_value());
    }

    void resumeMatchesUninterrupted()
    {
        QTemporaryDir dir;
        const auto data = write_points(dir, 256);
        TrainConfig a = mlp_config(data, dir.filePath("a.json").toStdString(), 60);
        TrainConfig b = mlp_config(data, dir.filePath("b.json").toStdString(), 60);
        a.checkpoint_every = b.checkpoint_every = 10;
        const auto ra = train(a);

        std::atomic<bool> stop{false};
        const auto rb1 = train(b, [&](const TrainProgress& p) { if (p.step == 25) stop = true; }, &stop);
        QVERIFY(rb1.cancelled);
        QCOMPARE(rb1.steps_done, 25);
        QVERIFY(!std::filesystem::exists(b.out)); // no card before the end
        const auto rb2 = train(b);                // the same command again resumes
        QCOMPARE(rb2.resumed_from, 25);
        QCOMPARE(rb2.steps_done, 60);

        const auto ma = Model::load(ra.card), mb = Model::load(rb2.card);
        const std::vector<double> x{0.3, -0.2, 1.5, 0.1, -0.7, 2.0};
        for (int t : {0, 400, 999}) {
            const auto da = ma->denoise(x, 3, t), db = mb->denoise(x, 3, t);
            QCOMPARE(da.eps_hat, db.eps_hat);
        }
    }

    void checkpointCards()
    {
        // card_every: a loadable card per multiple and at the final step, announced in
        // exactly one callback each; the last one is the final model's weights (both the EMA
        // at the same step), and the cards are not part of what a resume must agree on.
        QTemporaryDir dir;
        const auto data = write_points(dir, 256);
        TrainConfig c = mlp_config(data, dir.filePath("run/model.json").toStdString(), 50);
        c.card_every = 20;
        std::vector<std::pair<int, std::filesystem::path>> announced;
        int empty_in_card_phase = 0, set_elsewhere = 0;
        const auto r = train(c, [&](const TrainProgress& p) {
            if (p.phase == "checkpoint card") {
                if (p.checkpoint_card.empty())
                    ++empty_in_card_phase;
                else
                    announced.emplace_back(p.step, p.checkpoint_card);
            } else if (!p.checkpoint_card.empty()) {
                ++set_elsewhere;
            }
        });
        QCOMPARE(empty_in_card_phase, 0);
        QCOMPARE(set_elsewhere, 0);
        const std::filesystem::path cards = dir.filePath("run/checkpoints").toStdString();
        QCOMPARE(announced.size(), std::size_t(3));
        const int expected[] = {20, 40, 50};
        for (std::size_t i = 0; i < 3; ++i) {
            const auto name = "step-" + std::to_string(expected[i]);
            QCOMPARE(announced[i].first, expected[i]);
            QCOMPARE(announced[i].second, cards / (name + ".json"));
            QVERIFY(std::filesystem::exists(cards / (name + ".pt")));
            const auto m = Model::load(announced[i].second);
            QCOMPARE(m->card().kind, std::string("noisetrail-mlp"));
            QVERIFY(QString::fromStdString(m->card().name).contains(QString::number(expected[i])));
        }
        QCOMPARE(file_bytes(cards / "step-50.pt"), file_bytes(r.weights));
        QVERIFY(file_bytes(cards / "step-20.pt") != file_bytes(cards / "step-40.pt"));
        // Only the cards and their weights are written there (no temporaries left).
        int files = 0;
        for (const auto& e : std::filesystem::directory_iterator(cards))
            files += e.is_regular_file();
        QCOMPARE(files, 6);

        // Same config, another folder: byte-identical weights (deterministic for a seed).
        TrainConfig again = c;
        again.out = dir.filePath("again/model.json").toStdString();
        const auto r2 = train(again);
        QCOMPARE(file_bytes(r2.weights), file_bytes(r.weights));
        QCOMPARE(file_bytes(dir.filePath("again/checkpoints/step-20.pt").toStdString()), file_bytes(cards / "step-20.pt"));

        // Cancelled at 25: the checkpoint is written and the run returns within the step; the
        // stop gets a card too; the rerun resumes and its step-50 card is the uninterrupted one.
        TrainConfig s = c;
        s.out = dir.filePath("stop/model.json").toStdString();
        s.cards_dir = dir.filePath("stop/cards").toStdString();
        std::atomic<bool> stop{false};
        int calls_after_stop = 0;
        const auto rs = train(s, [&](const TrainProgress& p) {
            if (stop && p.phase == "training")
                ++calls_after_stop;
            if (p.phase == "training" && p.step == 25)
                stop = true;
        }, &stop);
        QVERIFY(rs.cancelled);
        QCOMPARE(rs.steps_done, 25);
        QCOMPARE(calls_after_stop, 0); // no step after the one whose callback set the flag
        QVERIFY(std::filesystem::exists(dir.filePath("stop/model.ckpt/state.json").toStdString()));
        QVERIFY(std::filesystem::exists(dir.filePath("stop/cards/step-20.json").toStdString()));
        QVERIFY(std::filesystem::exists(dir.filePath("stop/cards/step-25.json").toStdString()));
        QVERIFY(!std::filesystem::exists(dir.filePath("stop/cards/step-40.json").toStdString()));
        const auto rs2 = train(s);
        QCOMPARE(rs2.resumed_from, 25);
        const auto ma = Model::load(cards / "step-50.json"), mb = Model::load(dir.filePath("stop/cards/step-50.json").toStdString());
        const std::vector<double> x{0.3, -0.2, 1.5, 0.1, -0.7, 2.0};
        for (int t : {0, 400, 999})
            QCOMPARE(ma->denoise(x, 3, t).eps_hat, mb->denoise(x, 3, t).eps_hat);

        // A classifier has no checkpoint cards; a negative interval is an error.
        TrainConfig bad = c;
        bad.card_every = -1;
        QVERIFY_THROWS_EXCEPTION(InputError, train(bad));
        bad.card_every = 5;
        bad.kind = "noisetrail-classifier";
        try {
            train(bad);
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("checkpoint cards"), e.what());
        }
    }

    void changedConfigDoesNotResume()
    {
        QTemporaryDir dir;
        const auto data = write_points(dir, 256);
        TrainConfig c = mlp_config(data, dir.filePath("c.json").toStdString(), 20);
        train(c);
        c.architecture_json = R"({"hidden": 32, "blocks": 2, "time_dim": 32})";
        c.steps = 30;
        try {
            train(c);
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            const QString msg = e.what();
            QVERIFY2(msg.contains("c.ckpt") && msg.contains("different config") && msg.contains("--fresh"),
                     e.what());
        }
        c.fresh = true;
        QCOMPARE(train(c).steps_done, 30);
    }

    void flowMlpLearnsVelocity()
    {
        // Conditional flow matching (contract section 8): the card it writes predicts
        // velocity on the flow process, and Euler from noise lands on the two clusters
        // the data holds (the truth is the data, not the code).
        QTemporaryDir dir;
        const auto data = write_points(dir, 512);
        TrainConfig c = mlp_config(data, dir.filePath("f.json").toStdString(), 400);
        c.schedule.process = ProcessKind::Flow;
        const auto r = train(c);
        const auto model = Model::load(r.card);
        QVERIFY(model->card().prediction == Prediction::Velocity);
        QVERIFY(model->schedule().process() == ProcessKind::Flow);
        const auto [first, last] = first_last_loss(r.loss_log);
        qInfo("flow MLP loss: first %.4f, last %.4f", first, last);
        RunOptions ro;
        ro.sampler.sampler = "euler";
        ro.sampler.steps = 50;
        ro.batch = 400;
        ro.seed = 9;
        const RunResult run = run_sampler(*model, ro);
        int near = 0;
        for (int i = 0; i < ro.batch; ++i) {
            const double x = run.samples[2 * i], y = run.samples[2 * i + 1];
            near += std::min(std::hypot(x - 1, y - 0.5), std::hypot(x + 1, y - 0.5)) < 0.3;
        }
        qInfo("%d of %d Euler samples within 0.3 of a cluster", near, ro.batch);
        QVERIFY2(near > 0.85 * ro.batch, qPrintable(QString::number(near)));
        // Both clusters are reached (no collapse onto one).
        int right = 0;
        for (int i = 0; i < ro.batch; ++i)
            right += run.samples[2 * i] > 0;
        QVERIFY2(right > 0.3 * ro.batch && right < 0.7 * ro.batch, qPrintable(QString::number(right)));
    }

    void conditionalMlpLearnsClasses()
    {
        // A class-conditional MLP with label dropout (contract section 9): labels name the
        // cluster (0 left, 1 right). Asked for class 1 it samples the right cluster; with the
        // null label (no class) it is the unconditional model and samples both.
        QTemporaryDir dir;
        const auto data = write_points(dir, 512);
        std::vector<std::int64_t> labels(512);
        for (int i = 0; i < 512; ++i)
            labels[std::size_t(i)] = i % 2; // write_points: odd examples at x = +1
        const std::string label_file = dir.filePath("labels.npy").toStdString();
        write_npy(label_file, {512}, labels.data());
        TrainConfig c = mlp_config(data, dir.filePath("c.json").toStdString(), 400);
        c.labels = label_file;
        c.class_names = {"left", "right"};
        const auto r = train(c);
        const auto model = Model::load(r.card);
        // The card names the classes as the config does.
        QCOMPARE(model->card().classes, (std::vector<std::string>{"left", "right"}));
        const auto right_share = [&](std::vector<int> classes, double w) {
            RunOptions ro;
            ro.sampler.sampler = "ddim";
            ro.sampler.steps = 50;
            ro.sampler.guidance.classes = std::move(classes);
            if (!ro.sampler.guidance.classes.empty())
                ro.sampler.guidance.scale = w;
            ro.batch = 400;
            ro.seed = 9;
            const RunResult run = run_sampler(*model, ro);
            int right = 0;
            for (int i = 0; i < ro.batch; ++i)
                right += run.samples[std::size_t(2 * i)] > 0;
            return double(right) / ro.batch;
        };
        const double cond1 = right_share({1}, 1.0), cond0 = right_share({0}, 1.0), uncond = right_share({}, 1.0),
                     guided = right_share({1}, 3.0);
        qInfo("share on the right: class 1 %.3f, class 0 %.3f, unconditional %.3f, class 1 at W = 3 %.3f", cond1, cond0,
              uncond, guided);
        QVERIFY(cond1 > 0.9);
        QVERIFY(cond0 < 0.1);
        QVERIFY(uncond > 0.25 && uncond < 0.75);
        QVERIFY(guided >= cond1 - 0.02);
        // The config rules: label_dropout belongs to a conditional denoiser, in [0, 1).
        TrainConfig bad = mlp_config(data, dir.filePath("d.json").toStdString(), 5);
        bad.label_dropout = 0.2;
        QVERIFY_THROWS_EXCEPTION(InputError, train(bad));
        bad.labels = label_file;
        bad.label_dropout = 1.0;
        QVERIFY_THROWS_EXCEPTION(InputError, train(bad));
        // class_names must name every class, and only a model with classes has them;
        // both found before any training step (no card written).
        TrainConfig names = mlp_config(data, dir.filePath("e.json").toStdString(), 5);
        names.labels = label_file;
        names.class_names = {"left", "right", "third"};
        try {
            train(names);
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("class_names"), e.what());
        }
        names.labels.clear();
        names.class_names = {"left", "right"};
        QVERIFY_THROWS_EXCEPTION(InputError, train(names));
        QVERIFY(!QFileInfo::exists(dir.filePath("e.json")));
    }

    void flowConfigRules()
    {
        QTemporaryDir dir;
        const auto data = write_points(dir, 64);
        const auto expect = [](TrainConfig c, std::initializer_list<const char*> parts) {
            try {
                train(c);
                QFAIL("expected an InputError");
            } catch (const InputError& e) {
                for (const char* p : parts)
                    QVERIFY2(QString(e.what()).contains(p), e.what());
            }
        };
        TrainConfig c = mlp_config(data, dir.filePath("g.json").toStdString(), 5);
        c.level_sampling = "logit-normal"; // without a flow process
        expect(c, {"level_sampling", "flow"});
        c.schedule.process = ProcessKind::Flow;
        c.level_sampling = "beta";
        expect(c, {"level_sampling", "uniform or logit-normal", "beta"});
        c.level_sampling = "logit-normal";
        std::vector<float> wrong(3 * 2, 0.f);
        const std::string noise = dir.filePath("noise.npy").toStdString();
        write_npy(noise, {3, 2}, wrong.data());
        c.noise = noise; // 3 noises for 64 examples
        expect(c, {"noise.npy", "shape"});
        c.noise.clear();
        // init from a card of another architecture
        TrainConfig small = mlp_config(data, dir.filePath("small.json").toStdString(), 5);
        small.architecture_json = R"({"hidden": 32, "blocks": 1, "time_dim": 16})";
        train(small);
        c.init = small.out;
        expect(c, {"small.json", "architecture"});
        c.init.clear();
        c.kind = "noisetrail-classifier";
        expect(c, {"process", "denoiser"});
        // The config file's "process" is the card's field.
        const auto cfg = test::write_file(dir, "flow.json", R"({"kind": "noisetrail-mlp", "data": "points.npy",
            "process": {"kind": "flow", "train_steps": 500, "shift": 2}, "level_sampling": "logit-normal"})");
        const TrainConfig f = read_train_config(cfg);
        QVERIFY(f.schedule.process == ProcessKind::Flow);
        QCOMPARE(f.schedule.train_steps, 500);
        QCOMPARE(f.schedule.shift, 2.0);
        QCOMPARE(f.level_sampling, std::string("logit-normal"));
        const auto bad = test::write_file(dir, "bad.json", R"({"kind": "noisetrail-mlp", "process": {"kind": "ve"}})");
        QVERIFY_THROWS_EXCEPTION(InputError, read_train_config(bad));
    }

    void badInputs()
    {
        QTemporaryDir dir;
        const auto data = write_points(dir, 64);
        TrainConfig c = mlp_config(data, dir.filePath("x.json").toStdString(), 5);
        c.kind = "noisetrail-unet"; // points are not images
        try {
            train(c);
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("points.npy") && QString(e.what()).contains("[N, C, H, W]"), e.what());
        }
        c.kind = "noisetrail-gan";
        QVERIFY_THROWS_EXCEPTION(InputError, train(c));

        const auto cfg = test::write_file(dir, "cfg.json", R"({"kind": "noisetrail-mlp", "stpes": 10})");
        try {
            read_train_config(cfg);
            QFAIL("expected an InputError");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("cfg.json") && QString(e.what()).contains("'stpes'"), e.what());
        }
        // Paths in a config file are relative to the file.
        const auto ok = test::write_file(dir, "ok.json", R"({"kind": "noisetrail-mlp", "data": "points.npy", "steps": 7})");
        const TrainConfig r = read_train_config(ok);
        QCOMPARE(r.steps, 7);
        QCOMPARE(r.data, std::filesystem::path(data));
        // What to_json writes reads back: the GUI saves its recipe this way (Draw & Train).
        TrainConfig g = mlp_config(data, dir.filePath("drawn/model.json").toStdString(), 40);
        g.card_every = 20;
        g.cards_dir = dir.filePath("drawn/checkpoints").toStdString();
        const auto saved = test::write_file(dir, "saved.json", QByteArray::fromStdString(to_json(g)));
        const TrainConfig back = read_train_config(saved);
        QCOMPARE(back.card_every, 20);
        QCOMPARE(back.cards_dir, g.cards_dir);
        QCOMPARE(back.steps, 40);
        QCOMPARE(back.out, g.out);
        const auto negative = test::write_file(dir, "neg.json", R"({"kind": "noisetrail-mlp", "card_every": -3})");
        QVERIFY_THROWS_EXCEPTION(InputError, read_train_config(negative));
    }
};

QTEST_GUILESS_MAIN(TestTraining)
#include "tst_training.moc"
