// One timeline for the whole window, in units of the noise level t (T-1 on
// the left, 0 and then the final samples on the right), each panel's
// timesteps marked in its colour. Play/pause, speed, step, start/end.
// With View > Model Calls Axis it runs in model calls (NFE) instead: 0 on the
// left, the most any panel makes on the right, each panel at the state its
// calls reached (equal cost).
#pragma once
#include "noise_axis.hpp"
#include "timeline_mapping.hpp"

#include <QColor>
#include <QWidget>

#include <vector>

class QLabel;
class QPainter;
class QSpinBox;
class QTimer;
class QToolButton;

namespace noisetrail::ui {

struct PanelMarks {
    QColor color;
    std::vector<int> timesteps; ///< planned, descending
    int visited = 0;            ///< how many of them have frames
    /// The model calls made by the end of each planned step (core's model_calls_by_step);
    /// filled for the model-calls axis only.
    std::vector<int> calls;
};

class TimelineTrack;

class TimelineBar : public QWidget {
    Q_OBJECT
public:
    explicit TimelineBar(QWidget* parent = nullptr);

    void setTrainSteps(int T);
    int trainSteps() const { return mapping_.trainSteps; }
    void setPanels(std::vector<PanelMarks> panels);
    /// The window's noise axis (noise_axis.hpp): T is its reference's and the ticks
    /// say t (VP), s (flow), or both (VP axis with flow panels).
    void setAxis(const NoiseAxis& axis);
    const NoiseAxis& axis() const { return axis_; }
    const std::vector<PanelMarks>& panels() const { return panels_; }

    /// Move the cursor from code (following a live run): emits nothing.
    void setCursor(int t);
    /// Move the cursor as the user would (a click on a plot): emits cursorMoved.
    void seek(int t) { moveByUser(t); }
    int cursor() const { return cursor_; }
    const TimelineMapping& mapping() const { return mapping_; }
    bool isPlaying() const;
    int speed() const; ///< cursor stops per second while playing
    void setSpeed(int stepsPerSecond);
    TimelineTrack* track() const { return track_; }
    /// Presentation: the play buttons' icons grow with the text (the track follows the font).
    void setScale(double scale);

    /// View > Model Calls Axis: the track, its stops and its cursor count model calls
    /// (the panels' PanelMarks::calls) from 0 to totalCalls(); cursor() is then the t of
    /// panel 1's state at the cursor's calls. Off: the noise level t, as always.
    void setNfeAxis(bool on);
    bool nfeAxis() const { return nfe_; }
    /// The model calls under the cursor (the model-calls axis).
    int cursorCalls() const { return cursorCalls_; }
    /// The track's end: the most model calls any panel's plan makes (at least 1).
    int totalCalls() const;
    /// Move the cursor to `calls` model calls as the user would: emits cursorMoved.
    void seekCalls(int calls);
    /// What the model-calls axis' readout says: "call 14 of 19 (step 8, t = 300)", the
    /// step and level of panel 1's state at the cursor; empty on the t axis.
    QString readout() const;

public Q_SLOTS:
    void togglePlay();
    void stepForward();
    void stepBack();
    void nextKeyFrame();     ///< Page Down: the next tenth of the schedule
    void previousKeyFrame(); ///< Page Up
    void toStart();
    void toEnd();
    void stop();

Q_SIGNALS:
    /// The user (mouse, keys, buttons, playback) moved the cursor to t.
    void cursorMoved(int t);
    void playingChanged(bool playing);

private:
    friend class TimelineTrack;
    void moveByUser(int t);
    std::vector<int> stops() const;
    void advance();
    /// The model-calls axis: the cursor at `calls` (cursor_ follows: panel 1's state's t).
    void setCursorCalls(int calls);
    void moveCallsByUser(int calls);
    std::vector<int> callStops() const;
    /// The calls of panel 1's state at level t (0 at the start, totalCalls() at the final samples).
    int callsOfT(int t) const;
    void updateReadout();

    TimelineMapping mapping_;
    std::vector<PanelMarks> panels_;
    NoiseAxis axis_;
    int cursor_ = 999;
    TimelineTrack* track_ = nullptr;
    QToolButton* play_ = nullptr;
    QSpinBox* speed_ = nullptr;
    QTimer* timer_ = nullptr;
    double carry_ = 0; ///< fractional stops owed by playback
    bool nfe_ = false;
    int cursorCalls_ = 0;
    QLabel* readout_ = nullptr;
};

/// The painted track; drag or click to scrub.
class TimelineTrack : public QWidget {
    Q_OBJECT
public:
    explicit TimelineTrack(TimelineBar* bar);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    /// The pixel of t in this widget (for tests that drag with the mouse).
    double pixelOfT(int t) const;
    /// The pixel of `calls` model calls on the model-calls axis.
    double pixelOfCalls(int calls) const;
    /// The pixels of t = T-1 and of the final samples, from the width and the font.
    void updateMapping();

protected:
    void paintEvent(QPaintEvent*) override;
    void mousePressEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void resizeEvent(QResizeEvent*) override;
    void changeEvent(QEvent* e) override;

private:
    /// The model-calls axis' labels and cursor (paintEvent draws the rows).
    void paintCallsAxis(QPainter& p, int axisY, int axis);
    TimelineBar* bar_;
};

} // namespace noisetrail::ui
