#include "forward_view.hpp"

#include "noisetrail/sampling_plan.hpp"
#include "render.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QCheckBox>
#include <QSlider>
#include <QVBoxLayout>

#include <cmath>

namespace noisetrail::ui {

/// Paints x_0, eps and x_t of the examples (images), or the points x_t (2-D).
class ForwardCanvas : public QWidget {
public:
    using QWidget::QWidget;
    std::shared_ptr<const LoadedModel> model;
    std::vector<float> xt;
    double a = 1, b = 0;

protected:
    void paintEvent(QPaintEvent*) override
    {
        QPainter p(this);
        p.fillRect(rect(), palette().window());
        if (!model || model->exampleCount == 0) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter, tr("No example data for this model"));
            return;
        }
        const auto& card = model->card();
        if (card.is_2d_points()) {
            const double side = std::min(width(), height()) - 8;
            const QRectF plot((width() - side) / 2, 4, side, side);
            const QRectF e = model->extent;
            p.fillRect(plot, palette().base());
            if (!model->density.isNull()) {
                QImage tinted(model->density.size(), QImage::Format_ARGB32_Premultiplied);
                const QColor ink = palette().color(QPalette::Text);
                for (int y = 0; y < tinted.height(); ++y) {
                    const uchar* s = model->density.constScanLine(y);
                    auto* d = reinterpret_cast<QRgb*>(tinted.scanLine(y));
                    for (int x = 0; x < tinted.width(); ++x)
                        d[x] = qPremultiply(qRgba(ink.red(), ink.green(), ink.blue(), s[x] * 90 / 255));
                }
                p.drawImage(plot, tinted);
            }
            p.setPen(palette().color(QPalette::Mid));
            p.drawRect(plot);
            p.setPen(Qt::NoPen);
            p.setBrush(panelColor(2));
            for (int i = 0; i < model->exampleCount; ++i) {
                const double x = xt[2 * i], y = xt[2 * i + 1];
                p.drawEllipse(QPointF(plot.left() + (x - e.left()) / e.width() * plot.width(),
                                      plot.top() + (e.bottom() - y) / e.height() * plot.height()),
                              2.2, 2.2);
            }
            return;
        }
        // Images: x_0, eps and x_t of the first examples in three rows.
        const auto& ds = card.data_shape;
        const int n = std::min(model->exampleCount, 8);
        const int labelW = 150;
        const int side = std::max(8, std::min((width() - labelW) / n, height() / 3) - 4);
        const bool flow = model->model->schedule().process() == ProcessKind::Flow;
        const QString rowNames[3] = {tr("x_0 (data)"), tr("eps ~ N(0, I)"), flow ? tr("x_s") : tr("x_t")};
        p.setRenderHint(QPainter::SmoothPixmapTransform, false);
        for (int row = 0; row < 3; ++row) {
            const int y = row * (side + 4);
            p.setPen(palette().color(QPalette::WindowText));
            p.drawText(QRect(0, y, labelW - 6, side), Qt::AlignRight | Qt::AlignVCenter, rowNames[row]);
            const std::vector<float>& src = row == 0 ? model->examples : row == 1 ? model->exampleNoise : xt;
            const Field f = row == 1 ? Field::EpsHat : Field::Xt;
            const DisplayRange r = row == 1 ? DisplayRange{-3, 3} : DisplayRange{-1, 1};
            for (int i = 0; i < n; ++i)
                p.drawImage(QRect(labelW + i * (side + 4), y, side, side), sampleImage(src, ds, i, f, r));
        }
    }
};

ForwardView::ForwardView(QWidget* parent) : QWidget(parent)
{
    setObjectName("forwardView");
    auto* col = new QVBoxLayout(this);
    col->setContentsMargins(6, 4, 6, 4);
    auto* row = new QHBoxLayout;
    auto* lbl = levelLabel_ = new QLabel(tr("t"));
    lbl->setObjectName("forwardLevelName");
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setObjectName("forwardT");
    slider_->setRange(0, 999);
    slider_->setValue(250);
    slider_->setToolTip(tr("Noise level t of the forward process q(x_t | x_0)"));
    link_ = new QCheckBox(tr("follow the timeline"));
    link_->setObjectName("forwardLinked");
    link_->setChecked(true);
    link_->setToolTip(tr("t is the timeline's cursor, so the reverse panels and the forward process show one noise "
                         "level; off: choose t here"));
    row->addWidget(lbl);
    row->addWidget(slider_, 1);
    row->addWidget(link_);
    col->addLayout(row);
    formula_ = new QLabel;
    formula_->setObjectName("forwardFormula");
    formula_->setTextFormat(Qt::RichText);
    formula_->setToolTip(tr("The forward process (Ho et al. 2020, eq. 4) with its numbers at this t"));
    col->addWidget(formula_);
    canvas_ = new ForwardCanvas;
    canvas_->setMinimumHeight(80);
    canvas_->setToolTip(tr("Real examples pushed forward to noise level t with a fixed eps"));
    col->addWidget(canvas_, 1);
    source_ = new QLabel;
    source_->setEnabled(false);
    col->addWidget(source_);
    connect(slider_, &QSlider::valueChanged, this, [this] { update_(); });
}

