// The field under a 2-D panel's points (issue 22): the denoising direction
// sigma_t^2 grad log p_t(x) = alpha_t x0_hat(x) - x (Tweedie; on flow cards the same
// formula on the flow path) on a grid over the panel's view, evaluated by core's
// evaluate_field on this service's own worker thread with its own copy of each card
// (a model is never called from two threads at once). Results are cached per card,
// class, guidance scale and noise level, so scrubbing back is instant and nothing
// is computed twice.
#pragma once
#include "job_tracker.hpp"

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

/// One per panel: its requests replace each other (the newest wins while scrubbing).
class FieldService : public QObject {
    Q_OBJECT
public:
    explicit FieldService(QObject* parent = nullptr);
    ~FieldService() override;

    /// The cached field, or null after queueing its computation (ready() follows).
    FieldArrowsPtr request(const FieldRequest& r);

Q_SIGNALS:
    void ready(FieldArrowsPtr field);
    void failed(const QString& message);

private:
    struct Models;
    std::shared_ptr<Models> models_; ///< used on the worker thread only
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr;
    JobTracker jobs_;
    std::map<decltype(FieldRequest{}.key()), FieldArrowsPtr> cache_;
    std::optional<FieldRequest> pending_;
};

} // namespace noisetrail::ui
