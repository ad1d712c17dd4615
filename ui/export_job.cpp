#include "export_job.hpp"

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

} // namespace noisetrail::ui
