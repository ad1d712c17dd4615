// Every action of the main window in one place: its text, shortcut, tip and
// object name, and the menus made of them. The window connects what they do.
// Help > Keyboard Shortcuts is generated from the menu bar (shortcutRows), so
// the list cannot drift from the keys that work.
#pragma once
#include <QList>
#include <functional>
#include <QObject>
#include <QString>

class QAction;
class QActionGroup;
class QMainWindow;
class QMenu;
class QMenuBar;
class QWidget;

namespace noisetrail::ui {

class WindowActions : public QObject {
    Q_OBJECT
public:
    explicit WindowActions(QMainWindow* window);

    QAction* open;        ///< File > Open Model Card (Ctrl+O)
    QAction* quit;        ///< File > Quit
    QAction* restore;     ///< Edit > Restore Discarded Run (Ctrl+Z)
    QAction* run;         ///< Ctrl+R (F5 is Presentation, as in slide programs)
    QAction* stop;        ///< Esc
    QAction* reroll;      ///< New Seed
    QAction* addPanel;
    QAction* compare;
    QAction* guidanceSideBySide;
    QAction* compareGuidance;    ///< the guidance trade-off dialog (conditional cards) ///< the preset: W 0 / 1 / 3 / 7 in four panels (conditional cards)
    static constexpr int kFields = 5;
    QAction* fields[kFields]; ///< x_t, x0_hat, eps_hat, x0_cond, x0_uncond (Ctrl+1..5), by Field
    QActionGroup* fieldGroup;
    QAction* follow;      ///< Follow Live Run
    QAction* metrics;     ///< per-step diversity metrics
    QAction* decision;    ///< decision strips / paths by component
    QAction* fieldOverlay; ///< 2-D: the field under the points (Ctrl+F)
    QAction* fieldDifference; ///< panels 2-4's field minus panel 1's (Ctrl+Shift+F)
    QAction* construction; ///< 2-D: the followed sample's step drawn from the terms (Ctrl+K)
    QAction* exactPath;    ///< 2-D: the exact ODE path beside the sampled one (Ctrl+J)
    QAction* nfeAxis;      ///< the ode_error plot over model calls instead of t (Ctrl+Shift+K)
    QAction* present;     ///< Presentation (F5)
    QAction* cycleStage;  ///< presentation: the large region shows the next view (Tab)
    QActionGroup* pacingGroup; ///< data: core's pacing name
    // The timeline's keys (a presenter's clicker sends Page Up / Page Down).
    QAction* playPause;
    QAction* stepBack;
    QAction* stepForward;
    QAction* previousKey;
    QAction* nextKey;
    QAction* toStart;
    QAction* toEnd;
    // Lesson menu (lesson_player.hpp). While a lesson is open, Page Down / Page Up
    // walk its steps instead of the key frames (setLessonKeys).
    QAction* openLesson;
    QAction* openBundledLesson;
    QAction* nextStep;
    QAction* previousStep;
    QAction* recordStep;
    QAction* saveLesson;
    QAction* closeLesson;
    QAction* shortcuts;   ///< Help > Keyboard Shortcuts
    QAction* about;

    struct Menus {
        QMenu* file = nullptr;
        QMenu* recent = nullptr;  ///< File > Open Recent (the window fills it)
        QMenu* exports = nullptr;
        QMenu* edit = nullptr;
        QMenu* run = nullptr;
        QMenu* view = nullptr;
        QMenu* plots = nullptr;   ///< View > Plots (the plots' fold actions)
        QMenu* timeline = nullptr;
        QMenu* lesson = nullptr;
        QMenu* help = nullptr;
    };
    /// Build the menus. `fileExtras` and `exportExtras` add the saved-run and export
    /// entries (run_files.hpp) in their place; `runExtras` the experiments.
    Menus buildMenus(QMenuBar* bar, const std::function<void(QMenu*)>& fileExtras,
                     const std::function<void(QMenu*)>& exportExtras);

    /// A lesson is open: the clicker's keys (Page Down / Page Up) go to Next Step and
    /// Previous Step; closed: back to the timeline's key frames. The step actions are
    /// enabled only while a lesson is open.
    void setLessonKeys(bool lessonOpen);

    /// One row per action with a shortcut, in menu order.
    struct ShortcutRow {
        QString menu, action, keys;
    };
    static QList<ShortcutRow> shortcutRows(const QMenuBar* bar);
    /// Help > Keyboard Shortcuts: the rows in a table.
    static void showShortcuts(QWidget* parent, const QMenuBar* bar);
};

} // namespace noisetrail::ui
