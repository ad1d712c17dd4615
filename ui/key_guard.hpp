// Controls that change the run (combo boxes, spin boxes, sliders) take keys and
// the mouse wheel only once the user chose them: a click into them, or Tab. Focus
// that arrives any other way (the window opening, a dialog closing, a run
// starting) does not let a presenter's clicker (Page Down), an arrow key or a
// stray wheel turn change the model or a panel's sampler.
#pragma once

class QWidget;

namespace noisetrail::ui {

/// Guard every combo box, spin box and slider under `root` (call again for
/// widgets made later; guarding twice is harmless).
void guardControls(QWidget* root);

/// Whether `control` has been chosen by the user since it last lost focus.
bool isChosen(const QWidget* control);

} // namespace noisetrail::ui
