// The Compare view (issue 5): the DDPM vs DDIM table of the current model
// (DDIM eta in {0, 0.2, 0.5, 1} and DDPM sigma-hat by S) and the chosen
// metric against S on a log axis. The grid runs on its own worker thread
// through core's compare API (the same code as `noisetrail-cli compare`),
// with progress and cancel; finished cells are cached, and the committed cache
// of a bundled card (compare::committed_cache: docs/compare-<card stem>/) is
// read when present. Cells cached for other content of the model are not used,
// and the status line says so.
#pragma once
#include "job_tracker.hpp"

#include "noisetrail/compare.hpp"

#include <QDialog>
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>

class QCheckBox;
class QComboBox;
class QCPTextElement;
class QCustomPlot;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QThread;

namespace noisetrail::ui {

using CompareResultPtr = std::shared_ptr<const compare::Result>;

/// What the worker is asked for.
struct CompareJob {
    QString modelPath;
    compare::Options options;
    bool lookupOnly = false; ///< only read the caches (instant), compute nothing
};

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    /// `modelPath`: the card of the current model.
    explicit CompareDialog(const QString& modelPath, QWidget* parent = nullptr);
    ~CompareDialog() override;

    /// Where computed cells are written (default: the app's cache folder), and
    /// caches only read (default: compare::committed_cache of the card, when it exists).
    void setCacheFile(const QString& file);
    void setReadOnlyCaches(const QStringList& files);
    QString cacheFile() const { return cacheFile_; }

    void setSamples(int n);
    int samples() const;
    void setQuick(bool on);
    bool quick() const;
    /// The S values of the grid (compare::kQuickSteps or compare::kFullSteps).
    std::vector<int> stepCounts() const;

    /// Start computing the missing cells (Compute button).
    void compute();
    /// Stop the computation within one sampling step (Cancel button).
    void cancel();
    bool isComputing() const { return computing_; }

    QTableWidget* table() const { return table_; }
    QCustomPlot* plot() const { return plot_; }
    /// For tests (QCustomPlot's header needs Qt's keywords): lines in the plot,
    /// points of line i, and whether the S axis is logarithmic.
    int plotLineCount() const;
    int plotPointCount(int line) const;
    bool plotLogX() const;
    QComboBox* metricCombo() const { return metric_; }
    CompareResultPtr grid() const { return grid_; }
    QString statusText() const;

Q_SIGNALS:
    void computeFinished(bool cancelled);
    void gridChanged();

protected:
    void closeEvent(QCloseEvent* e) override;

private:
    compare::Options options() const;
    void lookup();
    void lookupLabel();
    void showGrid();
    void updateButtons();
    /// Run `job` on the worker thread (newest wins, job_tracker.hpp).
    void startJob(const CompareJob& job);
    void onPartial(CompareResultPtr grid);
    void onProgress(int cell, int cells, int done, int total, const QString& label, double secondsLeft);
    void onFinished(CompareResultPtr grid, bool cancelled);
    void onFailed(const QString& message);
    void onCacheSummary(int bestSamples, int bestCells, const QString& text);

    QString modelPath_;
    QString cacheFile_;
    QStringList readOnly_;
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr; ///< lives on thread_: the jobs run there
    JobTracker jobs_;
    bool computing_ = false;
    CompareResultPtr grid_;
    /// Until the user picks a sample count, the view follows the cache (e.g. the
    /// CLI's 1000-sample grid under docs/), so a cached table shows at once.
    bool autoSamples_ = true;
    bool settingSamples_ = false;
    QString cacheText_;

    QLabel* title_ = nullptr;
    QSpinBox* samples_ = nullptr;
    QCheckBox* quick_ = nullptr;
    QCheckBox* equalCost_ = nullptr; ///< columns as model-call budgets (compare::Options::equal_nfe)
    QComboBox* metric_ = nullptr;
    QPushButton* computeButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    QLabel* cacheLabel_ = nullptr;
    QTableWidget* table_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPTextElement* plotTitle_ = nullptr;
};

} // namespace noisetrail::ui
