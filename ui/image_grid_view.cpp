#include "image_grid_view.hpp"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
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

void ImageGridView::setImages(std::vector<QImage> images, int total)
{
    total_ = std::max(total, int(images.size()));
    if (images.size() > std::size_t(kMaxShown))
        images.resize(std::size_t(kMaxShown));
    images_ = std::move(images);
    if (hover_ >= int(images_.size()))
        hover_ = -1;
    update();
}

void ImageGridView::setStrips(std::vector<ClassStrip> strips)
{
    if (strips.size() > std::size_t(kMaxShown))
        strips.resize(std::size_t(kMaxShown)); // one per drawn sample
    strips_ = std::move(strips);
    update();
}

int ImageGridView::noteHeight() const
{
    return total_ > int(images_.size()) ? fontMetrics().height() + 4 : 0;
}

void ImageGridView::setShowStrips(bool on)
{
    showStrips_ = on;
    update();
}

bool ImageGridView::stripsShown() const
{
    return showStrips_ && !strips_.empty() && strips_.size() == images_.size();
}

ImageGridView::Layout ImageGridView::layout() const
{
    Layout l;
    const int n = int(images_.size());
    if (n == 0)
        return l;
    // A row is a square image plus, when strips are shown, its strip: a seventh
    // of the cell (at least 4 px), thick enough to read, thin beside the digit.
    const double rowFactor = stripsShown() ? 8.0 / 7.0 : 1.0;
    // Columns that make the cells as large as possible in this aspect ratio.
    double bestSide = 0;
    for (int c = 1; c <= n; ++c) {
        const int r = (n + c - 1) / c;
        const double side = std::min(double(width()) / c, double(height() - noteHeight()) / (r * rowFactor));
        if (side > bestSide) {
            bestSide = side;
            l.columns = c;
        }
    }
    l.rows = (n + l.columns - 1) / l.columns;
    l.side = std::max(1, int(bestSide));
    l.strip = stripsShown() ? std::max(4, l.side / 7) : 0;
    while (l.side > 1 && (l.side + l.strip) * l.rows > height() - noteHeight() && l.strip > 0) {
        --l.side;
        l.strip = std::max(4, l.side / 7);
    }
    l.x0 = (width() - l.side * l.columns) / 2;
    l.y0 = (height() - noteHeight() - (l.side + l.strip) * l.rows) / 2;
    l.gap = l.side > 40 ? 2 : 1;
    return l;
}

QRect ImageGridView::cellRect(int index) const { return cellRect(layout(), index); }

QRect ImageGridView::cellRect(const Layout& l, int index) const
{
    if (index < 0 || index >= int(images_.size()))
        return {};
    return QRect(l.x0 + (index % l.columns) * l.side + l.gap, l.y0 + (index / l.columns) * (l.side + l.strip) + l.gap,
                 l.side - 2 * l.gap, l.side - 2 * l.gap);
}

QRect ImageGridView::stripRect(int index) const { return stripRect(layout(), index); }

QRect ImageGridView::stripRect(const Layout& l, int index) const
{
    const QRect cell = cellRect(l, index);
    if (cell.isEmpty() || l.strip == 0)
        return {};
    return QRect(cell.left(), cell.bottom() + 1 + l.gap, cell.width(), l.strip - l.gap);
}

int ImageGridView::indexAt(QPoint pos) const
{
    const Layout l = layout(); // once: it searches every column count
    for (int i = 0; i < int(images_.size()); ++i)
        if (cellRect(l, i).contains(pos))
            return i;
    return -1;
}

void ImageGridView::setEmptyText(const QString& text)
{
    emptyText_ = text;
    update();
}

void ImageGridView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    if (images_.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(8, 0, -8, 0), Qt::AlignCenter | Qt::TextWordWrap,
                   emptyText_.isEmpty() ? tr("Press Run to sample") : emptyText_);
        return;
    }
    const Layout l = layout();
    // Nearest-neighbour scaling: the pixels of a 28x28 digit stay honest.
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    for (int i = 0; i < int(images_.size()); ++i) {
        const QRect r = cellRect(l, i);
        p.drawImage(r, images_[i]);
        if (const QRect sr = stripRect(l, i); !sr.isEmpty()) {
            p.fillRect(sr, palette().color(QPalette::Base)); // not reached yet
            paintClassStrip(p, sr, strips_[std::size_t(i)]);
        }
        if (i == hover_) {
            p.setPen(QPen(palette().color(QPalette::Highlight), 2));
            p.drawRect(r.adjusted(0, 0, -1, -1));
        }
    }
    if (const int h = noteHeight(); h > 0) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(QRect(0, height() - h, width(), h), Qt::AlignCenter,
                   tr("showing %L1 of %L2 samples").arg(int(images_.size())).arg(total_));
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
