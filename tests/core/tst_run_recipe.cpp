// Run recipes (contract section 4): reading, writing, errors that name the file
// and the field, and the run set a recipe builds.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run_recipe.hpp"

#include <QtTest>

#include <filesystem>

using namespace noisetrail;
namespace fs = std::filesystem;

namespace {

QString models_dir()
{
    return QString::fromStdString(test::source_path("models"));
}

/// A recipe file in `dir` whose model paths point into the source tree's models/.
std::string recipe_file(const QTemporaryDir& dir, const QByteArray& json, const QString& name = "r.run.json")
{
    QByteArray text = json;
    text.replace("MODELS", models_dir().toUtf8());
    return test::write_file(dir, name, text);
}

/// The InputError message of `f`, or "" if it threw none.
template <typename F>
QString error_of(F&& f)
{
    try {
        f();
    } catch (const InputError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestRunRecipe : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void reads_contract_example();
    void write_then_read_is_equal();
    void text_api_and_relative_paths();
    void bad_recipes_name_file_and_field_data();
    void bad_recipes_name_file_and_field();
    void missing_and_oversized_files();
    void run_set_from_recipe();
    void run_set_errors_name_the_panel();
};

void TestRunRecipe::reads_contract_example()
{
    QTemporaryDir dir;
    const std::string file = test::write_file(dir, "demo.run.json", R"({
      "format": "noisetrail-run/1",
      "model": "models/ring8.json",
      "seed": 1,
      "batch": 64,
      "init_noise": "xT.npy",
      "pacing": "lockstep",
      "panels": [
        {"sampler": "ddpm", "steps": 1000, "variance": "fixed_small"},
        {"sampler": "ddim", "steps": 50, "eta": 0.0, "spacing": "leading"},
        {"sampler": "ddim", "steps": 50, "model": "models/two-moons-mlp.json"},
        {"sampler": "heun", "clip_x0": "off", "spacing": "quadratic", "variance": "fixed_large"},
        {"sampler": "dpmpp2m", "clip_x0": 1.5, "eta": 0.25}
      ]})");
    const RunSetRecipe r = read_run_recipe(file);
    const fs::path base = fs::path(file).parent_path();
    QCOMPARE(r.model, (base / "models/ring8.json").lexically_normal());
    QCOMPARE(r.seed, std::uint64_t(1));
    QCOMPARE(r.batch, std::optional<int>(64));
    QCOMPARE(r.init_noise, std::optional<fs::path>((base / "xT.npy").lexically_normal()));
    QCOMPARE(r.pacing, Pacing::Lockstep);
    QCOMPARE(r.panels.size(), std::size_t(5));
    QCOMPARE(r.panels[0].sampler.sampler, std::string("ddpm"));
    QCOMPARE(r.panels[0].sampler.steps, 1000);
    QVERIFY(r.panels[0].model.empty());
    QCOMPARE(r.panels[1].sampler.spacing, std::optional<Spacing>(Spacing::Leading));
    QCOMPARE(r.panels[0].sampler.spacing, std::optional<Spacing>()); // omitted: the sampler's default
    QCOMPARE(r.panels[2].model, (base / "models/two-moons-mlp.json").lexically_normal());
    QCOMPARE(r.panels[3].sampler.steps, 0); // omitted: the sampler's default
    QCOMPARE(r.panels[3].sampler.clip_x0, std::optional<double>(0.0)); // "off"
    QCOMPARE(r.panels[3].sampler.spacing, std::optional<Spacing>(Spacing::Quadratic));
    QCOMPARE(r.panels[3].sampler.variance, Variance::FixedLarge);
    QCOMPARE(r.panels[4].sampler.clip_x0, std::optional<double>(1.5));
    QCOMPARE(r.panels[4].sampler.eta, 0.25);
    // Omitted top-level keys take their defaults.
    const RunSetRecipe m = read_run_recipe(
        test::write_file(dir, "min.run.json", R"({"model": "a.json", "panels": [{}]})"));
    QCOMPARE(m.seed, std::uint64_t(0));
    QVERIFY(!m.batch && !m.init_noise);
    QCOMPARE(m.pacing, Pacing::Lockstep);
    QCOMPARE(m.panels[0].sampler, SamplerConfig{});
}

void TestRunRecipe::write_then_read_is_equal()
{
    QTemporaryDir dir;
    RunSetRecipe r;
    r.model = fs::path(dir.path().toStdString()) / "cards" / "ring8.json";
    r.seed = 123456789;
    r.batch = 7;
    r.init_noise = fs::path(dir.path().toStdString()) / "noise" / "xT.npy";
    r.pacing = Pacing::Realtime;
    PanelRecipe a, b, c;
    a.sampler.sampler = "ddpm";
    a.sampler.variance = Variance::FixedLarge;
    b.sampler.sampler = "ddim";
    b.sampler.steps = 20;
    b.sampler.eta = 0.3;
    b.sampler.spacing = Spacing::Trailing;
    b.sampler.clip_x0 = 2.5;
    b.model = fs::path(dir.path().toStdString()) / "other.json";
    c.sampler.sampler = "heun";
    c.sampler.clip_x0 = 0.0;
    r.panels = {a, b, c};
    const fs::path file = fs::path(dir.path().toStdString()) / "saved.run.json";
    write_run_recipe(file, r);
    QCOMPARE(read_run_recipe(file), r);
    // Paths are stored relative to the recipe, so the folder can move.
    QFile f(QString::fromStdString(file.string()));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY2(text.contains("\"cards/ring8.json\""), text.constData());
    QVERIFY(text.contains("\"noisetrail-run/1\""));
    QVERIFY(text.contains("\"off\""));
    QCOMPARE(text.count("\"spacing\""), 1); // only the panel that chose one; the others take the sampler's default
}

/// parse_run_recipe reads what run_recipe_text writes; omitted "steps" is the sampler's
/// default and an explicit 0 an error; a card path relative to the working folder is
/// written so that it still names the same card from the recipe's folder.
void TestRunRecipe::text_api_and_relative_paths()
{
    QTemporaryDir dir;
    const fs::path root = fs::path(dir.path().toStdString());
    const fs::path file = root / "sub" / "r.run.json";
    const RunSetRecipe zero = parse_run_recipe(R"({"model": "a.json", "panels": [{}, {}]})", file);
    QCOMPARE(zero.panels[0].sampler.steps, 0);
    QCOMPARE(zero.model, root / "sub" / "a.json");
    // An explicit 0 is an error like --steps 0 (it once ran the default silently).
    for (const char* steps : {"-1", "0"})
        QVERIFY(error_of([&] {
                    parse_run_recipe(std::string(R"({"model": "a.json", "panels": [{"steps": )") + steps + "}]}", file);
                }).contains("run recipe " + QString::fromStdString(file.string()) +
                            ": field 'panels[0].steps' must be in 1..1000000"));

    RunSetRecipe r = zero;
    r.model = fs::relative(root / "cards" / "ring8.json"); // relative to the working folder
    r.panels[1].sampler.steps = 7;
    const std::string text = run_recipe_text(r, file);
    QVERIFY2(text.find("\"../cards/ring8.json\"") != std::string::npos, text.c_str());
    const RunSetRecipe back = parse_run_recipe(text, file);
    QCOMPARE(back.model, root / "cards" / "ring8.json");
    QCOMPARE(back.panels, r.panels);
    fs::create_directories(file.parent_path());
    write_run_recipe(file, r);
    QCOMPARE(read_run_recipe(file), back);
}

void TestRunRecipe::bad_recipes_name_file_and_field_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("expected");
    const QByteArray ok_panel = R"([{"sampler": "ddim"}])";
    QTest::newRow("bad json") << QByteArray(R"({"model": "a.json", "panels": [)") << "malformed JSON";
    QTest::newRow("not an object") << QByteArray("[1, 2]") << "JSON object";
    QTest::newRow("unknown key") << QByteArray(R"({"model": "a.json", "colour": 1, "panels": )" + ok_panel + "}") << "'colour'";
    QTest::newRow("unknown panel key")
        << QByteArray(R"({"model": "a.json", "panels": [{"sampler": "ddim", "temperature": 2}]})")
        << "'panels[0].temperature'";
    QTest::newRow("format") << QByteArray(R"({"format": "noisetrail-run/9", "model": "a.json", "panels": )" + ok_panel + "}")
                            << "'format'";
    QTest::newRow("no model") << QByteArray(R"({"panels": )" + ok_panel + "}") << "'model'";
    QTest::newRow("no panels") << QByteArray(R"({"model": "a.json"})") << "'panels'";
    QTest::newRow("empty panels") << QByteArray(R"({"model": "a.json", "panels": []})") << "'panels'";
    QTest::newRow("bad pacing") << QByteArray(R"({"model": "a.json", "pacing": "fast", "panels": )" + ok_panel + "}")
                                << "'pacing' unknown pacing 'fast'";
    QTest::newRow("bad seed") << QByteArray(R"({"model": "a.json", "seed": -1, "panels": )" + ok_panel + "}") << "'seed'";
    QTest::newRow("bad batch") << QByteArray(R"({"model": "a.json", "batch": 1.5, "panels": )" + ok_panel + "}")
                               << "'batch' must be an integer";
    QTest::newRow("bad sampler") << QByteArray(R"({"model": "a.json", "panels": [{"sampler": "lms"}]})")
                                 << "'panels[0].sampler' unknown sampler 'lms'";
    QTest::newRow("bad steps") << QByteArray(R"({"model": "a.json", "panels": [{}, {"steps": "many"}]})")
                               << "'panels[1].steps'";
    QTest::newRow("bad eta") << QByteArray(R"({"model": "a.json", "panels": [{"eta": -1}]})") << "'panels[0].eta'";
    QTest::newRow("bad spacing") << QByteArray(R"({"model": "a.json", "panels": [{"spacing": "even"}]})")
                                 << "'panels[0].spacing' unknown spacing 'even'";
    QTest::newRow("bad variance") << QByteArray(R"({"model": "a.json", "panels": [{"variance": "huge"}]})")
                                  << "'panels[0].variance'";
    QTest::newRow("clip zero") << QByteArray(R"({"model": "a.json", "panels": [{"clip_x0": 0}]})")
                               << "'panels[0].clip_x0' must be a number > 0 or \"off\"";
    QTest::newRow("clip word") << QByteArray(R"({"model": "a.json", "panels": [{"clip_x0": "none"}]})")
                               << "'panels[0].clip_x0'";
    QTest::newRow("model not a string") << QByteArray(R"({"model": 3, "panels": )" + ok_panel + "}") << "'model' must be a string";
}

