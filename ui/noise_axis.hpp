// The window's one noise axis for panels of different processes (core axis_t;
// docs/ARCHITECTURE.md, "One noise axis"), and how a noise level is written.
#pragma once
#include "noisetrail/noise_axis.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <QString>

#include <memory>
#include <vector>

namespace noisetrail::ui {

/// The timeline's t is a grid index of the reference schedule; a panel's own
/// timesteps sit at the positions of the same signal-to-noise ratio. With only
/// VP panels every panel keeps its own t (the axis is the identity).
struct NoiseAxis {
    std::shared_ptr<const NoiseSchedule> reference; ///< null: every panel on its own t
    bool mixed = false; ///< the panels' processes differ (flow beside VP)

    /// The reference: core's axis_reference of `schedules` (the panels' cards in panel
    /// order: the first VP one, else the first), the one lockstep pacing uses.
    static NoiseAxis choose(const std::vector<std::shared_ptr<const NoiseSchedule>>& schedules);

    bool flow() const { return reference && reference->process() == ProcessKind::Flow; }
    /// A level t of a panel with schedule `own` on the axis (kFinal stays kFinal).
    int toAxis(const NoiseSchedule* own, int t) const;
    std::vector<int> toAxis(const NoiseSchedule* own, const std::vector<int>& ts) const;
    /// The level of `own` at the axis position (the forward view following the cursor).
    int fromAxis(const NoiseSchedule* own, int axisT) const;
    /// A tick label of the axis: "750" (VP), "0.75" (s, flow), "750 / s 0.99" (VP axis with flow panels).
    QString tickText(int axisT) const;
    /// A position as words: "t = 750", "s = 0.75" (flow), "t = 750 / s 0.99" (VP axis with flow panels).
    QString positionText(int axisT) const;
    /// The axis' name on plots: "t (noise level)", "s (noise level)", or the VP t with its flow s.
    QString axisTitle() const;
};

/// The noise level of grid index t of `schedule` as a teacher reads it: "t = 500" on
/// VP, "s = 0.500" on flow (s = (t + 1) / T); The value alone
/// ("500", "0.500") with `withSymbol` false.
QString levelText(const NoiseSchedule& schedule, int t, bool withSymbol = true);
/// The same for a plan step, from its own level (flow: the plan's exact s).
QString levelText(const PlanStep& step);
/// "t" on VP, "s" on flow.
QString levelSymbol(const NoiseSchedule& schedule);

} // namespace noisetrail::ui
