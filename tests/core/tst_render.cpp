// The frame renderer and filmstrip: panels aligned on t by the timeline's rule,
// the requested sizes, the fixed scatter extent, and the pixels that carry a
// step's values (grey = (v - lo) / (hi - lo)), read back from the rendered image.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/render.hpp"

#include <QtTest>

#include <cmath>
#include <memory>

using namespace noisetrail;

namespace {

/// A finished trajectory of constant images: x_t of step k is the value ramp[k],
/// x0_hat of step k is -ramp[k], the final samples ramp[S].
std::unique_ptr<Trajectory> constant_images(const std::vector<int>& timesteps, const std::vector<float>& ramp, int B = 4,
                                            int H = 6, int W = 5)
{
    const int S = int(timesteps.size());
    auto tr = std::make_unique<Trajectory>(std::vector<std::int64_t>{B, 1, H, W}, timesteps, Trajectory::Precision::Half);
    const std::size_t n = std::size_t(B) * H * W;
    for (int k = 0; k < S; ++k) {
        StepFrame f;
        f.step = k;
        f.steps = S;
        f.plan.t = timesteps[std::size_t(k)];
        f.shape = {B, 1, H, W};
        f.x_t.assign(n, ramp[std::size_t(k)]);
        f.x0_hat.assign(n, -ramp[std::size_t(k)]);
        f.eps_hat.assign(n, 0.f);
        f.x_prev.assign(n, ramp[std::size_t(k) + 1]);
        tr->append(f);
    }
    return tr;
}

std::unique_ptr<Trajectory> points(const std::vector<int>& timesteps, int B, float spread_start, float spread_end)
{
    const int S = int(timesteps.size());
    auto tr = std::make_unique<Trajectory>(std::vector<std::int64_t>{B, 2}, timesteps, Trajectory::Precision::Half);
    auto at = [&](int k) {
        const float s = spread_start + (spread_end - spread_start) * float(k) / float(S);
        std::vector<float> v;
        for (int i = 0; i < B; ++i) {
            v.push_back(s * std::cos(0.7f * float(i)));
            v.push_back(s * std::sin(0.7f * float(i)));
        }
        return v;
    };
    for (int k = 0; k < S; ++k) {
        StepFrame f;
        f.step = k;
        f.steps = S;
        f.plan.t = timesteps[std::size_t(k)];
        f.shape = {B, 2};
        f.x_t = at(k);
        f.x0_hat = at(S);
        f.eps_hat = at(0);
        f.x_prev = at(k + 1);
        tr->append(f);
    }
    return tr;
}

int grey_at(const RgbImage& img, const FrameRenderer::Rect& r)
{
    // Centre of the first sample's cell: 2 px padding, then the image.
    const auto* p = img.pixel(r.x + 4, r.y + 4);
    return p[0];
}

int expected_grey(float v) { return int(std::lround(std::clamp((v + 1.0) / 2.0, 0.0, 1.0) * 255)); }

/// A known colour image [3, H, W]: each channel its own ramp over the pixels, so a
/// channel mean, a swapped channel or a transposed image all read back wrong.
std::vector<float> colour_image(int H, int W, float scale = 1.f)
{
    std::vector<float> v(std::size_t(3) * H * W);
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x)
                v[(std::size_t(c) * H + y) * W + x] =
                    scale * std::clamp(-0.9f + 0.6f * float(c) + 0.11f * float(x) - 0.07f * float(y), -1.f, 1.f);
    return v;
}

} // namespace

