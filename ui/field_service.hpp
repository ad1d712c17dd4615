// The field under a 2-D panel's points (issue 22): the denoising direction
// sigma_t^2 grad log p_t(x) = alpha_t x0_hat(x) - x (Tweedie; on flow cards the same
// formula on the flow path) on a grid over the panel's view, evaluated by core's
// evaluate_field on this service's own worker thread with its own copy of each card
// (a model is never called from two threads at once). Results are cached per card,
// class, guidance scale and noise level, so scrubbing back is instant and nothing
// is computed twice.
//
// The same worker computes, for the panel, the construction of one step at one sample
// (core's step_geometry: its second model call); a second one the exact probability-flow
// ODE path with the per-step ode_error (core's exact_ode_path, ode_errors,
// ode_error_split). Each kind has its own job line: none replaces another's request.
#pragma once
#include "job_tracker.hpp"

#include "noisetrail/fields.hpp"

#include <QObject>
#include <QRectF>
#include <QString>

#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

class QThread;

namespace noisetrail::ui {

/// What is asked: a card (absolute path), a class and W, a noise level (t on VP,
/// s on flow), the grid's extent in data coordinates and its size n x n.
struct FieldRequest {
    QString card;
    std::optional<int> classIndex;
    double guidance = 1.0;
    double level = 0.0;
    QRectF extent;
    int n = 21;
    /// Set: the arrows are this card's field minus `minus`'s (same level and grid), e.g.
    /// a learned model against the exact denoiser of its data (View > Field: Difference).
    QString minusCard;
    std::optional<int> minusClass;
    double minusGuidance = 1.0;
    auto key() const
    {
        return std::make_tuple(card, classIndex.value_or(-1), guidance, level, extent.left(), extent.top(),
                               extent.width(), extent.height(), n, minusCard, minusClass.value_or(-1), minusGuidance);
    }
    bool operator==(const FieldRequest& o) const { return key() == o.key(); }
};

/// The field on the grid: points and arrows, each [n * n, 2] row-major (x, y).
struct FieldArrows {
    FieldRequest request;
    std::vector<float> points, arrows;
};
using FieldArrowsPtr = std::shared_ptr<const FieldArrows>;

/// The construction of step `step` at sample `sample` of a run (View > Step Construction).
struct GeometryRequest {
    QString card;
    SamplerConfig config;
    SamplingPlan plan; ///< the run's published steps
    int step = 0, sample = -1;
    StepPoint point;
    FieldOptions options; ///< the sample's class, W and the run's clip radius
    const void* store = nullptr; ///< the run's store: identifies the run (never dereferenced)
};
struct StepConstruction {
    GeometryRequest request;
    StepGeometry geometry;
};
using StepConstructionPtr = std::shared_ptr<const StepConstruction>;

/// The exact ODE path of a finished run on an exact card (`exactCard`: the panel's own,
/// or the exact twin of its learned card) and its error per step (issue 22, point 3).
struct OdeRequest {
    QString card, exactCard; ///< equal: an exact card's own run
    SamplerConfig config;
    SamplingPlan plan;
    std::vector<float> x_T;
    std::vector<std::vector<float>> x_prev; ///< each step's output, as stored
    const void* store = nullptr;
};
struct OdeResult {
    OdeRequest request;
    /// solver and model are empty for an exact card's own run (total is its ode_error).
    OdeErrorSplit errors;
    /// The exact ODE's state at each step's level_prev, [S][B * D].
    std::vector<std::vector<double>> path;
};
using OdeResultPtr = std::shared_ptr<const OdeResult>;

/// One per panel: its requests replace each other (the newest wins while scrubbing).
class FieldService : public QObject {
    Q_OBJECT
public:
    explicit FieldService(QObject* parent = nullptr);
    ~FieldService() override;

    /// The cached field, or null after queueing its computation (ready() follows).
    FieldArrowsPtr request(const FieldRequest& r);
    /// Queue a step construction (geometryReady follows; a newer request replaces it).
    void requestGeometry(const GeometryRequest& r);
    /// Queue the exact path and ode_error of a finished run (odeReady follows).
    void requestOde(const OdeRequest& r);

Q_SIGNALS:
    void ready(FieldArrowsPtr field);
    void failed(const QString& message);
    void geometryReady(StepConstructionPtr construction);
    void odeReady(OdeResultPtr result);
    /// A construction or exact path could not be computed (`message` says why).
    void extraFailed(const QString& message);

private:
    struct Models;
    std::shared_ptr<Models> models_; ///< used on the worker thread only
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr;
    // The exact path takes seconds (an adaptive ODE solve over the whole batch): its own
    // thread and copies of the cards, so the field and the construction never wait for it.
    std::shared_ptr<Models> odeModels_;
    QThread* odeThread_ = nullptr;
    QObject* odeWorker_ = nullptr;
    JobTracker jobs_, geometryJobs_, odeJobs_;
    std::map<decltype(FieldRequest{}.key()), FieldArrowsPtr> cache_;
    std::optional<FieldRequest> pending_;
};

} // namespace noisetrail::ui
