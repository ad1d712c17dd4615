#include "sampler_panel.hpp"

#include "noisetrail/session.hpp"

#include "image_grid_view.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "render.hpp"
#include "scatter_view.hpp"
#include "timeline_mapping.hpp"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

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

SamplerPanel::SamplerPanel(int index, QWidget* parent) : QWidget(parent)
{
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(4, 4, 4, 4);
    outer->setSpacing(3);

    auto* head = new QHBoxLayout;
    swatch_ = new QLabel;
    swatch_->setFixedSize(12, 12);
    title_ = new QLabel;
    title_->setObjectName("panelTitle");
    QFont f = title_->font();
    f.setBold(true);
    title_->setFont(f);
    title_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred); // long text clips, never widens
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
    for (auto s : {Spacing::Leading, Spacing::Trailing, Spacing::Linspace, Spacing::Quadratic})
        spacing_->addItem(QString::fromStdString(to_string(s)), QString::fromStdString(to_string(s)));
    spacing_->setToolTip(tr("How the S timesteps are chosen out of T"));
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
    connect(grid_, &ImageGridView::sampleClicked, this, [this](int i) { Q_EMIT sampleClicked(index_, i); });

    footer_ = new QLabel;
    footer_->setObjectName("panelFooter");
    footer_->setToolTip(tr("The step shown: its timestep t and alpha_bar"));
    footer_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    outer->addWidget(footer_);

    auto changed = [this] {
        updateEnabled();
        updateHeader();
        Q_EMIT configChanged();
    };
    connect(sampler_, &QComboBox::currentIndexChanged, this, changed);
    connect(steps_, &QSpinBox::valueChanged, this, changed);
    connect(eta_, &QDoubleSpinBox::valueChanged, this, changed);
    connect(eta_, &QDoubleSpinBox::valueChanged, this, [this] { Q_EMIT etaEdited(index_); });
    connect(spacing_, &QComboBox::currentIndexChanged, this, changed);
    connect(variance_, &QComboBox::currentIndexChanged, this, changed);
    connect(clip_, &QDoubleSpinBox::valueChanged, this, changed);

    setIndex(index);
    updateEnabled();
    updateHeader();
}

void SamplerPanel::setIndex(int index)
{
    index_ = index;
    setObjectName(QStringLiteral("panel%1").arg(index));
    const QColor c = panelColor(index);
    swatch_->setStyleSheet(QStringLiteral("background:%1;border-radius:6px;").arg(c.name()));
    scatter_->setColor(c);
}

