#include "panel_row.hpp"

#include "key_guard.hpp"
#include "palette.hpp"
#include "run_document.hpp"
#include "sampler_panel.hpp"

#include <QHBoxLayout>

#include <algorithm>

namespace noisetrail::ui {

PanelRow::PanelRow(RunDocument* doc, QWidget* parent) : QWidget(parent), doc_(doc)
{
    setObjectName("panelRow");
    layout_ = new QHBoxLayout(this);
    layout_->setContentsMargins(0, 0, 0, 0);
    layout_->setSpacing(4);
}

SamplerPanel* PanelRow::make(int index)
{
    auto* p = new SamplerPanel(doc_, index);
    p->setShowDecision(decision_);
    if (fieldDifference_)
        p->setFieldDifference(true);
    if (field_)
        p->setShowField(true);
    p->setShowConstruction(construction_);
    p->setShowExactPath(exactPath_);
    p->setOdeWanted(odeWanted_);
    p->setCardChoices(choices_);
    guardControls(p);
    connect(p, &SamplerPanel::removeRequested, doc_, [this, p] { doc_->removePanel(p->index()); });
    connect(p, &SamplerPanel::sampleClicked, this, &PanelRow::sampleClicked);
    connect(p, &SamplerPanel::liveEdited, this, &PanelRow::liveEdited);
    connect(p, &SamplerPanel::cardRequested, this, &PanelRow::cardRequested);
    connect(p, &SamplerPanel::odeReady, this, &PanelRow::odeReady);
    return p;
}

bool PanelRow::sync()
{
    const std::size_t before = panels_.size();
    while (count() < doc_->panelCount())
        panels_.push_back(make(count()));
    while (count() > doc_->panelCount()) {
        panels_.back()->hide();
        panels_.back()->deleteLater();
        panels_.pop_back();
    }
    for (std::size_t i = 0; i < panels_.size(); ++i) {
        panels_[i]->setIndex(int(i));
        panels_[i]->setRemovable(panels_.size() > 1);
        layout_->addWidget(panels_[i], 1);
        panels_[i]->sync();
    }
    return panels_.size() != before;
}

void PanelRow::setCardChoices(const std::vector<CardChoice>& choices)
{
    choices_ = choices;
    for (auto* p : panels_)
        p->setCardChoices(choices_);
}

void PanelRow::setShowDecision(bool on)
{
    decision_ = on;
    for (auto* p : panels_)
        p->setShowDecision(on);
}

void PanelRow::setShowField(bool on)
{
    field_ = on;
    for (auto* p : panels_)
        p->setShowField(on);
}

void PanelRow::setFieldDifference(bool on)
{
    fieldDifference_ = on;
    for (auto* p : panels_)
        p->setFieldDifference(on);
}

void PanelRow::setShowConstruction(bool on)
{
    construction_ = on;
    for (auto* p : panels_)
        p->setShowConstruction(on);
}

void PanelRow::setShowExactPath(bool on)
{
    exactPath_ = on;
    for (auto* p : panels_)
        p->setShowExactPath(on);
}

void PanelRow::showAt(int t, Field field)
{
    for (auto* p : panels_)
        p->showAt(t, field);
}

void PanelRow::showAtCalls(int calls, Field field)
{
    for (auto* p : panels_)
        p->showAtCalls(calls, field);
}

void PanelRow::setOdeWanted(bool on)
{
    odeWanted_ = on;
    for (auto* p : panels_)
        p->setOdeWanted(on);
}

int PanelRow::showNewest(Field field)
{
    int t = TimelineMapping::kFinal;
    for (int i : doc_->runPanels()) {
        const Trajectory& tr = panels_.at(std::size_t(i))->trajectory();
        if (!tr.finished() && tr.plannedSteps() > 0)
            t = std::max(t, panels_.at(std::size_t(i))->toAxis(tr.timesteps()[std::size_t(std::max(0, tr.size() - 1))]));
    }
    for (auto* p : panels_)
        p->showNewest(field);
    return t;
}

std::vector<PanelMarks> PanelRow::marks() const
{
    std::vector<PanelMarks> marks;
    for (int i = 0; i < count(); ++i) {
        const SamplerPanel* p = panels_[std::size_t(i)];
        PanelMarks m;
        m.color = panelColor(i);
        m.timesteps = p->axisTimesteps(); // on the window's noise axis
        m.visited = p->trajectory().size();
        if (nfe_)
            m.calls = p->modelCalls();
        marks.push_back(std::move(m));
    }
    return marks;
}

} // namespace noisetrail::ui
