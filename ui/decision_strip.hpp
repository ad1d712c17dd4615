// Decision time in pictures (issue 13, point 4): what a sample "is" at each
// step (its class, the classifier's argmax on x0_hat, or its mixture
// component) as a coloured strip along the timeline, and the colours those
// labels get. One home for the main grid's strips, the 2-D paths coloured by
// component and the Decision time experiment's figure.
#pragma once
#include <QColor>
#include <QRectF>
#include <QString>

#include <span>
#include <vector>

class QPainter;

namespace noisetrail {
class Trajectory;
}

namespace noisetrail::ui {

struct LoadedModel;

/// Class or component k's colour: the Tableau 10 palette (compare::kPalette)
/// of the compare and experiment figures, repeating after 10; grey for a
/// label < 0 (not known).
QColor classColor(int label);

/// One sample's labels along the timeline, in its coordinates: position 0 is
/// t = T-1 (pure noise), 1 the final samples (TimelineMapping with pixels 0..1),
/// so strips of panels with different plans line up on t.
struct ClassStrip {
    struct Segment {
        double from = 0.0, to = 0.0; ///< positions, from < to
        int label = -1;
    };
    std::vector<Segment> segments; ///< in sampling order, each starting where the previous ends
    /// The label of the last segment (-1 when empty).
    int lastLabel() const { return segments.empty() ? -1 : segments.back().label; }
};

/// A sample's strip from labels at some steps of a plan: `steps` (ascending
/// indices into `timesteps`, the plan's descending t) carry `labels`. Step j's
/// label holds from its t to the next labelled step's t; the last one up to
/// the t after step `shown` (the plan's next t, or the final samples' end
/// after the last step), so the strip follows the timeline's cursor.
ClassStrip classStrip(const std::vector<int>& timesteps, std::span<const int> steps, std::span<const int> labels,
                      int shown, int trainSteps);

/// The label of `sample` at `step` of a trajectory: the assignment of the
/// latest measured step at or before it (FrameMetrics::assignment; the final
/// samples, step == size(), take the last step's); -1 when none is known.
int assignmentAt(const Trajectory& trajectory, int step, int sample);

/// Every sample's strip up to step `shown` of a trajectory, from the
/// assignments its measured steps hold; empty when none up to it has them
/// (metrics off, or a model with neither a classifier nor a mixture).
std::vector<ClassStrip> trajectoryStrips(const Trajectory& trajectory, int shown, int trainSteps);

/// The legend of the class colours as rich text for a QLabel ("■ 0  ■ 1 ..."):
/// the names of what the metrics assign with `model` (the window's: every panel is
/// measured by it), its classifier's classes or its mixture's components
/// (experiments::assignment_labels); empty when it has neither.
QString classLegend(const LoadedModel* model);

/// Paint a strip into `rect`, position 0 at its left edge and 1 at its right;
/// the part not reached yet stays as it is.
void paintClassStrip(QPainter& p, const QRectF& rect, const ClassStrip& strip);

} // namespace noisetrail::ui
