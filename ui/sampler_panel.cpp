#include "sampler_panel.hpp"

#include "noisetrail/fields.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/session.hpp"
#include "run_document.hpp"

#include "field_service.hpp"
#include "image_grid_view.hpp"
#include "noise_axis.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "render.hpp"
#include "run_status_bar.hpp"
#include "scatter_view.hpp"
#include "timeline_mapping.hpp"

#include <QComboBox>
#include <cmath>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace noisetrail::ui {

namespace {
QString samplerTip(const SamplerInfo& info)
{
    QStringList parts;
    parts << (info.deterministic ? SamplerPanel::tr("deterministic") : SamplerPanel::tr("may add noise"));
    parts << SamplerPanel::tr("order %1").arg(info.order);
    parts << SamplerPanel::tr("up to %n model call(s) per step", nullptr, info.max_model_calls_per_step);
    if (info.uses_eta)
        parts << SamplerPanel::tr("uses eta");
    if (info.uses_variance)
        parts << SamplerPanel::tr("uses the variance choice");
    return QStringLiteral("%1: %2").arg(QString::fromStdString(info.title), parts.join(QStringLiteral(", ")));
}
/// The clip radius R: "auto" below zero (the card's default), "off" at 0.
class ClipSpinBox : public QDoubleSpinBox {
public:
    using QDoubleSpinBox::QDoubleSpinBox;
    QString textFromValue(double v) const override
    {
        return v == 0.0 ? SamplerPanel::tr("off") : QDoubleSpinBox::textFromValue(v);
    }
    double valueFromText(const QString& text) const override
    {
        return text.trimmed().compare(SamplerPanel::tr("off"), Qt::CaseInsensitive) == 0
                   ? 0.0
                   : QDoubleSpinBox::valueFromText(text);
    }
    QValidator::State validate(QString& text, int& pos) const override
    {
        const QString off = SamplerPanel::tr("off");
        if (off.startsWith(text.trimmed(), Qt::CaseInsensitive) && !text.trimmed().isEmpty() &&
            !text.trimmed().at(0).isDigit())
            return text.trimmed().size() == off.size() ? QValidator::Acceptable : QValidator::Intermediate;
        return QDoubleSpinBox::validate(text, pos);
    }
};
} // namespace

