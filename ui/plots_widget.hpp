// The plots under the panels (QCustomPlot): the schedule with each panel's
// visited timesteps, and per-step statistics per panel in its colour, all on
// the timeline's t axis with a cursor line. Redraws are coalesced.
#pragma once
#include "noise_axis.hpp"
#include "noisetrail/fields.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/sampler_config.hpp"

#include <QColor>
#include <QSize>
#include <QWidget>

#include <array>
#include <functional>
#include <vector>

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemStraightLine;
class QCPLegend;
class QCPTextElement;
class QLabel;
class QMouseEvent;
class QTimer;
class QToolButton;
class QAction;

namespace noisetrail::ui {

class PlotsWidget : public QWidget {
    Q_OBJECT
public:
    explicit PlotsWidget(QWidget* parent = nullptr);

    void setSchedule(const std::vector<double>& alphaBars, const std::vector<double>& betas,
                     const std::vector<double>& logSnr);
    /// The window's noise axis (noise_axis.hpp): the x axes are named by it and the
    /// schedule plot draws its reference: VP alpha_bar, log SNR and beta; flow
    /// alpha_s = 1 - s, sigma_s = s and log SNR. Nothing happens when it is unchanged.
    void setNoiseAxis(const NoiseAxis& axis);
    /// The x axes' name ("t (noise level)", "s (noise level)", ...).
    QString axisTitle() const { return axisTitle_; }
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
    /// The cursor at level t; with the model-calls axis the statistics' and the ode_error
    /// plot's cursor stand at `calls` (the timeline's), or at panel 1's calls at t (axisX) when -1.
    void setCursor(int t, int calls = -1);

    /// Each panel's words: the full description ("DDIM, 50 steps, eta 0, leading",
    /// hover) and the short one every plot's legend shows in the panel's colour
    /// ("DDIM 50 (η 0)"; shortName()).
    void setPanelNames(const QStringList& names, const QStringList& shortNames);
    /// "DDPM 1000", "DDIM 50 (η 0)", "Heun 50", "DPM++(2M) 50".
    static QString shortName(const SamplerConfig& config, int trainSteps);
    /// The legend of a plot (slot 0..7, or kSchedulePlot): its entries' texts and colours.
    QStringList legendEntries(int plot) const;
    QList<QColor> legendColors(int plot) const;
    bool legendShown(int plot) const;

    /// How the worker measures a panel's diversity metrics (recorder.hpp,
    /// measuredStep): every `stride`-th of its `steps` steps and its last, `points` in all.
    struct MetricSampling {
        int steps = 0, stride = 1, points = 0;
    };
    MetricSampling metricSampling(int panel) const;
    /// Whether a panel's metric curves are measured on every stride-th step only
    /// (then they are drawn as points, not lines).
    bool metricsSubsampled(int panel) const;
    /// For the status bar, while a subsampled panel's metrics are plotted: "Metrics
    /// every 20th step of panel 1, DDPM 1000 (51 points)"; empty otherwise.
    QString metricsNote() const { return metricsNote_; }

    /// Folding: each plot (slot 0..7, kSchedulePlot) can be folded away; the
    /// others take its room. Remembered in QSettings once restoreFolded() was called.
    static constexpr int kSchedulePlot = 8;
    void setFolded(int plot, bool folded);
    bool folded(int plot) const;
    /// Read the folded plots from QSettings ("plots/folded") and remember changes there.
    void restoreFolded();
    /// One checkable action per plot (checked: shown), in the Plots menu.
    QList<QAction*> foldActions() const { return foldActions_; }
    /// Show one plot alone, large (presentation's large view), without folding the
    /// others (nothing is remembered); -1 shows every plot again.
    void showAlone(int plot);
    int shownAlone() const { return alone_; }
    /// The plots shown now (not folded and applying), the schedule first.
    QList<int> shownPlots() const;
    /// A "Plots" button with that menu, for a corner of the tab bar.
    QToolButton* plotsButton() const { return plotsButton_; }
    /// Whether the diversity row applies (metrics on); slots 6-7 also need a
    /// mixture or a classifier. Plots that do not apply are not laid out.
    void setMetricsShown(bool on);
    bool slotShown(int slot) const;
    /// The values of every panel at the timestep under a point of the stats
    /// plot (what hover shows); empty outside the plots.
    QString valuesAt(QPoint statsPixel) const;
    QString hoverText() const { return hoverText_; }
    /// The timestep under a point of a plot (-1 outside its axes).
    int tAt(QCustomPlot* plot, QPoint pixel) const;
    /// Presentation: fonts, line widths, point sizes and margins times `factor` (1..3).
    void setScale(double factor);
    double scale() const { return scale_; }
    /// Where on the stats plot timestep t of a slot is drawn (mid-height), for tests and scripts.
    QPoint statsPixel(int slot, int t);
    /// Plots laid out in the stats plot, and the line width of a panel's curve.
    int shownSlotCount() const;
    double lineWidth(int slot, int panel) const;
    /// Zoom the t axes back to the whole range (double-click does this).
    void resetZoom();

