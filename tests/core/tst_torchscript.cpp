// TorchScript model cards (contract section 2, kind `torchscript`) with the committed fixtures of
// tests/fixtures/torchscript (made by make_fixtures.py there): every mismatch is one InputError line
// naming the card and the problem, before sampling; the correct fixture (the exact eps* of one
// Gaussian N(mu, s^2 I)) matches the closed form; a NaN model stops the run with RunError at step 0.
#include "noisetrail/errors.hpp"
#include "noisetrail/fingerprint.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "test_util.hpp"

#include <QtTest>

#include <cmath>
#include <filesystem>

using namespace noisetrail;

namespace {

const double kMu[2] = {1.0, -0.5}; // make_fixtures.py: MU, S
const double kS = 0.3;

std::string fixture(const char* name)
{
    return test::source_path((std::string("tests/fixtures/torchscript/") + name).c_str());
}

/// eps*(x, t) = sqrt(1 - ab) (x - sqrt(ab) mu) / (ab s^2 + 1 - ab): -sqrt(1 - ab) grad log p_t of
/// p_t = N(sqrt(ab) mu, (ab s^2 + 1 - ab) I).
double eps_star(double x, double mu, double ab)
{
    return std::sqrt(1.0 - ab) * (x - std::sqrt(ab) * mu) / (ab * kS * kS + 1.0 - ab);
}

/// The fixtures lie outside the bundled models folder: their modules run only when trusted.
std::shared_ptr<Model> load_trusted(const std::string& card)
{
    return Model::load(card, "cpu", CodeTrust{.all = true, .fingerprints = {}});
}

/// A copy of a fixture card and its module in `dir`, the card renamed (other content).
std::string copy_fixture(const QTemporaryDir& dir, const char* card, const char* module, const QString& name)
{
    QFile in(QString::fromStdString(fixture(card)));
    if (!in.open(QIODevice::ReadOnly))
        return {};
    QByteArray text = in.readAll();
    text.replace("\"name\": \"", "\"name\": \"" + name.toUtf8() + " ");
    QFile::copy(QString::fromStdString(fixture(module)), dir.filePath(module));
    return test::write_file(dir, card, text);
}

} // namespace

class TestTorchScript : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mismatches_are_one_line_input_errors_data();
    void mismatches_are_one_line_input_errors();
    void card_without_file_field();
    void correct_model_matches_closed_form_eps_data();
    void correct_model_matches_closed_form_eps();
    void ddim_eta0_maps_noise_to_the_gaussian_closed_form();
    void ddim_matches_discrete_recursion_of_exact_eps();
    void nan_model_fails_at_step_0();
    void model_failing_mid_run_names_t();
    void untrusted_module_is_refused_with_its_fingerprint();
    void trust_by_fingerprint_covers_that_content_only();
    void bundled_models_folder_is_trusted();
    void archive_inflating_past_the_budget_is_refused();
};

void TestTorchScript::mismatches_are_one_line_input_errors_data()
{
    QTest::addColumn<QString>("card");
    QTest::addColumn<QStringList>("expect");
    QTest::newRow("wrong input rank")
        << "wrong_rank.json"
        << QStringList{"TorchScript model wrong_rank.pt failed on a probe call (t = 999)",
                       "on x_t float32 [2, 2] and t int64 [2]", "wrong input rank or shape for data_shape [2]",
                       "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 2]"};
    QTest::newRow("wrong output shape")
        << "wrong_shape.json"
        << QStringList{"TorchScript model wrong_shape.pt returned shape [2] on a probe call",
                       "for x_t of shape [2, 2], expected the shape of x_t"};
    QTest::newRow("wrong output dtype")
        << "wrong_dtype.json"
        << QStringList{"TorchScript model wrong_dtype.pt returned dtype int64", "expected float32 (or float64)"};
    QTest::newRow("non-tensor output")
        << "not_tensor.json"
        << QStringList{"TorchScript model not_tensor.pt returned Tuple",
                       "expected one tensor (the epsilon prediction) of shape [2, 2]"};
    QTest::newRow("wrong arity")
        << "wrong_arity.json"
        << QStringList{"TorchScript module wrong_arity.pt: forward takes 1 argument(s) (x), expected model(x_t, t)"};
    QTest::newRow("missing file")
        << "missing_file.json"
        << QStringList{"TorchScript file", "does_not_exist.pt does not exist"};
    QTest::newRow("corrupt archive")
        << "corrupt.json"
        << QStringList{"corrupt.pt is not a loadable TorchScript archive", "zip archive"};
    QTest::newRow("state dict, not TorchScript")
        << "state_dict.json"
        << QStringList{"state_dict.pt is not a loadable TorchScript archive",
                       "a torch.save() file? export with torch.jit.script(model).save(path)"};
}

