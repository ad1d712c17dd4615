// ImageGridView on a huge batch (issue 27): a session holding 10^6 8x8 images froze
// the window for minutes (every cell laid out in every paint). The grid draws at most
// kMaxShown samples with a note; a paint completes within a second whatever the batch.
#include "image_grid_view.hpp"
#include "render.hpp"

#include <QElapsedTimer>
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <vector>

using noisetrail::ui::ImageGridView;
using namespace noisetrail;

namespace {

/// `n` 8x8 images, copies of one (implicitly shared), so a batch of 10^6 is cheap to make.
std::vector<QImage> batch(int n)
{
    QImage one(8, 8, QImage::Format_Grayscale8);
    one.fill(200);
    return std::vector<QImage>(std::size_t(n), one);
}

} // namespace

class TestImageGrid : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void colourSamplesShowTheirColours()
    {
        // The panels' and the large view's sample images: a known RGB image [3, H, W]
        // (the second of a batch of two) comes back pixel by pixel, each channel on
        // its own ramp over the display range [-1, 1]; eps_hat of a colour image is
        // each channel around mid grey over [-3, 3].
        const int H = 3, W = 4;
        std::vector<float> values(std::size_t(2) * 3 * H * W, 0.f);
        auto at = [&](int c, int y, int x) -> float& { return values[std::size_t(3 * H * W) + (std::size_t(c) * H + y) * W + x]; };
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                at(0, y, x) = -1.f + 0.5f * float(x);
                at(1, y, x) = 1.f - 0.8f * float(y);
                at(2, y, x) = 0.25f * float(x - y);
            }
        auto level = [](float v, float lo, float hi) { return int(std::lround(std::clamp((v - lo) / (hi - lo), 0.f, 1.f) * 255)); };
        const std::vector<std::int64_t> shape{3, H, W};
        const QImage img = ui::sampleImage(values, shape, 1, Field::Xt, {-1.f, 1.f});
        QCOMPARE(img.size(), QSize(W, H));
        const QImage eps = ui::sampleImage(values, shape, 1, Field::EpsHat, {-3.f, 3.f});
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                const QRgb p = img.pixel(x, y), e = eps.pixel(x, y);
                QCOMPARE(qRed(p), level(at(0, y, x), -1, 1));
                QCOMPARE(qGreen(p), level(at(1, y, x), -1, 1));
                QCOMPARE(qBlue(p), level(at(2, y, x), -1, 1));
                QCOMPARE(qRed(e), level(at(0, y, x), -3, 3));
                QCOMPARE(qGreen(e), level(at(1, y, x), -3, 3));
                QCOMPARE(qBlue(e), level(at(2, y, x), -3, 3));
            }
    }

    void hugeBatchPaintsWithinASecond()
    {
        ImageGridView view;
        view.resize(900, 700);
        QElapsedTimer timer;
        timer.start();
        view.setImages(batch(1000000));
        const QPixmap shot = view.grab(); // runs paintEvent
        const qint64 ms = timer.elapsed();
        qInfo("%lld ms to set and paint 10^6 samples", static_cast<long long>(ms));
        QCOMPARE(view.count(), ImageGridView::kMaxShown);
        QCOMPARE(view.total(), 1000000);
        QVERIFY(!shot.isNull());
        // The shown cells are laid out inside the widget, above the note's line.
        const QRect last = view.cellRect(view.count() - 1);
        QVERIFY(!last.isEmpty());
        QVERIFY(view.rect().contains(last));
        QVERIFY(last.bottom() < view.height() - view.fontMetrics().height());
        // Hit testing is bounded too: every sample beyond the shown ones is no cell.
        QCOMPARE(view.cellRect(ImageGridView::kMaxShown), QRect());
        QCOMPARE(view.indexAt(last.center()), view.count() - 1);
    }

    void callerMayMakeOnlyTheShownImages()
    {
        ImageGridView view;
        view.resize(400, 300);
        view.setImages(batch(ImageGridView::kMaxShown), 5000000);
        QCOMPARE(view.count(), ImageGridView::kMaxShown);
        QCOMPARE(view.total(), 5000000);
        // A small batch is shown whole, with no note: its cells fill the height as before.
        view.setImages(batch(4));
        QCOMPARE(view.total(), 4);
        QCOMPARE(view.count(), 4);
        const QRect a = view.cellRect(0);
        QVERIFY(!a.isEmpty());
        // 4 squares in 400x300: two rows of 150 fill the height (no line kept for a note).
        QVERIFY(a.top() <= 2);
        QVERIFY(view.cellRect(3).bottom() >= 300 - 3);
    }
};

QTEST_MAIN(TestImageGrid)
#include "tst_image_grid.moc"
