// One sampler configuration and its trajectory: header in words, controls,
// and the view (image grid or 2-D scatter) at the timeline's cursor.
#pragma once
#include "field_service.hpp"
#include "loaded_model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/trajectory.hpp"

#include <QRectF>
#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QSpinBox;
class QStackedWidget;
class QToolButton;

namespace noisetrail::ui {

class FieldService;
class ImageGridView;
class ScatterView;


class RunDocument;

/// A view of panel `index` of the document: its controls edit the document's
/// recipe, its header and view show what the document computed for it.
class SamplerPanel : public QWidget {
    Q_OBJECT
public:
    SamplerPanel(RunDocument* document, int index, QWidget* parent = nullptr);

    void setIndex(int index);
    int index() const { return index_; }
    /// The document changed: controls, header, card picker and view follow it.
    void sync();
    /// The model this panel's next run samples from (its own card, else the window's).
    std::shared_ptr<const LoadedModel> model() const;
    /// Cards offered in the panel's card picker (those of the window's data shape are listed).
    void setCardChoices(std::vector<CardChoice> choices);

    /// The settings the controls show (the document's panel settings).
    SamplerConfig config() const;
    /// The settings of what the panel shows (the computed run's; RunDocument::shownConfig).
    SamplerConfig shownConfig() const;
    /// Edit the panel's settings (as the controls would).
    void setConfig(const SamplerConfig& config);
    /// What the panel shows, in words (the document's label of its computed recipe).
    QString description() const;
    /// Timesteps the current configuration would visit (empty if invalid).
    std::vector<int> plannedTimesteps() const;
    /// The schedule of the panel's model (null without one): its levels' meaning (t or s).
    const NoiseSchedule* schedule() const;
    /// The panel's timesteps (computed, else planned) on the window's noise axis
    /// (RunDocument::noiseAxis): where the timeline and the plots draw them.
    std::vector<int> axisTimesteps() const;
    /// A level t of this panel on the window's noise axis.
    int toAxis(int t) const;
    /// The store shown (the document's; an empty one before the first run).
    const Trajectory& trajectory() const { return *trajectoryPtr(); }
    std::shared_ptr<const Trajectory> trajectoryPtr() const;

    /// Show the state at cursor t with this field (x_t / x0_hat / eps_hat).
    void showAt(int cursorT, Field field);
    /// The model-calls axis: the last state reached within `calls` model calls (equal cost;
    /// TimelineMapping::stepAtCalls on modelCalls()).
    void showAtCalls(int calls, Field field);
    /// The model calls made by the end of each of the panel's steps (computed, else planned),
    /// from the sampler's terms (core's model_calls_by_step); empty without a plan.
    std::vector<int> modelCalls() const;
    /// Show the newest state of the store (following a live run).
    void showNewest(Field field);
    int displayedStep() const { return shownStep_; }
    /// The noise level of the shown state: the t of its step, kFinal for the
    /// final samples, and the first timestep for x_T; -2 when nothing is shown.
    /// On flow the grid index of s (levelText writes it as s).
    int displayedT() const;
    /// Redraw even if the step did not change (new frames, new field).
    void invalidate() { dirty_ = true; }
    void setRemovable(bool on);

    /// Presentation: controls folded away (the header says the configuration),
    /// a large caption "DDIM, 50 steps, eta 0 · x0_hat · t = 500", fonts and
    /// points times `scale`. Off restores the normal panel.
    void setPresentation(bool on, double scale = 1.0);
    bool presenting() const { return presenting_; }
    QString captionText() const;

    /// Decision time (View menu): a strip under each image with its class at
    /// every measured step up to the cursor; on 2-D cards the paths coloured
    /// by component. Needs the per-step metrics of the run (they hold the assignments).
    void setShowDecision(bool on);
    /// View > Field Under the Points: 2-D panels draw the denoising direction
    /// alpha x0_hat - x on a grid at the shown noise level (FieldService).
    void setShowField(bool on);
    bool showField() const { return showField_; }
    /// With the field shown: panels after the first draw their field minus panel 1's
    /// (a learned card beside the exact denoiser of its data shows where it errs).
    void setFieldDifference(bool on);
    bool showDecision() const { return showDecision_; }
    /// The model this panel is compared with: panel 1's for panels 2-4 (the field
    /// difference subtracts its field; a learned card's ode_error splits against it when
    /// it is exact); null for panel 1. The one rule for "the exact twin".
    std::shared_ptr<const LoadedModel> referenceModel() const;
    /// View > Step Construction (2-D): the followed sample's step at the cursor, drawn
    /// from the sampler's terms (core step_geometry, on the field worker).
    void setShowConstruction(bool on);
    bool showConstruction() const { return showConstruction_; }
    /// The construction drawn now (null when none).
    StepConstructionPtr construction() const { return construction_; }
    /// View > Exact ODE Path (2-D): the exact probability-flow ODE path of the drawn
    /// samples beside the sampled ones (exact cards, or a learned card whose reference
    /// model is exact).
    void setShowExactPath(bool on);
    /// Whether a view besides the exact path wants the ode_error (the plots on screen). The
    /// exact ODE of a finished run is computed once something wants it, then kept.
    void setOdeWanted(bool on);
    /// The card whose exact ODE the shown run is measured against (its own when exact,
    /// else referenceModel()'s when exact; 2-D only), empty when none.
    QString exactCard() const;
    /// The shown run's exact path and ode_error (split for a learned card), once computed.
    OdeResultPtr odeResult() const { return ode_; }

