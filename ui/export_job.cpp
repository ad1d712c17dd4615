#include "export_job.hpp"

#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QPointer>
#include <QProgressDialog>
#include <QThread>

#include <exception>

namespace noisetrail::ui {

ExportJob::ExportJob(QObject* parent) : QObject(parent) {}

ExportJob::~ExportJob()
{
    cancel();
    wait();
}

bool ExportJob::running() const { return thread_ && thread_->isRunning(); }

void ExportJob::wait()
{
    if (thread_)
        thread_->wait();
}

void ExportJob::start(Work work)
{
    thread_ = QThread::create([this, work = std::move(work)] {
        try {
            const QString message = work(*this);
            Q_EMIT finished(message, cancel_.load());
        } catch (const std::exception& e) {
            Q_EMIT failed(QString::fromUtf8(e.what()));
        }
    });
    thread_->setObjectName("NoiseTrail export");
    thread_->setParent(this);
    thread_->start();
}

QString writeSessionModal(QWidget* parent, std::shared_ptr<const noisetrail::Session> s, const QString& path)
{
    // The finished trajectories are read-only: the job may read them while the window paints.
    ExportJob job;
    job.setObjectName("saveJob");
    QProgressDialog dialog(QObject::tr("Saving %1...").arg(QFileInfo(path).fileName()), QString(), 0, 0, parent);
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(0);
    dialog.show(); // at once: until it shows, the window would take input (a second save, Quit)
    QEventLoop loop;
    QString error;
    QObject::connect(&job, &ExportJob::finished, &loop, &QEventLoop::quit);
    QObject::connect(&job, &ExportJob::failed, &loop, [&](const QString& m) {
        error = m;
        loop.quit();
    });
    job.start([s, path](ExportJob&) {
        write_session(path.toStdString(), *s);
        return QString();
    });
    loop.exec();
    job.wait();
    dialog.close();
    return error;
}

namespace {
/// A job behind a progress dialog whose Cancel sets the job's flag; `done(message, ok)`
/// reports the end (cancelled: "nothing was written") and the job deletes itself.
ExportJob* startWithProgress(QWidget* parent, const QString& path, ExportJob::Work work,
                             std::function<void(const QString& message, bool ok)> report)
{
    auto* job = new ExportJob(parent);
    job->setObjectName("exportJob");
    QPointer<QProgressDialog> dialog = new QProgressDialog(
        QObject::tr("Writing %1...").arg(QFileInfo(path).fileName()), QObject::tr("Cancel"), 0, 0, parent);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->setMinimumDuration(300);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(dialog, &QProgressDialog::canceled, job, &ExportJob::cancel); // direct: an atomic flag
    QObject::connect(job, &ExportJob::progress, dialog, [dialog](int done, int total) {
        if (dialog) {
            dialog->setMaximum(total);
            dialog->setValue(done);
        }
    });
    auto done = [job, dialog, report](const QString& message, bool ok) {
        if (dialog)
            dialog->close();
        report(message, ok);
        job->deleteLater();
    };
    QObject::connect(job, &ExportJob::finished, job, [done](const QString& m, bool cancelled) {
        done(cancelled ? QObject::tr("Export cancelled; nothing was written.") : m, true);
    });
    QObject::connect(job, &ExportJob::failed, job,
                     [done](const QString& m) { done(QObject::tr("Export failed: %1").arg(m), false); });
    job->start(std::move(work));
    return job;
}
} // namespace

ExportJob* startAnimationJob(QWidget* parent, std::shared_ptr<const noisetrail::Session> s, const QString& path,
                             noisetrail::AnimationFormat format, const noisetrail::AnimationExport& options,
                             std::function<void(const QString& message, bool ok)> report)
{
    const auto panels = render_panels(*s); // captions from the computed recipes the session holds
    return startWithProgress(parent, path, [s, panels, path, format, options](ExportJob& j) {
        const AnimationResult r = export_animation(
            panels, path.toStdString(), format, options, [&j](int d, int t) { j.reportProgress(d, t); }, &j.cancelFlag());
        return QObject::tr("Wrote %1: %2 frames, %3 x %4 (%5).")
            .arg(QDir::toNativeSeparators(path))
            .arg(r.frames)
            .arg(r.width)
            .arg(r.height)
            .arg(QString::fromStdString(r.encoder));
    }, std::move(report));
}

ExportJob* startPageJob(QWidget* parent, std::shared_ptr<const noisetrail::Session> s, const QString& path,
                        const noisetrail::PageOptions& options,
                        std::function<void(const QString& message, bool ok)> report)
{
    return startWithProgress(parent, path, [s, path, options](ExportJob& j) {
        const PageResult r = write_interactive_page(
            *s, path.toStdString(), options, [&j](int d, int t) { j.reportProgress(d, t); }, &j.cancelFlag());
        return QObject::tr("Wrote %1: %2 KiB, %3 slider positions.")
            .arg(QDir::toNativeSeparators(path))
            .arg(qulonglong(r.bytes / 1024))
            .arg(r.positions);
    }, std::move(report));
}

} // namespace noisetrail::ui
