// Compare Guidance Scales (issue 21): the fidelity-diversity trade-off of
// classifier-free guidance for the window's conditional card, one row per W,
// measured by core's compare::run_guidance (the same code as `noisetrail-cli
// guidance`) on its own worker thread, with progress and cancel; a table and
// the chosen metric against W.
#pragma once
#include "job_tracker.hpp"

#include "noisetrail/compare.hpp"

#include <QDialog>
#include <QString>

#include <memory>

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QThread;

namespace noisetrail::ui {

class GuidanceDialog : public QDialog {
    Q_OBJECT
public:
    /// `modelPath`: the window's conditional card; `sampler`: panel 1's settings (its
    /// sampler, steps and guidance interval are used; class and W are set per run).
    /// `samplerText`: the settings in words, for the heading.
    GuidanceDialog(const QString& modelPath, const SamplerConfig& sampler, const QString& samplerText,
                   QWidget* parent = nullptr);
    ~GuidanceDialog() override;

    void setSamples(int n);
    /// "0, 1, 3, 7": the W values, comma-separated.
    void setScales(const QString& text);
    void compute();
    void cancel();
    bool isComputing() const { return computing_; }
    std::shared_ptr<const compare::GuidanceResult> result() const { return result_; }
    QTableWidget* table() const { return table_; }
    QString statusText() const;
    /// For tests (QCustomPlot's header needs Qt's keywords): points of the plotted line.
    int plotPointCount() const;

Q_SIGNALS:
    void computeFinished(bool cancelled);

protected:
    void closeEvent(QCloseEvent* e) override;

private:
    void onProgress(int done, int total);
    void onFinished(std::shared_ptr<const compare::GuidanceResult> r);
    void onFailed(const QString& message);
    void showResult();
    void updateButtons();

    QString modelPath_;
    SamplerConfig sampler_;
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr;
    JobTracker jobs_;
    bool computing_ = false;
    std::shared_ptr<const compare::GuidanceResult> result_;

    QSpinBox* samples_ = nullptr;
    QLineEdit* scales_ = nullptr;
    QComboBox* metric_ = nullptr;
    QPushButton* computeButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    QTableWidget* table_ = nullptr;
    QCustomPlot* plot_ = nullptr;
};

} // namespace noisetrail::ui
