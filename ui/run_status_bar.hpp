// The window's status bar: one message line, the note that long panels'
// metrics are measured on every k-th step, and the run's progress over all
// computing panels.
#pragma once
#include <QStatusBar>

#include <QLabel>

class QProgressBar;

namespace noisetrail::ui {

/// A one-line label that never widens the window: a text longer than its room
/// ends in "..." and the whole text is its tooltip.
class ElidingLabel : public QLabel {
    Q_OBJECT
public:
    using QLabel::QLabel;
    QSize minimumSizeHint() const override { return {fontMetrics().averageCharWidth() * 8, QLabel::minimumSizeHint().height()}; }

protected:
    void paintEvent(QPaintEvent* e) override;
};

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
    ElidingLabel* message_;
    ElidingLabel* metricsNote_;
    QProgressBar* progress_;
};

} // namespace noisetrail::ui