SamplerPanel::SamplerPanel(RunDocument* document, int index, QWidget* parent) : QWidget(parent), doc_(document), index_(index)
{
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(4, 4, 4, 4);
    outer->setSpacing(3);

    auto* head = new QHBoxLayout;
    swatch_ = new QLabel;
    swatch_->setFixedSize(12, 12);
    title_ = new ElidingLabel; // a cut title would misread ("step 20" for "step 200"): it ends in "..."
    title_->setObjectName("panelTitle");
    QFont f = title_->font();
    f.setBold(true);
    title_->setFont(f);
    title_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred); // never widens the panel
    remove_ = new QToolButton;
    remove_->setText(QStringLiteral("\u2715"));
    remove_->setAutoRaise(true);
    remove_->setToolTip(tr("Remove this panel"));
    connect(remove_, &QToolButton::clicked, this, &SamplerPanel::removeRequested);
    head->addWidget(swatch_);
    head->addWidget(title_, 1);
    head->addWidget(remove_);
    outer->addLayout(head);

    // The panel's model card: the window's by default, or another of the same data shape
    // (a learned and an exact denoiser side by side, from the same x_T).
    cardRow_ = new QWidget;
    auto* cardRow = new QHBoxLayout(cardRow_);
    cardRow->setContentsMargins(0, 0, 0, 0);
    card_ = new QComboBox;
    card_->setObjectName("cardCombo");
    card_->setMinimumContentsLength(8);
    card_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    card_->setToolTip(tr("The model card this panel samples from: the window's, or another card of the same data shape"));
    connect(card_, &QComboBox::activated, this,
            [this](int i) { Q_EMIT cardRequested(index_, card_->itemData(i).toString()); });
    auto* cardLabel = new QLabel(tr("model"));
    cardRow->addWidget(cardLabel);
    cardRow->addWidget(card_, 1);
    outer->addWidget(cardRow_);

    controlsBox_ = new QWidget;
    auto* grid = new QGridLayout(controlsBox_);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(4);
    grid->setVerticalSpacing(2);
    sampler_ = new QComboBox;
    sampler_->setObjectName("samplerCombo");
    // Every registered sampler, by its title; the controls it uses come from the registry too.
    for (const SamplerInfo& info : samplers()) {
        sampler_->addItem(QString::fromStdString(info.title), QString::fromStdString(info.name));
        sampler_->setItemData(sampler_->count() - 1, samplerTip(info), Qt::ToolTipRole);
    }
    sampler_->setToolTip(tr("Sampler (every sampler the engine registers; hover an entry for what it is)"));
    steps_ = new QSpinBox;
    steps_->setRange(1, 1000);
    steps_->setValue(50);
    steps_->setAccelerated(true);
    steps_->setToolTip(tr("Number of sampling steps S (1..T)"));
    eta_ = new QDoubleSpinBox;
    eta_->setObjectName("etaSpin");
    eta_->setRange(0.0, 2.0);
    eta_->setSingleStep(0.1);
    eta_->setDecimals(2);
    eta_->setToolTip(tr("DDIM eta: 0 is deterministic, 1 has DDPM's variance"));
    spacing_ = new QComboBox;
    spacing_->setObjectName("spacingCombo");
    // First item: unset, the sampler's own default (its text names it: updateEnabled).
    spacing_->addItem(tr("default"), QString());
    for (auto s : {Spacing::Leading, Spacing::Trailing, Spacing::Linspace, Spacing::Quadratic, Spacing::Logsnr})
        spacing_->addItem(QString::fromStdString(to_string(s)), QString::fromStdString(to_string(s)));
    spacing_->setToolTip(tr("How the S timesteps are chosen out of T (default: the sampler's own plan)"));
    variance_ = new QComboBox;
    for (auto v : {Variance::FixedSmall, Variance::FixedLarge})
        variance_->addItem(QString::fromStdString(to_string(v)), QString::fromStdString(to_string(v)));
    variance_->setToolTip(tr("DDPM variance: fixed_small (posterior) or fixed_large (beta, the DDIM paper's sigma-hat)"));
    clip_ = new ClipSpinBox;
    clip_->setObjectName("clipSpin");
    clip_->setRange(-0.5, 10.0);
    clip_->setSingleStep(0.5);
    clip_->setDecimals(1);
    clip_->setSpecialValueText(tr("auto"));
    clip_->setValue(-0.5);
    clip_->setToolTip(tr("Clip x0_hat to [-R, R]: auto = the model's default (R = 1 for images), 0 = off"));
    // Narrow minimums so four panels fit side by side on a 1366-pixel screen.
    for (QComboBox* c : {sampler_, spacing_, variance_}) {
        c->setMinimumContentsLength(4);
        c->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    }
    auto label = [this](const QString& text) {
        auto* l = new QLabel(text);
        l->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        labels_.push_back(l);
        return l;
    };
    label(tr("steps"));
    label(tr("eta"));
    label(tr("clip"));
    controls_ = grid;
    layoutControls(false);
    outer->addWidget(controlsBox_);

    // Classifier-free guidance, on conditional cards only: like eta, a live knob.
    guidanceBox_ = new QWidget;
    guidanceBox_->setObjectName("guidanceRow");
    guidanceGrid_ = new QGridLayout(guidanceBox_);
    guidanceGrid_->setContentsMargins(0, 0, 0, 0);
    guidanceGrid_->setHorizontalSpacing(4);
    guidanceGrid_->setVerticalSpacing(2);
    class_ = new QComboBox;
    class_->setObjectName("classCombo");
    class_->setMinimumContentsLength(4);
    class_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    class_->setToolTip(tr("The class every sample is drawn from (the conditional model), every class in turn "
                          "down the batch, or none (the unconditional model, the null label)"));
    scale_ = new QDoubleSpinBox;
    scale_->setObjectName("guidanceSpin");
    scale_->setRange(0.0, 20.0);
    scale_->setSingleStep(0.5);
    scale_->setDecimals(1);
    scale_->setValue(1.0);
    scale_->setToolTip(tr("Guidance scale W: eps = eps_u + W (eps_c - eps_u). 0 is the unconditional model, 1 the "
                          "conditional one, above 1 pushes past it (classifier-free guidance, Ho & Salimans 2021)"));
    intervalLabel_ = new QLabel;
    intervalLo_ = new QDoubleSpinBox;
    intervalLo_->setObjectName("guidanceFrom");
    intervalHi_ = new QDoubleSpinBox;
    intervalHi_->setObjectName("guidanceTo");
    for (QDoubleSpinBox* b : {intervalLo_, intervalHi_})
        b->setToolTip(tr("Guide only while the noise level lies in this interval, W = 1 elsewhere "
                         "(Kynk\u00e4\u00e4nniemi et al. 2024); the whole range guides every step"));
    auto* classLabel = new QLabel(tr("class"));
    auto* scaleLabel = new QLabel(tr("W"));
    scaleLabel->setToolTip(scale_->toolTip());
    guidanceRow_ = {classLabel, class_, scaleLabel, scale_, intervalLabel_, intervalLo_,
                    new QLabel(QStringLiteral("\u2013")), intervalHi_};
    layoutGuidance(oneRow_);
    guidanceBox_->hide();
    outer->addWidget(guidanceBox_);

    // Presentation only: what the panel shows, large enough for the back of a room.
    caption_ = new QLabel;
    caption_->setObjectName("panelCaption");
    caption_->setAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    caption_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    caption_->setWordWrap(true);
    caption_->hide();
    head->insertWidget(1, caption_, 1); // beside the colour swatch, in the header row

    stack_ = new QStackedWidget;
    grid_ = new ImageGridView;
    scatter_ = new ScatterView;
    stack_->addWidget(grid_);
    stack_->addWidget(scatter_);
    outer->addWidget(stack_, 1);
    decisionLegend_ = new QLabel;
    decisionLegend_->setObjectName("decisionLegend");
    decisionLegend_->setWordWrap(true);
    decisionLegend_->hide();
    outer->addWidget(decisionLegend_);
    connect(grid_, &ImageGridView::sampleClicked, this, [this](int i) { Q_EMIT sampleClicked(index_, i); });
    // A clicked point is followed in every panel: they share x_T, so sample i is the same start in each.
    connect(scatter_, &ScatterView::followRequested, doc_, &RunDocument::setFollowedSample);
    // Queued: the plot finds a damaged frame while painting; the banner shows after.
    connect(
        scatter_, &ScatterView::damaged, doc_, [this](const QString& m) { doc_->reportDamage(index_, m); },
        Qt::QueuedConnection);
    connect(doc_, &RunDocument::followedSampleChanged, scatter_, &ScatterView::setHighlighted);
    connect(doc_, &RunDocument::followedSampleChanged, this, [this] { updateConstruction(); });
    // A run that ends (stopped, failed) changes what the footer says about the shown step
    // even where the step is the same (x_T of a panel that never started): redraw it.
    connect(doc_, &RunDocument::runFinished, this, [this] { dirty_ = true; });
    scatter_->setHighlighted(doc_->followedSample());

    footer_ = new QLabel;
    footer_->setObjectName("panelFooter");
    footer_->setToolTip(tr("The step shown: its timestep t and alpha_bar"));
    footer_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    outer->addWidget(footer_);

    // Every control edits the document; what the panel shows changes only with a run.
    connect(sampler_, &QComboBox::currentIndexChanged, this, &SamplerPanel::edited);
    connect(steps_, &QSpinBox::valueChanged, this, &SamplerPanel::edited);
    connect(eta_, &QDoubleSpinBox::valueChanged, this, &SamplerPanel::edited);
    connect(eta_, &QDoubleSpinBox::valueChanged, this, [this] { Q_EMIT liveEdited(index_); });
    connect(class_, &QComboBox::currentIndexChanged, this, &SamplerPanel::edited);
    for (QDoubleSpinBox* b : {scale_, intervalLo_, intervalHi_})
        connect(b, &QDoubleSpinBox::valueChanged, this, &SamplerPanel::edited);
    connect(class_, &QComboBox::currentIndexChanged, this, [this] { Q_EMIT liveEdited(index_); });
    for (QDoubleSpinBox* b : {scale_, intervalLo_, intervalHi_})
        connect(b, &QDoubleSpinBox::valueChanged, this, [this] { Q_EMIT liveEdited(index_); });
    connect(spacing_, &QComboBox::currentIndexChanged, this, &SamplerPanel::edited);
    connect(variance_, &QComboBox::currentIndexChanged, this, &SamplerPanel::edited);
    connect(clip_, &QDoubleSpinBox::valueChanged, this, &SamplerPanel::edited);

    setIndex(index);
    sync();
}

void SamplerPanel::edited()
{
    updateEnabled();
    doc_->setPanelConfig(index_, config()); // the document's changed() relabels the header
    Q_EMIT configChanged();
}

std::shared_ptr<const LoadedModel> SamplerPanel::model() const
{
    return index_ < doc_->panelCount() ? doc_->panelModel(index_) : nullptr;
}

