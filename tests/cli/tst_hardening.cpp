// Hostile and broken inputs (issue 9): every one ends with exit 2 (bad input) or
// 3 (failed run), one line on stderr naming the file or flag, quickly, and
// without allocating what the file merely declares. The bad files are made here.
#include "session_util.hpp"
#include "test_util.hpp"

#include <QElapsedTimer>
#include <QProcess>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QThread>
#include <QtTest>

#include <sys/resource.h>

#include <cstdint>
#include <cstring>

using namespace noisetrail;

namespace {

/// A .npy file (format 1.0 when the header fits 16 bits, else 2.0) with a
/// hand-written header dictionary and payload, so that it can lie about its shape.
QByteArray npy(const QByteArray& dict, const QByteArray& payload = {})
{
    QByteArray header = dict;
    const bool v2 = header.size() + 11 > 65535;
    const int prefix = v2 ? 12 : 10;
    while ((prefix + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    QByteArray out("\x93NUMPY", 6);
    out += char(v2 ? 2 : 1);
    out += char(0);
    const auto n = static_cast<std::uint32_t>(header.size());
    out += char(n & 0xff);
    out += char((n >> 8) & 0xff);
    if (v2) {
        out += char((n >> 16) & 0xff);
        out += char(n >> 24);
    }
    return out + header + payload;
}

QByteArray npy_f32(const QByteArray& shape, const QByteArray& payload = {})
{
    return npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", payload);
}

QByteArray floats(const std::vector<float>& v)
{
    return QByteArray(reinterpret_cast<const char*>(v.data()), static_cast<int>(v.size() * sizeof(float)));
}

QByteArray int64s(const std::vector<std::int64_t>& v)
{
    return QByteArray(reinterpret_cast<const char*>(v.data()), static_cast<int>(v.size() * sizeof(std::int64_t)));
}

QString src(const char* relative)
{
    return QString::fromStdString(test::source_path(relative));
}

/// Peak resident memory of the largest child this process has waited for, in MiB.
long children_peak_mib()
{
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return u.ru_maxrss / 1024;
}

/// The CLI alone (libtorch loaded, nothing read) peaks at about 170 MiB; a file
/// that made us allocate what it declares would take gigabytes. Under AddressSanitizer
/// (the CLI is built with it too) shadow memory and the quarantine inflate every peak:
/// a refused 10^6-step plan peaked at 1233 MiB there, far below what it declares.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kPeakMib = 2048;
#else
constexpr long kPeakMib = 1024;
#endif

/// Run the CLI on bad input and check the contract: the exit code, exactly one
/// line on stderr that contains every one of `names` (the file, the flag, the
/// field), a bounded time and a bounded peak memory.
void expect_error(const QStringList& args, int code, const QStringList& names)
{
    QElapsedTimer timer;
    timer.start();
    // A hang guard, not a timing check: an ASan CLI on a loaded 2-core machine once took
    // 61 s to start libtorch and refuse a card (CTest's TIMEOUT still ends a real hang).
    const test::CliResult r = test::run_cli(args, 300000);
    const qint64 ms = timer.elapsed();
    const QString err = r.err.trimmed();
    const QString context = args.join(' ') + "\n  -> exit " + QString::number(r.code) + ", " + QString::number(ms) +
                            " ms, stderr: " + err;
    QVERIFY2(r.code == code, qPrintable(context));
    QVERIFY2(!err.isEmpty() && !err.contains('\n'), qPrintable("not one line: " + context));
    for (const QString& n : names)
        QVERIFY2(err.contains(n), qPrintable("'" + n + "' not named: " + context));
    // A hang ends at run_cli's 60 s limit with exit -1 and fails the exit-code check
    // above; wall time itself is not asserted (a loaded sanitizer build took 21 s to
    // start libtorch), the figures live in the benchmarks.
    QVERIFY2(children_peak_mib() < kPeakMib,
             qPrintable("peak memory " + QString::number(children_peak_mib()) + " MiB: " + context));
}

} // namespace

class TestHardening : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void huge_npy_header();
    void npy_shape_overflow();
    void npy_declared_size_checked_before_allocating();
    void npy_input_limit_flag();
    void non_regular_files();
    void directory_as_weights();
    void json_number_out_of_range();
    void threads_bounded();
    void clip_x0_values();
    void clip_x0_recorded_in_meta();
    void init_noise_batch_names_flag();
    void classify_rejects_bad_samples();
    void train_output_folders();
    void train_checkpoint_step_out_of_range();
    void compare_cache_nested_deeply();
    void torchscript_needs_trust_code();
    void recipe_steps_zero_is_an_error();
    void card_name_with_control_characters();
    void run_session_empty_names_the_flag();
    void memory_budget();
    void terminal_escapes_are_shown_escaped();

private:
    QTemporaryDir dir_;
    QString path(const QString& name) const { return dir_.filePath(name); }
    QString write(const QString& name, const QByteArray& bytes)
    {
        return QString::fromStdString(test::write_file(dir_, name, bytes));
    }
    /// An empirical card over `data` (relative to the card), 2-D points.
    QString empirical_card(const QString& name, const QString& data)
    {
        const QByteArray card = "{\"format\": \"noisetrail-model/1\", \"kind\": \"empirical\", "
                                "\"data_shape\": [2], \"data\": \"" + data.toUtf8() + "\"}";
        return write(name, card);
    }
};

void TestHardening::initTestCase()
{
    QVERIFY(dir_.isValid());
}

void TestHardening::huge_npy_header()
{
    // About 30 KB of header once overflowed the stack inside std::regex.
    const QByteArray pad(30000, ' ');
    const QString bad = write("long-header.npy", npy("{'descr': '<f4', " + pad + "'fortran_order': False, 'shape': (2, 2), }",
                                                     QByteArray(16, 0)));
    const QStringList names{"long-header.npy", "header"};
    expect_error({"sample", "--model", src("models/ring8.json"), "--init-noise", bad}, 2, names);
    expect_error({"classify", "--classifier", src("models/mnist-classifier.json"), "--samples", bad}, 2, names);
    expect_error({"train", "--kind", "noisetrail-mlp", "--data", bad, "--out", path("t/card.json")}, 2, names);
    expect_error({"sample", "--model", empirical_card("long-header-card.json", "long-header.npy")}, 2,
                 {"long-header-card.json", "long-header.npy", "header"});
    // A header that is merely long but well formed (under numpy's 10000-byte limit) still reads.
    const QString ok = write("padded.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }" +
                                                   QByteArray(5000, ' '),
                                               floats({0, 0, 1, 1, -1, 0.5f})));
    const test::CliResult r =
        test::run_cli({"sample", "--model", src("models/ring8.json"), "--steps", "2", "--init-noise", ok});
    QVERIFY2(r.code == 0, qPrintable(r.err));
}

