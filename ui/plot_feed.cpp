#include "plot_feed.hpp"

#include "export_plot.hpp"
#include "loaded_model.hpp"
#include "noisetrail/recorder.hpp"
#include "plots_widget.hpp"
#include "sampler_panel.hpp"
#include "timeline_mapping.hpp"

namespace noisetrail::ui {

namespace {
std::vector<int> timesteps(const SamplerPanel* p)
{
    return p->axisTimesteps(); // the computed ones, before Run the plan; on the window's noise axis
}
} // namespace

void PlotFeed::setModel(const LoadedModel& m)
{
    plots_->setSchedule(m.alphaBars, m.betas, m.logSnr);
    plots_->setMetricKind(m.mixture      ? PlotsWidget::MetricKind::Mixture
                          : m.classifier ? PlotsWidget::MetricKind::Classes
                                         : PlotsWidget::MetricKind::Plain,
                          m.mixture ? m.mixture->components() : m.classifier ? m.classifier->num_classes() : 0);
}

void PlotFeed::rebuild(const std::vector<SamplerPanel*>& panels)
{
    plots_->setPanelCount(int(panels.size()));
    plotted_.assign(panels.size(), {nullptr, 0});
    odePlotted_.assign(panels.size(), nullptr);
    for (std::size_t i = panels.size(); i < 4; ++i) // removed panels' ode_error curves go too
        plots_->setOdeErrors(int(i), {}, {}, {});
    for (std::size_t i = 0; i < panels.size(); ++i)
        plots_->beginPanel(int(i), timesteps(panels[i]));
    pull(panels);
    installPlotExports(plots_); // PNG / SVG / PDF / CSV context menus (export_plot.hpp)
}

void PlotFeed::pull(const std::vector<SamplerPanel*>& panels)
{
    plotted_.resize(panels.size(), {nullptr, 0});
    odePlotted_.resize(panels.size(), nullptr);
    for (std::size_t i = 0; i < panels.size(); ++i) {
        const Trajectory& tr = panels[i]->trajectory();
        auto& [store, done] = plotted_[i];
        if (store != &tr) {
            if (store)
                plots_->beginPanel(int(i), timesteps(panels[i]));
            plots_->setPanelCalls(int(i), {}, {}, 0);
            store = &tr;
            done = 0;
        }
        const int n = tr.size(); // once: the worker may publish more meanwhile
        if (done < n) {
            // The steps' model calls (the NFE axis, its cursor and clicks), from the run's terms.
            SamplingPlan plan;
            std::vector<int> ts;
            for (int k = 0; k < n; ++k) {
                plan.steps.push_back(tr.info(k).plan);
                ts.push_back(panels[i]->toAxis(tr.info(k).plan.t));
            }
            // A step's record (x_t, and the x0_hat and eps_hat at x_t) describes the state its
            // predecessors reached: on the calls axis it sits at the calls made before the step,
            // where the timeline shows that state (TimelineMapping::callsOfStep).
            const std::vector<int> byEnd = model_calls_by_step(panels[i]->shownConfig(), plan);
            calls_.resize(byEnd.size());
            for (std::size_t k = 0; k < byEnd.size(); ++k)
                calls_[k] = TimelineMapping::callsOfStep(byEnd, int(k));
            plots_->setPanelCalls(int(i), ts, calls_, byEnd.empty() ? 0 : byEnd.back());
        }
        for (; done < n; ++done) {
            const auto& info = tr.info(done);
            const int t = nfe_ ? calls_[std::size_t(done)] : panels[i]->toAxis(info.plan.t);
            plots_->addStats(int(i), t, info.stats);
            if (hasValues(info.metrics.values)) // steps between measured ones hold none (core recorder.hpp)
                plots_->addMetrics(int(i), t, info.metrics.values);
        }
        // The exact path's error (issue 22), once the panel's worker has it.
        const OdeResultPtr ode = panels[i]->odeResult();
        if (ode.get() != odePlotted_[i]) {
            odePlotted_[i] = ode.get();
            std::vector<int> ts;
            if (ode)
                for (const PlanStep& s : ode->request.plan.steps)
                    ts.push_back(panels[i]->toAxis(s.t));
            plots_->setOdeErrors(int(i), ts, ode ? model_calls_by_step(ode->request.config, ode->request.plan) : std::vector<int>{},
                                 ode ? ode->errors : OdeErrorSplit{});
        }
    }
}

} // namespace noisetrail::ui