std::shared_ptr<const Trajectory> SamplerPanel::trajectoryPtr() const
{
    static const auto empty = std::make_shared<const Trajectory>();
    return index_ < doc_->panelCount() ? doc_->trajectory(index_) : empty;
}

void SamplerPanel::sync()
{
    if (index_ >= doc_->panelCount())
        return;
    if (model() != viewModel_)
        modelChanged();
    // The controls show the document's settings (a model change may have reset some).
    const SamplerConfig want = doc_->panelConfig(index_);
    if (!(config() == want)) {
        const QSignalBlocker b1(sampler_), b2(steps_), b3(eta_), b4(spacing_), b5(variance_), b6(clip_);
        showGuidance(want.guidance);
        sampler_->setCurrentIndex(std::max(0, sampler_->findData(QString::fromStdString(want.sampler))));
        int steps = want.steps;
        if (steps <= 0 && model()) {
            try {
                steps = resolved_steps(want, model()->trainSteps());
            } catch (const std::exception&) {
            }
        }
        if (steps > 0)
            steps_->setValue(steps);
        eta_->setValue(want.eta);
        spacing_->setCurrentIndex(
            want.spacing ? std::max(0, spacing_->findData(QString::fromStdString(to_string(*want.spacing)))) : 0);
        variance_->setCurrentIndex(std::max(0, variance_->findData(QString::fromStdString(to_string(want.variance)))));
        clip_->setValue(want.clip_x0 ? *want.clip_x0 : -0.5);
        // What the controls can hold is the document's from now on (steps 0 is shown resolved).
        if (!(config() == want))
            doc_->setPanelConfig(index_, config());
    }
    if (trajectoryPtr() != shownStore_) {
        shownStore_ = trajectoryPtr();
        shownStep_ = -1;
        dirty_ = true;
        scatter_->setState(nullptr, -1);
        grid_->setImages({});
    }
    updateEnabled();
    updateCardCombo();
    updateHeader();
    updateTarget();
}

void SamplerPanel::updateTarget()
{
    const auto m = model();
    const auto& window = doc_->model();
    if (!m || !window || !m->card().is_2d_points())
        return;
    // The target drawn is the panel's card's when it has one, else the window's; the
    // coverage rings are the window card's mixture, which every panel is measured by.
    // A run of one class is drawn over p(x | c) and judged by it (contract section 9).
    const LoadedModel& own = m->density.isNull() ? *window : *m;
    const auto& classes = doc_->shownConfig(index_).guidance.classes;
    const int c = classes.size() == 1 ? classes[0] : -1;
    const bool byClass = c >= 0 && c < int(own.classDensity.size());
    fieldExtent_ = own.extent;
    if (byClass != (shownClass_ >= 0) || (byClass && c != shownClass_) || targetOf_ != &own) {
        scatter_->setTarget(byClass ? own.classDensity[std::size_t(c)] : own.density, own.extent);
        targetOf_ = &own;
    }
    shownClass_ = byClass ? c : -1;
    scatter_->setJudgedClass(window->mixture && c < int(window->card().classes.size()) ? c : -1);
}

void SamplerPanel::setIndex(int index)
{
    index_ = index;
    setObjectName(QStringLiteral("panel%1").arg(index));
    const QColor c = panelColor(index);
    swatch_->setStyleSheet(QStringLiteral("background:%1;border-radius:6px;").arg(c.name()));
    scatter_->setColor(c);
}

void SamplerPanel::layoutGuidance(bool oneRow)
{
    // One row beside wide controls; narrow (four panels on a laptop): the class and W,
    // then the interval below them.
    if (!guidanceGrid_)
        return;
    for (QWidget* w : guidanceRow_)
        guidanceGrid_->removeWidget(w);
    for (int c = 0; c < 8; ++c)
        guidanceGrid_->setColumnStretch(c, 0);
    if (oneRow) {
        for (int c = 0; c < int(guidanceRow_.size()); ++c)
            guidanceGrid_->addWidget(guidanceRow_[std::size_t(c)], 0, c);
        for (int c : {1, 3, 5, 7})
            guidanceGrid_->setColumnStretch(c, c == 1 ? 2 : 1);
    } else {
        guidanceGrid_->addWidget(guidanceRow_[0], 0, 0);
        guidanceGrid_->addWidget(guidanceRow_[1], 0, 1, 1, 3);
        guidanceGrid_->addWidget(guidanceRow_[2], 0, 4);
        guidanceGrid_->addWidget(guidanceRow_[3], 0, 5);
        for (int i = 4; i < 8; ++i)
            guidanceGrid_->addWidget(guidanceRow_[std::size_t(i)], 1, i - 4);
        for (int c : {1, 3, 5})
            guidanceGrid_->setColumnStretch(c, 1);
    }
}

void SamplerPanel::layoutControls(bool oneRow)
{
    layoutGuidance(oneRow);
    // One row when the panel is wide (two panels on a laptop), two when narrow (four panels).
    oneRow_ = oneRow;
    QWidget* order[] = {sampler_, labels_[0], steps_, labels_[1], eta_, spacing_, variance_, labels_[2], clip_};
    for (QWidget* w : order)
        controls_->removeWidget(w);
    for (int c = 0; c < 10; ++c)
        controls_->setColumnStretch(c, 0);
    if (oneRow) {
        int c = 0;
        for (QWidget* w : order)
            controls_->addWidget(w, 0, c++);
        for (int col : {0, 2, 4, 5, 6, 8})
            controls_->setColumnStretch(col, 1);
    } else {
        controls_->addWidget(sampler_, 0, 0);
        controls_->addWidget(labels_[0], 0, 1);
        controls_->addWidget(steps_, 0, 2);
        controls_->addWidget(labels_[1], 0, 3);
        controls_->addWidget(eta_, 0, 4);
        controls_->addWidget(spacing_, 1, 0);
        controls_->addWidget(variance_, 1, 1, 1, 2);
        controls_->addWidget(labels_[2], 1, 3);
        controls_->addWidget(clip_, 1, 4);
        controls_->setColumnStretch(0, 2);
        controls_->setColumnStretch(2, 1);
        controls_->setColumnStretch(4, 1);
    }
}

void SamplerPanel::setFooter(const QString& full, const QString& brief)
{
    footerFull_ = full;
    footerBrief_ = brief;
    const int room = footer_->contentsRect().width();
    footer_->setText(room > 0 && footer_->fontMetrics().horizontalAdvance(full) > room ? brief : full);
}

void SamplerPanel::resizeEvent(QResizeEvent* e)
{
    if (!footerBrief_.isEmpty() && (footer_->text() == footerFull_ || footer_->text() == footerBrief_))
        QMetaObject::invokeMethod(this, [this] { setFooter(footerFull_, footerBrief_); }, Qt::QueuedConnection);
    // One row only when every box shows its longest entry whole ("DPM-Solver++(2M)",
    // "default (leading)", "fixed_small"): never a cut word in front of a room.
    const bool wide = width() >= oneRowWidth();
    if (wide != oneRow_)
        layoutControls(wide);
    QWidget::resizeEvent(e);
}

