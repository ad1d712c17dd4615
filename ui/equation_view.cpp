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

/// "<b>0.98</b> x_t &minus; <b>0.0123</b> d": a sum of terms with their signs written
/// out (`keepZero`: a zero coefficient is still shown, as DDIM's sigma 0).
QString sumText(const std::vector<std::pair<double, QString>>& terms, bool keepZero = false)
{
    QString out;
    for (const auto& [c, symbol] : terms) {
        if (c == 0.0 && !keepZero)
            continue;
        const QString term = QStringLiteral("<b>%1</b> %2").arg(num(std::abs(c)), symbol);
        if (out.isEmpty())
            out = c < 0 ? QStringLiteral("&minus;") + term : term;
        else
            out += (c < 0 ? QStringLiteral(" &minus; ") : QStringLiteral(" + ")) + term;
    }
    return out;
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
        // samplers/heun.cpp: on x_bar = x / sqrt(ab) the ODE is d x_bar / ds = eps; written
        // on x_t: sqrt(ab_prev) x_bar = sqrt(ab_prev / ab) x_t. The last step is Euler only
        // and lands on x0_hat (Alg. 1: no correction at s_prev = 0).
        if (last) {
            c.c_x0 = 1.0;
        } else {
            c.s = std::sqrt((1.0 - ab) / ab);
            c.s_prev = std::sqrt((1.0 - abp) / abp);
            c.c_xt = std::sqrt(abp / ab);
            c.c_euler = std::sqrt(abp) * (c.s_prev - c.s);
            c.c_eps = c.c_eps2 = 0.5 * c.c_euler;
        }
    } else if (config.sampler == "dpmpp2m") {
        // samplers/dpmpp2m.cpp: alpha = sqrt(ab), sigma = sqrt(1 - ab); the first step is first
        // order, the last lands on x0_hat; r from the previous step's h (its state h_last).
        if (last) {
            c.c_x0 = 1.0;
        } else {
            c.h = lambdaOf(abp) - lambdaOf(ab);
            c.c_xt = std::sqrt(1.0 - abp) / std::sqrt(1.0 - ab);
            c.c_d = -std::sqrt(abp) * std::expm1(-c.h);
            c.c_x0 = c.c_d;
            if (previous && previous->t_prev >= 0) {
                c.r = (lambdaOf(previous->alpha_bar_prev) - lambdaOf(previous->alpha_bar)) / c.h;
                c.c_x0 = c.c_d * (1.0 + 0.5 / c.r);
                c.c_x0_last = -c.c_d * 0.5 / c.r;
            }
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
        symbolic = tr("<b>Heun</b> (Karras et al. 2022, Alg. 1) on x&#772; = x/&radic;%1, s = &radic;((1&minus;%1)/%1): "
                      "d = %5(%4, t); Euler x&prime; = &radic;%3 (x&#772; + (s&prime; &minus; s) d) (= DDIM &eta; 0); "
                      "d&prime; = %5(x&prime;, t&prime;); corrector %2 = &radic;%3 (x&#772; + (s&prime; &minus; s) "
                      "&frac12;(d + d&prime;))")
                       .arg(kAb, kXprev, kAbPrev, kXt, kEps);
    } else if (name == "dpmpp2m") {
        symbolic = tr("<b>DPM-Solver++(2M)</b> (Lu et al. 2022, Alg. 2): %1 = (&sigma;&prime;/&sigma;) %2 &minus; "
                      "&alpha;&prime; (e<sup>&minus;h</sup> &minus; 1) D, &nbsp; &alpha; = &radic;%4, &sigma; = "
                      "&radic;(1&minus;%4), h = &lambda;&prime; &minus; &lambda;, &lambda; = log(&alpha;/&sigma;), "
                      "&nbsp; D = (1 + 1/2r) %3 &minus; (1/2r) %3<sup>last</sup>, r = h<sup>last</sup>/h")
                       .arg(kXprev, kXt, kX0, kAb);
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
        // The size of each term for the selected sample: which one moves it.
        const int i = std::clamp(sample(), 0, st->batch() - 1);
        const int n = st->batch() > 0 ? int(st->valuesPerStep() / st->batch()) : 0;
        std::vector<float> xt, x0, eps, xprev;
        st->decode(step_, Field::Xt, xt);
        st->decode(step_, Field::X0Hat, x0);
        st->decode(step_, Field::EpsHat, eps);
        st->decode(step_ + 1, Field::Xt, xprev);
        const auto at = [&](const std::vector<float>& v, int k) { return double(v[std::size_t(i * n + k)]); };
        /// |sum_k f(k)^2|^(1/2) over the sample's coordinates.
        const auto norm = [&](auto f) {
            double s2 = 0.0;
            for (int k = 0; k < n; ++k)
                s2 += f(k) * f(k);
            return std::sqrt(s2);
        };
        const auto size = [](const QString& what, double v) {
            return QStringLiteral("|%1| = %2").arg(what).arg(v, 0, 'f', 3);
        };
        QStringList sizes;
        if (name == "heun" && ps.t_prev >= 0) {
            // d' is not stored: it is what x_prev holds beyond the other two terms.
            const auto dPrime = [&](int k) { return (at(xprev, k) - c.c_xt * at(xt, k) - c.c_eps * at(eps, k)) / c.c_eps2; };
            numeric = QStringLiteral("%1<br>s = %2, s&prime; = %3 &nbsp; Euler: x&prime; = %4<br>%5 = %6")
                          .arg(where, num(c.s), num(c.s_prev), sumText({{c.c_xt, kXt}, {c.c_euler, QStringLiteral("d")}}),
                               kXprev,
                               sumText({{c.c_xt, kXt}, {c.c_eps, QStringLiteral("d")}, {c.c_eps2, QStringLiteral("d&prime;")}}));
            sizes << size(num(c.c_xt) + QStringLiteral(" ") + kXt, norm([&](int k) { return c.c_xt * at(xt, k); }))
                  << size(num(c.c_eps) + QStringLiteral(" d"), norm([&](int k) { return c.c_eps * at(eps, k); }))
                  << size(num(c.c_eps2) + QStringLiteral(" d&prime;"), norm([&](int k) { return c.c_eps2 * dPrime(k); }))
                  << tr("Heun's correction %1").arg(size(kXprev + QStringLiteral(" &minus; x&prime;"), norm([&](int k) {
                         return at(xprev, k) - c.c_xt * at(xt, k) - c.c_euler * at(eps, k);
                     })));
        } else if (name == "dpmpp2m" && ps.t_prev >= 0) {
            const QString kX0Last = kX0 + QStringLiteral("<sup>last</sup>");
            const bool second = std::isfinite(c.r);
            numeric = QStringLiteral("%1<br>h = %2, ").arg(where, num(c.h));
            numeric += second ? tr("r = %1, D = %2").arg(num(c.r), sumText({{1.0 + 0.5 / c.r, kX0}, {-0.5 / c.r, kX0Last}}))
                              : tr("first step: first order, D = %1").arg(kX0);
            numeric += QStringLiteral("<br>%1 = %2").arg(kXprev, sumText({{c.c_xt, kXt}, {c.c_d, QStringLiteral("D")}}));
            if (second)
                numeric += QStringLiteral(" = %1").arg(sumText({{c.c_xt, kXt}, {c.c_x0, kX0}, {c.c_x0_last, kX0Last}}));
            sizes << size(num(c.c_xt) + QStringLiteral(" ") + kXt, norm([&](int k) { return c.c_xt * at(xt, k); }))
                  << size(num(c.c_x0) + QStringLiteral(" ") + kX0, norm([&](int k) { return c.c_x0 * at(x0, k); }));
            if (second) {
                std::vector<float> x0Last;
                st->decode(step_ - 1, Field::X0Hat, x0Last);
                sizes << size(num(c.c_x0_last) + QStringLiteral(" ") + kX0Last,
                              norm([&](int k) { return c.c_x0_last * at(x0Last, k); }));
            }
        } else if (name == "heun" || name == "dpmpp2m") {
            numeric = name == "heun" ? tr("%1<br>%2 = %3 (Euler only: Alg. 1 makes no correction at s&prime; = 0)")
                                           .arg(where, kXprev, kX0)
                                     : tr("%1<br>%2 = %3 (&sigma;&prime; = 0)").arg(where, kXprev, kX0);
            sizes << size(kX0, norm([&](int k) { return at(x0, k); }));
        } else {
            // DDPM, DDIM: x_prev = c_x0 x0_hat + c_xt x_t + c_eps eps_hat + sigma z.
            std::vector<std::pair<double, QString>> sum{{c.c_x0, kX0}, {c.c_xt, kXt}, {c.c_eps, kEps}};
            std::erase_if(sum, [](const auto& term) { return term.first == 0.0; });
            sum.push_back({c.sigma, QStringLiteral("z")});
            numeric = QStringLiteral("%1<br>%2 = %3").arg(where, kXprev, sumText(sum, true));
            if (name == "ddim" && c.sigma == 0.0)
                numeric += tr(" &nbsp;(&eta; = 0: deterministic, no noise term)");
            // The noise actually added: what x_prev holds beyond the mean (0 when sigma is 0).
            const double noise = c.sigma > 0.0 ? norm([&](int k) {
                return at(xprev, k) - c.c_x0 * at(x0, k) - c.c_xt * at(xt, k) - c.c_eps * at(eps, k);
            })
                                               : 0.0;
            if (c.c_x0 != 0.0)
                sizes << size(num(c.c_x0) + QStringLiteral(" ") + kX0, norm([&](int k) { return c.c_x0 * at(x0, k); }));
            if (c.c_xt != 0.0)
                sizes << size(num(c.c_xt) + QStringLiteral(" ") + kXt, norm([&](int k) { return c.c_xt * at(xt, k); }));
            if (c.c_eps != 0.0)
                sizes << size(num(c.c_eps) + QStringLiteral(" ") + kEps, norm([&](int k) { return c.c_eps * at(eps, k); }));
            sizes << size(QStringLiteral("&sigma; z"), noise);
        }
        terms = tr("Sample %1, size of each term: %2").arg(i + 1).arg(sizes.join(QStringLiteral(" &nbsp;&middot;&nbsp; ")));
    } else {
        numeric = tr("<i>No step computed at the cursor: run, or move the timeline onto a step of this panel.</i>");
    }
    equation_->setText(QStringLiteral("%1<br><br>%2").arg(symbolic, numeric));
    terms_->setText(terms);
}

} // namespace noisetrail::ui
