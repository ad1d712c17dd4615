#include "field_service.hpp"
#include "code_trust.hpp"
#include "worker_thread.hpp"

#include "noisetrail/fields.hpp"
#include "noisetrail/model.hpp"

#include <QThread>

namespace noisetrail::ui {

/// The worker's copies of the cards (touched on the worker thread only).
struct FieldService::Models {
    std::map<QString, std::shared_ptr<Model>> byPath;
    std::shared_ptr<Model> get(const QString& path)
    {
        auto& m = byPath[path];
        if (!m)
            m = Model::load(path.toStdString(), "cpu", trustedCode());
        return m;
    }
};

FieldService::FieldService(QObject* parent) : QObject(parent), models_(std::make_shared<Models>())
{
    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail field worker");
    worker_ = new QObject;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    startWorkerThread(thread_);
    odeModels_ = std::make_shared<Models>();
    odeThread_ = new QThread(this);
    odeThread_->setObjectName("NoiseTrail exact path worker");
    odeWorker_ = new QObject;
    odeWorker_->moveToThread(odeThread_);
    connect(odeThread_, &QThread::finished, odeWorker_, &QObject::deleteLater);
    startWorkerThread(odeThread_);
}

FieldService::~FieldService()
{
    jobs_.cancelAll();
    geometryJobs_.cancelAll();
    odeJobs_.cancelAll();
    thread_->quit();
    odeThread_->quit();
    thread_->wait();
    odeThread_->wait();
}

FieldArrowsPtr FieldService::request(const FieldRequest& r)
{
    if (const auto it = cache_.find(r.key()); it != cache_.end())
        return it->second;
    if (pending_ && *pending_ == r)
        return nullptr; // already on its way
    pending_ = r;
    jobs_.startJob(
        worker_, this,
        [this, r, models = models_](const JobTracker::Job& j) { // models: the worker's only
            if (j.isCancelled())
                return; // a newer request (scrubbing on) replaced it before it started
            auto out = std::make_shared<FieldArrows>();
            out->request = r;
            const int n = std::max(2, r.n);
            out->points.reserve(std::size_t(2 * n * n));
            for (int row = 0; row < n; ++row)
                for (int col = 0; col < n; ++col) {
                    out->points.push_back(float(r.extent.left() + (col + 0.5) * r.extent.width() / n));
                    out->points.push_back(float(r.extent.top() + (row + 0.5) * r.extent.height() / n));
                }
            FieldOptions o;
            o.class_index = r.classIndex;
            o.guidance = r.guidance;
            const VectorField f = evaluate_field(*models->get(r.card), out->points, r.level, o);
            // sigma^2 grad log p = alpha x0_hat - x: from x towards the (scaled) clean data.
            out->arrows.resize(out->points.size());
            for (std::size_t i = 0; i < out->points.size(); ++i)
                out->arrows[i] = float(f.path.alpha * double(f.x0_hat[i]) - double(out->points[i]));
            if (!r.minusCard.isEmpty()) {
                // The difference of the two fields at the same points: alpha (x0_hat_a - x0_hat_b).
                FieldOptions m;
                m.class_index = r.minusClass;
                m.guidance = r.minusGuidance;
                const VectorField g = evaluate_field(*models->get(r.minusCard), out->points, r.level, m);
                for (std::size_t i = 0; i < out->points.size(); ++i)
                    out->arrows[i] -= float(g.path.alpha * double(g.x0_hat[i]) - double(out->points[i]));
            }
            FieldArrowsPtr done = out;
            j.deliver([this, done] {
                cache_[done->request.key()] = done;
                if (cache_.size() > 512) // a long scrub over many cards: start over rather than grow
                    cache_.clear();
                if (pending_ && *pending_ == done->request)
                    pending_.reset();
                Q_EMIT ready(done);
            });
        },
        [this](const QString& message) {
            pending_.reset();
            Q_EMIT failed(message);
        });
    return nullptr;
}

void FieldService::requestGeometry(const GeometryRequest& r)
{
    geometryJobs_.startJob(
        worker_, this,
        [this, r, models = models_](const JobTracker::Job& j) {
            if (j.isCancelled())
                return;
            auto out = std::make_shared<StepConstruction>();
            out->request = r;
            out->geometry = step_geometry(*models->get(r.card), r.config, r.plan, r.step, r.point, r.options);
            StepConstructionPtr done = out;
            j.deliver([this, done] { Q_EMIT geometryReady(done); });
        },
        [this](const QString& message) { Q_EMIT extraFailed(message); });
}

void FieldService::requestOde(const OdeRequest& r)
{
    odeJobs_.startJob(
        odeWorker_, this,
        [this, r, models = odeModels_](const JobTracker::Job& j) { // the exact path's thread only
            if (j.isCancelled())
                return;
            auto out = std::make_shared<OdeResult>();
            out->request = r;
            const Model& exact = *models->get(r.exactCard);
            if (r.exactCard == r.card) {
                out->errors.total = ode_errors(exact, r.config, r.plan, r.x_T, r.x_prev, {}, &out->path);
            } else {
                out->errors = ode_error_split(exact, r.config, r.plan, r.x_T, r.x_prev);
                out->path = std::move(out->errors.path);
            }
            OdeResultPtr done = out;
            j.deliver([this, done] { Q_EMIT odeReady(done); });
        },
        [this](const QString& message) { Q_EMIT extraFailed(message); });
}

} // namespace noisetrail::ui
