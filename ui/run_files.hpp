// The window's saved runs and exports: File > Save Run / Open Run / Recent Runs,
// the question before an unsaved run is discarded, Export > Animation and
// Filmstrip. A QObject the window owns, working on the RunDocument; it tells the
// window what to show through signals. Sessions, rendering and encoding are
// core's (noisetrail/session.hpp, render.hpp, animation.hpp): the GUI and
// `noisetrail-cli session` share them.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/trajectory.hpp"

#include <QObject>
#include <QStringList>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

class QMenu;
class QWidget;

namespace noisetrail::ui {

class ExportJob;
class RunDocument;
struct LoadedModel;

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
    /// Ask before a finished, unsaved run is discarded (Save / Discard / Cancel,
    /// with "don't ask again"); true to go on.
    bool confirmDiscard(const QString& action);
    void exportAnimation();
    void exportFilmstrip();
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

private:
    void addRecentRun(const QString& path);
    void updateRecentRunsMenu();
    void showSession(const std::shared_ptr<const Session>& session, const QString& path);
    /// The reader thread's outcome, on the GUI thread: a session, or why not.
    void onRunRead(quint64 token, const QString& path, const std::shared_ptr<const Session>& session,
                   const std::shared_ptr<const LoadedModel>& replay, const QString& failure);
    void stopReading();
    QString startFolder() const;

    RunDocument* doc_;
    QWidget* window_;
    std::function<Field()> field_;
    bool useSettings_, askBeforeDiscard_;
    QStringList recentRuns_;
    QMenu* recentRunsMenu_ = nullptr;
    std::thread reader_; ///< reads the session openRun asked for
    std::shared_ptr<std::atomic<bool>> cancelRead_;
    quint64 readToken_ = 0;
    bool readDone_ = true;
};

} // namespace noisetrail::ui
