// The Draw & Train window's worker (issue 23): core's trainer (training.hpp, the
// one the CLI uses) on a thread of its own, cancellable, publishing the loss as it
// goes and, at every checkpoint card, a quick sample of that card (DDIM 20 from one
// fixed x_T, so the samples of successive checkpoints are comparable) and its
// quality against the drawn data (points_quality). The GUI thread never computes;
// the worker never touches a widget: everything it publishes is an owning value.
#pragma once
#include "job_tracker.hpp"
#include "noisetrail/training.hpp"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

class QThread;

namespace noisetrail::ui {

struct TrainingRequest {
    TrainConfig config;        ///< the recipe: data, out, steps, batch, card_every, seed, ...
    std::vector<float> data;   ///< the drawn set [N, 2] (what the quality is measured against)
    int quickCount = 512;      ///< points of each checkpoint's quick sample
    int quickSteps = 20;       ///< its DDIM steps
    std::uint64_t quickSeed = 1;
    /// A drawn set's folder (training_folder.hpp): each quick sample and quality row is
    /// also written there, so a reopened set shows its timeline. Empty: nothing written.
    QString folder;
};

/// Progress since the last tick: the smoothed loss of every step, the rate, the time left.
struct TrainingTick {
    int step = 0, steps = 0;
    double samplesPerS = 0.0, secondsLeft = 0.0, seconds = 0.0;
    std::vector<std::pair<int, double>> losses; ///< (step, smoothed loss) since the last tick
    QString phase;
};

/// A checkpoint card just written, its quick sample and its quality.
struct TrainingCheckpoint {
    int step = 0;
    QString card;               ///< absolute path of the loadable card
    std::vector<float> samples; ///< [quickCount, 2]
    std::optional<PointsQuality> quality;
};

struct TrainingOutcome {
    bool cancelled = false;
    QString card;               ///< the final card (empty when cancelled)
    int stepsDone = 0;
    double seconds = 0.0;
};

class TrainingWorker : public QObject {
    Q_OBJECT
public:
    explicit TrainingWorker(QObject* parent = nullptr);
    /// Cancels the training and waits for its thread (a step, or a quick sample).
    ~TrainingWorker() override;

    /// Start training (a running one is cancelled first); ticks, checkpoints and one
    /// finished or failed follow.
    void start(TrainingRequest request);
    /// Cancel within a step (directly, never queued); finished(cancelled) follows.
    void cancel() { jobs_.cancelAll(); }
    bool isRunning() const { return running_; }

Q_SIGNALS:
    void tick(const noisetrail::ui::TrainingTick& tick);
    void checkpoint(const noisetrail::ui::TrainingCheckpoint& checkpoint);
    void finished(const noisetrail::ui::TrainingOutcome& outcome);
    void failed(const QString& message);

private:
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr;
    JobTracker jobs_;
    bool running_ = false;
};

} // namespace noisetrail::ui

Q_DECLARE_METATYPE(noisetrail::ui::TrainingTick)
Q_DECLARE_METATYPE(noisetrail::ui::TrainingCheckpoint)
Q_DECLARE_METATYPE(noisetrail::ui::TrainingOutcome)
