#include "presentation.hpp"

#include "equation_view.hpp"
#include "main_window.hpp"
#include "plots_widget.hpp"
#include "run_toolbar.hpp"
#include "timeline_bar.hpp"
#include "sampler_panel.hpp"

#include <QAction>
#include <QApplication>
#include <QSplitter>
#include <QTabWidget>
#include <algorithm>

namespace noisetrail::ui {

Presentation::Presentation(MainWindow* window) : QObject(window), w_(window)
{
    leaveAct_ = new QAction(tr("Leave Presentation"), w_);
    leaveAct_->setObjectName("leavePresentationAction");
    leaveAct_->setShortcut(QKeySequence(Qt::Key_Escape));
    leaveAct_->setEnabled(false);
    connect(leaveAct_, &QAction::triggered, this, &Presentation::leave);
    w_->addAction(leaveAct_);
}

double Presentation::defaultScale(int height) { return std::clamp(height / 480.0, kMinScale, kMaxScale); }

void Presentation::enter(double scale)
{
    scale = std::clamp(scale, kMinScale, kMaxScale);
    if (!active_) {
        geometry_ = w_->saveGeometry();
        state_ = w_->windowState();
        fontSet_ = w_->testAttribute(Qt::WA_SetFont);
        font_ = w_->font();
        appFont_ = QApplication::font();
        // Esc leaves the presentation (it stops a run otherwise; the toolbar's Stop stays).
        if (auto* stop = w_->findChild<QAction*>("stopAction")) {
            stopKeys_ = stop->shortcuts();
            stop->setShortcuts({});
        }
        // The samples are the lecture: the plots' tabs give their room to the panels
        // (at 1366x768 they would leave the panels a quarter of the screen).
        tabsShown_ = w_->bottomTabs()->isVisibleTo(w_);
        tabIndex_ = w_->bottomTabs()->currentIndex();
        if (auto* sp = w_->findChild<QSplitter*>("mainSplitter"))
            splitterSizes_ = sp->sizes();
        stage_ = Stage::None;
        w_->bottomTabs()->hide();
    }
    active_ = true;
    scale_ = scale;
    QFont f = font_;
    f.setPointSizeF(font_.pointSizeF() * scale_);
    w_->setFont(f);
    QFont dialogs = appFont_; // dialogs and menus are windows of their own: they take the application's font
    dialogs.setPointSizeF(appFont_.pointSizeF() * scale_);
    QApplication::setFont(dialogs);
    leaveAct_->setEnabled(true);
    reapply();
    w_->showFullScreen();
    Q_EMIT toggled(true);
}

void Presentation::reapply()
{
    if (!active_)
        return;
    for (int i = 0; i < w_->panelCount(); ++i)
        w_->panel(i)->setPresentation(true, scale_);
    w_->plots()->setScale(scale_);
    if (auto* eq = w_->findChild<EquationView*>())
        eq->setScale(scale_);
    w_->toolBar()->setPresentation(true, scale_);
    w_->timeline()->setScale(scale_);
}

void Presentation::setStage(Stage stage)
{
    if (!active_)
        return;
    stage_ = stage;
    QTabWidget* tabs = w_->bottomTabs();
    const QList<int> plots = w_->plots()->shownPlots();
    w_->plots()->showAlone(stage == Stage::Plots && plot_ < plots.size() ? plots[plot_] : -1);
    if (stage == Stage::None) {
        tabs->hide();
        return;
    }
    // The tabs' order: plots, forward process, reverse step (main_window.cpp).
    tabs->setCurrentIndex(stage == Stage::Plots ? 0 : stage == Stage::Forward ? 1 : 2);
    tabs->show();
    if (auto* sp = w_->findChild<QSplitter*>("mainSplitter")) {
        const int h = sp->height();
        sp->setSizes({h * 11 / 20, h * 9 / 20}); // the samples stay the larger half
    }
}

void Presentation::cycleStage()
{
    if (!active_)
        return;
    // None -> Reverse step -> Forward process -> each plot alone -> None.
    if (stage_ == Stage::Plots && plot_ + 1 < w_->plots()->shownPlots().size()) {
        ++plot_;
        setStage(Stage::Plots);
        return;
    }
    plot_ = 0;
    setStage(Stage((int(stage_) + 1) % 4));
}

int Presentation::stagePlot() const { return stage_ == Stage::Plots ? w_->plots()->shownAlone() : -1; }

void Presentation::leave()
{
    if (!active_)
        return;
    active_ = false;
    leaveAct_->setEnabled(false);
    for (int i = 0; i < w_->panelCount(); ++i)
        w_->panel(i)->setPresentation(false);
    w_->plots()->setScale(1.0);
    if (auto* eq = w_->findChild<EquationView*>())
        eq->setScale(1.0);
    QApplication::setFont(appFont_);
    if (fontSet_)
        w_->setFont(font_);
    else
        w_->setFont(QFont()); // inherit the application's font again
    if (auto* stop = w_->findChild<QAction*>("stopAction"))
        stop->setShortcuts(stopKeys_);
    w_->toolBar()->setPresentation(false);
    w_->plots()->showAlone(-1);
    plot_ = 0;
    w_->timeline()->setScale(1.0);
    w_->bottomTabs()->setCurrentIndex(tabIndex_);
    w_->bottomTabs()->setVisible(tabsShown_);
    if (auto* sp = w_->findChild<QSplitter*>("mainSplitter"); sp && !splitterSizes_.isEmpty())
        sp->setSizes(splitterSizes_);
    stage_ = Stage::None;
    w_->setWindowState(state_);
    w_->restoreGeometry(geometry_);
    scale_ = 1.0;
    Q_EMIT toggled(false);
}

} // namespace noisetrail::ui
