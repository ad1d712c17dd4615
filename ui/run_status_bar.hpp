// The window's status bar: one message line, the note that long panels'
// metrics are measured on every k-th step, and the run's progress over all
// computing panels.
#pragma once
#include <QStatusBar>

class QLabel;
class QProgressBar;

namespace noisetrail::ui {

class RunStatusBar : public QStatusBar {
    Q_OBJECT
public:
    explicit RunStatusBar(QWidget* parent = nullptr);

    void setMessage(const QString& message);
    QString message() const;
    /// "metrics every k-th step" (core recorder.hpp); empty hides it.
    void setMetricsNote(const QString& note);
    /// A run of `totalSteps` steps over all panels begins / advances / ends.
    void startProgress(int totalSteps);
    void setProgress(int doneSteps, const QStringList& perPanel);
    void endProgress();

private:
    QLabel* message_;
    QLabel* metricsNote_;
    QProgressBar* progress_;
};

} // namespace noisetrail::ui
