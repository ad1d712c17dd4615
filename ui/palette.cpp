#include "palette.hpp"

#include <QGuiApplication>

namespace noisetrail::ui {

QPalette darkPalette()
{
    QPalette p;
    const QColor window(37, 40, 46), base(27, 29, 34), text(225, 228, 232), mid(90, 95, 105);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window.lighter(115));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::Mid, mid);
    p.setColor(QPalette::Highlight, QColor(86, 156, 214));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::PlaceholderText, text.darker(150));
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Disabled, QPalette::Text, mid.lighter(130));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, mid.lighter(130));
    p.setColor(QPalette::Disabled, QPalette::WindowText, mid.lighter(130));
    return p;
}

bool isDark(const QPalette& palette) { return palette.color(QPalette::Base).lightnessF() < 0.5; }

QColor panelColor(int panel, bool dark)
{
    // Okabe & Ito's blue, orange, bluish green and reddish purple. Where the
    // original fails 3:1 as an 80% path on the background, it is moved toward
    // black (light) or white (dark) just far enough: orange and purple on
    // white, blue on the dark base.
    static const QColor light[] = {QColor(0, 114, 178), QColor(156, 108, 0), QColor(0, 137, 100),
                                   QColor(161, 96, 132)};
    static const QColor onDark[] = {QColor(41, 137, 190), QColor(230, 159, 0), QColor(0, 158, 115),
                                    QColor(204, 121, 167)};
    const int i = ((panel % 4) + 4) % 4;
    return dark ? onDark[i] : light[i];
}

QColor panelColor(int panel) { return panelColor(panel, isDark(QGuiApplication::palette())); }

float pathAlpha(int paths) { return paths > 50 ? 0.8f : 0.9f; }

} // namespace noisetrail::ui