int SamplerPanel::oneRowWidth() const
{
    const int spacing = controls_->horizontalSpacing();
    int w = 0;
    for (QWidget* c : {static_cast<QWidget*>(sampler_), static_cast<QWidget*>(spacing_), static_cast<QWidget*>(variance_)}) {
        const auto* box = static_cast<const QComboBox*>(c);
        int text = 0;
        for (int i = 0; i < box->count(); ++i)
            text = std::max(text, box->fontMetrics().horizontalAdvance(box->itemText(i)));
        // The frame and the arrow: what the box adds to its minimum contents.
        const int chrome = box->minimumSizeHint().width() - box->fontMetrics().horizontalAdvance(QString(4, 'x'));
        w += text + std::max(chrome, 24) + spacing;
    }
    for (QWidget* c : {static_cast<QWidget*>(steps_), static_cast<QWidget*>(eta_), static_cast<QWidget*>(clip_)})
        w += c->sizeHint().width() + spacing;
    for (QLabel* l : labels_)
        w += l->sizeHint().width() + spacing;
    const QMargins m = contentsMargins();
    return w + m.left() + m.right();
}

void SamplerPanel::setRemovable(bool on) { remove_->setEnabled(on); }

void SamplerPanel::modelChanged()
{
    viewModel_ = model();
    odeAsked_ = nullptr; // the exact path belongs to the card it was asked for: ask again
    dropOde();
    updateDecisionLegend(); // it names the new model's classes
    shownStep_ = -1;
    dirty_ = true;
    const auto& m = viewModel_;
    const auto& window = doc_->model();
    if (!m || !window)
        return;
    const int T = m->trainSteps();
    {
        const QSignalBlocker b(steps_); // a model change is not a user edit
        steps_->setMaximum(T);
    }
    setUpGuidance();
    const bool points = m->card().is_2d_points();
    stack_->setCurrentWidget(points ? static_cast<QWidget*>(scatter_) : grid_);
    // The target drawn is the panel's card's when it has one, else the window's;
    // the coverage rings are the window card's mixture, which every panel is measured by.
    scatter_->setMixture(window->mixture);
    targetOf_ = nullptr; // a new model: draw its density again
    updateTarget();
    scatter_->setState(nullptr, -1);
    grid_->setImages({});
    footer_->clear();
}

void SamplerPanel::setCardChoices(std::vector<CardChoice> choices)
{
    cardChoices_ = std::move(choices);
    updateCardCombo();
}

void SamplerPanel::updateCardCombo()
{
    const QSignalBlocker b(card_);
    card_->clear();
    card_->addItem(tr("same as the window"), QString());
    card_->setItemData(0, tr("Sample from the window's model card"), Qt::ToolTipRole);
    const auto& windowModel = doc_->model();
    const QString window = windowModel ? windowModel->path : QString();
    for (const CardChoice& c : cardChoices_) {
        if (!windowModel || c.dataShape != windowModel->card().data_shape || c.path == window)
            continue; // only cards that can sit next to the window's
        card_->addItem(c.name, c.path);
        card_->setItemData(card_->count() - 1, c.tip.isEmpty() ? c.path : c.tip, Qt::ToolTipRole);
    }
    int i = 0;
    if (index_ < doc_->panelCount() && doc_->hasOwnModel(index_) && model()) {
        i = card_->findData(model()->path);
        if (i < 0) {
            card_->addItem(QString::fromStdString(model()->card().name), model()->path);
            i = card_->count() - 1;
        }
    }
    card_->setCurrentIndex(i);
    card_->setEnabled(card_->count() > 1);
}

SamplerConfig SamplerPanel::config() const
{
    SamplerConfig c;
    c.sampler = sampler_->currentData().toString().toStdString();
    c.steps = steps_->value();
    c.eta = eta_->value();
    if (const QString sp = spacing_->currentData().toString(); !sp.isEmpty())
        c.spacing = parse_spacing(sp.toStdString());
    c.variance = parse_variance(variance_->currentData().toString().toStdString());
    if (clip_->value() >= 0)
        c.clip_x0 = clip_->value();
    c.guidance = guidanceOfControls();
    return c;
}

void SamplerPanel::setUpGuidance()
{
    const auto m = model();
    const bool conditional = m && m->card().is_conditional();
    guidanceBox_->setVisible(conditional && !presenting_);
    if (!conditional)
        return;
    const QSignalBlocker b1(class_), b2(intervalLo_), b3(intervalHi_);
    class_->clear();
    class_->addItem(tr("none (unconditional)"), -1);
    class_->addItem(tr("each in turn"), -2);
    const auto& names = m->card().classes;
    for (int k = 0; k < int(names.size()); ++k)
        class_->addItem(QString::fromStdString(names[std::size_t(k)]), k);
    // The interval is in the plan's noise level: t on VP, s in [0, 1] on flow (contract section 9).
    const bool flow = m->model->schedule().process() == ProcessKind::Flow;
    intervalLabel_->setText(flow ? tr("s in") : tr("t in"));
    for (QDoubleSpinBox* b : {intervalLo_, intervalHi_}) {
        b->setDecimals(flow ? 2 : 0);
        b->setRange(0.0, flow ? 1.0 : double(m->trainSteps() - 1));
        b->setSingleStep(flow ? 0.05 : 50.0);
    }
    intervalLo_->setValue(intervalLo_->minimum());
    intervalHi_->setValue(intervalHi_->maximum());
}

void SamplerPanel::showGuidance(const Guidance& g)
{
    if (!guidanceBox_->isVisibleTo(this) && !(model() && model()->card().is_conditional()))
        return;
    const QSignalBlocker b1(class_), b2(scale_), b3(intervalLo_), b4(intervalHi_);
    const int K = class_->count() - 2;
    std::vector<int> all(std::size_t(std::max(0, K)));
    for (int k = 0; k < K; ++k)
        all[std::size_t(k)] = k;
    int data = -1;
    if (g.classes.size() == 1)
        data = g.classes[0];
    else if (!g.classes.empty() && g.classes == all)
        data = -2;
    else if (!g.classes.empty()) {
        data = -3; // a recipe's own list: offered as it is
        listedClasses_ = g.classes;
        QStringList names;
        for (int c : g.classes)
            names << class_->itemText(class_->findData(c));
        const int at = class_->findData(-3);
        const QString text = tr("classes %1").arg(names.join(QStringLiteral(", ")));
        if (at < 0)
            class_->addItem(text, -3);
        else
            class_->setItemText(at, text);
    }
    class_->setCurrentIndex(std::max(0, class_->findData(data)));
    scale_->setValue(g.scale.value_or(1.0));
    intervalLo_->setValue(g.interval ? (*g.interval)[0] : intervalLo_->minimum());
    intervalHi_->setValue(g.interval ? (*g.interval)[1] : intervalHi_->maximum());
}

