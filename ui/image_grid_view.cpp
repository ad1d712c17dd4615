#include "image_grid_view.hpp"

#include <QMouseEvent>
#include <QPainter>

#include <cmath>

namespace noisetrail::ui {

ImageGridView::ImageGridView(QWidget* parent) : QWidget(parent)
{
    setMouseTracking(true);
    setMinimumSize(120, 120);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setToolTip(tr("The batch at the timeline's cursor. Click a sample to open it large with its filmstrip."));
    setCursor(Qt::PointingHandCursor);
}

void ImageGridView::setImages(std::vector<QImage> images)
{
    images_ = std::move(images);
    update();
}

int ImageGridView::columns() const
{
    const int n = int(images_.size());
    if (n == 0)
        return 1;
    // Columns that make the cells as large as possible in this aspect ratio.
    int best = 1;
    double bestSide = 0;
    for (int c = 1; c <= n; ++c) {
        const int r = (n + c - 1) / c;
        const double side = std::min(double(width()) / c, double(height()) / r);
        if (side > bestSide) {
            bestSide = side;
            best = c;
        }
    }
    return best;
}

QRect ImageGridView::cellRect(int index) const
{
    const int n = int(images_.size());
    if (index < 0 || index >= n)
        return {};
    const int c = columns(), r = (n + c - 1) / c;
    const int side = std::max(1, std::min(width() / c, height() / r));
    const int x0 = (width() - side * c) / 2, y0 = (height() - side * r) / 2;
    const int gap = side > 40 ? 2 : 1;
    return QRect(x0 + (index % c) * side + gap, y0 + (index / c) * side + gap, side - 2 * gap, side - 2 * gap);
}

int ImageGridView::indexAt(QPoint pos) const
{
    for (int i = 0; i < int(images_.size()); ++i)
        if (cellRect(i).contains(pos))
            return i;
    return -1;
}

void ImageGridView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    if (images_.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("Press Run to sample"));
        return;
    }
    // Nearest-neighbour scaling: the pixels of a 28x28 digit stay honest.
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    for (int i = 0; i < int(images_.size()); ++i) {
        const QRect r = cellRect(i);
        p.drawImage(r, images_[i]);
        if (i == hover_) {
            p.setPen(QPen(palette().color(QPalette::Highlight), 2));
            p.drawRect(r.adjusted(0, 0, -1, -1));
        }
    }
}

void ImageGridView::mousePressEvent(QMouseEvent* e)
{
    const int i = indexAt(e->position().toPoint());
    if (i >= 0 && e->button() == Qt::LeftButton)
        Q_EMIT sampleClicked(i);
}

void ImageGridView::mouseMoveEvent(QMouseEvent* e)
{
    const int i = indexAt(e->position().toPoint());
    if (i != hover_) {
        hover_ = i;
        update();
    }
}

void ImageGridView::leaveEvent(QEvent*)
{
    hover_ = -1;
    update();
}

} // namespace noisetrail::ui