void TestHardening::npy_shape_overflow()
{
    // 2^60 * 2 * 784 wraps int64; so does 2^62 * 4 * 784 (to 0): both once reached classify.
    const QStringList names{"overflow.npy"};
    for (const QByteArray shape : {QByteArray("(1152921504606846976, 2, 1, 28, 28)"),
                                   QByteArray("(4611686018427387904, 4, 1, 28, 28)"),
                                   QByteArray("(99999999999999999999, 1, 28, 28)")}) {
        const QString bad = write("overflow.npy", npy_f32(shape, QByteArray(64, 0)));
        expect_error({"classify", "--classifier", src("models/mnist-classifier.json"), "--samples", bad}, 2, names);
    }
}

void TestHardening::npy_declared_size_checked_before_allocating()
{
    // 128 bytes declaring 4 GB: refused before any allocation (the peak-memory check in expect_error).
    const QString bad = write("declares-4gb.npy", npy_f32("(500000000, 2)", QByteArray(50, 0)));
    expect_error({"sample", "--model", src("models/ring8.json"), "--init-noise", bad}, 2, {"declares-4gb.npy", "truncated"});
    expect_error({"train", "--kind", "noisetrail-mlp", "--data", bad, "--out", path("t/card.json")}, 2,
                 {"declares-4gb.npy", "truncated"});
    expect_error({"sample", "--model", empirical_card("declares-4gb-card.json", "declares-4gb.npy")}, 2,
                 {"declares-4gb-card.json", "truncated"});
}

