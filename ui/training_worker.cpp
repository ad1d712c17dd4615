#include "training_worker.hpp"
#include "training_folder.hpp"
#include "worker_thread.hpp"

#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"

#include <QThread>

#include <chrono>

namespace noisetrail::ui {

TrainingWorker::TrainingWorker(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<TrainingTick>();
    qRegisterMetaType<TrainingCheckpoint>();
    qRegisterMetaType<TrainingOutcome>();
    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail training worker");
    worker_ = new QObject;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    startWorkerThread(thread_);
}

TrainingWorker::~TrainingWorker()
{
    jobs_.cancelAll();
    thread_->quit();
    thread_->wait();
}

void TrainingWorker::start(TrainingRequest request)
{
    running_ = true;
    jobs_.startJob(
        worker_, this,
        [this, request = std::move(request)](const JobTracker::Job& job) {
            using Clock = std::chrono::steady_clock;
            const std::atomic<bool>* cancel = job.cancelFlag();
            // The loss of every step goes out in batches, a few per second (one event per
            // step would flood the GUI thread at thousands of steps per second).
            TrainingTick pending;
            auto lastTick = Clock::now();
            const auto flush = [&](const TrainProgress& p) {
                pending.step = p.step;
                pending.steps = p.steps;
                pending.samplesPerS = p.samples_per_s;
                pending.secondsLeft = p.seconds_left;
                pending.seconds = p.seconds;
                pending.phase = QString::fromStdString(p.phase);
                job.deliver([this, t = std::move(pending)] { Q_EMIT tick(t); });
                pending = {};
                lastTick = Clock::now();
            };
            const int n = int(request.data.size() / 2);
            const auto onProgress = [&](const TrainProgress& p) {
                if (p.phase == "training" && (pending.losses.empty() || pending.losses.back().first != p.step))
                    pending.losses.emplace_back(p.step, p.loss);
                if (!p.checkpoint_card.empty()) {
                    flush(p);
                    TrainingCheckpoint c;
                    c.step = p.step;
                    c.card = QString::fromStdString(std::filesystem::absolute(p.checkpoint_card).string());
                    if (job.isCancelled()) {
                        // The card of a stopped run: listed (it is the last model), not sampled,
                        // so Stop stays prompt.
                        job.deliver([this, c = std::move(c)] { Q_EMIT checkpoint(c); });
                        return;
                    }
                    // The quick sample: DDIM from one fixed x_T for every checkpoint.
                    const auto model = Model::load(p.checkpoint_card);
                    RunOptions o;
                    o.sampler.sampler = "ddim";
                    o.sampler.steps = request.quickSteps;
                    o.seed = request.quickSeed;
                    o.batch = request.quickCount;
                    o.threads = request.config.threads;
                    const RunResult r = run_sampler(*model, o, {}, cancel);
                    if (!r.cancelled)
                        c.samples = r.samples;
                    if (r.cancelled || job.isCancelled()) {
                        job.deliver([this, c = std::move(c)] { Q_EMIT checkpoint(c); });
                        return;
                    }
                    if (n >= 2)
                        c.quality = points_quality(p.checkpoint_card, request.data, n, 2, request.quickCount,
                                                   request.quickSeed + 1);
                    if (c.quality)
                        c.quality->step = c.step;
                    if (!request.folder.isEmpty()) {
                        const DrawnSetFolder f{request.folder};
                        write_npy(f.quickSample(c.step).toStdString(), {std::int64_t(c.samples.size() / 2), 2},
                                  c.samples.data());
                        if (c.quality)
                            appendQuality(f, *c.quality);
                    }
                    job.deliver([this, c = std::move(c)] { Q_EMIT checkpoint(c); });
                } else if (Clock::now() - lastTick > std::chrono::milliseconds(150) || p.phase != "training") {
                    flush(p);
                }
            };
            const TrainResult result = train(request.config, onProgress, cancel);
            TrainingOutcome out;
            out.cancelled = result.cancelled;
            out.card = result.cancelled ? QString() : QString::fromStdString(std::filesystem::absolute(result.card).string());
            out.stepsDone = result.steps_done;
            out.seconds = result.seconds;
            job.deliver([this, out] {
                running_ = false;
                Q_EMIT finished(out);
            });
        },
        [this](const QString& message) {
            running_ = false;
            Q_EMIT failed(message);
        });
}

} // namespace noisetrail::ui