    /// The plot under a pixel of the schedule or the stats plot: a slot 0..7 (its
    /// title, legend and axes), kSchedulePlot, or -1.
    int plotAt(const QCustomPlot* plot, QPoint pixel) const;
    /// One plot's data as CSV (right-click "Save Data as CSV"): "t", then one column
    /// per curve, named by what it is and whose it is ("vendi [panel 2: DDIM 50 (η 0)]").
    QString plotCsv(int plot) const;
    /// Save one plot alone, by the path's extension: .png, .svg or .pdf of that plot
    /// at `size` (laid out for it), .csv of its data (plotCsv). False on any error.
    bool savePlot(int plot, const QString& path, QSize size = kFigureSize);
    static constexpr QSize kFigureSize{720, 450};

    /// The exact path's error of a panel's run per step (issue 22): ode_error, and for a
    /// learned card beside its exact twin also the solver's and the model's part
    /// (core's ode_error_split), drawn in the ode_error plot beside the statistics, which
    /// shows itself while some panel has one. `t` are the steps' levels on the noise axis,
    /// `calls` the model calls made by the end of each step (core's model_calls_by_step).
    /// An empty split clears the panel's curves.
    void setOdeErrors(int panel, const std::vector<int>& t, const std::vector<int>& calls,
                      const OdeErrorSplit& errors);
    /// View > Model Calls Axis: the statistics' and the ode_error plot's x axes count
    /// model calls (NFE) instead of the noise level t (the schedule stays on t); Heun's S
    /// steps end at 2S - 1. The feed then adds each step at its calls (setPanelCalls) and
    /// rebuilds the curves; the cursor and clicks follow panel 1's steps.
    void setNfeAxis(bool on);
    /// A panel's computed steps: their levels on the noise axis and, for each, the model
    /// calls by which its state x_t had been reached (before the step's own calls: where the
    /// timeline shows that state), plus the calls of the whole run so far; from core's
    /// model_calls_by_step. For the NFE axis's range, cursor, clicks and hover.
    void setPanelCalls(int panel, const std::vector<int>& t, const std::vector<int>& callsBefore, int totalCalls);
    /// Where a step at level t of panel 1 sits on the current x axis (t itself unless NFE).
    double axisX(int t) const;
    bool nfeAxis() const { return nfeAxis_; }
    QCustomPlot* odePlot() const { return ode_; }
    /// Whether the ode_error plot would be seen: the plots are on screen (their tab shown).
    /// Finished runs compute their exact ODE while it is (or while View > Exact ODE Path is on).
    bool odeWanted() const { return isVisible(); }
    /// The ode_error plot's curves of a panel: 1 (ode_error), 3 (total, solver, model) or 0.
    int odeCurveCount(int panel) const;
    /// A curve's data (curve 0 total, 1 solver, 2 model) as (x, value), x on the current axis.
    std::vector<std::pair<double, double>> odeCurve(int panel, int curve) const;

Q_SIGNALS:
    /// A click on a plot: move the timeline there.
    void seekRequested(int t);
    /// A click on the statistics with the model-calls axis: move the timeline to those calls
    /// (the nearest step's, any panel's, within a few pixels).
    void seekCallsRequested(int calls);
    /// odeWanted() changed.
    void odeWantedChanged(bool wanted);
    /// metricsNote() changed.
    void metricsNoteChanged(const QString& note);

public:
    /// Plots are rebuilt at most every ~40 ms however many calls come in.
    void scheduleReplot();
    int replotCount() const { return replots_; }
    QCustomPlot* schedulePlot() const { return schedule_; }
    QCustomPlot* statsPlot() const { return stats_; }