class TestRender : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void step_at_follows_the_timeline_data()
    {
        QTest::addColumn<int>("t");
        QTest::addColumn<int>("available");
        QTest::addColumn<bool>("finished");
        QTest::addColumn<int>("step");
        // plan 80, 60, 40, 20, 0
        QTest::newRow("pure noise") << 999 << 5 << true << 0;
        QTest::newRow("on a step") << 60 << 5 << true << 1;
        QTest::newRow("between steps: the one above (not yet stepped)") << 59 << 5 << true << 1;
        QTest::newRow("just above a step") << 61 << 5 << true << 0;
        QTest::newRow("t = 0") << 0 << 5 << true << 4;
        QTest::newRow("final samples") << kFinalT << 5 << true << 5;
        QTest::newRow("not computed yet: newest") << 10 << 2 << false << 1;
        QTest::newRow("nothing yet") << 80 << 0 << false << -1;
    }
    void step_at_follows_the_timeline()
    {
        QFETCH(int, t);
        QFETCH(int, available);
        QFETCH(bool, finished);
        QFETCH(int, step);
        QCOMPARE(step_at({80, 60, 40, 20, 0}, t, available, finished), step);
    }

    void levels_are_the_union_of_plans_then_final()
    {
        QCOMPARE(animation_levels({{9, 6, 3, 0}, {8, 6, 4, 2, 0}}), (std::vector<int>{9, 8, 6, 4, 3, 2, 0, kFinalT}));
        const std::vector<int> lv{9, 8, 6, 4, 3, 2, 0, kFinalT};
        QCOMPARE(filmstrip_levels(lv, 3), (std::vector<int>{9, 3, kFinalT})); // indices 0, round(3.5), 7
        QCOMPARE(filmstrip_levels(lv, 2), (std::vector<int>{9, kFinalT}));
        QCOMPARE(filmstrip_levels(lv, 20), lv);
    }

    void fields_parse_and_print()
    {
        for (Field f : {Field::Xt, Field::X0Hat, Field::EpsHat})
            QCOMPARE(parse_field(to_string(f)), f);
        QVERIFY_THROWS_EXCEPTION(InputError, parse_field("x0"));
    }

    void panels_are_aligned_on_t()
    {
        // Panel A: 10 steps at t = 9..0; panel B: 2 steps at t = 5, 0.
        std::vector<int> a_ts, a_ramp_i;
        std::vector<float> a_ramp, b_ramp{-0.9f, 0.1f, 0.9f};
        for (int k = 0; k < 10; ++k)
            a_ts.push_back(9 - k);
        for (int k = 0; k <= 10; ++k)
            a_ramp.push_back(-1.f + 0.125f * float(k)); // exact in half precision
        auto a = constant_images(a_ts, a_ramp);
        auto b = constant_images({5, 0}, b_ramp);
        FrameRenderer r({{a.get(), "A", 0}, {b.get(), "B", 1}}, {});
        QCOMPARE(r.levels(), (std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, kFinalT}));
        struct Row {
            int t, a_step, b_step;
        };
        for (Row row : {Row{9, 0, 0}, Row{7, 2, 0}, Row{5, 4, 0}, Row{4, 5, 0}, Row{1, 8, 0}, Row{0, 9, 1}, Row{kFinalT, 10, 2}}) {
            const RgbImage img = r.render(row.t);
            QCOMPARE(grey_at(img, r.content_rect(0)), expected_grey(a_ramp[std::size_t(row.a_step)]));
            QCOMPARE(grey_at(img, r.content_rect(1)), expected_grey(b_ramp[std::size_t(row.b_step)]));
        }
        // x0_hat at the final position is the last step's prediction.
        FrameRenderer x0({{a.get(), "A", 0}}, {Field::X0Hat});
        QCOMPARE(grey_at(x0.render(kFinalT), x0.content_rect(0)), expected_grey(-a_ramp[9]));
    }

    void requested_size_is_exact_and_natural_size_even()
    {
        auto a = constant_images({3, 2, 1, 0}, {0, 0, 0, 0, 0}, 16, 28, 28);
        for (auto [w, h] : {std::pair{640, 360}, std::pair{333, 201}, std::pair{1280, 720}}) {
            FrameRenderer r({{a.get(), "A", 0}, {a.get(), "B", 1}}, {Field::Xt, w, h});
            const RgbImage img = r.render(2);
            QCOMPARE(img.width, w);
            QCOMPARE(img.height, h);
            QCOMPARE(int(img.rgb.size()), w * h * 3);
            for (int p = 0; p < 2; ++p) {
                const auto c = r.content_rect(p);
                QVERIFY(c.x >= 0 && c.y >= 0 && c.x + c.width <= w && c.y + c.height <= h);
            }
        }
        FrameRenderer natural({{a.get(), "A", 0}}, {});
        QCOMPARE(natural.width() % 2, 0);
        QCOMPARE(natural.height() % 2, 0);
        QCOMPARE(natural.render(0).width, natural.width());
    }

    void scatter_extent_is_fixed_and_covers_start_and_end()
    {
        auto a = points({4, 3, 2, 1, 0}, 64, 3.0f, 1.0f);
        auto b = points({4, 0}, 64, 3.0f, 0.5f);
        FrameRenderer r({{a.get(), "A", 0}, {b.get(), "B", 1}}, {Field::Xt, 400, 300});
        const Extent e = r.extent();
        QVERIFY(e.half >= 3.0); // x_T reaches radius 3
        QVERIFY(std::abs(e.cx) < 0.5 && std::abs(e.cy) < 0.5);
        // The frames differ (points move) but share the extent: the same grid lines.
        const RgbImage first = r.render(4), last = r.render(kFinalT);
        QVERIFY(!(first == last));
        QCOMPARE(first.width, 400);
    }

    void filmstrip_grows_by_columns_and_rows()
    {
        auto a = constant_images({5, 4, 3, 2, 1, 0}, {-1, -0.5f, 0, 0.5f, 1, 1, 1}, 9);
        auto b = constant_images({5, 0}, {-1, 0, 1}, 9);
        auto strip = [&](int k, int panels, std::vector<int> samples = {}) {
            std::vector<RenderPanel> ps{{a.get(), "A", 0}, {b.get(), "B", 1}};
            ps.resize(std::size_t(panels));
            return render_filmstrip(ps, {Field::Xt, k, samples, 64});
        };
        const RgbImage s2 = strip(2, 1), s3 = strip(3, 1), s4 = strip(4, 1), two = strip(4, 2);
        QVERIFY(s2.width > 0 && s2.height > 0);
        QCOMPARE(s4.width - s3.width, s3.width - s2.width); // one cell + gap per column
        QCOMPARE(s2.height, s4.height);
        QVERIFY(two.height > s4.height);
        QCOMPARE(two.width, s4.width);
        // Chosen samples: the same columns.
        QCOMPARE(strip(4, 1, {0, 4}).height > 0, true);
        QVERIFY_THROWS_EXCEPTION(InputError, strip(4, 1, {9}));
    }

    void colour_images_render_in_colour()
    {
        // A batch of two known RGB images through the grid: every screen pixel is
        // the ramp (v - lo) / (hi - lo) of its own channel (contract: data in [-1, 1]).
        const int H = 5, W = 7;
        std::vector<float> batch = colour_image(H, W);
        const std::vector<float> second = colour_image(H, W, -0.5f);
        batch.insert(batch.end(), second.begin(), second.end());
        const int zoom = 3, pad = 2;
        const RgbImage grid = image_grid(batch, 2, 3, H, W, -1, 1, zoom, ColourMap::Grey, pad, 40);
        for (int b = 0; b < 2; ++b)
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    const auto* px = grid.pixel(pad + b * (W * zoom + pad) + x * zoom + 1, pad + y * zoom + 1);
                    for (int c = 0; c < 3; ++c)
                        QCOMPARE(int(px[c]), expected_grey(batch[((std::size_t(b) * 3 + c) * H + y) * W + x]));
                }
        // eps_hat of a colour image: each channel around mid grey over [-limit, limit],
        // so 0 is grey and the hue is the direction of the noise.
        const std::vector<float> eps{3.f, 1.5f, -3.f, -0.75f, 0.f, 6.f}; // [3, 1, 2]: R, G, B planes of 2 pixels
        const RgbImage e = image_grid(eps, 1, 3, 1, 2, -3, 3, 1, ColourMap::Diverging, 0, 0);
        const int want[2][3] = {{255, 0, 128}, {191, 96, 255}};
        for (int x = 0; x < 2; ++x)
            for (int c = 0; c < 3; ++c)
                QCOMPARE(int(e.pixel(x, 0)[c]), want[x][c]);
        // One channel keeps the blue-white-red map: 0 is near-white, not grey.
        const RgbImage one = image_grid(std::vector<float>{0.f}, 1, 1, 1, 1, -3, 3, 1, ColourMap::Diverging, 0, 0);
        QCOMPARE(int(one.pixel(0, 0)[0]), 242);
    }

    void colour_frames_and_filmstrips_show_rgb()
    {
        // A colour run stored as the GUI and sessions store images (8 bits), drawn by
        // the frame renderer and the filmstrip: each channel of each pixel within one
        // 8-bit step of the stored value (the store's scale spans the batch's range).
        const int B = 4, H = 8, W = 8, S = 3;
        const std::vector<int> ts{20, 10, 0};
        const std::vector<float> img = colour_image(H, W);
        std::vector<float> x(std::size_t(B) * img.size());
        for (int b = 0; b < B; ++b)
            std::copy(img.begin(), img.end(), x.begin() + std::ptrdiff_t(b * img.size()));
        Trajectory tr({B, 3, H, W}, ts, Trajectory::Precision::UInt8);
        for (int k = 0; k < S; ++k) {
            StepFrame f;
            f.step = k;
            f.steps = S;
            f.plan.t = ts[std::size_t(k)];
            f.shape = {B, 3, H, W};
            f.x_t = f.x0_hat = f.x_prev = x;
            f.eps_hat.assign(x.size(), 0.f);
            for (std::size_t i = 0; i < x.size(); ++i)
                f.eps_hat[i] = 3.f * x[i];
            tr.append(f);
        }
        for (Field field : {Field::Xt, Field::X0Hat, Field::EpsHat}) {
            FrameRenderer r({{&tr, "colour", 0}}, {field});
            const RgbImage frame = r.render(kFinalT);
            const auto rect = r.content_rect(0);
            const double z = r.zoom();
            for (int y = 0; y < H; ++y)
                for (int xx = 0; xx < W; ++xx) {
                    // Sample 0's cell: 2 px padding, then each data pixel z x z screen pixels.
                    const auto* px = frame.pixel(rect.x + 2 + int((xx + 0.5) * z), rect.y + 2 + int((y + 0.5) * z));
                    for (int c = 0; c < 3; ++c) {
                        const float v = img[(std::size_t(c) * H + y) * W + xx];
                        // eps_hat = 3 x on [-3, 3] reads as x on [-1, 1].
                        QVERIFY2(std::abs(int(px[c]) - expected_grey(v)) <= 2,
                                 qPrintable(QString("%1 pixel %2,%3 channel %4: %5 for %6")
                                                .arg(QString::fromStdString(to_string(field)))
                                                .arg(xx)
                                                .arg(y)
                                                .arg(c)
                                                .arg(px[c])
                                                .arg(expected_grey(v))));
                    }
                }
        }
        FilmstripOptions fo;
        fo.field = Field::X0Hat;
        fo.levels = 2;
        fo.samples = {1};
        fo.cell = 4 * W + 4; // zoom 4: (cell - 2 x 2 padding) / W
        const RgbImage strip = render_filmstrip({{&tr, "colour", 0}}, fo);
        // The final column's cell is the last one in its row: find its colours by
        // scanning for the image's top-left pixel (a known, not a grey, colour).
        int found = 0;
        for (int y = 0; y < strip.height; ++y)
            for (int xx = 0; xx < strip.width; ++xx) {
                const auto* px = strip.pixel(xx, y);
                bool all = true;
                for (int c = 0; c < 3; ++c)
                    all = all && std::abs(int(px[c]) - expected_grey(img[std::size_t(c) * H * W])) <= 2;
                found += all;
            }
        QVERIFY2(found >= 2 * 16, qPrintable(QString::number(found))); // a 4 x 4 block in each of the 2 columns
    }

    void text_is_drawn_with_the_embedded_font()
    {
        RgbImage img(40, 20, 255);
        draw_text(img, 1, 1, "Hi", {0, 0, 0});
        int ink = 0;
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x)
                ink += img.pixel(x, y)[0] == 0;
        QVERIFY(ink > 10);
        QCOMPARE(text_width("Hi"), 12);
        QCOMPARE(text_height(2), 26);
        // Nothing outside the two glyph cells.
        for (int y = 0; y < img.height; ++y)
            for (int x = 13; x < img.width; ++x)
                QCOMPARE(int(img.pixel(x, y)[0]), 255);
    }
};

QTEST_GUILESS_MAIN(TestRender)
#include "tst_render.moc"