void TestTorchScript::mismatches_are_one_line_input_errors()
{
    QFETCH(QString, card);
    QFETCH(QStringList, expect);
    const std::string path = fixture(qPrintable(card));
    try {
        load_trusted(path);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        const QString msg = QString::fromStdString(e.what());
        QVERIFY2(msg.startsWith(QString::fromStdString("model card " + path + ": ")), qPrintable(msg));
        QVERIFY2(!msg.contains('\n'), qPrintable(msg));
        QVERIFY2(!msg.contains("Traceback") && !msg.contains("Exception raised from"), qPrintable(msg));
        QVERIFY2(msg.size() < 600, qPrintable(msg));
        for (const QString& part : expect)
            QVERIFY2(msg.contains(part), qPrintable("missing '" + part + "' in: " + msg));
    }
}

void TestTorchScript::card_without_file_field()
{
    QTemporaryDir dir;
    const std::string path = test::write_file(dir, "nofile.json", R"({"format": "noisetrail-model/1",
        "kind": "torchscript", "data_shape": [2], "prediction": "epsilon"})");
    try {
        load_trusted(path);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        const QString msg = QString::fromStdString(e.what());
        QVERIFY2(msg.startsWith(QString::fromStdString("model card " + path + ": field 'file'")), qPrintable(msg));
    }
}

void TestTorchScript::correct_model_matches_closed_form_eps_data()
{
    QTest::addColumn<QString>("card");
    QTest::newRow("float32 output") << "gaussian_eps.json";
    QTest::newRow("float64 output accepted") << "gaussian_eps_f64.json";
}

void TestTorchScript::correct_model_matches_closed_form_eps()
{
    QFETCH(QString, card);
    const auto model = load_trusted(fixture(qPrintable(card)));
    QCOMPARE(model->card().kind, std::string("torchscript"));
    // Values exact in float32, so the model's float32 input is the same point.
    const std::vector<double> x{0.25, -1.5, 2.0, 0.5, -3.0, 0.0};
    for (int t : {0, 1, 10, 250, 500, 999}) {
        const double ab = model->schedule().alpha_bar(t);
        const Denoised d = model->denoise(x, 3, t);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double want = eps_star(x[i], kMu[i % 2], ab);
            QVERIFY2(std::abs(d.eps_hat[i] - want) <= 1e-6 * (1.0 + std::abs(want)),
                     qPrintable(QString("t=%1 i=%2 got %3 want %4").arg(t).arg(i).arg(d.eps_hat[i]).arg(want)));
        }
    }
}

void TestTorchScript::ddim_eta0_maps_noise_to_the_gaussian_closed_form()
{
    // DDIM with eta = 0 follows the probability-flow ODE; for N(mu, s^2 I) its flow map from t = T-1
    // to 0 is x_T -> mu + s (x_T - sqrt(ab_T) mu) / sqrt(ab_T s^2 + 1 - ab_T). With 1000 steps the
    // first-order discretisation error is ~3e-3 per unit of (x_T - sqrt(ab_T) mu).
    const auto model = load_trusted(fixture("gaussian_eps.json"));
    RunOptions opt;
    opt.sampler.sampler = "ddim";
    opt.sampler.steps = 1000;
    opt.sampler.eta = 0.0;
    opt.batch = 64;
    opt.seed = 7;
    int frames = 0;
    const RunResult r = run_sampler(*model, opt, [&](std::shared_ptr<const StepFrame>) { ++frames; });
    QCOMPARE(frames, 1000);
    QCOMPARE(r.steps_done, 1000);
    QCOMPARE(static_cast<int>(r.samples.size()), 128);
    const double abT = model->schedule().alpha_bar(r.plan.steps.front().t);
    double worst = 0.0;
    for (std::size_t i = 0; i < r.samples.size(); ++i) {
        const double mu = kMu[i % 2];
        const double want = mu + kS * (r.x_T[i] - std::sqrt(abT) * mu) / std::sqrt(abT * kS * kS + 1.0 - abT);
        worst = std::max(worst, std::abs(r.samples[i] - want) / (1.0 + std::abs(r.x_T[i])));
    }
    QVERIFY2(worst < 5e-3, qPrintable(QString::number(worst)));
}

