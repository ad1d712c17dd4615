// `noisetrail-cli session html` in a real browser (issue 25): Debian's headless
// Chromium opens the page at three slider positions (#step=K, which only the
// page's own script reads) and its screenshots show, in the DDIM panel, the
// frames the renderer of `session export` draws from the stored session at those
// t; a hostile model name and caption stay text. PNG encoding round-trips
// through Qt's own decoder.
#include "session_util.hpp"
#include "test_util.hpp"

#include "noisetrail/image_io.hpp"
#include "noisetrail/interactive_page.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/session.hpp"

#include <QFile>
#include <QImage>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

#include <cmath>
#include <limits>
#include <optional>
#include <random>

using namespace noisetrail;

namespace {

const char* const kHostileName = "</script><script>alert(1);document.documentElement.setAttribute('data-pwned','1')</script>";
const char* const kHostileCaption = "DDIM <img src=x onerror=\"document.body.setAttribute('data-pwned','2')\"> & co";

/// Mean absolute difference per channel of `img` at (x, y) against `truth`, or
/// nullopt where it does not fit.
std::optional<double> region_diff(const QImage& img, int x, int y, const RgbImage& truth)
{
    if (x < 0 || y < 0 || x + truth.width > img.width() || y + truth.height > img.height())
        return std::nullopt;
    double sum = 0;
    for (int j = 0; j < truth.height; ++j)
        for (int i = 0; i < truth.width; ++i) {
            const QRgb c = img.pixel(x + i, y + j);
            const auto* t = truth.pixel(i, j);
            sum += std::abs(qRed(c) - t[0]) + std::abs(qGreen(c) - t[1]) + std::abs(qBlue(c) - t[2]);
        }
    return sum / (3.0 * truth.width * truth.height);
}

/// Where in the screenshot `truth` matches best: candidates are the places where
/// its whole first row matches (the grid's padding), then the full region decides.
std::pair<QPoint, double> best_match(const QImage& img, const RgbImage& truth)
{
    QPoint best(-1, -1);
    double best_diff = std::numeric_limits<double>::infinity();
    auto close = [](QRgb c, const std::uint8_t* t) {
        return std::abs(qRed(c) - t[0]) <= 6 && std::abs(qGreen(c) - t[1]) <= 6 && std::abs(qBlue(c) - t[2]) <= 6;
    };
    for (int y = 0; y + truth.height <= img.height(); ++y)
        for (int x = 0; x + truth.width <= img.width(); ++x) {
            bool row = true;
            for (int i = 0; i < truth.width && row; ++i)
                row = close(img.pixel(x + i, y), truth.pixel(i, 0));
            if (!row)
                continue;
            const double d = *region_diff(img, x, y, truth);
            if (d < best_diff) {
                best_diff = d;
                best = {x, y};
            }
        }
    return {best, best_diff};
}

} // namespace

