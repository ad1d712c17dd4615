// Starting a worker QThread so that its first queued job is ordered for
// ThreadSanitizer too (docs/HARDENING.md, "TSan").
#pragma once
#include <QThread>

#include <future>

namespace noisetrail::ui {

/// Start `thread` and return once it runs, its event dispatcher made (Qt makes it
/// before `started`). A job queued before that sits in a list guarded by Qt's own
/// uninstrumented mutex, which TSan cannot see; queued after, it wakes the
/// dispatcher through its eventfd, which TSan does see. The wait is a few
/// microseconds, and it is a std::promise so that TSan sees it as well.
inline void startWorkerThread(QThread* thread)
{
    std::promise<void> running;
    const auto c = QObject::connect(thread, &QThread::started, thread, [&running] { running.set_value(); },
                                    Qt::DirectConnection);
    thread->start();
    running.get_future().wait();
    QObject::disconnect(c);
}

} // namespace noisetrail::ui
