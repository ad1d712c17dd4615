// An export running on its own thread (animations take seconds to minutes):
// progress and the result come back as queued signals, cancel is an atomic flag
// set directly from the GUI thread (STYLE 2). The window waits for a running job
// before it goes away.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/interactive_page.hpp"
#include "noisetrail/session.hpp"

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>

class QThread;
class QWidget;

namespace noisetrail::ui {

class ExportJob : public QObject {
    Q_OBJECT
public:
    /// What the job does on its thread; it reports through the job and returns
    /// a line for the status bar. Exceptions become failed(message).
    using Work = std::function<QString(ExportJob& job)>;

    explicit ExportJob(QObject* parent = nullptr);
    ~ExportJob() override; ///< cancels and waits

    void start(Work work);
    void cancel() { cancel_.store(true); }
    const std::atomic<bool>& cancelFlag() const { return cancel_; }
    bool running() const;
    void wait();

    /// From the job's thread.
    void reportProgress(int done, int total) { Q_EMIT progress(done, total); }

Q_SIGNALS:
    void progress(int done, int total);
    void finished(const QString& message, bool cancelled);
    void failed(const QString& message);

private:
    std::atomic<bool> cancel_{false};
    QThread* thread_ = nullptr;
};

/// Write `session` to `path` on its own thread (four 1000-step panels take
/// seconds) behind a window-modal progress dialog that keeps `parent` painted
/// but closed to input; returns when written: an empty string, or the error.
QString writeSessionModal(QWidget* parent, std::shared_ptr<const noisetrail::Session> session, const QString& path);

/// Write `session` as an animation on a worker thread, with a progress dialog
/// whose Cancel stops it (no file then). `done(message, ok)` reports the end;
/// the job deletes itself afterwards.
ExportJob* startAnimationJob(QWidget* parent, std::shared_ptr<const noisetrail::Session> session, const QString& path,
                             noisetrail::AnimationFormat format, const noisetrail::AnimationExport& options,
                             std::function<void(const QString& message, bool ok)> done);

/// Write `session` as the interactive HTML page (core's interactive_page.hpp, the same
/// as `noisetrail-cli session html`) on a worker thread, with progress and Cancel as
/// startAnimationJob.
ExportJob* startPageJob(QWidget* parent, std::shared_ptr<const noisetrail::Session> session, const QString& path,
                        const noisetrail::PageOptions& options,
                        std::function<void(const QString& message, bool ok)> done);

} // namespace noisetrail::ui
