#include "equation_view.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>

namespace noisetrail::ui {

namespace {
// Rich-text pieces: the field's symbols, typeset (no underscores).
// The hat combines with the x in one text run; a <sub> after it would split the run and lose it.
const QString kX0 = QStringLiteral("<span style='font-family:\"DejaVu Serif\", serif'>x&#770;</span><sub>0</sub>"); // x̂₀
const QString kEps = QStringLiteral("&epsilon;&#770;");          // ε̂
const QString kXt = QStringLiteral("x<sub>t</sub>");
const QString kXprev = QStringLiteral("x<sub>t&prime;</sub>");   // the next, less noisy state
const QString kAb = QStringLiteral("&alpha;&#772;<sub>t</sub>");  // ᾱ_t
const QString kAbPrev = QStringLiteral("&alpha;&#772;<sub>t&prime;</sub>");

QString num(double v) { return QString::number(v, 'g', 6); }

double lambdaOf(double ab) { return 0.5 * (std::log(ab) - std::log1p(-ab)); } // log(alpha / sigma)

/// L2 norm of sample i of a decoded batch (values per sample = n).
double sampleNorm(const std::vector<float>& v, int i, int n, double scale = 1.0)
{
    double s = 0.0;
    for (int k = 0; k < n; ++k)
        s += double(v[std::size_t(i * n + k)]) * v[std::size_t(i * n + k)];
    return std::abs(scale) * std::sqrt(s);
}
} // namespace

StepCoefficients stepCoefficients(const SamplerConfig& config, const PlanStep& s, const PlanStep* previous)
{
    StepCoefficients c;
    const double ab = s.alpha_bar, abp = s.alpha_bar_prev;
    const bool last = s.t_prev < 0;
    if (config.sampler == "ddpm") {
        // Ho et al. eq. 6-7 on the (possibly strided) pair ab, ab_prev.
        const double betaP = 1.0 - ab / abp, aP = 1.0 - betaP;
        c.c_x0 = std::sqrt(abp) * betaP / (1.0 - ab);
        c.c_xt = std::sqrt(aP) * (1.0 - abp) / (1.0 - ab);
        c.sigma = last ? 0.0 : s.sigma;
    } else if (config.sampler == "ddim") {
        // Song et al. eq. 16 (sigma from eta) and eq. 12.
        c.sigma = last ? 0.0 : config.eta * std::sqrt((1.0 - abp) / (1.0 - ab)) * std::sqrt(1.0 - ab / abp);
        c.c_x0 = std::sqrt(abp);
        c.c_eps = std::sqrt(std::max(0.0, 1.0 - abp - c.sigma * c.sigma));
    } else if (config.sampler == "heun") {
        // The Euler predictor on x_bar = x / sqrt(ab): exactly DDIM eta 0, written on x_t, eps_hat.
        const double sCur = std::sqrt((1.0 - ab) / ab), sPrev = std::sqrt((1.0 - abp) / abp);
        c.c_xt = std::sqrt(abp / ab);
        c.c_eps = std::sqrt(abp) * (sPrev - sCur);
        if (last) {
            c = {};
            c.c_x0 = 1.0;
        }
    } else if (config.sampler == "dpmpp2m") {
        if (last) {
            c.c_x0 = 1.0;
        } else {
            const double h = lambdaOf(abp) - lambdaOf(ab);
            c.c_xt = std::sqrt(1.0 - abp) / std::sqrt(1.0 - ab);
            c.c_x0 = -std::sqrt(abp) * std::expm1(-h);
            if (previous && previous->t_prev >= 0)
                c.r = (lambdaOf(previous->alpha_bar_prev) - lambdaOf(previous->alpha_bar)) / h;
        }
    }
    return c;
}

EquationView::EquationView(QWidget* parent) : QWidget(parent)
{
    auto* col = new QVBoxLayout(this);
    col->setContentsMargins(8, 4, 8, 4);
    auto* row = new QHBoxLayout;
    panelCombo_ = new QComboBox;
    panelCombo_->setObjectName("equationPanel");
    panelCombo_->setToolTip(tr("Whose step is written out: the panel's sampler at the timeline's cursor"));
    connect(panelCombo_, &QComboBox::activated, this, [this](int i) { Q_EMIT panelChosen(i); });
    sampleSpin_ = new QSpinBox;
    sampleSpin_->setObjectName("equationSample");
    sampleSpin_->setRange(1, 1);
    sampleSpin_->setToolTip(tr("The sample whose terms are measured (the same x_T in every panel)"));
    connect(sampleSpin_, &QSpinBox::valueChanged, this, [this] { render(); });
    row->addWidget(new QLabel(tr("Reverse step of")));
    row->addWidget(panelCombo_, 1);
    row->addWidget(new QLabel(tr("sample")));
    row->addWidget(sampleSpin_);
    col->addLayout(row);
    equation_ = new QLabel;
    equation_->setObjectName("equationText");
    equation_->setTextFormat(Qt::RichText);
    equation_->setWordWrap(true);
    equation_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    col->addWidget(equation_);
    terms_ = new QLabel;
    terms_->setObjectName("equationTerms");
    terms_->setTextFormat(Qt::RichText);
    terms_->setWordWrap(true);
    col->addWidget(terms_);
    forward_ = new QLabel;
    forward_->setTextFormat(Qt::RichText);
    forward_->setWordWrap(true);
    // The seed's forward process and training loss, for reference beside the reverse step.
    forward_->setText(tr("<span style='color:gray'>Forward: q(x<sub>t</sub> | x<sub>t&minus;1</sub>) = "
                         "N(&radic;(1&minus;&beta;<sub>t</sub>) x<sub>t&minus;1</sub>, &beta;<sub>t</sub> I), "
                         "q(x<sub>t</sub> | x<sub>0</sub>) = N(&radic;&alpha;&#772;<sub>t</sub> x<sub>0</sub>, "
                         "(1&minus;&alpha;&#772;<sub>t</sub>) I); training: L<sub>simple</sub> = "
                         "E<sub>t,x<sub>0</sub>,&epsilon;</sub> &#8214;&epsilon; &minus; "
                         "&epsilon;<sub>&theta;</sub>(&radic;&alpha;&#772;<sub>t</sub> x<sub>0</sub> + "
                         "&radic;(1&minus;&alpha;&#772;<sub>t</sub>) &epsilon;, t)&#8214;&sup2; "
                         "(Ho et al. eq. 14)</span>"));
    col->addWidget(forward_);
    col->addStretch(1);
    baseFont_ = font();
    render();
}

void EquationView::setPanelNames(const QStringList& names)
{
    const int keep = panelCombo_->currentIndex();
    const QSignalBlocker b(panelCombo_);
    panelCombo_->clear();
    for (int i = 0; i < names.size(); ++i)
        panelCombo_->addItem(tr("panel %1: %2").arg(i + 1).arg(names[i]));
    panelCombo_->setCurrentIndex(std::clamp(keep, 0, int(names.size()) - 1));
}

int EquationView::panel() const { return std::max(0, panelCombo_->currentIndex()); }

void EquationView::setPanel(int panel)
{
    if (panel >= 0 && panel < panelCombo_->count())
        panelCombo_->setCurrentIndex(panel);
}

int EquationView::sample() const { return sampleSpin_->value() - 1; }
void EquationView::setSample(int sample) { sampleSpin_->setValue(sample + 1); }

void EquationView::showStep(const SamplerConfig& config, std::shared_ptr<const Trajectory> trajectory, int step)
{
    config_ = config;
    traj_ = std::move(trajectory);
    step_ = step;
    {
        const QSignalBlocker b(sampleSpin_);
        sampleSpin_->setMaximum(std::max(1, traj_ ? traj_->batch() : 1));
    }
    render();
}

QString EquationView::equationText() const { return equation_->text(); }
QString EquationView::termsText() const { return terms_->text(); }

void EquationView::setScale(double factor)
{
    scale_ = std::clamp(factor, 1.0, 3.0);
    QFont f = baseFont_;
    f.setPointSizeF(baseFont_.pointSizeF() * scale_ * 1.15);
    equation_->setFont(f);
    terms_->setFont(f);
}

void EquationView::render()
{
    shown_.reset();
    const Trajectory* st = traj_.get();
    const bool computed = st && step_ >= 0 && step_ < st->size();
    const std::string& name = config_.sampler;
    // The equation in symbols, then with this step's numbers.
    QString symbolic, numeric;
    if (name == "ddpm") {
        symbolic = tr("<b>DDPM</b> (Ho et al. eq. 6&ndash;7): %1 = &mu; + &sigma; z, &nbsp; &mu; = "
                      "<span style='white-space:nowrap'>&radic;%2 &beta;&prime; / (1&minus;%3)</span> %4 + "
                      "&radic;&alpha;&prime; (1&minus;%2) / (1&minus;%3) %5, &nbsp; &beta;&prime; = 1 &minus; %3/%2")
                       .arg(kXprev, kAbPrev, kAb, kX0, kXt);
    } else if (name == "ddim") {
        symbolic = tr("<b>DDIM</b> (Song et al. eq. 12): %1 = &radic;%2 %3 + &radic;(1 &minus; %2 &minus; &sigma;&sup2;) "
                      "%4 + &sigma; z, &nbsp; &sigma; = &eta; &radic;((1&minus;%2)/(1&minus;%5)) "
                      "&radic;(1 &minus; %5/%2) (eq. 16)")
                       .arg(kXprev, kAbPrev, kX0, kEps, kAb);
    } else if (name == "heun") {
        symbolic = tr("<b>Heun</b> (Karras et al. Alg. 1) on x&#772; = x/&radic;%1, s = &radic;((1&minus;%1)/%1): "
                      "Euler %2 = &radic;(%3/%1) %4 + &radic;%3 (s&prime; &minus; s) %5 (= DDIM &eta; 0), then "
                      "&epsilon;&#770; &rarr; (%5 + %5&prime;)/2 with %5&prime; at the Euler point")
                       .arg(kAb, kXprev, kAbPrev, kXt, kEps);
    } else if (name == "dpmpp2m") {
        symbolic = tr("<b>DPM-Solver++(2M)</b> (Lu et al. eq. 9): %1 = (&sigma;&prime;/&sigma;) %2 &minus; "
                      "&alpha;&prime; (e<sup>&minus;h</sup> &minus; 1) D, &nbsp; h = &lambda;&prime; &minus; &lambda;, "
                      "&lambda; = log(&alpha;/&sigma;), &nbsp; D = (1 + 1/2r) %3 &minus; (1/2r) %3<sup>last</sup>")
                       .arg(kXprev, kXt, kX0);
    } else {
        symbolic = tr("%1: no equation to show").arg(QString::fromStdString(name));
    }
    QString terms;
    if (computed) {
        const PlanStep& ps = st->info(step_).plan;
        const PlanStep* prev = step_ > 0 ? &st->info(step_ - 1).plan : nullptr;
        const StepCoefficients c = stepCoefficients(config_, ps, prev);
        shown_ = c;
        const QString where = tr("step %1 of %2: t = %3 &rarr; t&prime; = %4, %5 = %6, %7 = %8")
                                  .arg(step_ + 1)
                                  .arg(st->plannedSteps())
                                  .arg(ps.t)
                                  .arg(ps.t_prev < 0 ? QStringLiteral("0 (lands on x&#770;&#8320;)")
                                                     : QString::number(ps.t_prev))
                                  .arg(kAb, num(ps.alpha_bar), kAbPrev, num(ps.alpha_bar_prev));
        QStringList parts;
        if (c.c_x0 != 0.0)
            parts << QStringLiteral("<b>%1</b> %2").arg(num(c.c_x0), name == "dpmpp2m" ? QStringLiteral("D") : kX0);
        if (c.c_xt != 0.0)
            parts << QStringLiteral("<b>%1</b> %2").arg(num(c.c_xt), kXt);
        if (c.c_eps != 0.0)
            parts << QStringLiteral("<b>%1</b> %2").arg(num(c.c_eps), kEps);
        parts << QStringLiteral("<b>%1</b> z").arg(num(c.sigma));
        numeric = QStringLiteral("%1<br>%2 = %3").arg(where, kXprev, parts.join(QStringLiteral(" + ")));
        if (name == "dpmpp2m" && std::isfinite(c.r))
            numeric += tr(", r = %1").arg(num(c.r));
        else if (name == "dpmpp2m")
            numeric += tr(" (first order: D = %1)").arg(kX0);
        if (name == "ddim" && c.sigma == 0.0)
            numeric += tr(" &nbsp;(&eta; = 0: deterministic, no noise term)");

        // The size of each term for the selected sample: which one moves it.
        const int i = std::clamp(sample(), 0, st->batch() - 1);
        const int n = st->batch() > 0 ? int(st->valuesPerStep() / st->batch()) : 0;
        std::vector<float> xt, x0, eps, xprev;
        st->decode(step_, Field::Xt, xt);
        st->decode(step_, Field::X0Hat, x0);
        st->decode(step_, Field::EpsHat, eps);
        st->decode(step_ + 1, Field::Xt, xprev);
        // The noise actually added: what x_prev holds beyond the mean (0 when sigma is 0).
        double noise = 0.0;
        if (c.sigma > 0.0 && name == "ddpm") {
            double s = 0.0;
            for (int k = 0; k < n; ++k) {
                const std::size_t j = std::size_t(i * n + k);
                const double mean = c.c_x0 * x0[j] + c.c_xt * xt[j];
                s += (xprev[j] - mean) * (xprev[j] - mean);
            }
            noise = std::sqrt(s);
        } else if (c.sigma > 0.0) {
            double s = 0.0;
            for (int k = 0; k < n; ++k) {
                const std::size_t j = std::size_t(i * n + k);
                const double mean = c.c_x0 * x0[j] + c.c_eps * eps[j];
                s += (xprev[j] - mean) * (xprev[j] - mean);
            }
            noise = std::sqrt(s);
        }
        QStringList sizes;
        if (c.c_x0 != 0.0 && name != "dpmpp2m")
            sizes << QStringLiteral("|%1 %2| = %3").arg(num(c.c_x0), kX0).arg(sampleNorm(x0, i, n, c.c_x0), 0, 'f', 3);
        if (c.c_xt != 0.0)
            sizes << QStringLiteral("|%1 %2| = %3").arg(num(c.c_xt), kXt).arg(sampleNorm(xt, i, n, c.c_xt), 0, 'f', 3);
        if (c.c_eps != 0.0)
            sizes << QStringLiteral("|%1 %2| = %3").arg(num(c.c_eps), kEps).arg(sampleNorm(eps, i, n, c.c_eps), 0, 'f', 3);
        if (name == "ddpm" || name == "ddim")
            sizes << QStringLiteral("|&sigma; z| = %1").arg(noise, 0, 'f', 3);
        terms = tr("Sample %1, size of each term: %2").arg(i + 1).arg(sizes.join(QStringLiteral(" &nbsp;&middot;&nbsp; ")));
    } else {
        numeric = tr("<i>No step computed at the cursor: run, or move the timeline onto a step of this panel.</i>");
    }
    equation_->setText(QStringLiteral("%1<br><br>%2").arg(symbolic, numeric));
    terms_->setText(terms);
}

} // namespace noisetrail::ui
