// 2-D samples: the batch at the cursor, each point's path from x_T to the
// cursor's step, over the target's density image when the card is analytic.
#pragma once
#include "field_service.hpp"
#include <QColor>
#include <QImage>
#include <QRectF>
#include <QWidget>

#include <vector>

class QPainter;

#include <memory>

namespace noisetrail {
class Trajectory;
}
namespace noisetrail::metrics {
struct GaussianMixture;
}

namespace noisetrail::ui {


class ScatterView : public QWidget {
    Q_OBJECT
public:
    explicit ScatterView(QWidget* parent = nullptr);
    void setTarget(const QImage& density, const QRectF& extent);
    void setColor(const QColor& c);
    /// Show `trajectory` at `step` (step == size() shows the final samples).
    void setState(const Trajectory* trajectory, int step);
    void setShowPaths(bool on);
    bool showPaths() const { return showPaths_; }
    /// How many points get their path drawn (1..kMaxPaths).
    void setPathCount(int n);
    int pathCount() const { return pathCount_; }
    /// One sample's whole path drawn bold (-1: none). A click on a point asks for it
    /// (followRequested); the owner sets it, in every panel (RunDocument::followedSample).
    void setHighlighted(int sample);
    int highlighted() const { return highlighted_; }
    /// The sample whose shown point is nearest to a pixel (within 12 px; -1: none).
    int sampleAt(QPointF pixel) const;
    /// Presentation: point sizes and line widths times `factor`.
    void setScale(double factor);
    /// 2-D mixture cards: draw each component's 3-std circle coloured by its
    /// occupancy at the shown step (the worker's per-step metrics stored in the
    /// trajectory), with a small legend. Null: no coverage display.
    void setMixture(std::shared_ptr<const metrics::GaussianMixture> mixture);
    /// A conditional panel's class (-1: none): coverage judges the samples against
    /// p(x | c), its components weighted within the class; the other classes'
    /// components are drawn grey and never called uncovered.
    void setJudgedClass(int c);
    /// The field under the points (View > Field Under the Points): arrows of the
    /// denoising direction alpha x0_hat - x on a grid; null hides them.
    void setFieldArrows(std::shared_ptr<const FieldArrows> field);
    std::shared_ptr<const FieldArrows> fieldArrows() const { return field_; }
    /// View > Step Construction: the followed sample's step drawn from the sampler's
    /// terms (partial sums as arrows, the predictor dashed, a legend); null hides it.
    void setConstruction(StepConstructionPtr construction);
    StepConstructionPtr construction() const { return construction_; }
    /// Where the construction's arrows end (the step's x_prev), in pixels; tests click and read it.
    QPointF constructionEndPixel() const;
    /// The construction legend's lines (empty when none is drawn).
    QStringList constructionLegend() const;
    /// View > Exact ODE Path: the exact ODE path of the drawn samples beside theirs; null hides it.
    void setExactPath(OdeResultPtr result);
    void setShowCoverage(bool on);
    bool showCoverage() const { return showCoverage_; }
    /// Decision time: each path segment and point in the colour of the
    /// component its x0_hat is assigned to at that step (FrameMetrics::assignment,
    /// decision_strip.hpp's colours) instead of the panel's colour.
    void setColorByComponent(bool on);
    bool colorByComponent() const { return colorByComponent_; }
    /// The colour sample `sample`'s path has from step `step` on (its point's at the cursor).
    QColor pathColor(int sample, int step) const;

    /// What the coverage overlay shows for a component at the current state.
    struct ComponentState {
        double share = 0.0;    ///< fraction of the batch's x0_hat assigned to it
        double expected = 0.0; ///< its mixture weight
        bool covered = false;  ///< at least one sample within 3 std of its mean
        bool judged = true;    ///< false: a component of another class than the panel's
    };
    /// Per component, at the current step (empty when there is nothing to show).
    std::vector<ComponentState> componentStates() const;
    /// The colour a component's ring gets: red (empty) .. amber .. green (share >= weight).
    static QColor coverageColor(const ComponentState& c);
    /// Paths drawn for at most this many points (all points are drawn).
    static constexpr int kMaxPaths = 100; // more is a blur, not a picture
    static constexpr int kMaxPoints = 20000; ///< points drawn at most (an even subset beyond)

    /// Where the view draws: the plot (all of the widget but the legend's strip;
    /// equal units on both axes) and the coverage legend beside or above it, outside
    /// the plot (an empty rect when there is no legend).
    QRectF plotRect() const;
    QRectF legendRect() const;
    /// The target's extent (the density image) in pixels: a square in the plot's middle.
    QRectF targetRect() const;
    /// The legend's lines and the font they are drawn in (empty when no legend).
    QStringList legendLines() const;
    QFont legendFont() const;

Q_SIGNALS:
    /// The user clicked a point (its sample), or beside every point (-1), or chose
    /// "Stop Following" (-1).
    void followRequested(int sample);
    /// A frame it was to show is damaged (Trajectory::decode's InputError, of an opened
    /// session): the plot says so; `message` names the frame.
    void damaged(const QString& message);

protected:
    void paintEvent(QPaintEvent*) override;

private:
    void paintSamples(QPainter& p, const QRectF& plot); ///< paths and points; InputError on a damaged frame
    void changeEvent(QEvent* e) override;
    void mousePressEvent(QMouseEvent* e) override;
    void contextMenuEvent(QContextMenuEvent* e) override;

private:
    struct Layout {
        QRectF data, legend;
    };
    Layout layout() const;
    QSizeF legendSize() const;
    double pxPerUnit(const QRectF& plot) const;
    QPointF toPixel(const QRectF& plot, double x, double y) const;
    QImage density_, tinted_;
    QRectF extent_{-3.5, -3.5, 7, 7};
    QColor color_{0, 114, 178};
    const Trajectory* traj_ = nullptr;
    int step_ = -1;
    bool showPaths_ = true;
    int pathCount_ = 25; // enough to see the paths, few enough to see the points
    int highlighted_ = -1;
    double scale_ = 1.0;
    bool showCoverage_ = true;
    bool colorByComponent_ = false;
    std::shared_ptr<const metrics::GaussianMixture> mixture_;
    int judgedClass_ = -1;
    std::shared_ptr<const FieldArrows> field_;
    void drawField(QPainter& p, const QRectF& plot) const;
    StepConstructionPtr construction_;
    OdeResultPtr exactPath_;
    void drawConstruction(QPainter& p, const QRectF& plot) const;
    void drawExactPaths(QPainter& p, const QRectF& plot) const;
    void drawCoverage(QPainter& p, const QRectF& plot) const;
};

} // namespace noisetrail::ui
