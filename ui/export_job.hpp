// An export running on its own thread (animations take seconds to minutes):
// progress and the result come back as queued signals, cancel is an atomic flag
// set directly from the GUI thread (STYLE 2). The window waits for a running job
// before it goes away.
#pragma once
#include <QObject>
#include <QString>

#include <atomic>
#include <functional>

class QThread;

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

} // namespace noisetrail::ui