void TestRunRecipe::bad_recipes_name_file_and_field()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string file = test::write_file(dir, "bad.run.json", json);
    const QString msg = error_of([&] { read_run_recipe(file); });
    QVERIFY2(msg.contains(QString::fromStdString(file)), qPrintable(msg));
    QVERIFY2(msg.contains(expected), qPrintable(msg));
    QVERIFY2(!msg.contains('\n'), qPrintable(msg));
}

void TestRunRecipe::missing_and_oversized_files()
{
    QTemporaryDir dir;
    const std::string missing = dir.filePath("nope.run.json").toStdString();
    QString msg = error_of([&] { read_run_recipe(missing); });
    QVERIFY2(msg.contains("nope.run.json") && msg.contains("does not exist"), qPrintable(msg));
    const std::string big = test::write_file(dir, "big.run.json", QByteArray(2 << 20, ' '));
    msg = error_of([&] { read_run_recipe(big); });
    QVERIFY2(msg.contains("big.run.json") && msg.contains("larger than"), qPrintable(msg));
    msg = error_of([&] { read_run_recipe(dir.path().toStdString()); });
    QVERIFY2(msg.contains("not a regular file"), qPrintable(msg));
}

void TestRunRecipe::run_set_from_recipe()
{
    QTemporaryDir dir;
    const std::string file = recipe_file(dir, R"({"model": "MODELS/ring8.json", "seed": 3, "pacing": "sequential",
        "panels": [{"sampler": "ddim", "steps": 5}, {"sampler": "ddpm", "steps": 8, "model": "MODELS/ring8.json"},
                   {"sampler": "heun", "steps": 4, "model": "MODELS/gaussian-2d.json"}]})");
    RunSet set = make_run_set(read_run_recipe(file));
    QCOMPARE(set.size(), 3);
    QCOMPARE(set.pacing(), Pacing::Sequential);
    // Each distinct card is loaded once; every panel starts from the same x_T.
    QCOMPARE(set.run(0).model().get(), set.run(1).model().get());
    QVERIFY(set.run(0).model().get() != set.run(2).model().get());
    QCOMPARE(set.run(0).shape()[0], std::int64_t(1000)); // the `sample` default for 2-D data
    QCOMPARE(set.run(0).x_T(), initial_noise({2}, 1000, 3));
    QCOMPARE(set.run(2).x_T(), set.run(0).x_T());
    QCOMPARE(set.run(1).recipe().sampler.steps, 8);
    // The pacing option overrides the recipe's.
    RunSetOptions o;
    o.pacing = Pacing::Realtime;
    QCOMPARE(make_run_set(read_run_recipe(file), o).pacing(), Pacing::Realtime);

    // init_noise: x_T from the file, batch from its shape.
    const std::vector<float> noise{0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f};
    write_npy(dir.filePath("xT.npy").toStdString(), {3, 2}, noise.data());
    const std::string with_noise = recipe_file(dir, R"({"model": "MODELS/ring8.json", "init_noise": "xT.npy",
        "panels": [{"sampler": "ddim", "steps": 3}, {"sampler": "dpmpp2m", "steps": 3}]})", "n.run.json");
    RunSet s2 = make_run_set(read_run_recipe(with_noise));
    QCOMPARE(s2.run(1).x_T(), noise);
    QCOMPARE(s2.run(1).shape()[0], std::int64_t(3));
}