class TestHtmlPage : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString chromium_;
    QString session_, page_;

    /// Run headless Chromium on the page with `fragment`; its stdout (for --dump-dom) or "" on failure.
    QByteArray chromium(const QStringList& mode, const QString& fragment)
    {
        QProcess p;
        p.setProcessChannelMode(QProcess::SeparateChannels);
        QStringList args{"--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                         "--force-device-scale-factor=1", "--virtual-time-budget=5000",
                         "--user-data-dir=" + dir_.filePath("profile"), "--window-size=1200,900"};
        args += mode;
        args << QUrl::fromLocalFile(page_).toString() + fragment;
        p.start(chromium_, args);
        if (!p.waitForFinished(180000)) { // a slow start under load is fine; a hang is not
            p.kill();
            p.waitForFinished();
            qWarning("chromium did not finish: %s", p.readAllStandardError().constData());
            return {};
        }
        if (p.exitCode() != 0)
            qWarning("chromium exited with %d: %s", p.exitCode(), p.readAllStandardError().constData());
        return p.readAllStandardOutput();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        for (const char* name : {"chromium", "chromium-browser"})
            if (chromium_.isEmpty())
                chromium_ = QStandardPaths::findExecutable(name);
        if (chromium_.isEmpty())
            QFAIL("headless Chromium not found: install Debian's package 'chromium' "
                  "(scripts/setup.sh installs it for the tests: bash scripts/setup.sh --tests)");
        Session s = test::make_session(dir_.filePath("card.json").toStdString());
        s.model_name = kHostileName;
        s.panels[1].caption = kHostileCaption;
        session_ = dir_.filePath("run.ntsession");
        write_session(session_.toStdString(), s);
        page_ = dir_.filePath("page.html");
        const auto r = test::run_cli({"session", "html", session_, "--out", page_, "--frames", "0"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("wrote"), qPrintable(r.err));
    }

    // The page as text: one file, nothing fetched, the hostile strings escaped.
    void selfContained()
    {
        QFile f(page_);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray html = f.readAll();
        QCOMPARE(html.count("<script"), 2); // the data and the page's script; none from the session
        QVERIFY(!html.contains("http://") || html.count("http://") == html.count("http://www.w3.org/2000/svg"));
        QVERIFY(!html.contains("https://"));
        QVERIFY(!html.contains(" src=\"http"));
        QVERIFY(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)")); // the title and heading, as text
    }

    // Headless Chromium runs the page's script: the hostile strings are shown as text,
    // nothing of them ran.
    void hostileTextStaysText()
    {
        const QByteArray dom = chromium({"--dump-dom"}, "#step=0");
        QVERIFY2(!dom.isEmpty(), "chromium --dump-dom gave nothing");
        // Had either run, an element would carry the attribute (the payloads hold its name as text only).
        QVERIFY2(!dom.contains("data-pwned=\""), dom.left(2000).constData());
        QVERIFY(dom.contains("setAttribute('data-pwned','1')")); // the name is there, as text
        QCOMPARE(dom.count("<script"), 2);
        QVERIFY(dom.contains("<figcaption>DDIM &lt;img src=x onerror=")); // the caption, as text, in its panel
        QVERIFY(dom.contains("step 0 of 2")); // the script ran and labelled the panels
    }

    // Three slider positions set through the URL fragment: the DDIM panel (2 steps,
    // beside a 5-step DDPM panel) shows the exporter's frame at each t.
    void scrubsLikeTheExporter()
    {
        const Session s = read_session(session_.toStdString());
        const auto panels = render_panels(s);
        FrameRenderer renderer(panels, RenderOptions{});
        const std::vector<int> levels = page_levels(s, 0);
        QCOMPARE(levels, renderer.levels()); // --frames 0: every level of the exporter
        const Trajectory& ddim = *s.panels[1].trajectory;
        // The first position at which the DDIM panel shows each of its states.
        std::vector<int> positions;
        int shown = -2;
        for (int k = 0; k < int(levels.size()); ++k) {
            const int step = step_at(ddim.timesteps(), levels[std::size_t(k)], ddim.size(), ddim.finished());
            if (step != shown)
                positions.push_back(k);
            shown = step;
        }
        QCOMPARE(int(positions.size()), 3); // x_T, after step 0, the final samples
        QVERIFY(positions[1] > 1);          // not simply the position: aligned on t

        const auto rect = renderer.content_rect(1);
        std::vector<RgbImage> truths;
        for (int k : positions) {
            const RgbImage frame = renderer.render(levels[std::size_t(k)]);
            RgbImage crop(rect.width, rect.height);
            for (int y = 0; y < rect.height; ++y)
                for (int x = 0; x < rect.width; ++x)
                    std::copy_n(frame.pixel(rect.x + x, rect.y + y), 3, crop.pixel(x, y));
            truths.push_back(crop);
        }
        for (std::size_t a = 0; a < truths.size(); ++a)
            for (std::size_t b = a + 1; b < truths.size(); ++b)
                QVERIFY(truths[a] != truths[b]); // otherwise the test could not tell the positions apart

        for (std::size_t i = 0; i < positions.size(); ++i) {
            const QString shot = dir_.filePath(QString("shot%1.png").arg(i));
            QFile::remove(shot);
            chromium({"--screenshot=" + shot}, QString("#step=%1").arg(positions[i]));
            QImage img(shot);
            QVERIFY2(!img.isNull(), qPrintable("no screenshot from chromium at #step=" + QString::number(positions[i])));
            const auto [at, diff] = best_match(img, truths[i]);
            QVERIFY2(diff < 2.0, qPrintable(QString("position %1: the exporter's DDIM frame is not on the page "
                                                    "(best mean difference %2 at %3,%4; screenshot %5)")
                                                .arg(positions[i]).arg(diff).arg(at.x()).arg(at.y()).arg(shot)));
            // The same place holds none of the other positions' frames.
            for (std::size_t j = 0; j < truths.size(); ++j)
                if (j != i)
                    QVERIFY(*region_diff(img, at.x(), at.y(), truths[j]) > 10.0);
            // The DDPM panel is left of it, as in the exporter's frame.
            const auto [at0, diff0] = best_match(img, [&] {
                const RgbImage frame = renderer.render(levels[std::size_t(positions[i])]);
                const auto r0 = renderer.content_rect(0);
                RgbImage crop(r0.width, r0.height);
                for (int y = 0; y < r0.height; ++y)
                    std::copy_n(frame.pixel(r0.x, r0.y + y), std::size_t(r0.width) * 3, crop.pixel(0, y));
                return crop;
            }());
            QVERIFY(diff0 < 2.0);
            QVERIFY(at0.x() < at.x());
        }
    }

    // The PNG coder: grey, palette and RGB pictures come back exactly through Qt's decoder.
    void pngRoundTrip_data()
    {
        QTest::addColumn<int>("colours");
        QTest::newRow("grey") << 1;
        QTest::newRow("palette") << 200;
        QTest::newRow("rgb") << 5000;
    }
    void pngRoundTrip()
    {
        QFETCH(int, colours);
        std::mt19937 rng(7);
        std::vector<std::array<std::uint8_t, 3>> table;
        for (int i = 0; i < colours; ++i) {
            const auto v = std::uint8_t(rng());
            table.push_back(colours == 1 ? std::array<std::uint8_t, 3>{v, v, v}
                                         : std::array<std::uint8_t, 3>{std::uint8_t(rng()), std::uint8_t(rng()), v});
        }
        RgbImage img(53, 31);
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x) {
                auto c = colours == 1 ? std::array<std::uint8_t, 3>{std::uint8_t(rng()), 0, 0} : table[rng() % table.size()];
                if (colours == 1)
                    c[1] = c[2] = c[0];
                std::copy(c.begin(), c.end(), img.pixel(x, y));
            }
        const std::string png = encode_png(img);
        QImage back;
        QVERIFY(back.loadFromData(reinterpret_cast<const uchar*>(png.data()), int(png.size()), "PNG"));
        QCOMPARE(back.width(), img.width);
        QCOMPARE(back.height(), img.height);
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x) {
                const QRgb c = back.pixel(x, y);
                const auto* t = img.pixel(x, y);
                QCOMPARE((std::array<int, 3>{qRed(c), qGreen(c), qBlue(c)}), (std::array<int, 3>{t[0], t[1], t[2]}));
            }
        // The colour type (PNG spec 11.2.2) is the smallest the picture allows.
        QCOMPARE(int(std::uint8_t(png[25])), colours == 1 ? 0 : colours <= 256 ? 3 : 2);
    }

    void badArguments()
    {
        const auto r = test::run_cli({"session", "html", session_});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--out"), qPrintable(r.err));
        const auto f = test::run_cli({"session", "html", session_, "--out", dir_.filePath("x.html"), "--fields", "x_q"});
        QCOMPARE(f.code, 2);
        QVERIFY2(f.err.contains("--fields"), qPrintable(f.err));
        QVERIFY(!QFile::exists(dir_.filePath("x.html")));
    }
};

QTEST_GUILESS_MAIN(TestHtmlPage)
#include "tst_html_page.moc"
