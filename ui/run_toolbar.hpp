// The main window's toolbar: the model picker, the shared seed and batch, the
// field switch, the pacing and Run / Stop / Add Panel. It edits the run
// document directly and shows what the document holds (sync); choosing a model
// goes through the window (it may ask before an unsaved run is discarded).
#pragma once
#include "loaded_model.hpp"

#include <QList>
#include <QToolBar>

#include <vector>

class QComboBox;
class QSpinBox;

namespace noisetrail::ui {

class RunDocument;
class WindowActions;

class RunToolBar : public QToolBar {
    Q_OBJECT
public:
    RunToolBar(RunDocument* doc, WindowActions* actions, QWidget* parent = nullptr);

    /// The cards offered, with the document's model selected (added if it is not one of them).
    void setCardChoices(const std::vector<CardChoice>& choices);
    /// Seed, batch and pacing as the document holds them; the model picker back on the document's model.
    void sync();
    QString pacingText() const;
    /// Presentation: only what a lecture needs (the fields, the pacing, Run and
    /// Stop), with larger icons, so it fits 1366x768; off restores everything.
    void setPresentation(bool on, double scale = 1.0);

Q_SIGNALS:
    /// The user picked another card in the model box.
    void modelChosen(const QString& path);

private:
    RunDocument* doc_;
    QComboBox* model_ = nullptr;
    QComboBox* pacing_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QSpinBox* batch_ = nullptr;
    QActionGroup* pacingGroup_ = nullptr;
    QList<QAction*> setupOnly_; ///< hidden while presenting: model, seed, batch, Add Panel
};

} // namespace noisetrail::ui