void TestRunRecipe::run_set_errors_name_the_panel()
{
    QTemporaryDir dir;
    const std::string shape = recipe_file(dir, R"({"model": "MODELS/ring8.json",
        "panels": [{"sampler": "ddim"}, {"sampler": "ddim", "model": "MODELS/mnist-500-exact.json"}]})");
    QString msg = error_of([&] { make_run_set(read_run_recipe(shape)); });
    QVERIFY2(msg.contains("panels[1]") && msg.contains("data_shape") && msg.contains("mnist-500-exact.json"),
             qPrintable(msg));
    const std::string steps = recipe_file(dir, R"({"model": "MODELS/ring8.json",
        "panels": [{"sampler": "ddim"}, {"sampler": "ddim", "steps": 5000}]})", "s.run.json");
    msg = error_of([&] { make_run_set(read_run_recipe(steps)); });
    QVERIFY2(msg.contains("panels[1]") && msg.contains("1..1000"), qPrintable(msg));
    const std::string card = recipe_file(dir, R"({"model": "MODELS/missing.json", "panels": [{}]})", "c.run.json");
    msg = error_of([&] { make_run_set(read_run_recipe(card)); });
    QVERIFY2(msg.contains("missing.json"), qPrintable(msg));
    const std::vector<float> noise(6, 0.5f);
    write_npy(dir.filePath("xT.npy").toStdString(), {3, 2}, noise.data());
    const std::string batch = recipe_file(dir, R"({"model": "MODELS/ring8.json", "init_noise": "xT.npy", "batch": 4,
        "panels": [{}]})", "b.run.json");
    msg = error_of([&] { make_run_set(read_run_recipe(batch)); });
    QVERIFY2(msg.contains("batch 4") && msg.contains("xT.npy"), qPrintable(msg));
}

QTEST_GUILESS_MAIN(TestRunRecipe)
#include "tst_run_recipe.moc"