void TestTorchScript::ddim_matches_discrete_recursion_of_exact_eps()
{
    // The same 50-step DDIM recursion (Song et al. eq. 12, eta = 0) with the closed-form eps*, in float64.
    for (const char* card : {"gaussian_eps.json", "gaussian_eps_f64.json"}) {
        const auto model = load_trusted(fixture(card));
        RunOptions opt;
        opt.sampler.sampler = "ddim";
        opt.sampler.steps = 50;
        opt.batch = 16;
        opt.seed = 3;
        const RunResult r = run_sampler(*model, opt);
        std::vector<double> x(r.x_T.begin(), r.x_T.end());
        for (const PlanStep& s : r.plan.steps) {
            for (std::size_t i = 0; i < x.size(); ++i) {
                const double e = eps_star(x[i], kMu[i % 2], s.alpha_bar);
                const double x0 = (x[i] - std::sqrt(1.0 - s.alpha_bar) * e) / std::sqrt(s.alpha_bar);
                x[i] = std::sqrt(s.alpha_bar_prev) * x0 + std::sqrt(1.0 - s.alpha_bar_prev) * e;
            }
        }
        for (std::size_t i = 0; i < x.size(); ++i)
            QVERIFY2(std::abs(r.samples[i] - x[i]) < 1e-4,
                     qPrintable(QString("%1 i=%2 got %3 want %4").arg(card).arg(i).arg(r.samples[i]).arg(x[i])));
    }
}

void TestTorchScript::nan_model_fails_at_step_0()
{
    // The NaN model passes the load-time checks (shape and dtype are right); the run stops at once.
    const auto model = load_trusted(fixture("nan.json"));
    RunOptions opt;
    opt.sampler.sampler = "ddim";
    opt.sampler.steps = 10;
    opt.batch = 4;
    int frames = 0;
    try {
        run_sampler(*model, opt, [&](std::shared_ptr<const StepFrame>) { ++frames; });
        QFAIL("expected a RunError");
    } catch (const RunError& e) {
        QCOMPARE(e.step(), 0);
        QCOMPARE(e.t(), 900); // leading spacing, S = 10, T = 1000: t_0 = 9 * 100
        QVERIFY2(QString(e.what()).contains("step 0"), e.what());
    }
    QCOMPARE(frames, 0);
}

void TestTorchScript::model_failing_mid_run_names_t()
{
    // Passes the probe at t = 999, raises for t < 500: not an input error but a failed run.
    const auto model = load_trusted(fixture("fails_late.json"));
    RunOptions opt;
    opt.sampler.sampler = "ddim";
    opt.sampler.steps = 10;
    opt.batch = 2;
    int frames = 0;
    try {
        run_sampler(*model, opt, [&](std::shared_ptr<const StepFrame>) { ++frames; });
        QFAIL("expected the run to fail");
    } catch (const InputError& e) {
        QFAIL(e.what());
    } catch (const std::exception& e) {
        const QString msg = e.what();
        QVERIFY2(msg.contains("fails_late.json: TorchScript model fails_late.pt failed at t = 400"), qPrintable(msg));
        QVERIFY2(msg.contains("fixture failure below t = 500"), qPrintable(msg));
        QVERIFY2(!msg.contains('\n') && !msg.contains("Traceback"), qPrintable(msg));
    }
    QCOMPARE(frames, 5); // t = 900 .. 500 ran
}

void TestTorchScript::untrusted_module_is_refused_with_its_fingerprint()
{
    // Contract section 2: a TorchScript card outside the bundled models folder is refused
    // until trusted, before libtorch reads the module (a corrupt one is refused the same way).
    for (const auto& [name, module] : {std::pair{"gaussian_eps.json", "gaussian_eps.pt"}, std::pair{"corrupt.json", "corrupt.pt"}}) {
        const std::string path = fixture(name);
        try {
            Model::load(path);
            QFAIL("expected UntrustedCode");
        } catch (const UntrustedCode& e) {
            const QString msg = e.what();
            QVERIFY2(msg.startsWith(QString::fromStdString("model card " + path + ": TorchScript module ")), qPrintable(msg));
            QVERIFY2(msg.contains("--trust-code") && msg.contains("read and write your files"), qPrintable(msg));
            QVERIFY2(!msg.contains('\n') && !msg.contains("not a loadable"), qPrintable(msg));
            QCOMPARE(e.card(), std::filesystem::path(path));
            QCOMPARE(e.module().filename().string(), std::string(module));
            QCOMPARE(e.fingerprint(), content_fingerprint(read_model_card(path)));
        }
    }
}

