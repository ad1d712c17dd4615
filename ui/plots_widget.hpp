// The plots under the panels (QCustomPlot): the schedule with each panel's
// visited timesteps, and per-step statistics per panel in its colour, all on
// the timeline's t axis with a cursor line. Redraws are coalesced.
#pragma once
#include "noisetrail/metrics.hpp"
#include "noisetrail/run.hpp"

#include <QColor>
#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemStraightLine;
class QCPTextElement;
class QTimer;

namespace noisetrail::ui {

class PlotsWidget : public QWidget {
    Q_OBJECT
public:
    explicit PlotsWidget(QWidget* parent = nullptr);

    void setSchedule(const std::vector<double>& alphaBars, const std::vector<double>& betas,
                     const std::vector<double>& logSnr);
    void setPanelCount(int n);
    /// A new run of `panel`: clear its curves, mark its planned timesteps.
    void beginPanel(int panel, const std::vector<int>& timesteps);
    void addStats(int panel, int t, const StepStats& stats);

    /// Which per-step diversity metrics the second row shows (issue 5): mean
    /// pairwise distance and Vendi always; then components covered and
    /// occupancy entropy (mixtures, `count` components) or classes covered and
    /// class entropy (digit models with a classifier, `count` classes).
    enum class MetricKind { Plain, Mixture, Classes };
    void setMetricKind(MetricKind kind, int count);
    MetricKind metricKind() const { return metricKind_; }
    void addMetrics(int panel, int t, const metrics::StepMetrics& m);
    /// Number of plotted points of one plot slot (0..3 statistics, 4..7 metrics) for a panel.
    int pointCount(int slot, int panel) const;
    /// The value plotted at step t of a slot and panel (NaN if none): tests read the plots back.
    double plottedValue(int slot, int panel, int t) const;
    QString slotTitle(int slot) const;
    static constexpr int kStatSlots = 4, kMetricSlots = 4;
    void setCursor(int t);
    /// Plots are rebuilt at most every ~40 ms however many calls come in.
    void scheduleReplot();
    int replotCount() const { return replots_; }
    QCustomPlot* schedulePlot() const { return schedule_; }
    QCustomPlot* statsPlot() const { return stats_; }

    /// The statistics shown, in order (names of StepStats fields).
    static const std::vector<const char*>& statNames();

protected:
    void changeEvent(QEvent* e) override;

private:
    void applyPalette();
    void replotNow();
    void rescaleStats();

    QCustomPlot* schedule_ = nullptr;
    QCustomPlot* stats_ = nullptr;
    std::vector<QCPAxisRect*> statRects_;
    std::vector<QCPTextElement*> statTitles_;
    std::vector<std::vector<QCPGraph*>> statGraphs_; // [stat][panel]
    std::vector<QCPGraph*> visited_;                 // per panel, on alpha_bar
    std::vector<QCPItemStraightLine*> cursors_;
    std::vector<QCPItemStraightLine*> refLines_; // metric slots 6, 7: the ideal value
    MetricKind metricKind_ = MetricKind::Plain;
    int metricCount_ = 0;
    std::vector<double> alphaBars_;
    QTimer* timer_ = nullptr;
    int trainSteps_ = 1000;
    int replots_ = 0;
};

} // namespace noisetrail::ui
