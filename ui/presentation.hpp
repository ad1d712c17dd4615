// Presentation mode (View > Presentation, F5; Esc leaves): the window full
// screen, one scale factor for fonts, line widths, point sizes and plot
// margins, the panel controls folded away and a large caption per panel.
// Leaving restores the window exactly as it was.
#pragma once
#include <QByteArray>
#include <QFont>
#include <QKeySequence>
#include <QList>
#include <QObject>

class QAction;

namespace noisetrail::ui {

class MainWindow;

class Presentation : public QObject {
    Q_OBJECT
public:
    static constexpr double kMinScale = 1.0, kMaxScale = 3.0;
    explicit Presentation(MainWindow* window);

    void enter(double scale);
    void leave();
    bool active() const { return active_; }
    double scale() const { return scale_; }
    /// The factor for a screen `height` pixels high: 1.6 at 768, 2.25 at 1080 (text
    /// about as tall, from the back of a room, as on a laptop up close).
    static double defaultScale(int height);
    /// Re-apply to panels made while presenting (a panel added, a model loaded).
    void reapply();

    /// The large region under the panels (V cycles it while presenting): nothing,
    /// the Reverse step's equations, the Forward process, or one plot at a time
    /// (each shown plot in turn, alone and large).
    enum class Stage { None, ReverseStep, Forward, Plots };
    Stage stage() const { return stage_; }
    void setStage(Stage stage);
    void cycleStage();
    /// In Stage::Plots: the plot shown alone (PlotsWidget's numbering), else -1.
    int stagePlot() const;

Q_SIGNALS:
    void toggled(bool active);

private:
    MainWindow* w_;
    QAction* leaveAct_ = nullptr;
    bool active_ = false;
    double scale_ = 1.0;
    // What leaving restores.
    QByteArray geometry_;
    Qt::WindowStates state_;
    QFont font_;
    QFont appFont_; ///< dialogs opened while presenting are enlarged too
    bool fontSet_ = false;
    bool tabsShown_ = true;
    int tabIndex_ = 0;
    Stage stage_ = Stage::None;
    int plot_ = 0; ///< which of the shown plots, in Stage::Plots
    QList<int> splitterSizes_;
    QList<QKeySequence> stopKeys_;
};

} // namespace noisetrail::ui