void TestHardening::npy_input_limit_flag()
{
    // 300000 x 2 float32 = 2.3 MiB: over a 1 MiB limit, within the default one.
    std::vector<float> v(2 * 300000, 0.5f);
    const QString big = write("two-mib.npy", npy_f32("(300000, 2)", floats(v)));
    expect_error({"sample", "--model", src("models/ring8.json"), "--init-noise", big, "--max-input-mib", "1"}, 2,
                 {"two-mib.npy", "--max-input-mib"});
    expect_error({"sample", "--model", src("models/ring8.json"), "--max-input-mib", "lots"}, 2, {"--max-input-mib"});
    const test::CliResult r = test::run_cli({"plan", "--model", src("models/ring8.json"), "--steps", "2",
                                             "--max-input-mib=4096"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
}

void TestHardening::non_regular_files()
{
    expect_error({"sample", "--model", "/dev/zero"}, 2, {"/dev/zero", "regular file"});
    expect_error({"plan", "--model", dir_.path()}, 2, {dir_.path(), "directory"});
    expect_error({"train", "--config", "/dev/zero"}, 2, {"/dev/zero", "regular file"});
    expect_error({"sample", "--model", src("models/ring8.json"), "--init-noise", "/dev/zero"}, 2, {"/dev/zero"});
    expect_error({"classify", "--classifier", src("models/mnist-classifier.json"), "--samples", dir_.path()}, 2,
                 {dir_.path(), "directory"});
    // Over the card size limit (16 MiB): refused before it is read.
    QFile f(path("huge-card.json"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    QVERIFY(f.resize(17 << 20));
    f.close();
    expect_error({"plan", "--model", path("huge-card.json")}, 2, {"huge-card.json", "limit"});
}

void TestHardening::directory_as_weights()
{
    QVERIFY(QDir(dir_.path()).mkpath("weights-dir.pt"));
    QFile card(src("models/two-moons-mlp.json"));
    QVERIFY(card.open(QIODevice::ReadOnly));
    QJsonObject j = QJsonDocument::fromJson(card.readAll()).object();
    j["weights"] = "weights-dir.pt";
    const QString p = write("dir-weights.json", QJsonDocument(j).toJson());
    expect_error({"sample", "--model", p}, 2, {"dir-weights.json", "weights-dir.pt", "is a directory"});
}

void TestHardening::json_number_out_of_range()
{
    const QString card = write("overflow-card.json", test::mixture_card(R"({"means": [[0, 0]], "stds": [1]})", "[2]",
                                                                         "epsilon",
                                                                         R"({"kind": "linear", "beta_end": 1e400})"));
    expect_error({"sample", "--model", card}, 2, {"overflow-card.json", "schedule.beta_end"});
    expect_error({"plan", "--model", card}, 2, {"overflow-card.json", "schedule.beta_end"});
    const QString deep = write("deep-card.json", QByteArray(5000, '[') + QByteArray(5000, ']'));
    expect_error({"plan", "--model", deep}, 2, {"deep-card.json"});
    const QString steps = write("int-card.json", test::mixture_card(R"({"means": [[0, 0]], "stds": [1]})", "[2]",
                                                                     "epsilon", R"({"train_steps": 1e12})"));
    expect_error({"plan", "--model", steps}, 2, {"int-card.json", "schedule.train_steps"});
    const QString shape = write("shape-card.json", test::mixture_card(R"({"means": [[0, 0]], "stds": [1]})",
                                                                       "[4294967297, 4294967297]"));
    expect_error({"plan", "--model", shape}, 2, {"shape-card.json", "data_shape"});

    const QString config = write("overflow-train.json", R"({"kind": "noisetrail-mlp", "lr": 1e400})");
    expect_error({"train", "--config", config}, 2, {"overflow-train.json", "lr"});
    const QString narrow = write("narrow-train.json", R"({"kind": "noisetrail-mlp", "steps": 4294967297})");
    expect_error({"train", "--config", narrow}, 2, {"narrow-train.json", "steps"});
    const QString type = write("type-train.json", R"({"kind": "noisetrail-mlp", "batch": "many"})");
    expect_error({"train", "--config", type}, 2, {"type-train.json", "batch"});
}

void TestHardening::threads_bounded()
{
    // The limit is 4x the cores: more only oversubscribes (1024 made a 5-step run 40x slower).
    const QString over = QString::number(4 * QThread::idealThreadCount() + 1);
    expect_error({"sample", "--model", src("models/ring8.json"), "--threads", over}, 2, {"--threads"});
    expect_error({"sample", "--model", src("models/ring8.json"), "--threads", "0"}, 2, {"--threads"});
    expect_error({"train", "--kind", "noisetrail-mlp", "--threads", over, "--out", path("t/card.json")}, 2, {"--threads"});
    expect_error({"compare", "--model", src("models/ring8.json"), "--out", path("cmp"), "--threads", over}, 2,
                 {"--threads"});
    const QString config = write("threads-train.json", R"({"kind": "noisetrail-mlp", "threads": 1024})");
    if (4 * QThread::idealThreadCount() < 1024)
        expect_error({"train", "--config", config}, 2, {"threads-train.json", "threads"});
}

void TestHardening::clip_x0_values()
{
    for (const char* v : {"-1", "0", "none", "nan", "1e999", ""})
        expect_error({"sample", "--model", src("models/mnist-500-exact.json"), "--clip-x0", v}, 2, {"--clip-x0"});
    expect_error({"plan", "--model", src("models/ring8.json"), "--clip-x0", "-0.5"}, 2, {"--clip-x0"});
}

void TestHardening::clip_x0_recorded_in_meta()
{
    // The image card's default is R = 1 (its data_range); meta.json records the radius used.
    const auto meta_clip = [&](const QStringList& extra) -> QJsonValue {
        const QString dump = path("clip-dump");
        QDir(dump).removeRecursively();
        QStringList args{"sample", "--model", src("models/mnist-500-exact.json"), "--sampler", "ddim", "--steps", "2",
                         "--batch", "1", "--dump", dump};
        const test::CliResult r = test::run_cli(args + extra);
        if (r.code != 0)
            qWarning("%s", qPrintable(r.err));
        QFile f(dump + "/meta.json");
        if (!f.open(QIODevice::ReadOnly))
            return QJsonValue();
        return QJsonDocument::fromJson(f.readAll()).object().value("sampler").toObject().value("clip_x0");
    };
    QCOMPARE(meta_clip({}), QJsonValue(1.0));
    QCOMPARE(meta_clip({"--clip-x0", "2.5"}), QJsonValue(2.5));
    QCOMPARE(meta_clip({"--clip-x0", "off"}), QJsonValue(QJsonValue::Null)); // no clipping
}

void TestHardening::init_noise_batch_names_flag()
{
    // 2,000,000 rows with --batch 4: the message is about the file, not about --batch.
    const QString big = write("two-million.npy", npy_f32("(2000000, 2)", QByteArray(2000000 * 8, 0)));
    expect_error({"sample", "--model", src("models/ring8.json"), "--batch", "4", "--init-noise", big}, 2,
                 {"--init-noise", "two-million.npy", "1000000"});
    const test::CliResult r = test::run_cli({"sample", "--model", src("models/ring8.json"), "--batch", "4",
                                             "--init-noise", big});
    QVERIFY2(!r.err.contains("--batch must"), qPrintable(r.err));
}

void TestHardening::classify_rejects_bad_samples()
{
    const QString clf = src("models/mnist-classifier.json");
    std::vector<float> images(2 * 784, -1.0f);
    const QString good = write("good-images.npy", npy_f32("(2, 1, 28, 28)", floats(images)));
    images[784 + 5] = std::nanf("");
    const QString nan = write("nan-images.npy", npy_f32("(2, 1, 28, 28)", floats(images)));
    expect_error({"classify", "--classifier", clf, "--samples", nan}, 2, {"--samples", "nan-images.npy", "non-finite"});
    images[784 + 5] = -INFINITY;
    const QString inf = write("inf-images.npy", npy_f32("(2, 1, 28, 28)", floats(images)));
    expect_error({"classify", "--classifier", clf, "--samples", inf}, 2, {"inf-images.npy", "non-finite"});
    const QString empty = write("no-images.npy", npy_f32("(0, 1, 28, 28)"));
    expect_error({"classify", "--classifier", clf, "--samples", empty}, 2, {"--samples", "no-images.npy"});
    const QString empty_steps = write("no-images-steps.npy", npy_f32("(3, 0, 1, 28, 28)"));
    expect_error({"classify", "--classifier", clf, "--samples", empty_steps}, 2, {"no-images-steps.npy"});
    // No steps at all: [0, N, C, H, W] once read before the data (SIGSEGV).
    const QString no_steps = write("zero-steps.npy", npy_f32("(0, 2, 1, 28, 28)"));
    expect_error({"classify", "--classifier", clf, "--samples", no_steps}, 2, {"--samples", "zero-steps.npy", "no steps"});
    const auto labels = [&](const char* name, std::vector<std::int64_t> v) {
        return write(name, npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", int64s(v)));
    };
    for (const auto& [name, v] : {std::pair{"labels-99.npy", std::vector<std::int64_t>{3, 99}},
                                  std::pair{"labels-neg.npy", std::vector<std::int64_t>{-1, 0}}}) {
        expect_error({"classify", "--classifier", clf, "--samples", good, "--labels", labels(name, v)}, 2,
                     {"--labels", name});
    }
    const test::CliResult ok =
        test::run_cli({"classify", "--classifier", clf, "--samples", good, "--labels", labels("labels-ok.npy", {3, 9})});
    QVERIFY2(ok.code == 0, qPrintable(ok.err));
}

void TestHardening::train_output_folders()
{
    std::vector<float> pts(2 * 8, 0.25f);
    const QString data = write("train-points.npy", npy_f32("(8, 2)", floats(pts)));
    const QString file = write("a-file", "not a folder");
    const QStringList base{"train", "--kind", "noisetrail-mlp", "--data", data, "--steps", "2"};
    expect_error(base + QStringList{"--out", file + "/card.json"}, 2, {"--out", "a-file"});
    expect_error(base + QStringList{"--out", path("ok/card.json"), "--checkpoint-dir", file}, 2,
                 {"--checkpoint-dir", "a-file"});
}

void TestHardening::train_checkpoint_step_out_of_range()
{
    // A real checkpoint, then its state.json corrupted: step 1e12 once wrapped to a negative step.
    std::vector<float> pts;
    for (int i = 0; i < 64; ++i)
        pts.insert(pts.end(), {float(i % 8) / 4 - 1, float(i / 8) / 4 - 1});
    const QString data = write("ckpt-points.npy", npy_f32("(64, 2)", floats(pts)));
    const QStringList args{"train", "--kind", "noisetrail-mlp", "--data", data, "--steps", "2", "--batch", "16",
                           "--samples", "16", "--architecture", R"({"hidden": 16, "blocks": 1})",
                           "--out", path("ckpt/card.json")};
    const test::CliResult first = test::run_cli(args);
    QVERIFY2(first.code == 0, qPrintable(first.err));
    QFile f(path("ckpt/card.ckpt/state.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString original = QString::fromUtf8(f.readAll());
    f.close();
    const QRegularExpression step(R"("step":\s*[0-9]+)");
    QVERIFY(original.contains(step));
    for (const char* bad : {"1e12", "-1", "\"two\"", "1e400", "2.5"}) {
        QString text = original;
        text.replace(step, QString("\"step\": ") + bad);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(text.toUtf8());
        f.close();
        expect_error(args, 2, {"state.json", "step"});
    }
}

void TestHardening::compare_cache_nested_deeply()
{
    // 4 MiB of '[' in --out's cache: the reader once recursed until the stack ran
    // out (SIGSEGV after 13 s and 2.2 GB). Now it is what any non-cache is: a
    // warning naming the file and a fresh start.
    const QString out = path("deep-cache");
    QVERIFY(QDir().mkpath(out));
    write("deep-cache/compare-cache.json", QByteArray(4 << 20, '['));
    const test::CliResult r = test::run_cli({"compare", "--model", src("models/ring8.json"), "--out", out, "--steps",
                                             "2", "--etas", "0", "--samples", "8", "--threads", "1"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("compare-cache.json: not a compare cache") && r.err.contains("nested deeper than 64"),
             qPrintable(r.err));
    QVERIFY2(children_peak_mib() < kPeakMib, qPrintable(QString::number(children_peak_mib()) + " MiB"));
}

void TestHardening::torchscript_needs_trust_code()
{
    // Contract section 2: a TorchScript module outside the bundled models folder is code
    // (the audit's module printed /etc/passwd with exit 0); every command that loads a card
    // refuses it, naming the flag, until --trust-code is given.
    const QString card = src("tests/fixtures/torchscript/gaussian_eps.json");
    const QString recipe = write("torchscript.run.json", "{\"format\": \"noisetrail-run/1\", \"model\": \"" +
                                                             card.toUtf8() + "\", \"batch\": 2, \"panels\": "
                                                                             "[{\"sampler\": \"ddim\", \"steps\": 3}]}");
    const QString x0 = write("ts-x0.npy", npy_f32("(2, 2)", floats({0.5f, -0.5f, 1.0f, 0.0f})));
    const QList<QStringList> commands{
        {"sample", "--model", card, "--steps", "3", "--batch", "2"},
        {"plan", "--model", card, "--steps", "3"},
        {"run", "--config", recipe},
        {"invert", "--model", card, "--steps", "3", "--out", path("ts-inv"), "--data", x0},
        {"compare", "--model", card, "--out", path("ts-cmp"), "--steps", "2", "--etas", "0", "--samples", "8"}};
    for (const QStringList& args : commands) {
        expect_error(args, 2, {"gaussian_eps.json", "--trust-code", "not trusted"});
        const test::CliResult ok = test::run_cli(args + QStringList{"--trust-code"});
        QVERIFY2(ok.code == 0, qPrintable(args.join(' ') + " --trust-code: " + ok.err));
    }
}

void TestHardening::recipe_steps_zero_is_an_error()
{
    // Contract section 4: omitted keys take the `sample` defaults; an explicit 0 is what
    // `--steps 0` is, an error (it once ran 50 steps silently).
    const QString recipe = write("zero-steps.run.json", "{\"format\": \"noisetrail-run/1\", \"model\": \"" +
                                                            src("models/ring8.json").toUtf8() +
                                                            "\", \"batch\": 4, \"panels\": [{\"sampler\": \"ddim\", "
                                                            "\"steps\": 5}, {\"sampler\": \"ddim\", \"steps\": 0}]}");
    expect_error({"run", "--config", recipe}, 2, {"zero-steps.run.json", "panels[1].steps", "1..1000000"});
}

void TestHardening::card_name_with_control_characters()
{
    // A NUL in a name was accepted (and cut the name short wherever it became a C string).
    for (const auto& [file, escaped] : {std::pair{"name-nul.json", "ring\\u0000evil"},
                                        std::pair{"name-newline.json", "two\\nlines"}}) {
        const QString card = write(file, QByteArray("{\"format\": \"noisetrail-model/1\", \"name\": \"") + escaped +
                                             "\", \"kind\": \"gaussian-mixture\", \"data_shape\": [2], "
                                             "\"mixture\": {\"weights\": [1], \"means\": [[0, 0]], \"stds\": [0.5]}}");
        expect_error({"plan", "--model", card}, 2, {file, "field 'name'", "control character"});
    }
}

void TestHardening::run_session_empty_names_the_flag()
{
    // It said "filesystem error: cannot make absolute path: Invalid argument []".
    expect_error({"run", "--config", src("docs/ring8.run.json"), "--session", ""}, 2, {"--session", "empty"});
}

void TestHardening::memory_budget()
{
    // One budget (--max-memory-mib, default 1024) that what a flag or a small file asks
    // for is checked against before anything is allocated; over it, exit 2 naming the
    // flag or field and the size it would need.
    const QString ring = src("models/ring8.json");
    // A batch of 10^6 DDPM samples once ran 25 s and took 3.4 GB before failing; the MLP
    // takes about 6 KB a sample.
    expect_error({"sample", "--model", src("models/two-moons-mlp.json"), "--batch", "1000000", "--steps", "2"}, 2,
                 {"a batch of 1000000 samples", "would need", "memory budget of 1024 MiB", "--max-memory-mib"});
    expect_error({"sample", "--model", ring, "--batch", "20000", "--steps", "2", "--max-memory-mib", "4"}, 2,
                 {"a batch of 20000 samples", "memory budget of 4 MiB"});
    const test::CliResult ok = test::run_cli({"sample", "--model", ring, "--batch", "20000", "--steps", "2"});
    QVERIFY2(ok.code == 0, qPrintable(ok.err));
    expect_error({"plan", "--model", ring, "--max-memory-mib", "0"}, 2, {"--max-memory-mib", "1..16777216"});
    expect_error({"plan", "--model", ring, "--max-memory-mib"}, 2, {"--max-memory-mib"});

    // An export of 8192x8192 took 1 GB as GIF; as MP4 (libx264's lookahead) about 12 GB.
    const QString session = src("tests/data/session-v1-ring8.ntsession");
    expect_error({"session", "export", session, "--mp4", path("huge.mp4"), "--size", "8192x8192"}, 2,
                 {"huge.mp4", "8192x8192", "would need", "memory budget"});
    QVERIFY(!QFile::exists(path("huge.mp4")));

    // A plan of 10^6 steps (a card with T = 10^6): its JSON took 1.5 GB in memory; it is
    // now written step by step, and the plan itself is within the budget.
    const QString big_t = write("t-million.json", R"({"format": "noisetrail-model/1", "kind": "gaussian-mixture",
        "data_shape": [2], "schedule": {"kind": "linear", "beta_start": 1e-7, "beta_end": 2e-5, "train_steps": 1000000},
        "mixture": {"weights": [1], "means": [[0, 0]], "stds": [0.5]}})");
    // Its text goes to a file, read back in pieces: held in this process (hundreds of MB
    // as QString) it would raise this process's peak RSS, which Linux hands on to every
    // child forked later (their ru_maxrss starts from the parent's high-water mark).
    QProcess plan;
    plan.setStandardOutputFile(path("plan.json"));
    plan.start(NOISETRAIL_CLI, {"plan", "--model", big_t, "--json"});
    QVERIFY(plan.waitForFinished(-1)); // a hang ends at CTest's TIMEOUT; under ASan at load 4 this took over 120 s
    QCOMPARE(plan.exitCode(), 0);
    QFile json(path("plan.json"));
    QVERIFY(json.open(QIODevice::ReadOnly));
    QVERIFY(json.read(11) == "{\"steps\":[{");
    json.seek(0);
    const QByteArray key = "\"t_prev\"";
    qint64 count = 0;
    QByteArray tail;
    while (!json.atEnd()) {
        const QByteArray piece = tail + json.read(1 << 20);
        count += piece.count(key);
        // Keep the last few bytes unless they end a counted key: a key split across pieces counts once.
        tail = piece.right(key.size() - 1);
    }
    QVERIFY(tail.trimmed().endsWith("}]}"));
    QCOMPARE(count, 1000000);
    QVERIFY2(children_peak_mib() < kPeakMib, qPrintable(QString::number(children_peak_mib()) + " MiB"));
    expect_error({"plan", "--model", big_t, "--max-memory-mib", "16"}, 2, {"a plan of 1000000 steps", "16 MiB"});
}

void TestHardening::terminal_escapes_are_shown_escaped()
{
    // Issue 27: a card whose kind held ESC [2J cleared the terminal from the error line, and
    // `session info` printed a session's model name raw. Text from a file now reaches the
    // terminal with control characters (C0, DEL, C1) as \xNN.
    const QString card = write("kind-esc.json", "{\"format\": \"noisetrail-model/1\", "
                                                "\"kind\": \"\\u001b[2J\\u009b31m\\u0007x\", \"data_shape\": [2]}");
    expect_error({"plan", "--model", card}, 2, {"kind-esc.json", "unknown kind '\\x1B[2J\\xC2\\x9B31m\\x07x'"});
    const test::CliResult bad = test::run_cli({"plan", "--model", card});
    for (const QChar c : {QChar(0x1b), QChar(0x9b), QChar(0x07)})
        QVERIFY2(!bad.err.contains(c), qPrintable(bad.err));

    Session s = test::make_session(src("models/ring8.json").toStdString());
    s.model_name = "\x1b]0;owned\x07\x1b[2J digits";
    s.panels[1].caption = "\x1b[31mDDIM\x7f";
    const QString file = path("escapes.ntsession");
    write_session(file.toStdString(), s);
    const test::CliResult info = test::run_cli({"session", "info", file});
    QVERIFY2(info.code == 0, qPrintable(info.err));
    QVERIFY2(!info.out.contains(QChar(0x1b)) && !info.out.contains(QChar(0x07)) && !info.out.contains(QChar(0x7f)),
             qPrintable(info.out));
    QVERIFY2(info.out.contains("model    \\x1B]0;owned\\x07\\x1B[2J digits: "), qPrintable(info.out));
    QVERIFY2(info.out.contains("panel 1  \\x1B[31mDDIM\\x7F: "), qPrintable(info.out));
    // Valid UTF-8 is not text to escape.
    s.model_name = "Ziffern \u00e4\u00f6 \u2014 \U0001F600";
    write_session(file.toStdString(), s);
    const test::CliResult utf8 = test::run_cli({"session", "info", file});
    QVERIFY2(utf8.out.contains(QString::fromUtf8("model    Ziffern \u00e4\u00f6 \u2014 \U0001F600: ")), qPrintable(utf8.out));
}

QTEST_GUILESS_MAIN(TestHardening)
#include "tst_hardening.moc"
