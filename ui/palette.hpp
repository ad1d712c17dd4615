// The application's colours that carry meaning: one colour per panel (the
// Okabe-Ito hues, colour-blind safe) in a variant for light and one for dark
// backgrounds, the opacity of 2-D paths, and the dark palette itself. Each
// panel colour reaches 3:1 contrast against the plot/scatter background
// (WCAG 2.1, non-text contrast), solid and as a path at pathAlpha(); the
// lecture test (tests/ui/tst_lecture.cpp) checks it from relative luminance.
#pragma once
#include <QColor>
#include <QPalette>

namespace noisetrail::ui {

/// The dark palette of `noisetrail --dark` (plots and scatter draw on its Base).
QPalette darkPalette();

/// Whether a palette draws on a dark background (its Base darker than mid grey).
bool isDark(const QPalette& palette);

/// Panel `panel`'s colour (0-based, cycling over four) on a light or a dark background.
QColor panelColor(int panel, bool dark);
/// Panel `panel`'s colour on the application's palette.
QColor panelColor(int panel);

/// Opacity of a panel's 2-D paths when `paths` of them are drawn: fainter when
/// many overlap, never so faint that a single path drops below 3:1.
float pathAlpha(int paths);

} // namespace noisetrail::ui
