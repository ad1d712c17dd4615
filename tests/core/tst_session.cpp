// Sessions: a round trip keeps every stored value exactly; a session reopens
// without its model card; a failed save leaves the earlier file intact; a
// truncated, newer, foreign or damaged file is one InputError naming it.
#include "session_util.hpp"
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/session.hpp"

#include <QtTest>

#include <atomic>
#include <cmath>
#include <csignal>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/resource.h>
#include <zlib.h>

using namespace noisetrail;
using namespace noisetrail::test;
namespace fs = std::filesystem;

namespace {

bool same_double(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void compare_trajectories(const Trajectory& a, const Trajectory& b)
{
    QCOMPARE(b.size(), a.size());
    QCOMPARE(b.timesteps(), a.timesteps());
    QCOMPARE(b.shape(), a.shape());
    QCOMPARE(b.precision(), a.precision());
    QCOMPARE(b.finished(), a.finished());
    QCOMPARE(b.hasStart(), a.hasStart());
    std::vector<float> va, vb;
    for (int k = 0; k <= a.size(); ++k)
        for (Field f : {Field::Xt, Field::X0Hat, Field::EpsHat}) {
            if (f != Field::Xt && (k == a.size() && !a.finished()))
                continue;
            a.decode(k, f, va);
            b.decode(k, f, vb);
            QVERIFY(va == vb); // float-exact: the same stored codes and ranges
        }
    for (int k = 0; k < a.size(); ++k) // a guided run's two predictions, where it has them
        for (Field f : {Field::X0Cond, Field::X0Uncond}) {
            QCOMPARE(b.has(k, f), a.has(k, f));
            if (!a.has(k, f))
                continue;
            a.decode(k, f, va);
            b.decode(k, f, vb);
            QVERIFY(va == vb);
        }
    for (int k = 0; k < a.size(); ++k) {
        const auto &ia = a.info(k), &ib = b.info(k);
        QCOMPARE(ib.step, ia.step);
        QCOMPARE(ib.plan.t, ia.plan.t);
        QCOMPARE(ib.plan.t_prev, ia.plan.t_prev);
        QCOMPARE(ib.plan.alpha_bar, ia.plan.alpha_bar);
        QCOMPARE(ib.plan.sigma, ia.plan.sigma);
        const auto sa = step_stat_values(ia.stats), sb = step_stat_values(ib.stats);
        for (std::size_t i = 0; i < sa.size(); ++i)
            QVERIFY(same_double(sa[i], sb[i]));
        QVERIFY(same_double(ia.metrics.values.vendi, ib.metrics.values.vendi));
        QVERIFY(same_double(ia.metrics.values.class_entropy, ib.metrics.values.class_entropy));
        QCOMPARE(ib.metrics.componentCounts, ia.metrics.componentCounts);
        QCOMPARE(ib.metrics.componentNear, ia.metrics.componentNear);
        QCOMPARE(ib.metrics.assignment, ia.metrics.assignment);
    }
}

std::string read_all(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

/// A stored session's bytes (flags 1: payload stored) rewritten with the payload
/// deflated at `level` (flags 0, the payload size updated in the header).
std::string deflated_session(const std::string& bytes, int level)
{
    const std::string payload = bytes.substr(40);
    uLongf packed_len = compressBound(uLong(payload.size()));
    std::string packed(packed_len, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_len, reinterpret_cast<const Bytef*>(payload.data()),
                  uLong(payload.size()), level) != Z_OK)
        return {};
    packed.resize(packed_len);
    std::string head = bytes.substr(0, 40);
    const std::uint32_t zero = 0;
    const std::uint64_t size = packed.size();
    std::memcpy(head.data() + 12, &zero, 4);
    std::memcpy(head.data() + 24, &size, 8);
    return head + packed;
}

/// read_session must fail with one InputError naming the file, whose message contains `what`.
void expect_error(const fs::path& file, const std::string& what)
{
    try {
        read_session(file);
        QFAIL(("no error for " + file.string()).c_str());
    } catch (const InputError& e) {
        const std::string msg = e.what();
        QVERIFY2(msg.rfind(file.string() + ": ", 0) == 0, msg.c_str());
        QVERIFY2(msg.find(what) != std::string::npos, msg.c_str());
    }
}

/// A trajectory of `stored` steps whose every value is 0: its 8-bit blocks deflate
/// to a few bytes each, so a small file declares a large decoded size.
std::shared_ptr<Trajectory> zero_trajectory(const std::vector<std::int64_t>& shape, const std::vector<int>& ts, int stored)
{
    std::size_t n = 1;
    for (auto d : shape)
        n *= std::size_t(d);
    auto t = std::make_shared<Trajectory>(shape, ts, Trajectory::Precision::UInt8);
    for (int k = 0; k < stored; ++k) {
        StepFrame f;
        f.step = k;
        f.steps = int(ts.size());
        f.plan = {ts[std::size_t(k)], k + 1 < int(ts.size()) ? ts[std::size_t(k) + 1] : -1, 0.5, 0.6, 0.1};
        f.shape = shape;
        f.x_t = f.x0_hat = f.eps_hat = f.x_prev = std::vector<float>(n, 0.0f);
        t->append(f);
    }
    return t;
}

/// Peak resident memory of this process so far, in MiB.
long peak_mib()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

int count_entries(const fs::path& dir)
{
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
        ++n;
    return n;
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void round_trip_is_exact()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        fs::create_directories(root / "models");
        const fs::path card = root / "models" / "digits.json";
        std::ofstream(card) << "{}";
        const Session s = make_session(card);
        const fs::path file = root / "runs" / "a.ntsession";
        fs::create_directories(file.parent_path());
        write_session(file, s);
        const Session r = read_session(file);
        QCOMPARE(r.recipe.model, card.lexically_normal());
        QCOMPARE(r.recipe.seed, s.recipe.seed);
        QCOMPARE(r.recipe.batch, s.recipe.batch);
        QCOMPARE(r.recipe.pacing, s.recipe.pacing);
        QVERIFY(r.recipe.panels == s.recipe.panels);
        QCOMPARE(r.model_name, s.model_name);
        QCOMPARE(r.train_steps, s.train_steps);
        QCOMPARE(r.data_shape, s.data_shape);
        QVERIFY(r.x_T == s.x_T);
        QCOMPARE(r.panels.size(), s.panels.size());
        for (std::size_t p = 0; p < s.panels.size(); ++p) {
            QCOMPARE(r.panels[p].caption, s.panels[p].caption);
            QCOMPARE(r.panels[p].fingerprint, s.panels[p].fingerprint);
            compare_trajectories(*s.panels[p].trajectory, *r.panels[p].trajectory);
        }
        QVERIFY(!r.created.empty());
        // The recipe's paths are stored relative to the session: moving both keeps them valid.
        fs::rename(root / "runs", root / "moved");
        QCOMPARE(read_session(root / "moved" / "a.ntsession").recipe.model, (root / "moved" / ".." / "models" / "digits.json").lexically_normal());
    }

    void guided_predictions_round_trip()
    {
        // Format 3: a guided run's x0_cond (every step) and x0_uncond (only the steps
        // inside the guidance interval, 1 and 2 here) come back as they were written;
        // the other steps have none, and say so.
        QTemporaryDir dir;
        const fs::path card = fs::path(dir.path().toStdString()) / "digits.json";
        std::ofstream(card) << "{}";
        const Session s = make_session(card, 5, /*guided=*/true);
        const fs::path file = card.parent_path() / "guided.ntsession";
        write_session(file, s);
        const Session r = read_session(file);
        const Trajectory& t = *r.panels[0].trajectory;
        std::vector<float> v;
        for (int k = 0; k < 5; ++k) {
            QVERIFY(t.has(k, Field::X0Cond));
            QCOMPARE(t.has(k, Field::X0Uncond), k == 1 || k == 2);
            t.decode(k, Field::X0Cond, v);
            for (std::size_t i = 0; i < v.size(); ++i) // session_util's x0_cond, to 8-bit precision
                QVERIFY(std::abs(v[i] - std::sin(0.05f * float(i) + float(k + 7))) < 2.0 / 255 + 1e-5);
            if (!t.has(k, Field::X0Uncond))
                QVERIFY_THROWS_EXCEPTION(std::out_of_range, t.decode(k, Field::X0Uncond, v));
        }
        compare_trajectories(*s.panels[0].trajectory, t);
        // The unguided panel has neither.
        QVERIFY(!r.panels[1].trajectory->has(0, Field::X0Cond) && !r.panels[1].trajectory->has(0, Field::X0Uncond));
        // A format-2 file (written before guidance; a fuzz seed) still opens, with neither.
        const Session v2 = read_session(fs::path(NOISETRAIL_SOURCE_DIR) / "tests/fuzz/corpus/session/gauss-v2-stored.ntsession");
        QCOMPARE(read_session_header(fs::path(NOISETRAIL_SOURCE_DIR) / "tests/fuzz/corpus/session/gauss-v2-stored.ntsession").version, 2u);
        QVERIFY(v2.panels[0].trajectory->size() > 0);
        QVERIFY(!v2.panels[0].trajectory->has(0, Field::X0Cond));
    }

    void version_1_sessions_still_open()
    {
        // tests/data/session-v1-ring8.ntsession: written by the format-1 build
        // (ring8, DDIM 3 steps, batch 4, seed 3), before step records held assignments.
        const fs::path file = fs::path(NOISETRAIL_SOURCE_DIR) / "tests" / "data" / "session-v1-ring8.ntsession";
        const Session r = read_session(file);
        QCOMPARE(r.recipe.batch, 4);
        QCOMPARE(r.panels.size(), std::size_t(1));
        const Trajectory& t = *r.panels[0].trajectory;
        QCOMPARE(t.size(), 3);
        QVERIFY(t.finished());
        for (int k = 0; k < t.size(); ++k)
            QVERIFY(t.info(k).metrics.assignment.empty());
        std::vector<float> x0;
        t.decode(t.size(), Field::Xt, x0);
        QCOMPARE(x0.size(), std::size_t(8));
    }

    void half_precision_and_partial_runs_round_trip()
    {
        QTemporaryDir dir;
        const fs::path file = dir.filePath("p.ntsession").toStdString();
        Session s = make_session("/elsewhere/card.json", 3); // panel 0 stopped after 3 of 5 steps
        s.data_shape = {2};
        s.batch = 4;
        s.x_T.assign(8, 0.25f);
        s.panels[0].trajectory = make_trajectory({4, 2}, {8, 6, 4, 2, 0}, 3, Trajectory::Precision::Half, 3);
        s.panels[1].trajectory = make_trajectory({4, 2}, {9, 4}, 2, Trajectory::Precision::Half, 4);
        write_session(file, s);
        const Session r = read_session(file);
        QVERIFY(!r.panels[0].trajectory->finished());
        for (std::size_t p = 0; p < 2; ++p)
            compare_trajectories(*s.panels[p].trajectory, *r.panels[p].trajectory);
    }

    void reopens_and_renders_without_the_card()
    {
        QTemporaryDir dir;
        const fs::path file = dir.filePath("gone.ntsession").toStdString();
        write_session(file, make_session(dir.filePath("models/missing.json").toStdString()));
        const Session r = read_session(file);
        QVERIFY(!fs::exists(r.recipe.model));
        std::vector<RenderPanel> panels;
        for (std::size_t p = 0; p < r.panels.size(); ++p)
            panels.push_back({r.panels[p].trajectory.get(), r.panels[p].caption, int(p)});
        FrameRenderer renderer(panels, {});
        int frames = 0;
        for (int t : renderer.levels()) {
            QCOMPARE(renderer.render(t).width, renderer.width());
            ++frames;
        }
        QCOMPARE(frames, 7); // t = 9, 8, 6, 4, 2, 0 and the final samples
    }

    void replays_from_its_copy_of_the_card()
    {
        QTemporaryDir dir;
        const fs::path file = dir.filePath("r.ntsession").toStdString();
        write_session(file, make_session(dir.filePath("gone/card.json").toStdString()));
        const Session r = read_session(file);
        const ModelCard card = session_card(r, file);
        QCOMPARE(card.name, std::string("test digits"));
        QCOMPARE(card.data_shape, (std::vector<std::int64_t>{1, 8, 8}));
        QCOMPARE(card.schedule.train_steps, 10);
        QCOMPARE(card.path, r.recipe.model);
        const auto model = Model::replay(card);
        QCOMPARE(model->schedule().train_steps(), 10);
        const std::vector<double> x(64, 0.0);
        try {
            model->denoise(x, 1, 5);
            QFAIL("a replayed model sampled");
        } catch (const InputError& e) {
            QVERIFY2(std::string(e.what()).find("not available") != std::string::npos, e.what());
        }
        Session none = r;
        none.card_json.clear();
        QVERIFY_THROWS_EXCEPTION(InputError, session_card(none, file));
    }

    /// The copy of the card is parsed from memory under a card file's limits
    /// (16 MiB, JSON errors naming the field), its errors naming the session and the card.
    void its_copy_of_the_card_is_checked_like_a_card_file()
    {
        QTemporaryDir dir;
        const fs::path file = dir.filePath("r.ntsession").toStdString();
        Session s = make_session(dir.filePath("gone/card.json").toStdString());
        const auto error_of = [&](const std::string& card_json) {
            s.card_json = card_json;
            try {
                session_card(s, file);
            } catch (const InputError& e) {
                return std::string(e.what());
            }
            return std::string("no error");
        };
        const std::string bad = error_of(R"({"format": "noisetrail-model/1", "schedule": {"beta_end": 1e400}})");
        QVERIFY2(bad.rfind(file.string() + ": its copy of the model card: model card " +
                               s.recipe.model.string() + ": malformed JSON at field 'schedule.beta_end'", 0) == 0,
                 bad.c_str());
        const std::string huge = error_of(std::string((16u << 20) + 1, ' '));
        QVERIFY2(huge.rfind(file.string() + ": its copy of the model card is larger than 16 MiB", 0) == 0, huge.c_str());
    }

    /// The recipe inside a session is read by the run recipe reader: "steps" 0 (the
    /// sampler's default, as sessions have always stored it) reads back, and a bad
    /// field is named under "recipe".
    void its_recipe_is_read_by_the_recipe_reader()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        Session s = make_session((root / "card.json").string());
        s.recipe.panels[0].sampler.steps = 0;
        write_session(root / "zero.ntsession", s);
        QCOMPARE(read_session(root / "zero.ntsession").recipe.panels[0].sampler.steps, 0);
        // Same text, one field broken: the (stored) payload is rewritten with a valid CRC.
        const std::string bytes = read_all(root / "zero.ntsession");
        std::string payload = bytes.substr(40);
        const std::string good = "\"pacing\":\"lockstep\"";
        const std::size_t at = payload.find(good);
        QVERIFY(at != std::string::npos);
        payload.replace(at, good.size(), "\"pacing\":\"lockstop\"");
        std::string head = bytes.substr(0, 40);
        const std::uint32_t crc = std::uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size()));
        std::memcpy(head.data() + 32, &crc, 4);
        const std::string& packed = payload;
        write_all(root / "pacing.ntsession", head + packed);
        expect_error(root / "pacing.ntsession", "field 'recipe.pacing' unknown pacing 'lockstop'");
    }

    /// Format 2 stores the payload as it is (header flag 1: the trajectories' blocks
    /// are deflated already); a deflated payload (flags 0, as format 1 always was)
    /// reads the same, and unknown flags are an error naming the file.
    void stored_and_deflated_payloads_read_the_same()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        const Session s = make_session((root / "card.json").string());
        write_session(root / "stored.ntsession", s);
        const std::string bytes = read_all(root / "stored.ntsession");
        std::uint32_t flags, version;
        std::uint64_t payload_size, packed_size;
        std::memcpy(&version, bytes.data() + 8, 4);
        std::memcpy(&flags, bytes.data() + 12, 4);
        std::memcpy(&payload_size, bytes.data() + 16, 8);
        std::memcpy(&packed_size, bytes.data() + 24, 8);
        QCOMPARE(version, kSessionVersion); // format 2 on: the payload stored
        QCOMPARE(flags, 1u);
        QCOMPARE(payload_size, packed_size);
        QCOMPARE(std::uint64_t(bytes.size()), 40 + payload_size);
        // The same payload deflated, flags 0.
        const std::string deflated = deflated_session(bytes, 6);
        QVERIFY(!deflated.empty());
        write_all(root / "deflated.ntsession", deflated);
        const Session a = read_session(root / "stored.ntsession");
        const Session b = read_session(root / "deflated.ntsession");
        QCOMPARE(b.x_T, a.x_T);
        QCOMPARE(b.panels.size(), a.panels.size());
        for (std::size_t p = 0; p < a.panels.size(); ++p) {
            QCOMPARE(b.panels[p].trajectory->size(), a.panels[p].trajectory->size());
            std::vector<float> va, vb;
            for (int k = 0; k < a.panels[p].trajectory->size(); ++k) {
                a.panels[p].trajectory->decode(k, Field::X0Hat, va);
                b.panels[p].trajectory->decode(k, Field::X0Hat, vb);
                QVERIFY(va == vb);
            }
        }
        // An unknown flag.
        std::string odd = bytes;
        const std::uint32_t two = 2;
        std::memcpy(odd.data() + 12, &two, 4);
        write_all(root / "odd.ntsession", odd);
        expect_error(root / "odd.ntsession", "unknown header flags 2");
        // Stored, but the sizes disagree.
        std::string cut = bytes;
        const std::uint64_t bigger = payload_size + 1;
        std::memcpy(cut.data() + 16, &bigger, 8);
        write_all(root / "sizes.ntsession", cut);
        expect_error(root / "sizes.ntsession", "implausible size");
    }

    void failed_save_keeps_the_earlier_file()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        const fs::path file = root / "keep.ntsession";
        write_session(file, make_session("card.json", 1));
        const std::string earlier = read_all(file);

        // Unwritable place: the folder is a file.
        std::ofstream(root / "plain") << "x";
        try {
            write_session(root / "plain" / "x.ntsession", make_session("card.json"));
            QFAIL("no error");
        } catch (const InputError& e) {
            QVERIFY2(std::string(e.what()).find("plain/x.ntsession") != std::string::npos, e.what());
        }

        // A write that fails midway: the file-size limit makes write(2) stop short (EFBIG).
        rlimit old{};
        getrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = earlier.size() + 512;
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
        bool failed = false;
        std::string message;
        try {
            write_session(file, make_session("card.json", 5)); // larger than the limit
        } catch (const InputError& e) {
            failed = true;
            message = e.what();
        }
        setrlimit(RLIMIT_FSIZE, &old);
        QVERIFY(failed);
        QVERIFY2(message.find(file.string()) != std::string::npos, message.c_str());
        QCOMPARE(read_all(file), earlier);
        QCOMPARE(count_entries(root), 2); // keep.ntsession and plain: no temporary left
    }

    void truncated_newer_foreign_and_damaged_files_are_errors()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        const fs::path good = root / "good.ntsession";
        write_session(good, make_session("card.json"));
        const std::string bytes = read_all(good);

        for (std::size_t cut : {std::size_t(0), std::size_t(7), std::size_t(39), std::size_t(40), bytes.size() / 2,
                                bytes.size() - 1}) {
            const fs::path f = root / ("cut" + std::to_string(cut));
            write_all(f, bytes.substr(0, cut));
            expect_error(f, cut < 40 ? "not a NoiseTrail session" : "truncated");
        }
        std::string newer = bytes;
        newer[8] = char(kSessionVersion + 1);
        write_all(root / "newer", newer);
        expect_error(root / "newer", "newer than this NoiseTrail reads");

        std::mt19937 rng(7);
        std::string noise(5000, '\0');
        for (char& c : noise)
            c = char(rng());
        write_all(root / "random", noise);
        expect_error(root / "random", "not a NoiseTrail session");
        write_all(root / "card.json", R"({"format": "noisetrail-model/1"})");
        expect_error(root / "card.json", "not a NoiseTrail session");
        expect_error(root / "absent", "no such file");

        std::string tail = bytes + "xyz";
        write_all(root / "tail", tail);
        expect_error(root / "tail", "corrupt");
    }

    void budget_breaking_sessions_are_refused_before_inflating()
    {
        // Issue 27: a 4.2 MB session declaring 4 GiB of zeros took 4.2 GB and 32 s to be
        // refused; 120 deflated 64 MB blocks (7.5 MB on disk) took 22.6 s to open. Declared
        // sizes are checked against the memory budget before anything is allocated or inflated.
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        const std::uint64_t packed = std::uint64_t(4) << 20, declared = std::uint64_t(4) << 30;
        std::string bomb("\x89NTS\r\n\x1a\n", 8); // the header of noisetrail/session.hpp
        const auto put = [&](auto v) { bomb.append(reinterpret_cast<const char*>(&v), sizeof v); };
        put(std::uint32_t(1));
        put(std::uint32_t(0));
        put(declared);
        put(packed);
        put(std::uint32_t(0));
        put(std::uint32_t(0));
        bomb.append(packed, '\0');
        write_all(root / "bomb.ntsession", bomb);
        const long peak_before = peak_mib();
        const auto start = std::chrono::steady_clock::now();
        expect_error(root / "bomb.ntsession", "over the memory budget of 1024 MiB");
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
        qInfo("refused in %lld ms", static_cast<long long>(ms));
        QVERIFY2(peak_mib() - peak_before < 64, qPrintable(QString::number(peak_mib() - peak_before) + " MiB more"));

        // Blocks of zeros: 3 x 256 x 256 values a block, 16 blocks in panel 0 (5 steps: x_t of
        // each and the end, x0_hat, eps_hat: 3.0 MiB) and 7 in panel 1, 196,608 x 23 bytes
        // = 4.3 MiB decoded, from a file under 1 MiB (most of it x_T, stored exact).
        Session s = make_session("card.json");
        s.data_shape = {1, 256, 256};
        const std::vector<std::int64_t> shape{3, 1, 256, 256};
        s.panels[0].trajectory = zero_trajectory(shape, {8, 6, 4, 2, 0}, 5);
        s.panels[1].trajectory = zero_trajectory(shape, {9, 4}, 2);
        s.x_T.assign(3 * 256 * 256, 0.5f);
        const fs::path zeros = root / "zeros.ntsession";
        write_session(zeros, s);
        QVERIFY(fs::file_size(zeros) < 1024 * 1024);
        QCOMPARE(read_session(zeros).panels.size(), std::size_t(2)); // within the default budget

        // Blocks are inflated when shown, a step at a time (issue 27), so the budget holds
        // what opening keeps (the payload) and what showing one step needs: its 196,608
        // values as float32 plus the 8-bit codes and one inflated block, 1.125 MiB. At
        // 1 MiB the payload (under 1 MiB) fits and a step does not: refused before any
        // block is read, and the writer's check says the same before saving.
        const std::uint64_t saved = memory_budget();
        set_memory_budget(std::uint64_t(1) << 20);
        bool refused = false;
        std::string message;
        try {
            read_session(zeros);
        } catch (const InputError& e) {
            refused = true;
            message = e.what();
        }
        const std::string warned = session_reopen_problem(zeros, s);
        set_memory_budget(std::uint64_t(2) << 20); // a step fits: opens
        const std::string fits = session_reopen_problem(zeros, s);
        const std::size_t opened = read_session(zeros).panels.size();
        set_memory_budget(saved);
        QVERIFY(refused);
        QVERIFY2(message.rfind(zeros.string() + ": showing a step of panel 0 (196608 values)", 0) == 0, message.c_str());
        QVERIFY2(message.find("would need 2 MiB, over the memory budget of 1 MiB") != std::string::npos, message.c_str());
        QCOMPARE(warned, message);
        QCOMPARE(fits, std::string());
        QCOMPARE(opened, std::size_t(2));
    }

    /// Issue 27: Save Run could write a session the reader then refused. The writer's
    /// check (session_reopen_problem) is the reader's: over the budget it gives the very
    /// message read_session gives for the written file, within it nothing.
    void the_writer_says_what_the_reader_would_refuse()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "run.ntsession";
        const Session s = make_session("card.json");
        QCOMPARE(session_reopen_problem(file, s), std::string()); // the default budget: fine
        write_session(file, s);
        const std::uint64_t payload = read_session_header(file).payload_bytes;
        const std::uint64_t saved = memory_budget();
        set_memory_budget(payload - 1); // one byte short of the payload
        const std::string warned = session_reopen_problem(file, s);
        std::string refused;
        try {
            read_session(file);
        } catch (const InputError& e) {
            refused = e.what();
        }
        set_memory_budget(payload); // exactly the payload: the writer and the reader agree it opens
        const std::string at_limit = session_reopen_problem(file, s);
        const std::size_t opened = read_session(file).panels.size();
        set_memory_budget(saved);
        QVERIFY2(!warned.empty(), "no warning one byte over the budget");
        QCOMPARE(warned, refused);
        QVERIFY2(warned.find("its payload of " + std::to_string(payload) + " bytes") != std::string::npos, warned.c_str());
        QCOMPARE(at_limit, std::string());
        QCOMPARE(opened, std::size_t(2));
    }

    /// Issue 27: the reader inflated every block once to check it and held the whole
    /// payload besides the trajectories: opening cost about twice the session. It now
    /// streams (the payload is parsed as it is read) and keeps blocks as stored, so by
    /// its own accounting it holds the session plus buffers of its own far smaller than
    /// the payload. 200 steps of 16 noisy 28x28 images (raw blocks: 7.5 MB).
    void opening_holds_the_session_once()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "big.ntsession";
        Session s = make_session("card.json");
        s.batch = 16;
        s.recipe.batch = 16;
        s.train_steps = 1000;
        s.data_shape = {1, 28, 28};
        const std::vector<std::int64_t> shape{16, 1, 28, 28};
        std::vector<int> ts;
        for (int t = 199; t >= 0; --t)
            ts.push_back(t);
        s.panels[0].trajectory = make_trajectory(shape, ts, 200, Trajectory::Precision::UInt8, 3);
        s.panels[1].trajectory = make_trajectory(shape, {9, 4}, 2, Trajectory::Precision::UInt8, 4);
        s.x_T.assign(16 * 28 * 28, 0.25f);
        write_session(file, s);
        const std::uint64_t payload = read_session_header(file).payload_bytes;
        QVERIFY(payload > (std::uint64_t(4) << 20));
        const Session r = read_session(file);
        std::uint64_t held = r.x_T.size() * sizeof(float);
        for (const SessionPanel& p : r.panels)
            held += p.trajectory->bytes();
        qInfo("payload %llu bytes, session held %llu, reader's peak %llu", static_cast<unsigned long long>(payload),
              static_cast<unsigned long long>(held), static_cast<unsigned long long>(r.read_peak_bytes));
        QVERIFY(r.read_peak_bytes >= held);              // the session itself is held, at least
        QVERIFY(r.read_peak_bytes - held < payload / 8); // but not the payload besides it
        QVERIFY(r.read_peak_bytes < payload + payload / 4);
        compare_trajectories(*s.panels[0].trajectory, *r.panels[0].trajectory);
    }

    /// Blocks are inflated when shown, not when read (issue 27): a block whose deflate
    /// stream is damaged (the file's checksum made to agree) opens, its frame gives one
    /// InputError naming the field and the step, and every other frame still decodes.
    void damaged_block_is_found_when_shown()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        Session s = make_session("card.json");
        s.panels[1].trajectory = zero_trajectory({3, 1, 8, 8}, {9, 4}, 2); // its blocks deflate
        write_session(root / "good.ntsession", s);
        std::string bytes = read_all(root / "good.ntsession");
        // The last zlib stream of the file (level 1: header 78 01) is panel 1's eps_hat of
        // its last step, the last block written; its deflate data is garbled.
        const std::size_t z = bytes.rfind(std::string("\x78\x01", 2));
        QVERIFY(z != std::string::npos && z > 40);
        for (std::size_t i = z + 2; i < std::min(bytes.size(), z + 6); ++i)
            bytes[i] = char(~bytes[i]);
        const std::uint32_t crc = std::uint32_t(
            crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data() + 40), bytes.size() - 40));
        std::memcpy(bytes.data() + 32, &crc, sizeof crc);
        write_all(root / "damaged.ntsession", bytes);

        const Session r = read_session(root / "damaged.ntsession"); // opens: nothing inflated yet
        const Trajectory& t = *r.panels[1].trajectory;
        std::vector<float> v;
        try {
            t.decode(1, Field::EpsHat, v);
            QFAIL("a damaged block decoded");
        } catch (const InputError& e) {
            QCOMPARE(std::string(e.what()), std::string("the stored frames are damaged: eps_hat of step 2 of 2 does not decode"));
        }
        for (int k = 0; k <= t.size(); ++k) { // the rest is there
            t.decode(k, Field::Xt, v);
            QCOMPARE(v, std::vector<float>(v.size(), 0.0f));
            if (k < t.size())
                t.decode(k, Field::X0Hat, v);
        }
        t.decode(0, Field::EpsHat, v);
        compare_trajectories(*s.panels[0].trajectory, *r.panels[0].trajectory);
    }

    /// The payload is read (format 2) or inflated (format 1) in 16 MiB pieces, a cancel
    /// flag looked at before each (a window reading off its GUI thread): a payload over
    /// two pieces reads back exactly, and a set flag ends reading with one InputError.
    /// read_session_header reports the declared sizes and refuses what read_session
    /// refuses from the header, with the same message.
    void large_payloads_read_in_pieces_and_cancel()
    {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        Session s = make_session("card.json");
        s.batch = 70;
        s.recipe.batch = 70;
        s.data_shape = {1, 256, 256};
        const std::vector<std::int64_t> shape{70, 1, 256, 256};
        s.panels[0].trajectory = zero_trajectory(shape, {8, 6, 4, 2, 0}, 1);
        s.panels[1].trajectory = zero_trajectory(shape, {9, 4}, 1);
        s.x_T.resize(70 * 256 * 256);
        for (std::size_t i = 0; i < s.x_T.size(); ++i)
            s.x_T[i] = float(i % 1000) * 0.001f - 0.5f; // 18.4 MB stored exact: over 16 MiB
        const fs::path stored = root / "big.ntsession";
        write_session(stored, s);
        const SessionHeader h = read_session_header(stored);
        QCOMPARE(h.version, kSessionVersion);
        QCOMPARE(h.file_bytes, std::uint64_t(fs::file_size(stored)));
        QVERIFY(h.payload_bytes > (std::uint64_t(16) << 20));
        QVERIFY(read_session(stored).x_T == s.x_T);

        // The same payload deflated (flags 0).
        const std::string bytes = read_all(stored);
        const std::string packed = deflated_session(bytes, 1);
        QVERIFY(!packed.empty());
        const fs::path deflated = root / "deflated.ntsession";
        write_all(deflated, packed);
        QCOMPARE(read_session_header(deflated).payload_bytes, h.payload_bytes);
        QVERIFY(read_session(deflated).x_T == s.x_T);

        const std::atomic<bool> cancel{true};
        for (const fs::path& f : {stored, deflated}) {
            try {
                read_session(f, &cancel);
                QFAIL("a cancelled read went on");
            } catch (const InputError& e) {
                QCOMPARE(std::string(e.what()), f.string() + ": reading cancelled");
            }
        }

        // Header errors: the same message from both.
        write_all(root / "cut.ntsession", bytes.substr(0, 1000));
        write_all(root / "short.ntsession", bytes.substr(0, 20));
        for (const char* name : {"cut.ntsession", "short.ntsession", "missing.ntsession"}) {
            std::string full, header;
            try {
                read_session(root / name);
            } catch (const InputError& e) {
                full = e.what();
            }
            try {
                read_session_header(root / name);
            } catch (const InputError& e) {
                header = e.what();
            }
            QVERIFY2(!full.empty() && header == full, (header + " / " + full).c_str());
        }
    }

    void damaged_bytes_never_crash()
    {
        // Each mutation is either read (the damage missed anything checked) or one InputError.
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        const fs::path good = root / "good.ntsession";
        write_session(good, make_session("card.json"));
        const std::string bytes = read_all(good);
        std::mt19937 rng(11);
        int errors = 0;
        for (int i = 0; i < 300; ++i) {
            std::string b = bytes;
            const int flips = 1 + int(rng() % 4);
            for (int k = 0; k < flips; ++k)
                b[rng() % b.size()] ^= char(1 + rng() % 255);
            const fs::path f = root / "mutant";
            write_all(f, b);
            try {
                read_session(f);
            } catch (const InputError&) {
                ++errors;
            }
        }
        QVERIFY(errors > 250); // the checksum catches nearly everything in the payload
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"
