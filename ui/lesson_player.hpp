// Lessons in the window (Lesson menu; core's lesson.hpp is the file format): a
// compact strip at the top, "Step k of n: title" (a list to click) and the step's
// Markdown caption, large, also while presenting. Applying a step loads its recipe
// into the RunDocument (the card first when it is another), sets the shown field,
// tab and presentation, runs it and, once the run is done, moves the timeline to
// the step's cursor or plays its range. A finished run that a step replaces is set
// aside like Run does (Edit > Restore Discarded Run).
#pragma once
#include "noisetrail/lesson.hpp"

#include <QObject>
#include <QString>

class QComboBox;
class QDockWidget;
class QLabel;
class QTextBrowser;
class QToolButton;

namespace noisetrail::ui {

class MainWindow;
class RunFiles;
class WindowActions;

class LessonPlayer : public QObject {
    Q_OBJECT
public:
    /// Wires the Lesson menu's actions; `modelsDir` holds the bundled lessons (lessons/).
    LessonPlayer(MainWindow* window, WindowActions* actions, RunFiles* files, const QString& modelsDir);

    /// The bundled lesson (models/lessons/ddpm-vs-ddim.lesson.json), empty if not installed.
    static QString bundledLesson(const QString& modelsDir);

    /// Read the lesson and show its first step; false (the error shown) if the file is bad,
    /// and the lesson open before stays open.
    bool open(const QString& path);
    void close();
    bool isOpen() const { return open_; }
    const Lesson& lesson() const { return lesson_; }
    int stepIndex() const { return current_; }
    int stepCount() const { return int(lesson_.steps.size()); }
    /// Show step k (0-based): its recipe runs, its view is applied.
    void goTo(int k);
    void next() { goTo(current_ + 1); }
    void previous() { goTo(current_ - 1); }
    /// The window's recipe, field, tab and cursor as a new step after the current one (a new
    /// untitled lesson if none is open); the step becomes the current one, nothing is re-run.
    void recordStep(const QString& title, const QString& caption);
    /// Write the lesson; false (the error shown) if it cannot be written.
    bool saveAs(const QString& path);
    /// The caption as shown (plain text of its Markdown) and the strip's step line.
    QString captionText() const;
    QString stepLine() const;
    QDockWidget* dock() const { return dock_; }

Q_SIGNALS:
    /// Step k is applied (its run started or its card is loading).
    void stepShown(int k);
    void error(const QString& message);

private:
    void buildDock();
    void updateStrip();
    void applyView();
    void placeCursor();
    void onTimelineMoved(int t);
    void askRecord();
    void askSave();

    MainWindow* w_;
    WindowActions* actions_;
    RunFiles* files_;
    QString modelsDir_;
    QString path_;
    Lesson lesson_;
    bool open_ = false;
    int current_ = -1;
    bool waitingForModel_ = false; ///< the step's card is loading: apply and run when it is here
    bool waitingForRun_ = false;   ///< the step's run: place the cursor when it is done
    int playTo_ = kLessonFinal - 1; ///< playing a range: stop at this t (below kLessonFinal: not playing one)

    QDockWidget* dock_ = nullptr;
    QComboBox* steps_ = nullptr;
    QToolButton* prev_ = nullptr;
    QToolButton* next_ = nullptr;
    QLabel* title_ = nullptr;
    QTextBrowser* caption_ = nullptr;
};

} // namespace noisetrail::ui
