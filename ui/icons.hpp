// Media and run icons painted in the palette's text colour, so they read on
// light and dark themes alike (the style's standard icons can vanish on dark).
#pragma once
#include <QColor>
#include <QIcon>

namespace noisetrail::ui {

enum class Glyph { Play, Pause, Stop, StepBack, StepForward, ToStart, ToEnd, Dice };
QIcon glyphIcon(Glyph glyph, const QColor& color);

} // namespace noisetrail::ui
