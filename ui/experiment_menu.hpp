// The main window's Experiments menu (issue 13): one action per experiment,
// each opening (or raising) the Experiments view of the current model on that
// experiment's tab. Kept out of main_window.cpp, which only calls this once.
#pragma once
#include "experiment_worker.hpp"

#include <functional>

class QMainWindow;
class QMenu;

namespace noisetrail::ui {

class ExperimentDialog;

/// Add the menu to `window`'s menu bar. `modelPath` returns the current card
/// (empty while none is loaded: the actions are disabled), `seed` the shared seed.
QMenu* addExperimentsMenu(QMainWindow* window, std::function<QString()> modelPath, std::function<quint64()> seed);

/// The view the menu opened last (null if none is open).
ExperimentDialog* experimentDialog(QMainWindow* window);

} // namespace noisetrail::ui
