#include "icons.hpp"

#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace noisetrail::ui {

QIcon glyphIcon(Glyph g, const QColor& color)
{
    QIcon icon;
    for (int size : {16, 24, 32, 48}) {
        QPixmap pm(size, size);
        pm.fill(Qt::transparent);
        QPainter p(&pm);
        p.setRenderHint(QPainter::Antialiasing);
        p.scale(size / 16.0, size / 16.0);
        p.setPen(Qt::NoPen);
        p.setBrush(color);
        auto tri = [&](double x0, double x1, bool right) {
            QPainterPath path;
            if (right) {
                path.moveTo(x0, 3);
                path.lineTo(x1, 8);
                path.lineTo(x0, 13);
            } else {
                path.moveTo(x1, 3);
                path.lineTo(x0, 8);
                path.lineTo(x1, 13);
            }
            path.closeSubpath();
            p.drawPath(path);
        };
        switch (g) {
        case Glyph::Play: tri(4, 13, true); break;
        case Glyph::Pause: p.drawRect(QRectF(4, 3, 3, 10)); p.drawRect(QRectF(9, 3, 3, 10)); break;
        case Glyph::Stop: p.drawRoundedRect(QRectF(3.5, 3.5, 9, 9), 1.5, 1.5); break;
        case Glyph::StepBack: p.drawRect(QRectF(3, 3, 2, 10)); tri(5.5, 13, false); break;
        case Glyph::StepForward: tri(3, 10.5, true); p.drawRect(QRectF(11, 3, 2, 10)); break;
        case Glyph::ToStart: p.drawRect(QRectF(2, 3, 2, 10)); tri(4, 9, false); tri(9, 14, false); break;
        case Glyph::ToEnd: tri(2, 7, true); tri(7, 12, true); p.drawRect(QRectF(12, 3, 2, 10)); break;
        case Glyph::Dice: {
            p.setPen(QPen(color, 1.2));
            p.setBrush(Qt::NoBrush);
            p.drawRoundedRect(QRectF(2.5, 2.5, 11, 11), 2.5, 2.5);
            p.setPen(Qt::NoPen);
            p.setBrush(color);
            for (QPointF c : {QPointF(5.5, 5.5), QPointF(10.5, 10.5), QPointF(8, 8), QPointF(10.5, 5.5), QPointF(5.5, 10.5)})
                p.drawEllipse(c, 1.1, 1.1);
            break;
        }
        }
        p.end();
        icon.addPixmap(pm);
    }
    return icon;
}

} // namespace noisetrail::ui