Guidance SamplerPanel::guidanceOfControls() const
{
    Guidance g;
    const auto m = model();
    if (!m || !m->card().is_conditional()) // nothing to pick: the document's stays (applyModelDefaults drops what cannot apply)
        return index_ < doc_->panelCount() ? doc_->panelConfig(index_).guidance : g;
    const int data = class_->currentData().toInt();
    if (data >= 0)
        g.classes = {data};
    else if (data == -2)
        for (int k = 0; k < int(m->card().classes.size()); ++k)
            g.classes.push_back(k);
    else if (data == -3)
        g.classes = listedClasses_;
    if (g.classes.empty())
        return g; // unconditional: the null label, no scale
    // W = 1 stays unset (the default) unless the document says 1 itself (a recipe's "guidance": 1).
    const auto had = index_ < doc_->panelCount() ? doc_->panelConfig(index_).guidance.scale : std::nullopt;
    if (scale_->value() != 1.0 || had)
        g.scale = scale_->value();
    if (intervalLo_->value() > intervalLo_->minimum() || intervalHi_->value() < intervalHi_->maximum())
        g.interval = std::array<double, 2>{std::min(intervalLo_->value(), intervalHi_->value()),
                                           std::max(intervalLo_->value(), intervalHi_->value())};
    return g;
}

void SamplerPanel::setConfig(const SamplerConfig& c)
{
    doc_->setPanelConfig(index_, c);
    sync();
    Q_EMIT configChanged();
}

QString SamplerPanel::description() const { return doc_->describe(index_); }

std::vector<int> SamplerPanel::plannedTimesteps() const
{
    if (!model())
        return {};
    try {
        std::vector<int> ts;
        for (const auto& s : make_plan(model()->model->schedule(), config()).steps)
            ts.push_back(s.t);
        return ts;
    } catch (const std::exception&) {
        return {};
    }
}

const NoiseSchedule* SamplerPanel::schedule() const
{
    const auto m = model();
    return m && m->model ? &m->model->schedule() : nullptr;
}

int SamplerPanel::toAxis(int t) const { return doc_->noiseAxis().toAxis(schedule(), t); }

std::vector<int> SamplerPanel::axisTimesteps() const
{
    const Trajectory& tr = trajectory();
    return doc_->noiseAxis().toAxis(schedule(), tr.plannedSteps() ? tr.timesteps() : plannedTimesteps());
}

void SamplerPanel::updateEnabled()
{
    // What the sampler reads, from the registry (never by comparing names).
    try {
        const SamplerInfo& info = sampler_info(sampler_->currentData().toString().toStdString());
        eta_->setEnabled(info.uses_eta);
        variance_->setEnabled(info.uses_variance);
        // A flow card's plan is the contract's own (s from 1 to 1/T, shifted): no spacing applies.
        const bool flow = model() && model()->model->schedule().process() == ProcessKind::Flow;
        spacing_->setEnabled(!flow);
        spacing_->setItemText(0, flow ? tr("flow plan (s from 1)")
                                      : tr("default (%1)").arg(QString::fromStdString(to_string(info.default_spacing))));
    } catch (const std::exception&) {
        eta_->setEnabled(false);
        variance_->setEnabled(false);
    }
    // W and its interval mean something only with a class (no class: the unconditional model).
    const bool guided = class_->currentData().toInt() != -1;
    for (QWidget* w : {static_cast<QWidget*>(scale_), static_cast<QWidget*>(intervalLo_),
                       static_cast<QWidget*>(intervalHi_)})
        w->setEnabled(guided);
}

void SamplerPanel::updateHeader()
{
    // What the panel shows (the computed recipe), then the edits waiting for Run.
    QString text = doc_->title(index_);
    // Where an eta sampler sits between DDIM (0, deterministic) and DDPM-like
    // (1: sigma equals DDPM's posterior std; Song et al. eq. 16 scales it by eta).
    const SamplerConfig shown = doc_->shownConfig(index_);
    bool usesEta = false;
    try {
        usesEta = sampler_info(shown.sampler).uses_eta;
    } catch (const std::exception&) {
    }
    if (usesEta && doc_->pendingNote(index_).isEmpty()) {
        const double eta = shown.eta;
        text += eta == 0.0   ? tr(" \u2014 deterministic (DDIM)")
                : eta == 1.0 ? tr(" \u2014 DDPM-like noise")
                             : tr(" \u2014 %1% of DDPM's noise std").arg(100.0 * eta, 0, 'f', 0);
    }
    // A plan the sampler cannot take stably, or one that lost steps (plan_warnings, make_plan),
    // for the settings the next Run uses.
    if (const auto m = model()) {
        try {
            for (const std::string& w : make_plan(m->model->schedule(), doc_->panelConfig(index_)).warnings)
                text += QStringLiteral(" \u2014 \u26a0 ") + QString::fromStdString(w);
        } catch (const std::exception&) {
        }
    }
    title_->setText(text);
    title_->setToolTip(tr("What this panel shows, and the edits that wait for Run: %1").arg(text));
    if (presenting_)
        caption_->setText(captionText());
}

void SamplerPanel::showAt(int cursorT, Field field)
{
    const Trajectory& st = trajectory();
    // The cursor is on the window's noise axis: this panel's levels are placed there too.
    int step = TimelineMapping::stepAt(doc_->noiseAxis().toAxis(schedule(), st.timesteps()), cursorT, st.size(),
                                       st.finished());
    if (step < 0 && st.hasStart())
        step = 0; // x_T, before the first step has arrived
    show(step, field);
}

void SamplerPanel::showAtCalls(int calls, Field field)
{
    const Trajectory& st = trajectory();
    int step = TimelineMapping::stepAtCalls(modelCalls(), calls, st.size(), st.finished());
    if (step < 0 && st.hasStart())
        step = 0; // x_T, before the first step has arrived
    show(step, field);
}

