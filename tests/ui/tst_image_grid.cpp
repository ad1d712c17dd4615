// ImageGridView on a huge batch (issue 27): a session holding 10^6 8x8 images froze
// the window for minutes (every cell laid out in every paint). The grid draws at most
// kMaxShown samples with a note; a paint completes within a second whatever the batch.
#include "image_grid_view.hpp"

#include <QElapsedTimer>
#include <QtTest/QtTest>

#include <vector>

using noisetrail::ui::ImageGridView;

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
