// Start-up and quitting steps of the window that must not block or lose a message (issue 27),
// apart from app/gui/main.cpp so that tests can run them.
#pragma once
#include <QString>

#include <chrono>

namespace noisetrail::ui {

class MainWindow;

/// The settings files QSettings would open for this application (organization and
/// application names set): the user's and the system's, for the application and the
/// organization. "" when each is a regular file or absent; else a message naming the
/// first that is not (a FIFO there made QSettings' constructor block for ever).
QString unusableSettingsFile();

/// When a settings file is unusable, point QSettings at `folder` (an empty one that
/// lives as long as the application) so that the program runs without settings,
/// and return the message to say once; "" when the settings are usable.
QString guardSettings(const QString& folder);

/// Open the run `file` once the window's start-up model is ready, so that an error
/// about it stays shown (opened at once, loading the model cleared it).
void openRunAtStartup(MainWindow& window, const QString& file);

/// Call when the event loop has ended (the window closed, its settings written). The
/// teardown that follows joins the worker threads, which cannot be interrupted inside a
/// model call: a TorchScript module that never returns kept the process alive for ever
/// after Quit. If the process still runs after `limit`, say on stderr that the model did
/// not respond and end it with `code` (std::_Exit: nothing more is saved or destroyed).
void endIfTeardownHangs(int code, std::chrono::milliseconds limit);

} // namespace noisetrail::ui