std::vector<int> SamplerPanel::modelCalls() const
{
    const Trajectory& tr = trajectory();
    const int S = tr.plannedSteps();
    if (S > 0 && callsOf_.first == &tr && callsOf_.second == tr.size())
        return calls_;
    // The computed steps' own plan, the rest as planned; before Run, the plan the next Run takes.
    const SamplerConfig config = S > 0 ? shownConfig() : this->config();
    SamplingPlan plan;
    try {
        if (model() && tr.size() < std::max(S, 1)) {
            plan = make_plan(model()->model->schedule(), config);
            if (S > 0 && plan.size() != S)
                plan.steps.clear();
        }
        plan.steps.resize(std::max<std::size_t>(plan.steps.size(), std::size_t(tr.size())));
        for (int k = 0; k < tr.size(); ++k)
            plan.steps[std::size_t(k)] = tr.info(k).plan;
        calls_ = model_calls_by_step(config, plan);
    } catch (const std::exception&) {
        calls_.clear();
    }
    callsOf_ = {S > 0 ? &tr : nullptr, tr.size()};
    return calls_;
}

void SamplerPanel::showNewest(Field field)
{
    const Trajectory& st = trajectory();
    const int n = st.size();
    show(st.finished() ? n : n > 0 ? n - 1 : st.hasStart() ? 0 : -1, field);
}

void SamplerPanel::show(int step, Field field)
{
    if (trajectoryPtr() != shownStore_) {
        shownStore_ = trajectoryPtr(); // a new run's store (held while the view draws it)
        dirty_ = true;
    }
    // A new frame changes nothing on screen unless the shown step changed.
    if (step == shownStep_ && field == shownField_ && !dirty_)
        return;
    dirty_ = false;
    shownStep_ = step;
    shownField_ = field;
    redraw();
}

QString SamplerPanel::captionText() const
{
    // Short enough for one line at a large size: the default spacing and
    // variance go unsaid (the folded header's tooltip still has them).
    QString words = description();
    const SamplerConfig c = doc_->shownConfig(index_);
    if (!c.spacing) // the sampler's own plan goes unsaid
        words.remove(QString::fromStdString(", " + to_string(resolved_spacing(c))));
    if (c.variance == Variance::FixedSmall)
        words.remove(QStringLiteral(", fixed_small"));
    QStringList parts{words};
    // Say what is on screen: nothing yet, the final samples, or a field at a t.
    const Trajectory& st = trajectory();
    const bool points = model() && model()->card().is_2d_points();
    const NoiseSchedule* sched = schedule();
    const bool flow = sched && sched->process() == ProcessKind::Flow;
    // A computed step says its own level (flow: the plan's s); x_T, not computed yet, its first timestep.
    const auto level = [&](int step) {
        if (step >= 0 && step < st.size())
            return levelText(st.info(step).plan);
        return sched ? levelText(*sched, displayedT()) : tr("t = %1").arg(displayedT());
    };
    if (!st.hasStart() || shownStep_ < 0)
        parts << (doc_->isRunning() ? tr("starting") : tr("press Run"));
    else if (st.finished() && shownStep_ >= st.plannedSteps() && (points || shownField_ == Field::Xt))
        parts << tr("final samples");
    else if (st.finished() && shownStep_ >= st.plannedSteps()) // x0_hat / eps_hat of the last step (core decode_at)
        parts << QString::fromStdString(to_string(shownField_)) << level(st.size() - 1);
    else
        parts << (points ? QString::fromLatin1(flow ? "x_s" : "x_t") : QString::fromStdString(to_string(shownField_)))
              << level(shownStep_);
    // Edits not run yet (a new seed, another eta): what is shown is the last run's.
    // (Not while a run computes: its panels are "unfinished" until it ends.)
    if (const QString pending = doc_->pendingNote(index_);
        !doc_->isRunning() && st.hasStart() && !pending.isEmpty() && doc_->computed(index_))
        parts << tr("%1 \u2192 press Run").arg(pending);
    return parts.join(QStringLiteral(" \u00b7 "));
}

void SamplerPanel::setPresentation(bool on, double scale)
{
    presenting_ = on;
    cardRow_->setVisible(!on);
    controlsBox_->setVisible(!on);
    guidanceBox_->setVisible(!on && model() && model()->card().is_conditional());
    caption_->setVisible(on);
    // The caption is the header now: the swatch stays, the small title and the cross go.
    title_->setVisible(!on);
    remove_->setVisible(!on);
    QFont f = font();
    f.setBold(true);
    f.setPointSizeF(font().pointSizeF() * 1.2);
    caption_->setFont(f);
    scatter_->setScale(on ? scale : 1.0);
    if (on)
        caption_->setText(captionText());
    caption_->setToolTip(description());
}

void SamplerPanel::setShowField(bool on)
{
    showField_ = on;
    dirty_ = true;
    redraw();
    if (!on)
        scatter_->setFieldArrows(nullptr);
}

void SamplerPanel::setFieldDifference(bool on)
{
    fieldDifference_ = on;
    dirty_ = true;
    redraw();
}

void SamplerPanel::updateField()
{
    const auto m = model();
    if (!showField_ || !m || !m->card().is_2d_points() || shownStep_ < 0 || !shownStore_) {
        scatter_->setFieldArrows(nullptr);
        return;
    }
    // The noise level shown: a computed step's, else the final samples' (t = 0; flow: s = 1/T)
    // or x_T's (the plan's first level).
    const Trajectory& st = *shownStore_;
    const bool flow = m->model->schedule().process() == ProcessKind::Flow;
    const int T = m->trainSteps();
    double level = 0;
    if (shownStep_ < st.size())
        level = noise_level(st.info(shownStep_).plan);
    else if (st.size() > 0)
        level = flow ? 1.0 / T : 0.0;
    else
        level = flow ? 1.0 : st.timesteps().empty() ? T - 1 : st.timesteps()[0];
    FieldRequest r;
    r.card = m->path;
    const SamplerConfig shown = doc_->shownConfig(index_);
    if (shown.guidance.classes.size() == 1) { // one class for the batch: its (guided) field
        r.classIndex = shown.guidance.classes[0];
        r.guidance = guidance_scale(shown);
    }
    r.level = level;
    r.extent = fieldExtent_;
    if (const auto ref = referenceModel(); fieldDifference_ && ref) {
        r.minusCard = ref->path;
        const SamplerConfig first = doc_->shownConfig(0);
        if (first.guidance.classes.size() == 1) {
            r.minusClass = first.guidance.classes[0];
            r.minusGuidance = guidance_scale(first);
        }
    }
    if (const auto& cur = scatter_->fieldArrows(); cur && cur->request == r)
        return;
    if (FieldArrowsPtr cached = service()->request(r))
        scatter_->setFieldArrows(std::move(cached));
}

void SamplerPanel::setShowDecision(bool on)
{
    showDecision_ = on;
    updateDecisionLegend();
    grid_->setShowStrips(on);
    scatter_->setColorByComponent(on);
    dirty_ = true;
    redraw();
}

void SamplerPanel::updateDecisionLegend()
{
    decisionLegend_->setText(showDecision_ ? classLegend(doc_->model().get()) : QString());
    decisionLegend_->setVisible(!decisionLegend_->text().isEmpty());
}

