// The Experiments view (issue 13): one tab per experiment of the DDIM paper
// (inversion and reconstruction, interpolation in x_T, consistency across step
// counts with early stop, decision time), each computed on the worker thread
// with progress and cancel, showing its figure, its numbers and the
// noisetrail-cli command that reproduces it, and exporting the figure (PNG,
// SVG, PDF) and its numbers (CSV).
#pragma once
#include "experiment_worker.hpp"
#include "job_tracker.hpp"

#include <QDialog>

class QCheckBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableWidget;
class QThread;

namespace noisetrail::ui {

class ExperimentDialog : public QDialog {
    Q_OBJECT
public:
    /// `modelPath`: the current model's card; `seed`: the window's shared seed.
    ExperimentDialog(const QString& modelPath, quint64 seed, QWidget* parent = nullptr);
    ~ExperimentDialog() override;

    QString modelPath() const { return modelPath_; }
    void setSeed(quint64 seed);
    void showExperiment(ExperimentKind kind);
    ExperimentKind currentKind() const;

    /// The job the current tab's settings describe (InputError text in `error` when they are bad).
    ExperimentJob job(QString* error = nullptr) const;
    /// Compute the current tab's job on the worker thread. Pressed while a job
    /// runs, the newest wins: the running one is cancelled and what it still
    /// delivers is dropped (job_tracker.hpp).
    void compute();
    /// Cancel the running job and any queued behind it (directly, never queued).
    void cancel();
    bool isComputing() const { return computing_; }
    /// Write the current tab's figure (by the extension: .png, .svg or .pdf,
    /// export_plot.hpp's saveFigure) / numbers (CSV, plus X0.npy for drawn inversion examples).
    bool exportFigure(const QString& path) const;
    bool exportCsv(const QString& path) const;

    ExperimentResultPtr result(ExperimentKind kind) const;
    QTableWidget* table() const { return table_; }
    QString commandText() const;
    /// The current tab's status line: its own computation's progress or result, never another tab's.
    QString statusText() const;
    QSpinBox* countSpin(ExperimentKind kind) const;
    QLineEdit* stepsEdit(ExperimentKind kind) const;
    QLineEdit* samplersEdit(ExperimentKind kind) const;

Q_SIGNALS:
    void computeFinished(bool cancelled);

protected:
    void closeEvent(QCloseEvent* e) override;

private:
    struct Page {
        QSpinBox* count = nullptr;
        QLineEdit* steps = nullptr;    ///< inversion, consistency
        QLineEdit* samplers = nullptr; ///< interpolation, consistency, decision
        QCheckBox* ddpm = nullptr;     ///< inversion
        ExperimentResultPtr result;
        QString status;                ///< this tab's status line
    };
    /// Set tab `kind`'s status line (shown when that tab is current).
    void setStatus(ExperimentKind kind, const QString& text);
    void showResult();
    void updateButtons(); ///< and the progress bar (updateProgress)
    void updateProgress();
    void onProgress(int done, int total, const QString& stage);
    void onFinished(const ExperimentResultPtr& result);
    void onFailed(const QString& message);

    QString modelPath_;
    quint64 seed_ = 0;
    bool image_ = false;
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr; ///< lives on thread_: the jobs run there
    JobTracker jobs_;
    bool computing_ = false;
    ExperimentKind running_ = ExperimentKind::Inversion;
    int runDone_ = 0, runTotal_ = 0; ///< the running job's last progress report
    Page pages_[4];

    QTabWidget* tabs_ = nullptr;
    QSpinBox* seedSpin_ = nullptr;
    QPushButton* computeButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QPushButton* figureButton_ = nullptr;
    QPushButton* csvButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    class FigureView* figure_ = nullptr;
    QTableWidget* table_ = nullptr;
    QLineEdit* command_ = nullptr;
};

} // namespace noisetrail::ui
