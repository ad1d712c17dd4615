// noisetrail-cli session info / export / filmstrip on a session written through
// the core API from known trajectories: the contract's fields (section 5), one
// frame per distinct timestep plus the final samples, the requested sizes, and
// exit 2 with the file named for bad input.
#include "media_util.hpp"
#include "session_util.hpp"
#include "test_util.hpp"

#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/render.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <QtCore/qfloat16.h>

#include <algorithm>
#include <cmath>

#include <filesystem>
#include <fstream>
#include <set>

using namespace noisetrail;
using namespace noisetrail::test;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    QTemporaryDir dir;
    fs::path file;
    Session session;
    Fixture() : file(dir.filePath("run.ntsession").toStdString()), session(make_session(dir.filePath("card.json").toStdString()))
    {
        write_session(file, session);
    }
    QString path() const { return QString::fromStdString(file.string()); }
    QString out(const char* name) const { return dir.filePath(name); }
    /// Distinct timesteps of all panels plus the final samples, counted here from the plans.
    int levels() const
    {
        std::set<int> ts;
        for (const auto& p : session.panels)
            ts.insert(p.trajectory->timesteps().begin(), p.trajectory->timesteps().end());
        return int(ts.size()) + 1;
    }
};

/// Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian).
std::pair<int, int> png_size(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    unsigned char b[24] = {};
    in.read(reinterpret_cast<char*>(b), 24);
    if (!in || b[1] != 'P' || b[12] != 'I')
        return {0, 0};
    auto be = [&](int at) { return int(b[at]) << 24 | int(b[at + 1]) << 16 | int(b[at + 2]) << 8 | int(b[at + 3]); };
    return {be(16), be(20)};
}

} // namespace

class TestSessionCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void info_json_has_contract_fields()
    {
        Fixture fx;
        const auto r = run_cli({"session", "info", fx.path(), "--json"});
        QCOMPARE(r.code, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(j["format"].toString(), QString("noisetrail-session/3"));
        QVERIFY(j["model"].toString().endsWith("card.json"));
        QCOMPARE(j["seed"].toInt(), 42);
        QCOMPARE(j["batch"].toInt(), 3);
        QCOMPARE(j["model_found"].toBool(), false);
        const QJsonArray panels = j["panels"].toArray();
        QCOMPARE(panels.size(), 2);
        QCOMPARE(panels[0].toObject()["sampler"].toString(), QString("ddpm"));
        QCOMPARE(panels[0].toObject()["steps"].toInt(), 5);
        QCOMPARE(panels[0].toObject()["frames"].toInt(), 5);
        QCOMPARE(panels[1].toObject()["sampler"].toString(), QString("ddim"));
        QCOMPARE(panels[1].toObject()["frames"].toInt(), 2);
        // "metrics": the names of what the steps store (contract section 11): the
        // fixture's steps hold statistics, a Vendi score, counts and assignments.
        const QStringList stored{"xt_mean", "xt_std", "eps_norm", "x0_change", "x0_batch_std", "vendi",
                                 "component_counts", "component_near", "assignment"};
        for (const auto& p : panels) {
            QStringList got;
            for (const auto& n : p.toObject()["metrics"].toArray())
                got << n.toString();
            QCOMPARE(got, stored);
        }
        const auto text = run_cli({"session", "info", fx.path()});
        QCOMPARE(text.code, 0);
        QVERIFY(text.out.contains("DDIM, 2 steps"));
    }

    void gif_has_one_frame_per_level_at_the_requested_size()
    {
        Fixture fx;
        const QString gif = fx.out("a.gif");
        const auto r = run_cli({"session", "export", fx.path(), "--gif", gif, "--size", "320x180", "--fps", "10",
                                "--field", "x0_hat", "--hold", "1"});
        QCOMPARE(r.code, 0);
        const Decoded d = decode_gif(gif.toStdString());
        QCOMPARE(d.frames, fx.levels()); // t = 9, 8, 6, 4, 2, 0 and the final samples
        QCOMPARE(d.width, 320);
        QCOMPARE(d.height, 180);
        QCOMPARE(d.total_delay_cs, fx.levels() * 10 + 100);
    }

    void mp4_is_h264_with_the_frames_and_hold()
    {
        Fixture fx;
        const QString mp4 = fx.out("a.mp4");
        const auto r = run_cli({"session", "export", fx.path(), "--mp4", mp4, "--fps", "25", "--hold", "0.4"});
        QCOMPARE(r.code, 0);
        const Probe p = probe(mp4.toStdString());
        QVERIFY(p.format.find("mp4") != std::string::npos);
        QCOMPARE(p.codec, AV_CODEC_ID_H264);
        QCOMPARE(p.frames, std::int64_t(fx.levels() + 10)); // 0.4 s at 25 fps
        QCOMPARE(decoded_frames(mp4.toStdString()), fx.levels() + 10);
        QVERIFY(p.width > 0 && p.width % 2 == 0 && p.height % 2 == 0);
    }

    void frames_flag_thins_the_levels()
    {
        Fixture fx;
        const QString gif = fx.out("few.gif");
        QCOMPARE(run_cli({"session", "export", fx.path(), "--gif", gif, "--frames", "3"}).code, 0);
        QCOMPARE(decode_gif(gif.toStdString()).frames, 3);
    }

    void filmstrip_writes_a_png()
    {
        Fixture fx;
        const QString png = fx.out("strip.png");
        const auto r = run_cli({"session", "filmstrip", fx.path(), "--out", png, "--levels", "4", "--samples", "0,2"});
        QCOMPARE(r.code, 0);
        const auto [w, h] = png_size(png.toStdString());
        // 4 columns; per panel (2) a row per chosen sample (2), each cell 112 px (the default).
        QVERIFY(w >= 4 * 112 && h >= 2 * 2 * 112);
    }

    void run_writes_a_session_matching_its_dump()
    {
        QTemporaryDir dir;
        QJsonObject ddpm{{"sampler", "ddpm"}, {"steps", 20}}, ddim{{"sampler", "ddim"}, {"steps", 5}};
        const QJsonObject recipe_json{{"format", "noisetrail-run/1"},
                                      {"model", QString::fromStdString(source_path("models/ring8.json"))},
                                      {"seed", 3},
                                      {"batch", 16},
                                      {"panels", QJsonArray{ddpm, ddim}}};
        const QString recipe =
            QString::fromStdString(write_file(dir, "r.run.json", QJsonDocument(recipe_json).toJson()));
        const QString session = dir.filePath("r.ntsession"), dump = dir.filePath("dump");
        const auto r = run_cli({"run", "--config", recipe, "--session", session, "--dump", dump});
        QCOMPARE(r.code, 0);
        const Session s = read_session(session.toStdString());
        QCOMPARE(s.panels.size(), std::size_t(2));
        QCOMPARE(s.recipe.seed, std::uint64_t(3));
        for (int p = 0; p < 2; ++p) {
            const Trajectory& t = *s.panels[std::size_t(p)].trajectory;
            QVERIFY(t.finished());
            QCOMPARE(t.precision(), Trajectory::Precision::Half); // 2-D points
            const NpyArray xt = read_npy((dump + "/panel-" + QString::number(p) + "/xt.npy").toStdString());
            QCOMPARE(xt.shape[0], std::int64_t(t.plannedSteps() + 1));
            std::vector<float> v;
            for (int k = 0; k <= t.size(); ++k) {
                t.decode(k, Field::Xt, v);
                for (std::size_t i = 0; i < v.size(); ++i)
                    QCOMPARE(v[i], float(qfloat16(xt.f32[std::size_t(k) * v.size() + i]))); // the dump at half precision
            }
        }
        // Per-step metrics recorded as the GUI records them (core's recorder): ring8 is
        // a mixture card, so every step is measured; the batch std of x0_hat and the
        // nearest-mean component counts, computed here from the dump's full-precision
        // x0_pred.npy, are what the session stores.
        // (Equal weights and stds: the most responsible component is the nearest mean.)
        const metrics::GaussianMixture mix = *metrics::mixture_from_card(read_model_card(source_path("models/ring8.json")));
        for (int p = 0; p < 2; ++p) {
            const Trajectory& t = *s.panels[std::size_t(p)].trajectory;
            const NpyArray x0 = read_npy((dump + "/panel-" + QString::number(p) + "/x0_pred.npy").toStdString());
            const std::size_t per = 16 * 2;
            for (int k = 0; k < t.size(); ++k) {
                const FrameMetrics& m = t.info(k).metrics;
                const float* x = x0.f32.data() + std::size_t(k) * per;
                double stdSum = 0;
                for (int c = 0; c < 2; ++c) {
                    double mean = 0, var = 0;
                    for (int b = 0; b < 16; ++b)
                        mean += x[2 * b + c] / 16.0;
                    for (int b = 0; b < 16; ++b)
                        var += (x[2 * b + c] - mean) * (x[2 * b + c] - mean) / 16.0;
                    stdSum += std::sqrt(var);
                }
                QVERIFY2(std::abs(m.values.coordinate_std - stdSum / 2) < 1e-9, qPrintable(QString::number(k)));
                std::vector<int> counts(8, 0);
                for (int b = 0; b < 16; ++b) {
                    int best = 0;
                    double bestD = 1e300;
                    for (int c = 0; c < 8; ++c) {
                        const double dx = x[2 * b] - mix.means[std::size_t(2 * c)],
                                     dy = x[2 * b + 1] - mix.means[std::size_t(2 * c + 1)];
                        if (dx * dx + dy * dy < bestD)
                            bestD = dx * dx + dy * dy, best = c;
                    }
                    ++counts[std::size_t(best)];
                }
                QCOMPARE(m.componentCounts, counts);
                QCOMPARE(int(m.assignment.size()), 16);
            }
        }
        // The first frame of every panel is the shared x_T, stored exactly too.
        const NpyArray xt0 = read_npy((dump + "/panel-1/xt.npy").toStdString());
        QVERIFY(std::equal(s.x_T.begin(), s.x_T.end(), xt0.f32.begin()));
        const auto info = run_cli({"session", "info", session, "--json"});
        const QJsonObject j = QJsonDocument::fromJson(info.out.toUtf8()).object();
        QCOMPARE(j["panels"].toArray()[0].toObject()["frames"].toInt(), 20);
        QCOMPARE(j["panels"].toArray()[1].toObject()["frames"].toInt(), 5);
        QCOMPARE(j["model_found"].toBool(), true);
        // The stored metric names (contract section 11): the statistics, the mixture's
        // metrics and per-sample components; no classes on a 2-D card.
        const QJsonArray names = j["panels"].toArray()[1].toObject()["metrics"].toArray();
        QStringList got;
        for (const auto& n : names)
            got << n.toString();
        QCOMPARE(got, (QStringList{"xt_mean", "xt_std", "eps_norm", "x0_change", "x0_batch_std", "pairwise_distance",
                                   "coordinate_std", "vendi", "components_covered", "occupancy_entropy",
                                   "component_counts", "component_near", "assignment"}));
        // --no-metrics: the steps and their statistics alone; without --session it is an error.
        const QString plain = dir.filePath("plain.ntsession");
        QCOMPARE(run_cli({"run", "--config", recipe, "--session", plain, "--no-metrics"}).code, 0);
        const Session ps = read_session(plain.toStdString());
        QCOMPARE(ps.panels[0].trajectory->size(), 20);
        QCOMPARE(stored_metric_names(*ps.panels[0].trajectory),
                 (std::vector<std::string>{"xt_mean", "xt_std", "eps_norm", "x0_change", "x0_batch_std"}));
        const auto lone = run_cli({"run", "--config", recipe, "--no-metrics"});
        QCOMPARE(lone.code, 2);
        QVERIFY(lone.err.contains("--no-metrics"));
        // An unwritable --session fails before running, naming the flag.
        const auto bad = run_cli({"run", "--config", recipe, "--session", dir.filePath("no/such/x.ntsession")});
        QCOMPARE(bad.code, 2);
        QVERIFY(bad.err.contains("--session"));
    }

    void colour_run_round_trips_through_a_session()
    {
        // The exact colour card, as a user runs it: DDPM and DDIM from one x_T, saved
        // as a session. Reopened, its stored frames are the run's (within the 8-bit
        // store's step), and the renderer of the GIF/MP4 export draws them in RGB:
        // each channel of each pixel is that channel's value over [-1, 1].
        QTemporaryDir dir;
        QJsonObject ddpm{{"sampler", "ddpm"}, {"steps", 10}}, ddim{{"sampler", "ddim"}, {"steps", 5}};
        const QJsonObject recipe_json{{"format", "noisetrail-run/1"},
                                      {"model", QString::fromStdString(source_path("models/emoji-288-classes.json"))},
                                      {"seed", 5},
                                      {"batch", 4},
                                      {"panels", QJsonArray{ddpm, ddim}}};
        const QString recipe =
            QString::fromStdString(write_file(dir, "e.run.json", QJsonDocument(recipe_json).toJson()));
        const QString session = dir.filePath("e.ntsession"), dump = dir.filePath("dump");
        const auto r = run_cli({"run", "--config", recipe, "--session", session, "--dump", dump});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Session s = read_session(session.toStdString());
        QCOMPARE(s.data_shape, (std::vector<std::int64_t>{3, 32, 32}));
        const int C = 3, H = 32, W = 32;
        const std::size_t per = std::size_t(C) * H * W;
        for (int p = 0; p < 2; ++p) {
            const Trajectory& t = *s.panels[std::size_t(p)].trajectory;
            QVERIFY(t.finished());
            QCOMPARE(t.precision(), Trajectory::Precision::UInt8);
            const NpyArray xt = read_npy((dump + "/panel-" + QString::number(p) + "/xt.npy").toStdString());
            const int S = t.plannedSteps();
            const float* last = xt.f32.data() + std::size_t(S) * 4 * per; // the final samples
            const auto [lo, hi] = std::minmax_element(last, last + 4 * per);
            std::vector<float> v;
            t.decode(S, Field::Xt, v);
            for (std::size_t i = 0; i < v.size(); ++i)
                QVERIFY(std::abs(v[i] - last[i]) <= (*hi - *lo) / 255.f * 0.51f + 1e-6f);
            // Memorised emoji are colourful: the channels differ somewhere.
            double spread = 0;
            for (std::size_t i = 0; i < per / 3; ++i)
                spread = std::max(spread, double(std::abs(last[i] - last[per / 3 + i])));
            QVERIFY2(spread > 0.3, qPrintable(QString::number(spread)));
            // The export's frame renderer on the reopened session: RGB, pixel by pixel.
            FrameRenderer fr({{&t, s.panels[std::size_t(p)].caption, p}}, {Field::Xt});
            const RgbImage frame = fr.render(kFinalT);
            const auto rect = fr.content_rect(0);
            const double z = fr.zoom();
            const int cols = grid_columns(4);
            for (int b = 0; b < 4; ++b)
                for (int y = 0; y < H; y += 3)
                    for (int x = 0; x < W; x += 3) {
                        const int cw = int(std::lround(W * z)) + 2, ch = int(std::lround(H * z)) + 2;
                        const auto* px = frame.pixel(rect.x + 2 + (b % cols) * cw + int((x + 0.5) * z),
                                                     rect.y + 2 + (b / cols) * ch + int((y + 0.5) * z));
                        for (int c = 0; c < C; ++c) {
                            const float val = last[std::size_t(b) * per + (std::size_t(c) * H + y) * W + x];
                            const int want = int(std::lround(std::clamp((val + 1.0) / 2.0, 0.0, 1.0) * 255));
                            QVERIFY2(std::abs(int(px[c]) - want) <= 2,
                                     qPrintable(QString("panel %1 sample %2 pixel %3,%4 channel %5: %6, expected %7")
                                                    .arg(p).arg(b).arg(x).arg(y).arg(c).arg(px[c]).arg(want)));
                        }
                    }
        }
        // The GIF export of the reopened session is in colour too (its palette
        // keeps the emoji's hues: some pixel of the final canvas is far from grey).
        const QString gif = dir.filePath("e.gif");
        QCOMPARE(run_cli({"session", "export", session, "--gif", gif, "--fps", "30"}).code, 0);
        const Decoded d = decode_gif(gif.toStdString());
        int coloured = 0;
        for (int y = 0; y < d.height; ++y)
            for (int x = 0; x < d.width; ++x) {
                const auto* px = d.last.pixel(x, y);
                coloured += std::max({std::abs(px[0] - px[1]), std::abs(px[1] - px[2]), std::abs(px[0] - px[2])}) > 60;
            }
        QVERIFY2(coloured > 100, qPrintable(QString::number(coloured)));
    }

    void bad_input_exits_2_naming_it_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("named");
        QTest::newRow("no output") << QStringList{"export", "@S"} << "--gif";
        QTest::newRow("both outputs") << QStringList{"export", "@S", "--gif", "a.gif", "--mp4", "b.mp4"} << "--mp4";
        QTest::newRow("bad field") << QStringList{"export", "@S", "--gif", "a.gif", "--field", "x"} << "--field";
        QTest::newRow("bad size") << QStringList{"export", "@S", "--gif", "a.gif", "--size", "big"} << "--size";
        QTest::newRow("gif fps") << QStringList{"export", "@S", "--gif", "a.gif", "--fps", "60"} << "--fps";
        QTest::newRow("missing file") << QStringList{"info", "@D/absent.ntsession"} << "absent.ntsession";
        QTest::newRow("truncated") << QStringList{"info", "@D/cut.ntsession"} << "cut.ntsession";
        QTest::newRow("unwritable") << QStringList{"export", "@S", "--gif", "@D/no/such/dir/a.gif"} << "a.gif";
        QTest::newRow("unknown verb") << QStringList{"play", "@S"} << "play";
    }
    void bad_input_exits_2_naming_it()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, named);
        Fixture fx;
        {
            std::ifstream in(fx.file, std::ios::binary);
            std::string bytes{std::istreambuf_iterator<char>(in), {}};
            std::ofstream(fx.dir.filePath("cut.ntsession").toStdString(), std::ios::binary) << bytes.substr(0, 100);
        }
        QStringList full{"session"};
        for (QString a : args)
            full << a.replace("@S", fx.path()).replace("@D", fx.dir.path());
        const auto r = run_cli(full);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(named), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count('\n'), 0); // one line
    }
};

QTEST_GUILESS_MAIN(TestSessionCli)
#include "tst_session_cli.moc"