int SamplerPanel::displayedT() const
{
    if (shownStep_ < 0)
        return -2;
    return TimelineMapping::tOfStep(trajectory().timesteps(), shownStep_);
}

void SamplerPanel::redraw()
{
    if (presenting_)
        caption_->setText(captionText());
    if (!shownStore_)
        shownStore_ = trajectoryPtr();
    const Trajectory& st = *shownStore_;
    const QString endedNote_ = doc_->endedNote(index_);
    if (shownStep_ < 0 || !model()) {
        footer_->setText(!doc_->computed(index_) ? QString()
                         : endedNote_.isEmpty() ? tr("waiting for the first step...")
                                                : tr("run %1: nothing computed").arg(endedNote_));
        return;
    }
    const int S = st.plannedSteps();
    // Steps not computed yet show x_t: x_T before the first step, the final samples after the last.
    const bool computed = shownStep_ < st.size();
    if (!computed && shownStep_ >= S) {
        const double straight = doc_->straightness(index_);
        // No exponent: a clipped "1.54e+03" read as 1.54 at 1366x768.
        const QString value = straight >= 100 ? QString::number(straight, 'f', 0) : QString::number(straight, 'g', 3);
        setFooter(std::isfinite(straight) ? tr("final samples x_0 (after %1 steps) \u00b7 straightness %2").arg(S).arg(value)
                                          : tr("final samples x_0 (after %1 steps)").arg(S),
                  // Four panels in presentation: the figure must not be the part that is cut.
                  std::isfinite(straight) ? tr("x_0 \u00b7 straightness %1").arg(value) : tr("x_0"));
        footer_->setToolTip(std::isfinite(straight)
                                ? tr("Straightness (Liu et al. 2023): the mean squared gap between each sample's "
                                     "straight line from x_T to x_0 and the velocity the steps followed; 0 for "
                                     "straight paths, which one Euler step can take")
                                : QString());
    } else if (!computed) {
        const int tStart = st.timesteps().empty() ? 0 : st.timesteps()[0];
        const QString start = levelText(model()->model->schedule(), tStart);
        if (!endedNote_.isEmpty() && st.size() == 0)
            footer_->setText(tr("x_T, the shared starting noise (%1): run %2 before the first step")
                                 .arg(start)
                                 .arg(endedNote_));
        else if (!endedNote_.isEmpty())
            footer_->setText(tr("not computed: the run %1 after step %2 of %3").arg(endedNote_).arg(st.size()).arg(S));
        else
            footer_->setText(tr("x_T, the shared starting noise (%1): waiting for the first step...").arg(start));
    } else {
        const auto& info = st.info(shownStep_);
        // VP: alpha_bar as always; flow: the path's alpha_s = 1 - s and sigma_s = s (core path_at).
        const PathPoint path = path_at(info.plan);
        const QString coefficients =
            info.plan.process == ProcessKind::Flow
                ? tr("alpha_s = %1 \u00b7 sigma_s = %2").arg(path.alpha, 0, 'g', 3).arg(path.sigma, 0, 'g', 3)
                : tr("alpha_bar = %1").arg(info.plan.alpha_bar, 0, 'g', 3);
        footer_->setText(tr("step %1 of %2 \u00b7 %3 \u00b7 %4 \u00b7 %5 std %6")
                             .arg(shownStep_ + 1)
                             .arg(S)
                             .arg(levelText(info.plan))
                             .arg(coefficients)
                             .arg(info.plan.process == ProcessKind::Flow ? QStringLiteral("x_s") : QStringLiteral("x_t"))
                             .arg(info.stats.xt_std, 0, 'f', 3));
    }
    if (model()->card().is_2d_points()) {
        scatter_->setState(shownStore_.get(), shownStep_);
        updateField();
        updateConstruction();
        updateOde();
        return;
    }
    Field field = computed ? shownField_ : Field::Xt;
    grid_->setEmptyText({});
    if (!st.has(shownStep_, field)) {
        // x0_cond / x0_uncond are stored by guided runs (W != 1). An unguided run used one
        // prediction alone, and its x0_hat is that one: a class at W = 1 the conditional,
        // no class the unconditional (contract section 9).
        const SamplerConfig shown = doc_->shownConfig(index_);
        const bool conditional = !shown.guidance.classes.empty();
        if (!is_guided(shown) && (field == Field::X0Cond) == conditional) {
            field = Field::X0Hat;
        } else {
            const Guidance& g = shown.guidance;
            const QString name = QString::fromStdString(to_string(field));
            const QString why =
                !is_guided(shown) ? (conditional ? tr("%1: not evaluated, W = 1 is the conditional model alone")
                                                 : tr("%1: not evaluated, no class (the unconditional model)"))
                                        .arg(name)
                : g.interval ? tr("%1: not evaluated at this step, outside the guidance interval [%2, %3]")
                                   .arg(name)
                                   .arg((*g.interval)[0])
                                   .arg((*g.interval)[1])
                             : tr("%1: not evaluated at this step").arg(name);
            grid_->setImages({}, st.batch());
            grid_->setStrips({});
            grid_->setEmptyText(why);
            footer_->setText(why);
            return;
        }
    }
    try {
        st.decode(shownStep_, field, scratch_);
    } catch (const InputError& e) {
        // A damaged frame of an opened session (its blocks are inflated when shown): no
        // images, the footer says why, the window's banner once (the run document).
        grid_->setImages({}, st.batch());
        grid_->setStrips({});
        const QString message = QString::fromUtf8(e.what());
        footer_->setText(message);
        QMetaObject::invokeMethod(
            doc_, [doc = doc_, i = index_, message] { doc->reportDamage(i, message); }, Qt::QueuedConnection);
        return;
    }
    const auto& shape = st.shape();
    const std::vector<std::int64_t> dataShape(shape.begin() + 1, shape.end());
    const DisplayRange range = displayRange(field, dataShape, scratch_);
    std::vector<QImage> images;
    const int shown = std::min(st.batch(), ImageGridView::kMaxShown); // the grid draws no more
    images.reserve(std::size_t(shown));
    for (int i = 0; i < shown; ++i)
        images.push_back(sampleImage(scratch_, dataShape, i, field, range));
    grid_->setImages(std::move(images), st.batch());
    grid_->setStrips(showDecision_ ? trajectoryStrips(st, shownStep_, model()->trainSteps()) : std::vector<ClassStrip>{});
}

// ---- Step construction and the exact path (issue 22) -----------------------------------------

