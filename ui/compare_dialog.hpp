// The Compare view (issue 5): the DDPM vs DDIM table of the current model
// (DDIM eta in {0, 0.2, 0.5, 1} and DDPM sigma-hat by S) and the chosen
// metric against S on a log axis. The grid runs on its own worker thread
// through core's compare API (the same code as `noisetrail-cli compare`),
// with progress and cancel; finished cells are cached, and the committed cache
// of a bundled card (compare::committed_cache: docs/compare-<card stem>/) is
// read when present. Cells cached for other content of the model are not used,
// and the status line says so.
#pragma once
#include "noisetrail/compare.hpp"

#include <QDialog>
#include <QMetaType>
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
    quint64 generation = 0;
    QString modelPath;
    compare::Options options;
    bool lookupOnly = false; ///< only read the caches (instant), compute nothing
};

/// The compare worker: lives on its own QThread, never touches a widget.
class CompareWorker : public QObject {
    Q_OBJECT
public:
    /// Called directly from the GUI thread (not a slot: it must not queue behind the run).
    void cancel() { cancel_.store(true); }

public Q_SLOTS:
    void run(const noisetrail::ui::CompareJob& job);

Q_SIGNALS:
    /// A snapshot of the grid (after the reference is ready and after every cell).
    void partial(quint64 generation, noisetrail::ui::CompareResultPtr grid);
    /// Sampling progress: cell index (0-based) of cells, steps done/total in the cell.
    void progress(quint64 generation, int cell, int cells, int done, int total, const QString& label,
                  double secondsLeft);
    void finished(quint64 generation, noisetrail::ui::CompareResultPtr grid, bool cancelled);
    void failed(quint64 generation, const QString& message);
    /// Lookups: the sample count with the most cached cells of this model (0 if none), and a summary.
    void cacheSummary(quint64 generation, int bestSamples, int bestCells, const QString& text);

private:
    std::atomic<bool> cancel_{false};
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
    void onPartial(quint64 gen, CompareResultPtr grid);
    void onProgress(quint64 gen, int cell, int cells, int done, int total, const QString& label, double left);
    void onFinished(quint64 gen, CompareResultPtr grid, bool cancelled);
    void onFailed(quint64 gen, const QString& message);
    void onCacheSummary(quint64 gen, int bestSamples, int bestCells, const QString& text);

    QString modelPath_;
    QString cacheFile_;
    QStringList readOnly_;
    QThread* thread_ = nullptr;
    CompareWorker* worker_ = nullptr;
    quint64 generation_ = 0;
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

Q_DECLARE_METATYPE(noisetrail::ui::CompareJob)
Q_DECLARE_METATYPE(noisetrail::ui::CompareResultPtr)