    ImageGridView* imageView() const { return grid_; }
    ScatterView* scatterView() const { return scatter_; }
    QComboBox* cardCombo() const { return card_; }

Q_SIGNALS:
    void configChanged();
    /// The user moved a live knob (eta, the class, the guidance scale W or its
    /// interval): the window re-runs this panel from the same x_T.
    void liveEdited(int panel);
    void removeRequested();
    void sampleClicked(int panel, int sample);
    /// The user picked a card for this panel (empty: the same as the window).
    void cardRequested(int panel, const QString& path);
    /// odeResult() arrived for the shown run.
    void odeReady(int panel);

protected:
    void resizeEvent(QResizeEvent* e) override;

private:
    void layoutControls(bool oneRow);
    void layoutGuidance(bool oneRow);
    int oneRowWidth() const; ///< the panel width at which one row shows every box's longest entry whole
    void updateHeader();
    void updateEnabled();
    void redraw();
    void show(int step, Field field);
    void modelChanged();
    void updateDecisionLegend();
    void updateCardCombo();
    void edited();
    /// 2-D cards: the density drawn (p(x | c) for a run of one class) and the class coverage judges by.
    void updateTarget();
    /// The footer says `full`, or `brief` when `full` does not fit its width (re-checked on resize).
    void setFooter(const QString& full, const QString& brief);
    QString footerFull_, footerBrief_;
    /// The class entries and the interval's range for the panel's card.
    void setUpGuidance();
    /// The controls show `g` (signals blocked).
    void showGuidance(const Guidance& g);
    Guidance guidanceOfControls() const;

    RunDocument* doc_;
    int index_ = 0;
    std::shared_ptr<const LoadedModel> viewModel_;   ///< the model the view is set up for
    std::shared_ptr<const Trajectory> shownStore_;   ///< the store the view last drew
    std::vector<CardChoice> cardChoices_;

    QLabel* swatch_ = nullptr;
    QLabel* title_ = nullptr;
    QLabel* footer_ = nullptr;
    QLabel* caption_ = nullptr;
    QWidget* cardRow_ = nullptr;
    QWidget* controlsBox_ = nullptr;
    bool presenting_ = false;
    QToolButton* remove_ = nullptr;
    QComboBox* card_ = nullptr;
    QComboBox* sampler_ = nullptr;
    QSpinBox* steps_ = nullptr;
    QDoubleSpinBox* eta_ = nullptr;
    QComboBox* spacing_ = nullptr;
    QComboBox* variance_ = nullptr;
    QDoubleSpinBox* clip_ = nullptr;
    // Conditional cards only (contract section 9): the class, W and its interval.
    QWidget* guidanceBox_ = nullptr;
    QGridLayout* guidanceGrid_ = nullptr;
    std::vector<QWidget*> guidanceRow_; ///< labels and boxes in reading order (layoutGuidance)
    QComboBox* class_ = nullptr;
    QDoubleSpinBox* scale_ = nullptr;
    QLabel* intervalLabel_ = nullptr;
    QDoubleSpinBox* intervalLo_ = nullptr;
    QDoubleSpinBox* intervalHi_ = nullptr;
    std::vector<int> listedClasses_;
    int shownClass_ = -1;                ///< the class whose p(x | c) the scatter draws (-1: p(x))
    const LoadedModel* targetOf_ = nullptr; ///< the model whose density the scatter draws ///< a recipe's list of several classes (the "classes ..." entry)
    QStackedWidget* stack_ = nullptr;
    QGridLayout* controls_ = nullptr;
    std::vector<QLabel*> labels_;
    bool oneRow_ = false;
    ImageGridView* grid_ = nullptr;
    ScatterView* scatter_ = nullptr;

    int shownStep_ = -1;
    Field shownField_ = Field::Xt;
    bool dirty_ = true;
    bool showDecision_ = false;
    bool showField_ = false;
    bool fieldDifference_ = false;
    FieldService* fieldService_ = nullptr; ///< made when first needed
    FieldService* service();
    bool showConstruction_ = true;
    bool showExactPath_ = false;
    bool odeWanted_ = false;
    StepConstructionPtr construction_;
    OdeResultPtr ode_;
    const void* odeAsked_ = nullptr; ///< the store whose exact path was asked for
    void updateConstruction();
    void updateOde();
    void dropOde(); ///< forget the exact path (and say so to the plots)
    QRectF fieldExtent_;
    void updateField();
    QLabel* decisionLegend_ = nullptr; ///< the class colours, shown with Decision time
    std::vector<float> scratch_;
    /// modelCalls() of a computed store, kept while its steps are the same.
    mutable std::pair<const Trajectory*, int> callsOf_{nullptr, -1};
    mutable std::vector<int> calls_;
};

} // namespace noisetrail::ui
