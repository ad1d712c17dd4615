// The window's saved runs and exports: File > Save Run / Open Run / Recent Runs,
// the question before an unsaved run is discarded, Export > Animation and
// Filmstrip. A QObject the window owns, working on the RunDocument; it tells the
// window what to show through signals. Sessions, rendering and encoding are
// core's (noisetrail/session.hpp, render.hpp, animation.hpp): the GUI and
// `noisetrail-cli session` share them.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/interactive_page.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/trajectory.hpp"

#include <QObject>
#include <QStringList>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

class QMenu;
class QMimeData;
class QWidget;

namespace noisetrail::ui {

class ExportJob;
class RunDocument;
struct LoadedModel;

/// Recently used files, newest first, with their menu; remembered in the settings
/// under `key` when the window uses settings.
class RecentList {
public:
    void setup(const QString& key, bool useSettings, QMenu* menu, std::function<void(const QString&)> open);
    void add(const QString& path);
    const QStringList& files() const { return files_; }

private:
    void fill();
    QString key_;
    bool useSettings_ = false;
    QMenu* menu_ = nullptr;
    std::function<void(const QString&)> open_;
    QStringList files_;
};

/// The model card dropped on the window, or empty with `error` saying why not
/// (nothing local, several files, not a .json card).
QString droppedCard(const QMimeData* data, QString* error);

class RunFiles : public QObject {
    Q_OBJECT
public:
    /// `window` parents the dialogs; `field` is the field the window shows (the
    /// exports' default). Without settings (tests) nothing is read or written
    /// and nothing asks before a run is discarded unless `askBeforeDiscard`.
    RunFiles(RunDocument* doc, QWidget* window, std::function<Field()> field, bool useSettings, bool askBeforeDiscard);
    /// Cancels a session being read and waits for its thread (a chunk or a block).
    ~RunFiles() override;

    /// File > Save Run, Open Run, Recent Runs; Export > Animation, Filmstrip.
    void addFileActions(QMenu* file);
    /// File > Open Recent (model cards): `open` loads one.
    void setRecentCardsMenu(QMenu* menu, std::function<void(const QString&)> open);
    void addRecentCard(const QString& path) { recentCards_.add(path); }
    void addExportActions(QMenu* exportMenu);

    /// The document's session, or nullptr after one error: `message` with %1 for why.
    std::shared_ptr<const Session> sessionOrError(const QString& message);
    /// Write the current run; false (the error shown) if it cannot be written.
    bool saveRun(const QString& path);
    void saveRunAs();
    void openRunDialog();
    /// Reopen a saved run: it scrubs and plays at once, also without its model
    /// (then from the session's copy of the card; Run asks for the card). A bad
    /// file is one error and leaves everything as it was. Its header is checked at
    /// once (false, the error shown, when it is not a session this build reads or
    /// declares more than the memory budget); the rest is read on a thread of its own,
    /// so the window answers while a large or hostile file is read, and an error
    /// found there comes later, as error(). The newest open wins.
    bool openRun(const QString& path);
    /// A session is being read (openRun).
    bool isReadingRun() const { return reader_.joinable() && !readDone_; }
    /// Before a finished, unsaved run is replaced; true to go on. A run replaced
    /// in the window (Run again, another model or run opened) is set aside in
    /// memory (its frames are shared, not copied) without a question: Edit >
    /// Restore Discarded Run brings it back. Only quitting would lose it: then
    /// the user is asked (Save / Discard / Cancel, with "don't ask again").
    enum class Discard { Recoverable, Final };
    bool confirmDiscard(const QString& action, Discard kind = Discard::Recoverable);
    /// Edit > Restore Discarded Run: the last discarded run back in the window
    /// (the run shown now is kept as discarded in its place, so nothing is lost).
    void restoreDiscardedRun();
    bool hasDiscardedRun() const { return discarded_ != nullptr; }
    void exportAnimation();
    void exportFilmstrip();
    void exportPage();
    /// Write the current run as the interactive HTML page on a worker thread (as
    /// startAnimationExport); null (error shown) if there is nothing to export.
    ExportJob* startPageExport(const QString& path, const PageOptions& options);
    /// Write the current run as an animation on a worker thread, with a progress
    /// dialog whose Cancel stops it (no file then); null (error shown) if there is nothing to export.
    ExportJob* startAnimationExport(const QString& path, AnimationFormat format, const AnimationExport& options);

Q_SIGNALS:
    void error(const QString& message);
    void status(const QString& message);
    /// openRun asks the window's card to load (the discard question is answered).
    void loadingCard(const QString& path);
    /// A saved run is in the document: the window shows its end, titled `title`.
    void runShown(const QString& path, const QString& title);
    /// A discarded run can be restored (true) or not any more.
    void discardedRunChanged(bool available);

private:
    void showSession(const std::shared_ptr<const Session>& session, const QString& path);
    /// Show a session read from `path` (or the discarded run: `path` empty): the card
    /// is loaded when it is here, else `replay` (or the session's copy) is replayed.
    void openSession(const std::shared_ptr<const Session>& session, const QString& path,
                     std::shared_ptr<const LoadedModel> replay = nullptr);
    void keepDiscarded();
    /// The reader thread's outcome, on the GUI thread: a session, or why not.
    void onRunRead(quint64 token, const QString& path, const std::shared_ptr<const Session>& session,
                   const std::shared_ptr<const LoadedModel>& replay, const QString& failure);
    void stopReading();
    QString startFolder() const;

    RunDocument* doc_;
    QWidget* window_;
    std::function<Field()> field_;
    bool useSettings_, askBeforeDiscard_;
    RecentList recentRuns_, recentCards_;
    std::shared_ptr<const Session> discarded_; ///< the last run replaced without being saved
    std::thread reader_; ///< reads the session openRun asked for
    std::shared_ptr<std::atomic<bool>> cancelRead_;
    quint64 readToken_ = 0;
    bool readDone_ = true;
};

} // namespace noisetrail::ui