void TestTorchScript::trust_by_fingerprint_covers_that_content_only()
{
    const std::string path = fixture("gaussian_eps.json");
    const std::string fp = content_fingerprint(read_model_card(path));
    const auto model = Model::load(path, "cpu", CodeTrust{.all = false, .fingerprints = {"sha256:00", fp}});
    QCOMPARE(model->card().kind, std::string("torchscript"));
    // The same module behind a changed card is other content: asked again.
    QTemporaryDir dir;
    const std::string other = copy_fixture(dir, "gaussian_eps.json", "gaussian_eps.pt", "edited");
    QVERIFY(!other.empty());
    QVERIFY_THROWS_EXCEPTION(UntrustedCode, Model::load(other, "cpu", CodeTrust{.all = false, .fingerprints = {fp}}));
}

void TestTorchScript::bundled_models_folder_is_trusted()
{
    // The bundled models folder is the one find_models_dir() finds; $NOISETRAIL_MODELS comes first.
    QTemporaryDir models, elsewhere;
    const std::string bundled = copy_fixture(models, "gaussian_eps.json", "gaussian_eps.pt", "bundled");
    const std::string outside = copy_fixture(elsewhere, "gaussian_eps_f64.json", "gaussian_eps_f64.pt", "outside");
    // A bundled card whose module is a link to a file elsewhere runs that file: not bundled code.
    QVERIFY(QFile::link(elsewhere.filePath("gaussian_eps_f64.pt"), models.filePath("gaussian_eps_f64.pt")));
    const std::string linked = test::write_file(models, "linked.json", R"({"format": "noisetrail-model/1",
        "kind": "torchscript", "data_shape": [2], "prediction": "epsilon", "file": "gaussian_eps_f64.pt"})");
    const QByteArray saved = qgetenv("NOISETRAIL_MODELS");
    qputenv("NOISETRAIL_MODELS", models.path().toUtf8());
    const auto restore = qScopeGuard([&] {
        if (saved.isNull())
            qunsetenv("NOISETRAIL_MODELS");
        else
            qputenv("NOISETRAIL_MODELS", saved);
    });
    QCOMPARE(Model::load(bundled)->card().kind, std::string("torchscript"));
    QVERIFY_THROWS_EXCEPTION(UntrustedCode, Model::load(outside));
    QVERIFY_THROWS_EXCEPTION(UntrustedCode, Model::load(linked));
}

void TestTorchScript::archive_inflating_past_the_budget_is_refused()
{
    // A zip whose one entry declares 1.5 GiB inflated (a zip bomb took 1.2 GB while
    // loading): refused from its central directory (PKWARE APPNOTE 4.3) before libtorch
    // reads it, naming the card, the file and the size, under the default 1 GiB budget.
    const auto le = [](QByteArray& b, std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i)
            b += char((v >> (8 * i)) & 0xff);
    };
    const QByteArray name = "bomb/data/0", data = "tiny";
    const std::uint64_t declared = 3ull << 29; // 1.5 GiB
    QByteArray zip;
    le(zip, 0x04034b50, 4); // local file header
    le(zip, 20, 2), le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 4);
    le(zip, data.size(), 4), le(zip, declared, 4), le(zip, name.size(), 2), le(zip, 0, 2);
    zip += name + data;
    const int cd_offset = zip.size();
    le(zip, 0x02014b50, 4); // central directory header
    le(zip, 20, 2), le(zip, 20, 2), le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 4);
    le(zip, data.size(), 4), le(zip, declared, 4), le(zip, name.size(), 2), le(zip, 0, 2), le(zip, 0, 2);
    le(zip, 0, 2), le(zip, 0, 2), le(zip, 0, 4), le(zip, 0, 4);
    zip += name;
    const int cd_size = zip.size() - cd_offset;
    le(zip, 0x06054b50, 4); // end of central directory
    le(zip, 0, 2), le(zip, 0, 2), le(zip, 1, 2), le(zip, 1, 2), le(zip, cd_size, 4), le(zip, cd_offset, 4), le(zip, 0, 2);
    QTemporaryDir dir;
    test::write_file(dir, "bomb.pt", zip);
    const std::string card = test::write_file(dir, "bomb.json", R"({"format": "noisetrail-model/1",
        "kind": "torchscript", "data_shape": [2], "prediction": "epsilon", "file": "bomb.pt"})");
    try {
        load_trusted(card);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        const QString msg = e.what();
        for (const char* part : {"bomb.json", "bomb.pt", "inflated", "would need 1536 MiB", "memory budget of 1024 MiB",
                                 "--max-memory-mib"})
            QVERIFY2(msg.contains(part), qPrintable(QString(part) + " not in: " + msg));
    }
}

QTEST_GUILESS_MAIN(TestTorchScript)
#include "tst_torchscript.moc"
