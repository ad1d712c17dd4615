#include "draw_data_view.hpp"
#include "palette.hpp"

#include <QFont>
#include <QImage>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QTimer>

#include <cmath>

namespace noisetrail::ui {

namespace {
constexpr int kRaster = 200; // preset rasters: 200 x 200 pixels over the square
constexpr double kPresetExtent = 1.6; // presets fill [-1.6, 1.6]^2, inside the canvas
} // namespace

DrawCanvas::DrawCanvas(QWidget* parent) : QWidget(parent)
{
    setObjectName("drawCanvas");
    setMouseTracking(false);
    setCursor(Qt::CrossCursor);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setToolTip(tr("Draw the data with the mouse: brush, spray or eraser (the buttons above); Ctrl+Z undoes"));
    spray_ = new QTimer(this);
    spray_->setInterval(40);
    connect(spray_, &QTimer::timeout, this, [this] {
        drawing_.dab();
        update();
        Q_EMIT changed();
    });
}

void DrawCanvas::setEditable(bool on)
{
    editable_ = on;
    if (!on && drawing_.stroking()) {
        drawing_.end();
        spray_->stop();
    }
    setCursor(on ? Qt::CrossCursor : Qt::ArrowCursor);
}

void DrawCanvas::setOverlay(std::vector<float> points, const QString& caption)
{
    overlay_ = std::move(points);
    caption_ = caption;
    update();
}

QPointF DrawCanvas::toPixel(double x, double y) const
{
    double px = 0, py = 0;
    mapping().toPixel(x, y, px, py);
    return {px, py};
}

void DrawCanvas::clear()
{
    drawing_.clear();
    update();
    Q_EMIT changed();
}

bool DrawCanvas::undo()
{
    if (drawing_.stroking())
        return false;
    const bool done = drawing_.undo();
    update();
    if (done)
        Q_EMIT changed();
    return done;
}

void DrawCanvas::presetRing(int n)
{
    drawing_.replace(PointDrawing::ring(n));
    update();
    Q_EMIT changed();
}

void DrawCanvas::presetTwoMoons(int n)
{
    drawing_.replace(PointDrawing::twoMoons(n));
    update();
    Q_EMIT changed();
}

void DrawCanvas::rasterPreset(const QImage& image, int n)
{
    std::vector<bool> ink(std::size_t(image.width() * image.height()));
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            ink[std::size_t(y * image.width() + x)] = qGray(image.pixel(x, y)) < 128;
    drawing_.replace(PointDrawing::fromRaster(ink, image.width(), image.height(), kPresetExtent, n));
    update();
    Q_EMIT changed();
}

void DrawCanvas::presetSmiley(int n)
{
    // A face outline, two eyes and a smile, drawn with strokes the width a brush makes.
    QImage img(kRaster, kRaster, QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(QPen(Qt::black, 12, Qt::SolidLine, Qt::RoundCap));
    p.setBrush(Qt::NoBrush);
    p.drawEllipse(QRectF(16, 16, 168, 168));
    p.setBrush(Qt::black);
    p.setPen(Qt::NoPen);
    p.drawEllipse(QPointF(72, 76), 12, 16);
    p.drawEllipse(QPointF(128, 76), 12, 16);
    p.setPen(QPen(Qt::black, 12, Qt::SolidLine, Qt::RoundCap));
    p.setBrush(Qt::NoBrush);
    p.drawArc(QRectF(52, 60, 96, 84), -20 * 16, -140 * 16); // the lower half: a smile
    p.end();
    rasterPreset(img, n);
}

bool DrawCanvas::presetText(const QString& text, int n)
{
    if (text.trimmed().isEmpty())
        return false;
    QImage img(kRaster, kRaster, QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter p(&img);
    QFont f = font();
    f.setBold(true);
    // The largest size whose text fits the square.
    for (int px = 180; px >= 12; px -= 4) {
        f.setPixelSize(px);
        const QRect r = QFontMetrics(f).boundingRect(text);
        if (r.width() <= kRaster - 8 && r.height() <= kRaster - 8)
            break;
    }
    p.setFont(f);
    p.setPen(Qt::black);
    p.drawText(img.rect(), Qt::AlignCenter, text);
    p.end();
    bool inked = false;
    for (int y = 0; y < img.height() && !inked; ++y)
        for (int x = 0; x < img.width() && !inked; ++x)
            inked = qGray(img.pixel(x, y)) < 128;
    if (!inked)
        return false;
    rasterPreset(img, n);
    return true;
}

void DrawCanvas::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const bool dark = isDark(palette());
    p.fillRect(rect(), palette().color(QPalette::Window));
    const DrawMapping m = mapping();
    const QRectF square(m.left(), m.top(), m.side(), m.side());
    p.fillRect(square, palette().color(QPalette::Base));
    // Unit grid: the axes and the lines at +-1, so the scale of the data is visible.
    p.setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DotLine));
    for (int k = -1; k <= 1; ++k) {
        const QPointF a = toPixel(k, -kDrawExtent), b = toPixel(k, kDrawExtent);
        const QPointF c = toPixel(-kDrawExtent, k), d = toPixel(kDrawExtent, k);
        p.drawLine(a, b);
        p.drawLine(c, d);
    }
    p.setPen(QPen(palette().color(QPalette::Mid), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(square);

    const auto& pts = drawing_.points();
    const QColor ink = dark ? QColor(220, 220, 220) : QColor(60, 60, 60);
    const double r = std::max(1.5, m.side() / 300.0);
    p.setPen(Qt::NoPen);
    p.setBrush(overlay_.empty() ? ink : QColor(ink.red(), ink.green(), ink.blue(), 110));
    for (std::size_t i = 0; i + 1 < pts.size(); i += 2)
        p.drawEllipse(toPixel(pts[i], pts[i + 1]), r, r);
    if (!overlay_.empty()) {
        // The samples in panel 1's colour over the data in grey.
        QColor c = panelColor(1, dark);
        c.setAlpha(200);
        p.setBrush(c);
        for (std::size_t i = 0; i + 1 < overlay_.size(); i += 2)
            p.drawEllipse(toPixel(overlay_[i], overlay_[i + 1]), r * 1.2, r * 1.2);
    }
    p.setPen(palette().color(QPalette::Text));
    const QString words = caption_.isEmpty()
                              ? (pts.empty() ? tr("Draw here with the mouse, or pick a preset")
                                             : tr("%n point(s) drawn", nullptr, drawing_.count()))
                              : caption_;
    p.drawText(square.adjusted(6, 4, -6, -4), Qt::AlignTop | Qt::AlignLeft, words);
}

void DrawCanvas::mousePressEvent(QMouseEvent* e)
{
    if (!editable_ || e->button() != Qt::LeftButton)
        return QWidget::mousePressEvent(e);
    double x = 0, y = 0;
    mapping().toData(e->position().x(), e->position().y(), x, y);
    drawing_.begin(tool_, x, y);
    if (tool_ == PointDrawing::Tool::Spray)
        spray_->start();
    update();
    Q_EMIT changed();
}

void DrawCanvas::mouseMoveEvent(QMouseEvent* e)
{
    if (!drawing_.stroking())
        return QWidget::mouseMoveEvent(e);
    double x = 0, y = 0;
    mapping().toData(e->position().x(), e->position().y(), x, y);
    drawing_.moveTo(x, y);
    update();
    Q_EMIT changed();
}

void DrawCanvas::mouseReleaseEvent(QMouseEvent* e)
{
    if (!drawing_.stroking())
        return QWidget::mouseReleaseEvent(e);
    drawing_.end();
    spray_->stop();
}

} // namespace noisetrail::ui