void SamplerPanel::layoutControls(bool oneRow)
{
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

void SamplerPanel::resizeEvent(QResizeEvent* e)
{
    const bool wide = width() >= 600;
    if (wide != oneRow_)
        layoutControls(wide);
    QWidget::resizeEvent(e);
}

void SamplerPanel::setRemovable(bool on) { remove_->setEnabled(on); }

void SamplerPanel::setModel(std::shared_ptr<const LoadedModel> model)
{
    windowModel_ = std::move(model);
    if (ownModel_ && (!windowModel_ || ownModel_->card().data_shape != windowModel_->card().data_shape))
        ownModel_ = nullptr; // a card of another data shape cannot sit next to the window's
    modelChanged();
    updateCardCombo();
}

void SamplerPanel::setOwnModel(std::shared_ptr<const LoadedModel> model)
{
    ownModel_ = std::move(model);
    modelChanged();
    updateCardCombo();
    updateEnabled();
    Q_EMIT configChanged();
}

void SamplerPanel::modelChanged()
{
    // Another model: what was shown was computed by a different one.
    traj_ = std::make_shared<const Trajectory>();
    recipe_.reset();
    hasRun_ = false;
    shownStep_ = -1;
    dirty_ = true;
    const auto& m = model();
    if (!m)
        return;
    const int T = m->trainSteps();
    {
        const QSignalBlocker b(steps_); // a model change is not a user edit
        steps_->setMaximum(T);
    }
    const bool points = m->card().is_2d_points();
    stack_->setCurrentWidget(points ? static_cast<QWidget*>(scatter_) : grid_);
    // The target drawn is the panel's card's when it has one, else the window's;
    // the coverage rings are the window card's mixture, which every panel is measured by.
    const bool ownDensity = !m->density.isNull();
    scatter_->setTarget(ownDensity ? m->density : windowModel_->density, ownDensity ? m->extent : windowModel_->extent);
    scatter_->setMixture(windowModel_->mixture);
    scatter_->setState(nullptr, -1);
    grid_->setImages({});
    footer_->clear();
    updateHeader();
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
    const QString window = windowModel_ ? windowModel_->path : QString();
    for (const CardChoice& c : cardChoices_) {
        if (!windowModel_ || c.dataShape != windowModel_->card().data_shape || c.path == window)
            continue; // only cards that can sit next to the window's
        card_->addItem(c.name, c.path);
        card_->setItemData(card_->count() - 1, c.tip.isEmpty() ? c.path : c.tip, Qt::ToolTipRole);
    }
    int i = 0;
    if (ownModel_) {
        i = card_->findData(ownModel_->path);
        if (i < 0) {
            card_->addItem(QString::fromStdString(ownModel_->card().name), ownModel_->path);
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
    c.spacing = parse_spacing(spacing_->currentData().toString().toStdString());
    c.variance = parse_variance(variance_->currentData().toString().toStdString());
    if (clip_->value() >= 0)
        c.clip_x0 = clip_->value();
    return c;
}

void SamplerPanel::setConfig(const SamplerConfig& c)
{
    const QSignalBlocker b1(sampler_), b2(steps_), b3(eta_), b4(spacing_), b5(variance_), b6(clip_);
    sampler_->setCurrentIndex(std::max(0, sampler_->findData(QString::fromStdString(c.sampler))));
    if (c.steps > 0)
        steps_->setValue(c.steps);
    eta_->setValue(c.eta);
    spacing_->setCurrentIndex(std::max(0, spacing_->findData(QString::fromStdString(to_string(c.spacing)))));
    variance_->setCurrentIndex(std::max(0, variance_->findData(QString::fromStdString(to_string(c.variance)))));
    clip_->setValue(c.clip_x0 ? *c.clip_x0 : -0.5);
    updateEnabled();
    updateHeader();
    Q_EMIT configChanged();
}

QString SamplerPanel::description() const
{
    const int T = model() ? model()->trainSteps() : 1000;
    QString own;
    if (ownModel_)
        own = tr(" \u00b7 %1").arg(QString::fromStdString(ownModel_->card().name));
    try {
        return QString::fromStdString(describe(config(), T)) + own;
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

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

void SamplerPanel::updateEnabled()
{
    // What the sampler reads, from the registry (never by comparing names).
    try {
        const SamplerInfo& info = sampler_info(sampler_->currentData().toString().toStdString());
        eta_->setEnabled(info.uses_eta);
        variance_->setEnabled(info.uses_variance);
    } catch (const std::exception&) {
        eta_->setEnabled(false);
        variance_->setEnabled(false);
    }
}

void SamplerPanel::updateHeader()
{
    QString text = description();
    if (hasRun_) {
        const int T = model() ? model()->trainSteps() : 1000;
        QString ran = QString::fromStdString(describe(runConfig_, T));
        if (ownModel_)
            ran += tr(" \u00b7 %1").arg(QString::fromStdString(ownModel_->card().name));
        if (ran != text)
            text = tr("%1 (shown: %2; press Run)").arg(text, ran);
    }
    // Where an eta sampler sits between DDIM (0, deterministic) and DDPM-like
    // (1: sigma equals DDPM's posterior std; Song et al. eq. 16 scales it by eta).
    if (eta_->isEnabled()) {
        const double eta = eta_->value();
        text += eta == 0.0   ? tr(" \u2014 deterministic (DDIM)")
                : eta == 1.0 ? tr(" \u2014 DDPM-like noise")
                             : tr(" \u2014 %1% of DDPM's noise std").arg(100.0 * eta, 0, 'f', 0);
    }
    title_->setText(text);
    title_->setToolTip(tr("This panel's sampler configuration: %1").arg(text));
}

void SamplerPanel::showSaved(std::shared_ptr<const Trajectory> store, const RunRecipe& recipe)
{
    runConfig_ = recipe.sampler;
    hasRun_ = true;
    recipe_ = recipe;
    traj_ = std::move(store);
    shownStep_ = -1;
    dirty_ = true;
    scatter_->setState(nullptr, -1);
    grid_->setImages({});
    updateHeader();
}

std::shared_ptr<Trajectory> SamplerPanel::beginRun(const std::vector<std::int64_t>& shape,
                                                   const std::vector<int>& timesteps, const std::vector<float>& x_T,
                                                   const RunRecipe& recipe, bool metrics)
{
    runConfig_ = config();
    hasRun_ = true;
    endedNote_.clear();
    recipe_ = recipe;
    ranWithMetrics_ = metrics;
    auto store = std::make_shared<Trajectory>(shape, timesteps,
                                              model() ? stored_precision(model()->card()) : Trajectory::Precision::UInt8, x_T);
    traj_ = store;
    shownStep_ = -1;
    dirty_ = true;
    scatter_->setState(nullptr, -1);
    grid_->setImages({});
    updateHeader();
    return store;
}

void SamplerPanel::showAt(int cursorT, Field field)
{
    const Trajectory& st = *traj_;
    int step = TimelineMapping::stepAt(st.timesteps(), cursorT, st.size(), st.finished());
    if (step < 0 && st.hasStart())
        step = 0; // x_T, before the first step has arrived
    show(step, field);
}

void SamplerPanel::showNewest(Field field)
{
    const Trajectory& st = *traj_;
    const int n = st.size();
    show(st.finished() ? n : n > 0 ? n - 1 : st.hasStart() ? 0 : -1, field);
}

void SamplerPanel::show(int step, Field field)
{
    // A new frame changes nothing on screen unless the shown step changed.
    if (step == shownStep_ && field == shownField_ && !dirty_)
        return;
    dirty_ = false;
    shownStep_ = step;
    shownField_ = field;
    redraw();
}

void SamplerPanel::runEnded(const QString& why)
{
    if (traj_->finished())
        return;
    endedNote_ = why;
    dirty_ = true;
    redraw();
}

QString SamplerPanel::captionText() const
{
    const char* fields[] = {"x_t", "x0_hat", "eps_hat"};
    // Short enough for one line at a large size: the default spacing and
    // variance go unsaid (the folded header's tooltip still has them).
    QString words = description();
    const SamplerConfig c = config();
    if (c.spacing == Spacing::Leading)
        words.remove(QStringLiteral(", leading"));
    if (c.variance == Variance::FixedSmall)
        words.remove(QStringLiteral(", fixed_small"));
    QStringList parts{words};
    const bool points = model() && model()->card().is_2d_points();
    const bool computed = shownStep_ >= 0 && shownStep_ < traj_->size();
    parts << QString::fromLatin1(points || !computed ? "x_t" : fields[int(shownField_)]);
    const int t = displayedT();
    if (t == TimelineMapping::kFinal)
        parts << tr("final samples");
    else if (t >= 0)
        parts << tr("t = %1").arg(t);
    return parts.join(QStringLiteral(" \u00b7 "));
}

void SamplerPanel::setPresentation(bool on, double scale)
{
    presenting_ = on;
    cardRow_->setVisible(!on);
    controlsBox_->setVisible(!on);
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

void SamplerPanel::setShowDecision(bool on)
{
    showDecision_ = on;
    grid_->setShowStrips(on);
    scatter_->setColorByComponent(on);
    dirty_ = true;
    redraw();
}

int SamplerPanel::displayedT() const
{
    if (shownStep_ < 0)
        return -2;
    return TimelineMapping::tOfStep(traj_->timesteps(), shownStep_);
}

void SamplerPanel::redraw()
{
    if (presenting_)
        caption_->setText(captionText());
    const Trajectory& st = *traj_;
    if (shownStep_ < 0 || !model()) {
        footer_->setText(!hasRun_ ? QString()
                         : endedNote_.isEmpty() ? tr("waiting for the first step...")
                                                : tr("run %1: nothing computed").arg(endedNote_));
        return;
    }
    const int S = st.plannedSteps();
    // Steps not computed yet show x_t: x_T before the first step, the final samples after the last.
    const bool computed = shownStep_ < st.size();
    if (!computed && shownStep_ >= S) {
        footer_->setText(tr("final samples x_0 (after %1 steps)").arg(S));
    } else if (!computed) {
        const int tStart = st.timesteps().empty() ? 0 : st.timesteps()[0];
        if (!endedNote_.isEmpty() && st.size() == 0)
            footer_->setText(tr("x_T, the shared starting noise (t = %1): run %2 before the first step")
                                 .arg(tStart)
                                 .arg(endedNote_));
        else if (!endedNote_.isEmpty())
            footer_->setText(tr("not computed: the run %1 after step %2 of %3").arg(endedNote_).arg(st.size()).arg(S));
        else
            footer_->setText(tr("x_T, the shared starting noise (t = %1): waiting for the first step...").arg(tStart));
    } else {
        const auto& info = st.info(shownStep_);
        footer_->setText(tr("step %1 of %2 \u00b7 t = %3 \u00b7 alpha_bar = %4 \u00b7 x_t std %5")
                             .arg(shownStep_ + 1)
                             .arg(S)
                             .arg(info.plan.t)
                             .arg(info.plan.alpha_bar, 0, 'g', 3)
                             .arg(info.stats.xt_std, 0, 'f', 3));
    }
    if (model()->card().is_2d_points()) {
        scatter_->setState(traj_.get(), shownStep_);
        return;
    }
    const Field field = computed ? shownField_ : Field::Xt;
    st.decode(shownStep_, field, scratch_);
    const auto& shape = st.shape();
    const std::vector<std::int64_t> dataShape(shape.begin() + 1, shape.end());
    const DisplayRange range = displayRange(field, dataShape, scratch_);
    std::vector<QImage> images;
    images.reserve(std::size_t(st.batch()));
    for (int i = 0; i < st.batch(); ++i)
        images.push_back(sampleImage(scratch_, dataShape, i, field, range));
    grid_->setImages(std::move(images));
    grid_->setStrips(showDecision_ ? trajectoryStrips(st, shownStep_, model()->trainSteps()) : std::vector<ClassStrip>{});
}

} // namespace noisetrail::ui
