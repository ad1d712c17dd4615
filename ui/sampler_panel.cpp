#include "sampler_panel.hpp"

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
QString upper(const std::string& s) { return QString::fromStdString(s).toUpper(); }
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

    auto* grid = new QGridLayout;
    grid->setHorizontalSpacing(4);
    grid->setVerticalSpacing(2);
    sampler_ = new QComboBox;
    for (const auto& n : sampler_names())
        sampler_->addItem(upper(n), QString::fromStdString(n));
    sampler_->setToolTip(tr("Sampler: DDPM (ancestral, stochastic) or DDIM (deterministic at eta 0)"));
    steps_ = new QSpinBox;
    steps_->setRange(1, 1000);
    steps_->setValue(50);
    steps_->setAccelerated(true);
    steps_->setToolTip(tr("Number of sampling steps S (1..T)"));
    eta_ = new QDoubleSpinBox;
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
    clip_ = new QDoubleSpinBox;
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
    outer->addLayout(grid);

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
    model_ = std::move(model);
    traj_.clear();
    hasRun_ = false;
    shownStep_ = -1;
    dirty_ = true;
    if (!model_)
        return;
    const int T = model_->trainSteps();
    {
        const QSignalBlocker b(steps_); // a model change is not a user edit
        steps_->setMaximum(T);
    }
    const bool points = model_->card().is_2d_points();
    stack_->setCurrentWidget(points ? static_cast<QWidget*>(scatter_) : grid_);
    scatter_->setTarget(model_->density, model_->extent);
    scatter_->setMixture(model_->mixture);
    scatter_->setState(nullptr, -1);
    grid_->setImages({});
    footer_->clear();
    updateHeader();
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
    const int T = model_ ? model_->trainSteps() : 1000;
    try {
        return QString::fromStdString(describe(config(), T));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

std::vector<int> SamplerPanel::plannedTimesteps() const
{
    if (!model_)
        return {};
    try {
        std::vector<int> ts;
        for (const auto& s : make_plan(model_->model->schedule(), config()).steps)
            ts.push_back(s.t);
        return ts;
    } catch (const std::exception&) {
        return {};
    }
}

void SamplerPanel::updateEnabled()
{
    const bool ddim = sampler_->currentData().toString() == QLatin1String("ddim");
    eta_->setEnabled(ddim);
    variance_->setEnabled(!ddim);
}

void SamplerPanel::updateHeader()
{
    QString text = description();
    if (hasRun_) {
        const int T = model_ ? model_->trainSteps() : 1000;
        const QString ran = QString::fromStdString(describe(runConfig_, T));
        if (ran != text)
            text = tr("%1 (shown: %2; press Run)").arg(text, ran);
    }
    title_->setText(text);
    title_->setToolTip(tr("This panel's sampler configuration: %1").arg(text));
}

void SamplerPanel::beginRun(const std::vector<std::int64_t>& shape, const std::vector<int>& timesteps)
{
    runConfig_ = config();
    hasRun_ = true;
    const bool points = model_ && model_->card().is_2d_points();
    traj_.reset(shape, timesteps, points ? Trajectory::Precision::Half : Trajectory::Precision::UInt8);
    shownStep_ = -1;
    dirty_ = true;
    scatter_->setState(nullptr, -1);
    grid_->setImages({});
    updateHeader();
}

void SamplerPanel::appendFrame(const StepFrame& frame, const FrameMetrics* metrics)
{
    traj_.append(frame, metrics);
}

void SamplerPanel::showAt(int cursorT, Field field)
{
    const int step = TimelineMapping::stepAt(traj_.timesteps(), cursorT, traj_.size(), traj_.finished());
    // A new frame changes nothing on screen unless the shown step changed.
    if (step == shownStep_ && field == shownField_ && !dirty_)
        return;
    dirty_ = false;
    shownStep_ = step;
    shownField_ = field;
    redraw();
}

void SamplerPanel::redraw()
{
    if (shownStep_ < 0 || !model_) {
        footer_->setText(hasRun_ ? tr("waiting for the first step...") : QString());
        return;
    }
    const int S = traj_.plannedSteps();
    if (shownStep_ >= traj_.size()) {
        footer_->setText(tr("final samples x_0 (after %1 steps)").arg(S));
    } else {
        const auto& info = traj_.info(shownStep_);
        footer_->setText(tr("step %1 of %2 \u00b7 t = %3 \u00b7 alpha_bar = %4 \u00b7 x_t std %5")
                             .arg(shownStep_ + 1)
                             .arg(S)
                             .arg(info.plan.t)
                             .arg(info.plan.alpha_bar, 0, 'g', 3)
                             .arg(info.stats.xt_std, 0, 'f', 3));
    }
    if (model_->card().is_2d_points()) {
        scatter_->setState(&traj_, shownStep_);
        return;
    }
    const Field field = shownStep_ >= traj_.size() ? Field::Xt : shownField_;
    traj_.decode(shownStep_, field, scratch_);
    const auto& shape = traj_.shape();
    const std::vector<std::int64_t> dataShape(shape.begin() + 1, shape.end());
    const DisplayRange range = displayRange(field, dataShape, scratch_);
    std::vector<QImage> images;
    images.reserve(std::size_t(traj_.batch()));
    for (int i = 0; i < traj_.batch(); ++i)
        images.push_back(sampleImage(scratch_, dataShape, i, field, range));
    grid_->setImages(std::move(images));
}

} // namespace noisetrail::ui