FieldService* SamplerPanel::service()
{
    if (!fieldService_) {
        fieldService_ = new FieldService(this);
        connect(fieldService_, &FieldService::ready, this, [this](FieldArrowsPtr f) {
            if (showField_)
                scatter_->setFieldArrows(std::move(f)); // the newest request's (older ones are dropped)
        });
        connect(fieldService_, &FieldService::failed, this, [this](const QString& message) {
            scatter_->setFieldArrows(nullptr);
            scatter_->setToolTip(tr("No field: %1").arg(message));
        });
        connect(fieldService_, &FieldService::geometryReady, this, [this](StepConstructionPtr c) {
            // Only the request for what is shown now: scrubbing on may have asked for another.
            if (!showConstruction_ || c->request.store != shownStore_.get() || c->request.step != shownStep_ ||
                c->request.sample != doc_->followedSample())
                return;
            construction_ = std::move(c);
            scatter_->setConstruction(construction_);
        });
        connect(fieldService_, &FieldService::odeReady, this, [this](OdeResultPtr r) {
            if (r->request.store != shownStore_.get() || !model() || r->request.card != model()->path)
                return;
            ode_ = std::move(r);
            scatter_->setExactPath(showExactPath_ ? ode_ : nullptr);
            Q_EMIT odeReady(index_);
        });
        connect(fieldService_, &FieldService::extraFailed, this, [this](const QString& message) {
            scatter_->setToolTip(tr("Not drawn: %1").arg(message));
        });
    }
    return fieldService_;
}

SamplerConfig SamplerPanel::shownConfig() const { return doc_->shownConfig(index_); }

std::shared_ptr<const LoadedModel> SamplerPanel::referenceModel() const
{
    return index_ > 0 && doc_->panelCount() > 0 ? doc_->panelModel(0) : nullptr;
}

void SamplerPanel::setShowConstruction(bool on)
{
    showConstruction_ = on;
    updateConstruction();
}

void SamplerPanel::setShowExactPath(bool on)
{
    showExactPath_ = on;
    scatter_->setExactPath(on ? ode_ : nullptr);
    if (on && model() && model()->card().is_2d_points())
        updateOde(); // computed now if nothing wanted it before
}

void SamplerPanel::setOdeWanted(bool on)
{
    odeWanted_ = on;
    if (on && model() && model()->card().is_2d_points())
        updateOde();
}

QString SamplerPanel::exactCard() const
{
    const auto m = model();
    if (!m || !m->card().is_2d_points())
        return {};
    const SamplerConfig config = doc_->shownConfig(index_);
    if (has_exact_ode(m->card(), config))
        return m->path;
    const auto ref = referenceModel();
    if (ref && ref->card().data_shape == m->card().data_shape && has_exact_ode(ref->card(), config))
        return ref->path;
    return {};
}

void SamplerPanel::updateConstruction()
{
    const auto m = model();
    const int sample = doc_->followedSample();
    const Trajectory* st = shownStore_.get();
    // A computed step of a 2-D run and a followed sample: the step from the cursor's x_t.
    if (!showConstruction_ || !m || !m->card().is_2d_points() || !st || sample < 0 || sample >= st->batch() ||
        shownStep_ < 0 || shownStep_ >= st->size()) {
        construction_.reset();
        scatter_->setConstruction(nullptr);
        return;
    }
    if (construction_ && construction_->request.store == st && construction_->request.step == shownStep_ &&
        construction_->request.sample == sample)
        return;
    GeometryRequest r;
    r.card = m->path;
    r.config = doc_->shownConfig(index_);
    for (int k = 0; k < st->size(); ++k)
        r.plan.steps.push_back(st->info(k).plan);
    r.step = shownStep_;
    r.sample = sample;
    r.store = st;
    const std::size_t D = st->valuesPerStep() / std::size_t(st->batch());
    const auto pick = [&](int step, Field f) {
        st->decode(step, f, scratch_);
        return std::vector<float>(scratch_.begin() + std::ptrdiff_t(D * sample),
                                  scratch_.begin() + std::ptrdiff_t(D * (sample + 1)));
    };
    try {
        r.point.x_t = pick(shownStep_, Field::Xt);
        r.point.x0_hat = pick(shownStep_, Field::X0Hat);
        r.point.eps_hat = pick(shownStep_, Field::EpsHat);
        r.point.x_prev = pick(shownStep_ + 1, Field::Xt);
        if (shownStep_ > 0)
            r.point.x0_hat_last = pick(shownStep_ - 1, Field::X0Hat);
    } catch (const InputError&) { // a damaged frame: the view says so
        return;
    }
    // The sample's class (cycled over the batch, contract section 9), W and the run's clip radius.
    const auto& classes = r.config.guidance.classes;
    if (!classes.empty() && m->card().is_conditional()) {
        r.options.class_index = classes[std::size_t(sample) % classes.size()];
        r.options.guidance = guidance_scale(r.config);
    }
    r.options.clip_x0 = r.config.clip_x0 ? r.config.clip_x0 : m->card().default_clip();
    construction_.reset();
    scatter_->setConstruction(nullptr); // the old step's construction would mislead while this one computes
    service()->requestGeometry(r);
}

void SamplerPanel::dropOde()
{
    if (!ode_)
        return;
    ode_.reset();
    scatter_->setExactPath(nullptr);
    Q_EMIT odeReady(index_);
}

void SamplerPanel::updateOde()
{
    const Trajectory* st = shownStore_.get();
    if (!st || !st->finished()) {
        if (ode_ && (!st || ode_->request.store != st))
            dropOde();
        return;
    }
    if (odeAsked_ == st)
        return; // asked for this run already: computed, or on its way (then kept)
    dropOde(); // another run's
    // The exact ODE costs an adaptive integration of the whole batch: only when a view
    // wants it (the ode_error plot on screen, View > Exact ODE Path); asked for then.
    if (!showExactPath_ && !odeWanted_)
        return;
    // A panel's card still loading (a reopened run shows its stores first): model() is the
    // window's card meanwhile, and this panel's or panel 1's exact path would be the wrong one.
    if (doc_->loadingPanelCard())
        return;
    const QString exact = exactCard();
    odeAsked_ = st;
    if (exact.isEmpty())
        return;
    OdeRequest r;
    r.card = model()->path;
    r.exactCard = exact;
    r.config = doc_->shownConfig(index_);
    r.store = st;
    for (int k = 0; k < st->size(); ++k)
        r.plan.steps.push_back(st->info(k).plan);
    try {
        st->decode(0, Field::Xt, scratch_);
        r.x_T = scratch_;
        for (int k = 1; k <= st->size(); ++k) {
            st->decode(k, Field::Xt, scratch_);
            r.x_prev.push_back(scratch_);
        }
    } catch (const InputError&) {
        return;
    }
    service()->requestOde(r);
}

} // namespace noisetrail::ui
