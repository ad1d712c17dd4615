// A drawn 2-D data set (issue 23): the points a person puts on the Draw & Train
// canvas with a brush, a spray and an eraser, or from a preset (ring, two moons,
// rasterised text or a smiley), with an undo stack; and the set of a chosen count
// that training and the exact (empirical) card use. Plain C++ (no widgets), so the
// drawing rules have data-driven tests; the canvas (draw_data_view.hpp) maps pixels.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace noisetrail::ui {

/// The square of data coordinates the canvas shows, [-kExtent, kExtent]^2: data of
/// about unit scale, as the linear schedule's N(0, I) noise expects.
inline constexpr double kDrawExtent = 2.0;

/// Canvas pixels <-> data coordinates: the largest centred square of a w x h widget
/// shows [-kDrawExtent, kDrawExtent]^2, y up.
struct DrawMapping {
    double width = 1, height = 1;
    double side() const { return width < height ? width : height; }
    double left() const { return (width - side()) / 2; }
    double top() const { return (height - side()) / 2; }
    double pxPerUnit() const { return side() / (2 * kDrawExtent); }
    void toData(double px, double py, double& x, double& y) const
    {
        x = (px - left()) / pxPerUnit() - kDrawExtent;
        y = kDrawExtent - (py - top()) / pxPerUnit();
    }
    void toPixel(double x, double y, double& px, double& py) const
    {
        px = left() + (x + kDrawExtent) * pxPerUnit();
        py = top() + (kDrawExtent - y) * pxPerUnit();
    }
};

class PointDrawing {
public:
    enum class Tool { Brush, Spray, Eraser };
    /// Brush: points per data unit of stroke, spread N(0, (radius/2)^2) around the path.
    static constexpr double kBrushRadius = 0.08, kBrushDensity = 120.0;
    /// Spray: points per dab, uniform in a disc of this radius.
    static constexpr double kSprayRadius = 0.3;
    static constexpr int kSprayDab = 6;
    static constexpr double kEraserRadius = 0.2;
    /// Points drawn at most (a stroke beyond it adds nothing): the exact denoiser's
    /// cost grows with them, and 20,000 is far more than a picture needs.
    static constexpr int kMaxPoints = 20000;

    explicit PointDrawing(std::uint64_t seed = 1) : rng_(seed) {}

    /// [x0, y0, x1, y1, ...] in data coordinates.
    const std::vector<float>& points() const { return points_; }
    int count() const { return int(points_.size() / 2); }

    /// A stroke starts (the undo point) at (x, y): the brush puts a dab there, the
    /// spray one dab, the eraser erases around it.
    void begin(Tool tool, double x, double y);
    /// The stroke moves on to (x, y).
    void moveTo(double x, double y);
    /// The spray held still: one more dab where it is.
    void dab();
    void end() { stroking_ = false; }
    bool stroking() const { return stroking_; }

    /// Remove every point (undoable).
    void clear();
    /// Replace the points by `points` ([x, y] pairs; a preset), undoable.
    void replace(std::vector<float> points);
    /// Back to the points before the last stroke, clear or preset; false when there is none.
    bool undo();
    bool canUndo() const { return !undo_.empty(); }

    /// The data set of `n` points: all drawn points when there are exactly n; an even
    /// random subset when more; when fewer, every drawn point once and the rest drawn
    /// from them again with a jitter of kJitter (a copy on top of a point would be the
    /// same example twice). Deterministic for the drawing and `seed`. Empty if nothing is drawn.
    static constexpr double kJitter = 0.02;
    std::vector<float> dataset(int n, std::uint64_t seed = 0) const;

    // Presets (data coordinates, about unit scale), n points each, deterministic for `seed`.
    static std::vector<float> ring(int n, std::uint64_t seed = 0);
    /// scikit-learn's make_moons, centred: two interleaved half circles.
    static std::vector<float> twoMoons(int n, std::uint64_t seed = 0);
    /// n points uniform over the dark pixels of a w x h raster (row-major, true = ink),
    /// the raster filling the square [-extent, extent]^2. Empty if no pixel is inked.
    static std::vector<float> fromRaster(const std::vector<bool>& ink, int w, int h, double extent, int n,
                                         std::uint64_t seed = 0);

private:
    void pushUndo();
    void add(double x, double y);
    void brushSegment(double x0, double y0, double x1, double y1);
    void sprayAt(double x, double y);
    void eraseAt(double x, double y);

    std::vector<float> points_;
    std::vector<std::vector<float>> undo_;
    std::mt19937_64 rng_;
    Tool tool_ = Tool::Brush;
    bool stroking_ = false;
    double lastX_ = 0, lastY_ = 0;
    double carry_ = 0; ///< brush: stroke length not yet turned into points
};

} // namespace noisetrail::ui
