// The reverse step, live: for one panel and the step at the timeline's cursor,
// the update that sampler applied, typeset (rich text: sub/superscripts,
// Greek) with its numbers, and for one selected sample the size of each term.
// Every sampler is rendered the same way from what core says of it: its
// SamplerInfo (equation, reference) and the step's StepTerms (step_terms.hpp).
#pragma once
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "noisetrail/step_terms.hpp"
#include "noisetrail/trajectory.hpp"

#include <QWidget>

#include <memory>
#include <optional>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QSpinBox;

namespace noisetrail::ui {

class EquationView : public QWidget {
    Q_OBJECT
public:
    explicit EquationView(QWidget* parent = nullptr);

    /// Panels offered in the picker, by their words ("DDIM, 50 steps, eta 0").
    void setPanelNames(const QStringList& names);
    int panel() const;
    void setPanel(int panel);
    /// Show `step` of `trajectory`, run with `config` (step < 0 or not computed: the
    /// equation without numbers for this step).
    void showStep(const SamplerConfig& config, std::shared_ptr<const Trajectory> trajectory, int step);
    /// The sample whose term sizes are shown (0-based).
    int sample() const;
    void setSample(int sample);

    /// The terms shown (core's step_terms of the step at the cursor); empty without a computed step.
    const std::optional<StepTerms>& shownTerms() const { return shown_; }
    QString equationText() const;
    QString termsText() const;
    /// Presentation: fonts times `factor`.
    void setScale(double factor);

Q_SIGNALS:
    void panelChosen(int panel);

private:
    void render();

    QComboBox* panelCombo_ = nullptr;
    QSpinBox* sampleSpin_ = nullptr;
    QLabel* equation_ = nullptr;
    QLabel* terms_ = nullptr;
    QLabel* forward_ = nullptr;
    SamplerConfig config_;
    std::shared_ptr<const Trajectory> traj_;
    int step_ = -1;
    std::optional<StepTerms> shown_;
    double scale_ = 1.0;
    QFont baseFont_;
};

} // namespace noisetrail::ui

namespace noisetrail::ui {
/// step_terms.hpp's markup as Qt rich text (symbols typeset, sub/superscripts).
QString richText(const std::string& markup);
} // namespace noisetrail::ui
