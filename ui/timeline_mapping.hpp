// Pure timeline mathematics: noise level t <-> step index of a panel <-> pixel.
// No widgets here, so every rule has a data-driven test (tst_timeline_mapping).
#pragma once
#include <vector>

namespace noisetrail::ui {

/// The window's one timeline runs in units of t from T-1 (pure noise, left)
/// down to 0, plus one position after it, t = -1, that stands for the final
/// samples (the output of the last step).
struct TimelineMapping {
    static constexpr int kFinal = -1; ///< the "final samples" position

    int trainSteps = 1000;  ///< T
    double pixelLeft = 0.0; ///< pixel of t = T-1
    double pixelRight = 1.0; ///< pixel of t = kFinal

    int tMax() const { return trainSteps - 1; }
    int tMin() const { return kFinal; }
    int clampT(int t) const;

    /// Pixel of the noise level t (t = T-1 at pixelLeft, kFinal at pixelRight).
    double pixelOfT(double t) const;
    /// The t under a pixel, rounded to the nearest integer and clamped.
    int tAtPixel(double pixel) const;

    /// Which step a panel shows when the cursor is at t. `timesteps` are the
    /// panel's descending timesteps (its plan), `available` how many of its
    /// frames exist so far, `finished` whether its final samples exist.
    /// Rule (core render.hpp step_at): the state it had when the cursor's t was
    /// reached, the last step whose t >= cursor; the final samples (index ==
    /// timesteps.size()) at kFinal. Never beyond what is available: then the
    /// newest available state. Returns -1 when nothing is available.
    static int stepAt(const std::vector<int>& timesteps, int t, int available, bool finished);

    /// The t a panel's step index stands for (kFinal for the final samples).
    static int tOfStep(const std::vector<int>& timesteps, int step);

    /// Next cursor stop from t in the direction of sampling (+1: towards
    /// t = 0 and the final samples) or back (-1), over the sorted union of
    /// `stops`; returns t itself when there is none further.
    static int nextStop(const std::vector<int>& stops, int t, int direction);

    // ---- View > Model Calls Axis (NFE): the track runs in model calls instead of t.
    // A panel's states cost calls: x_T none, the state after step k calls[k], where
    // calls are core's model_calls_by_step (the one rule; nothing here counts calls).

    /// Pixel of `calls` model calls on a track from 0 (pixelLeft) to `total` (pixelRight).
    double pixelOfCalls(double calls, int total) const;
    /// The model calls under a pixel, rounded to the nearest integer and clamped to 0..total.
    int callsAtPixel(double pixel, int total) const;
    /// The calls that reached a panel's state `step`: 0 for x_T (step 0), calls[step - 1]
    /// after it (the final samples: the last); -1 for a step the calls do not cover.
    static int callsOfStep(const std::vector<int>& calls, int step);
    /// Which state a panel shows with the cursor at `cursorCalls` model calls (equal cost):
    /// the last whose callsOfStep is not above the cursor; never beyond what is available
    /// (`available` steps have frames, `finished` its final samples), as stepAt. -1 when
    /// nothing is available.
    static int stepAtCalls(const std::vector<int>& calls, int cursorCalls, int available, bool finished);
    /// Next stop from `calls` towards more calls (+1) or fewer (-1) over the union of
    /// `stops`; `calls` itself when there is none further.
    static int nextCallStop(const std::vector<int>& stops, int calls, int direction);

    /// The key frames a presenter's clicker walks (Page Down / Page Up): the
    /// start T-1, every tenth of the schedule (T = 1000: 900, 800, ..., 100),
    /// t = 0 and the final samples. The next one from t in `direction` (+1
    /// towards the final samples), or t itself at either end.
    int nextKeyFrame(int t, int direction) const;
};

} // namespace noisetrail::ui