    /// The statistics shown, in order (names of StepStats fields).
    static const std::vector<const char*>& statNames();

protected:
    void changeEvent(QEvent* e) override;
    void showEvent(QShowEvent* e) override;
    void hideEvent(QHideEvent* e) override;
    bool eventFilter(QObject* watched, QEvent* e) override;

private:
    void applyPalette();
    void replotNow();
    void rescaleStats();
    void relayoutStats();
    void applyScale();
    void styleMetricGraphs(int panel);
    void updateMetricsNote();
    void updateFoldActions();
    /// Legends' entries to a row and titles' line breaks for the plots' widths.
    void fitLegends(double statsWidth, double scheduleWidth);
    void fitTicks();
    /// Every curve's CSV column name (the kCsvName property, export_plot.hpp).
    void nameColumns();

    QCustomPlot* schedule_ = nullptr;
    QCustomPlot* ode_ = nullptr; ///< ode_error per step (issue 22), shown while a panel has one
    struct OdeData {
        std::vector<int> t, calls;
        OdeErrorSplit errors;
        std::vector<QCPGraph*> graphs; ///< total, then solver and model where split
    };
    std::vector<OdeData> odeData_;
    QCPItemStraightLine* odeCursor_ = nullptr;
    bool nfeAxis_ = false;
    std::vector<std::pair<std::vector<int>, std::vector<int>>> panelCalls_; ///< per panel: t, calls before the step
    std::vector<int> panelTotals_;                                          ///< per panel: calls of the run so far
    int cursorT_ = 0;
    int cursorCalls_ = -1; ///< the timeline's model calls (NFE axis), -1: from cursorT_
    /// valuesAt on the model-calls axis: each panel's step nearest to `calls`.
    QString valuesAtCalls(int slot, double calls) const;
    void refillOde();
    QCustomPlot* stats_ = nullptr;
    std::vector<QCPAxisRect*> statRects_;
    std::vector<QCPTextElement*> statTitles_;
    QStringList titles_; // [slot]: each plot's title (its element may show it on two lines)
    std::vector<QCPLegend*> statLegends_; // [slot]: one entry per panel
    int statColumns_ = 4;                 // plots to a row
    std::vector<std::vector<QCPGraph*>> statGraphs_; // [stat][panel]
    std::vector<QCPGraph*> visited_;                 // per panel, on alpha_bar
    std::vector<QCPItemStraightLine*> cursors_;
    std::vector<QCPItemStraightLine*> refLines_; // metric slots 6, 7: the ideal value
    std::array<bool, 2> refShown_{false, false};  // ... when the model has one
    int solo_ = -1; // a plot laid out alone while savePlot renders it
    int alone_ = -1; // a plot shown alone (presentation's large view)
    bool tightLegends_ = false; // the small plots' legends do not fit: only the schedule's is shown
    MetricKind metricKind_ = MetricKind::Plain;
    int metricCount_ = 0;
    std::vector<double> alphaBars_; // the schedule plot's left curve: alpha_bar (VP) or alpha_s (flow)
    NoiseAxis axis_;
    QString axisTitle_;
    QTimer* timer_ = nullptr;
    int trainSteps_ = 1000;
    int replots_ = 0;
    QStringList panelNames_, shortNames_;
    std::vector<int> panelSteps_; // planned steps per panel
    QString metricsNote_;
    std::vector<bool> folded_ = std::vector<bool>(kSchedulePlot + 1, false);
    bool persistFolds_ = false;
    QList<QAction*> foldActions_;
    QToolButton* plotsButton_ = nullptr;
    QLabel* allFolded_ = nullptr; // says where the plots went
    bool metricsShown_ = true;
    QString hoverText_;
    double scale_ = 1.0;
    QFont baseFont_;
};

} // namespace noisetrail::ui