void ForwardView::setModel(std::shared_ptr<const LoadedModel> model)
{
    model_ = std::move(model);
    canvas_->model = model_;
    if (model_)
        slider_->setMaximum(model_->trainSteps() - 1);
    source_->setText(model_ && model_->exampleCount ? tr("Examples: %1").arg(model_->exampleSource) : QString());
    update_();
}

void ForwardView::setT(int t) { slider_->setValue(t); }
void ForwardView::setAxis(const NoiseAxis& axis) { axis_ = axis; }
QString ForwardView::levelName() const { return levelLabel_->text(); }
bool ForwardView::linked() const { return link_->isChecked(); }
void ForwardView::setLinked(bool on) { link_->setChecked(on); }

void ForwardView::followTimeline(int cursorT)
{
    if (linked())
        slider_->setValue(std::max(0, model_ ? axis_.fromAxis(&model_->model->schedule(), cursorT) : cursorT));
}
int ForwardView::t() const { return slider_->value(); }
QString ForwardView::formulaText() const { return formula_->text(); }

void ForwardView::update_()
{
    if (!model_) {
        formula_->clear();
        return;
    }
    const int t = slider_->value();
    const NoiseSchedule& schedule = model_->model->schedule();
    const bool flow = schedule.process() == ProcessKind::Flow;
    const double ab = model_->alphaBars.at(t);
    // The path's coefficients at this level from core (VP: sqrt(ab), sqrt(1 - ab); flow: 1 - s, s).
    PlanStep at;
    at.t = t;
    at.alpha_bar = ab;
    at.process = schedule.process();
    at.level = flow ? schedule.flow_level(t) : 0.0;
    const PathPoint path = path_at(at);
    canvas_->a = path.alpha;
    canvas_->b = path.sigma;
    // O(examples) arithmetic on a slider move: display, not the model.
    canvas_->xt.resize(model_->examples.size());
    for (std::size_t i = 0; i < canvas_->xt.size(); ++i)
        canvas_->xt[i] = float(canvas_->a * model_->examples[i] + canvas_->b * model_->exampleNoise[i]);
    levelLabel_->setText(flow ? tr("s") : tr("t"));
    if (flow) // the linear path of flow matching (Lipman et al. 2023; Liu et al. 2023), contract section 8
        formula_->setText(tr("x<sub>s</sub> = (1 &minus; s) x<sub>0</sub> + s &epsilon; &nbsp;=&nbsp; "
                             "<b>%1</b> x<sub>0</sub> + <b>%2</b> &epsilon; &nbsp;&nbsp; "
                             "(s = %3, &alpha;<sub>s</sub> = 1 &minus; s, &sigma;<sub>s</sub> = s, log SNR = %4)")
                              .arg(canvas_->a, 0, 'f', 3)
                              .arg(canvas_->b, 0, 'f', 3)
                              .arg(levelText(schedule, t, false))
                              .arg(model_->logSnr.at(t), 0, 'f', 2));
    else
        formula_->setText(tr("x<sub>t</sub> = &radic;&alpha;&#772;<sub>t</sub> x<sub>0</sub> + "
                             "&radic;(1 &minus; &alpha;&#772;<sub>t</sub>) &epsilon; &nbsp;=&nbsp; "
                             "<b>%1</b> x<sub>0</sub> + <b>%2</b> &epsilon; &nbsp;&nbsp; "
                             "(t = %3, &alpha;&#772;<sub>t</sub> = %4, log SNR = %5)")
                              .arg(canvas_->a, 0, 'f', 3)
                              .arg(canvas_->b, 0, 'f', 3)
                              .arg(t)
                              .arg(ab, 0, 'g', 4)
                              .arg(model_->logSnr.at(t), 0, 'f', 2));
    const QString name = flow ? tr("s") : tr("t");
    slider_->setToolTip(flow ? tr("Noise level s of the flow path q(x_s | x_0), from 0 (data) to 1 (noise)")
                             : tr("Noise level t of the forward process q(x_t | x_0)"));
    formula_->setToolTip(flow ? tr("The flow-matching path (contract section 8) with its numbers at this s")
                              : tr("The forward process (Ho et al. 2020, eq. 4) with its numbers at this t"));
    canvas_->setToolTip(tr("Real examples pushed forward to noise level %1 with a fixed eps").arg(name));
    canvas_->update();
}

} // namespace noisetrail::ui
