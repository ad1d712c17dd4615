// The row of 1..4 sampler panels: one widget per panel of the run document, in
// order, each guarded against stray keys (key_guard.hpp). It shows every panel
// at the timeline's cursor and says where the timeline's marks go.
#pragma once
#include "loaded_model.hpp"
#include "noisetrail/render.hpp"
#include "timeline_bar.hpp"

#include <QWidget>

#include <vector>

class QHBoxLayout;

namespace noisetrail::ui {

class RunDocument;
class SamplerPanel;

class PanelRow : public QWidget {
    Q_OBJECT
public:
    PanelRow(RunDocument* doc, QWidget* parent = nullptr);

    /// One widget per document panel; true if panels were added or removed.
    bool sync();
    int count() const { return int(panels_.size()); }
    SamplerPanel* panel(int i) const { return panels_.at(std::size_t(i)); }
    const std::vector<SamplerPanel*>& panels() const { return panels_; }

    void setCardChoices(const std::vector<CardChoice>& choices);
    void setShowDecision(bool on);
    /// View > Field Under the Points, for every panel (and those added later).
    void setShowField(bool on);
    void setFieldDifference(bool on);
    /// View > Step Construction and View > Exact ODE Path, for every panel (and those added later).
    void setShowConstruction(bool on);
    void setShowExactPath(bool on);
    /// Every panel at the cursor's t (the state it had when t was reached).
    void showAt(int t, Field field);
    /// The model-calls axis: every panel at its last state within `calls` model calls (equal cost).
    void showAtCalls(int calls, Field field);
    /// View > Model Calls Axis: marks() carry each panel's model calls.
    void setNfeAxis(bool on) { nfe_ = on; }
    /// Whether a view wants the exact ODE path and ode_error (the plots are on screen):
    /// finished runs compute it then, and View > Exact ODE Path asks for it too.
    void setOdeWanted(bool on);
    /// Following a live run: every panel's newest state; returns the t of the
    /// slowest panel still computing (the cursor's place), kFinal if none.
    int showNewest(Field field);
    /// Each panel's timesteps (computed, or planned before Run) and how many have frames.
    std::vector<PanelMarks> marks() const;

Q_SIGNALS:
    void sampleClicked(int panel, int sample);
    void liveEdited();
    void cardRequested(int panel, const QString& path);
    /// A panel's exact path and ode_error arrived (or were dropped with its run).
    void odeReady(int panel);

private:
    SamplerPanel* make(int index);

    RunDocument* doc_;
    QHBoxLayout* layout_;
    std::vector<SamplerPanel*> panels_;
    std::vector<CardChoice> choices_;
    bool decision_ = false;
    bool field_ = false;
    bool fieldDifference_ = false;
    bool construction_ = true;
    bool exactPath_ = false;
    bool nfe_ = false;
    bool odeWanted_ = false;
};

} // namespace noisetrail::ui
