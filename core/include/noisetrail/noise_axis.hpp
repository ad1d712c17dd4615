// One noise axis for runs on different processes (contract section 8): VP over
// integer t and flow over s in [0, 1] meet where their signal-to-noise ratios
// alpha^2 / sigma^2 agree (docs/ARCHITECTURE.md, "One noise axis"). Torch-free.
#pragma once
#include "noisetrail/noise_schedule.hpp"

#include <vector>

namespace noisetrail {

/// The flow level s with the signal-to-noise ratio of alpha_bar (the inverse of
/// flow_equivalent_alpha_bar): s = sigma / (alpha + sigma), alpha = sqrt(ab),
/// sigma = sqrt(1 - ab), the "noise fraction".
double flow_level_of_alpha_bar(double alpha_bar);

/// The axis is drawn in the grid index t of a reference schedule: the real t in
/// [0, T - 1] of `reference` whose SNR is alpha_bar / (1 - alpha_bar). VP: log SNR
/// linear between train steps; flow: s T - 1 for the s of that SNR. Clamped to the grid.
double axis_position(const NoiseSchedule& reference, double alpha_bar);

/// Grid index t of `own` on the axis of `reference`, rounded to the nearest index:
/// t itself when both are VP (VP runs align on t whatever their schedules, as they
/// always have) or both are flow with one T; -1 (after the last step) stays -1.
int axis_t(const NoiseSchedule& own, int t, const NoiseSchedule& reference);

/// The reference of the axis for panels drawn side by side (their schedules in panel
/// order): the first VP schedule, else the first; null for none (null entries skipped).
/// The GUI's timeline and lockstep pacing (run_set.hpp) both use it.
const NoiseSchedule* axis_reference(const std::vector<const NoiseSchedule*>& schedules);

} // namespace noisetrail
