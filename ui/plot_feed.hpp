// Feeds the plots from the panels' stores: the worker appends frames, the plots
// take what was published since the last redraw; a new store (a new run) starts
// its panel's curves afresh. Also hands the plots a newly loaded model's schedule.
#pragma once
#include <utility>
#include <vector>

namespace noisetrail {
class Trajectory;
}

namespace noisetrail::ui {

class PlotsWidget;
class SamplerPanel;
struct LoadedModel;

class PlotFeed {
public:
    explicit PlotFeed(PlotsWidget* plots) : plots_(plots) {}

    /// The schedule plots and the kind of diversity metric of `model`.
    void setModel(const LoadedModel& model);
    /// One set of curves per panel, from what each store holds.
    void rebuild(const std::vector<SamplerPanel*>& panels);
    /// Add the steps published since the last call.
    void pull(const std::vector<SamplerPanel*>& panels);
    /// View > Model Calls Axis: each step's record at the model calls made before it (the
    /// calls that reached its x_t, from core's model_calls_by_step) instead of its level;
    /// the ode_error of a step's output at the calls made by its end. rebuild() afterwards.
    void setNfeAxis(bool on) { nfe_ = on; }

private:
    PlotsWidget* plots_;
    /// Per panel: the store whose steps the plots hold, and how many.
    std::vector<std::pair<const Trajectory*, int>> plotted_;
    /// Per panel: the exact-path result whose ode_error the plots show (null: none).
    std::vector<const void*> odePlotted_;
    bool nfe_ = false;
    std::vector<int> calls_; ///< scratch: a panel's model calls before each step
};

} // namespace noisetrail::ui
