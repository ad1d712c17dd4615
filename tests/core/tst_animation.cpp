// GIF and MP4 writers, checked by independent readers: giflib's decoder and
// libavformat's probe (container, stream, frame count, size), plus atomic
// replacement (a failed or abandoned export leaves the earlier file intact).
#include "media_util.hpp"
#include "test_util.hpp"

#include "noisetrail/animation.hpp"
#include "noisetrail/errors.hpp"

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace noisetrail;
using namespace noisetrail::test;
namespace fs = std::filesystem;

namespace {

/// Frame i: a grey background with a red square moving right, few colours.
RgbImage moving_square(int w, int h, int i)
{
    RgbImage img(w, h, 200);
    for (int y = h / 4; y < h / 2; ++y)
        for (int x = i * 3; x < i * 3 + 10 && x < w; ++x) {
            auto* p = img.pixel(x, y);
            p[0] = 220, p[1] = 30, p[2] = 30;
        }
    return img;
}

/// Frame i: smooth noise-like content with thousands of colours (the quantiser path).
RgbImage many_colours(int w, int h, int i)
{
    RgbImage img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            auto* p = img.pixel(x, y);
            p[0] = static_cast<std::uint8_t>((x * 7 + i * 13) & 255);
            p[1] = static_cast<std::uint8_t>((y * 5 + x * 3) & 255);
            p[2] = static_cast<std::uint8_t>((x * y + i) & 255);
        }
    return img;
}

std::string read_all(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace

class TestAnimation : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gif_decodes_with_frames_size_and_timing()
    {
        QTemporaryDir dir;
        const fs::path out = dir.filePath("a.gif").toStdString();
        const AnimationOptions o{120, 80, 20.0, 1.5};
        auto w = AnimationWriter::open(out, AnimationFormat::Gif, o);
        const int n = 30;
        for (int i = 0; i < n; ++i)
            w->add_frame(i % 2 ? many_colours(120, 80, i) : moving_square(120, 80, i));
        w->add_frame(moving_square(120, 80, n)); // few colours last: decoded exactly
        w->finish();
        QCOMPARE(w->frames_written(), n + 1);
        const Decoded d = decode_gif(out);
        QCOMPARE(d.width, 120);
        QCOMPARE(d.height, 80);
        QCOMPARE(d.frames, n + 1);
        QVERIFY(d.loops);
        // 31 frames at 20 fps = 155 cs, plus the 150 cs hold.
        QCOMPARE(d.total_delay_cs, 155 + 150);
        QVERIFY(d.last == moving_square(120, 80, n));
    }

    void gif_unchanged_frames_still_count()
    {
        QTemporaryDir dir;
        const fs::path out = dir.filePath("same.gif").toStdString();
        auto w = AnimationWriter::open(out, AnimationFormat::Gif, {16, 16, 10, 0});
        for (int i = 0; i < 5; ++i)
            w->add_frame(RgbImage(16, 16, 90));
        w->finish();
        const Decoded d = decode_gif(out);
        QCOMPARE(d.frames, 5);
        QCOMPARE(d.total_delay_cs, 50);
        QVERIFY(d.last == RgbImage(16, 16, 90));
    }

    void mp4_is_h264_with_expected_frames()
    {
        QTemporaryDir dir;
        const fs::path out = dir.filePath("a.mp4").toStdString();
        const AnimationOptions o{121, 75, 25.0, 2.0}; // odd size: padded to even for yuv420p
        auto w = AnimationWriter::open(out, AnimationFormat::Mp4, o);
        for (int i = 0; i < 40; ++i)
            w->add_frame(many_colours(121, 75, i));
        w->finish();
        QCOMPARE(hold_frames(o), 50);
        QCOMPARE(w->frames_written(), 40 + 50);
        const Probe p = probe(out);
        QVERIFY2(p.format.find("mp4") != std::string::npos, p.format.c_str());
        QCOMPARE(p.streams, 1);
        QCOMPARE(p.codec, AV_CODEC_ID_H264);
        QCOMPARE(p.width, 122);
        QCOMPARE(p.height, 76);
        QCOMPARE(p.frames, std::int64_t(90));
        QCOMPARE(decoded_frames(out), 90); // what a player shows: the last frame too
        QCOMPARE(p.fps, 25.0);
    }

    void format_from_extension()
    {
        QCOMPARE(animation_format_of("x/A.GIF"), std::optional(AnimationFormat::Gif));
        QCOMPARE(animation_format_of("b.mp4"), std::optional(AnimationFormat::Mp4));
        QVERIFY(!animation_format_of("c.avi"));
    }

    void failed_or_abandoned_export_keeps_earlier_file()
    {
        QTemporaryDir dir;
        const fs::path out = dir.filePath("keep.gif").toStdString();
        std::ofstream(out) << "earlier";
        {
            auto w = AnimationWriter::open(out, AnimationFormat::Gif, {8, 8, 10, 0});
            w->add_frame(RgbImage(8, 8));
            // cancelled: destroyed without finish()
        }
        QCOMPARE(read_all(out), std::string("earlier"));
        {
            auto w = AnimationWriter::open(out, AnimationFormat::Mp4, {8, 8, 10, 0});
            w->add_frame(RgbImage(8, 8));
        }
        QCOMPARE(read_all(out), std::string("earlier"));
        // No temporary files left behind.
        int entries = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path().toStdString()))
            ++entries;
        QCOMPARE(entries, 1);
    }

    void unwritable_folder_is_one_error_naming_the_file()
    {
        for (auto f : {AnimationFormat::Gif, AnimationFormat::Mp4}) {
            const fs::path out = "/nonexistent-folder/x." + to_string(f);
            try {
                AnimationWriter::open(out, f, {8, 8, 10, 0});
                QFAIL("no error");
            } catch (const InputError& e) {
                QVERIFY2(std::string(e.what()).find(out.string()) != std::string::npos, e.what());
            }
        }
    }

    void bad_options_are_errors()
    {
        QTemporaryDir dir;
        const fs::path out = dir.filePath("x.gif").toStdString();
        QVERIFY_THROWS_EXCEPTION(InputError, AnimationWriter::open(out, AnimationFormat::Gif, {8, 8, 60, 0}));
        QVERIFY_THROWS_EXCEPTION(InputError, AnimationWriter::open(out, AnimationFormat::Gif, {0, 8, 10, 0}));
        QVERIFY_THROWS_EXCEPTION(InputError, AnimationWriter::open(out, AnimationFormat::Mp4, {8, 8, 10, -1}));
        QVERIFY(!fs::exists(out));
    }
};

QTEST_GUILESS_MAIN(TestAnimation)
#include "tst_animation.moc"
