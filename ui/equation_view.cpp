#include "equation_view.hpp"

#include <QComboBox>
#include <QHash>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

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

/// The forward process and training loss, for reference beside the reverse step: the seed's
/// (VP) or the flow path's (contract section 8).
QString forwardText(bool flow)
{
    if (flow)
        return EquationView::tr("<span style='color:gray'>Forward (flow path): x<sub>s</sub> = (1 &minus; s) x<sub>0</sub> "
                                "+ s &epsilon;, s from 0 (data) to 1 (noise); training (conditional flow matching): "
                                "L = E<sub>s,x<sub>0</sub>,&epsilon;</sub> &#8214;v<sub>&theta;</sub>(x<sub>s</sub>, s) "
                                "&minus; (&epsilon; &minus; x<sub>0</sub>)&#8214;&sup2; (Lipman et al. 2023; Liu et al. "
                                "2023)</span>");
    return EquationView::tr("<span style='color:gray'>Forward: q(x<sub>t</sub> | x<sub>t&minus;1</sub>) = "
                            "N(&radic;(1&minus;&beta;<sub>t</sub>) x<sub>t&minus;1</sub>, &beta;<sub>t</sub> I), "
                            "q(x<sub>t</sub> | x<sub>0</sub>) = N(&radic;&alpha;&#772;<sub>t</sub> x<sub>0</sub>, "
                            "(1&minus;&alpha;&#772;<sub>t</sub>) I); training: L<sub>simple</sub> = "
                            "E<sub>t,x<sub>0</sub>,&epsilon;</sub> &#8214;&epsilon; &minus; "
                            "&epsilon;<sub>&theta;</sub>(&radic;&alpha;&#772;<sub>t</sub> x<sub>0</sub> + "
                            "&radic;(1&minus;&alpha;&#772;<sub>t</sub>) &epsilon;, t)&#8214;&sup2; "
                            "(Ho et al. eq. 14)</span>");
}

/// Whether a term is written: a zero coefficient is dropped, except the noise's
/// (DDIM's "+ 0 z" says that eta 0 adds none).
bool shown(const Term& t) { return t.coefficient != 0.0 || t.quantity == Quantity::Noise; }

/// "<b>0.98</b> x_t &minus; <b>0.0123</b> d": a sum of terms with their signs written out.
QString sumText(const std::vector<Term>& terms)
{
    QString out;
    for (const Term& t : terms) {
        if (!shown(t))
            continue;
        const double c = t.coefficient;
        const QString term = QStringLiteral("<b>%1</b> %2").arg(num(std::abs(c)), richText(t.shown_symbol()));
        if (out.isEmpty())
            out = c < 0 ? QStringLiteral("&minus;") + term : term;
        else
            out += (c < 0 ? QStringLiteral(" &minus; ") : QStringLiteral(" + ")) + term;
    }
    return out;
}

QString sumLine(const TermSum& sum)
{
    const QString line = QStringLiteral("%1 = %2").arg(richText(sum.lhs), sumText(sum.terms));
    return sum.name.empty() ? line : QStringLiteral("%1: %2").arg(QString::fromStdString(sum.name), line);
}
} // namespace

QString richText(const std::string& markup)
{
    static const QHash<QString, QString> symbols{
        {"xprev", kXprev}, {"xt", kXt}, {"xzero", kX0}, {"eps", kEps}, {"ab", kAb}, {"abprev", kAbPrev},
        {"xbar", "x&#772;"}, {"alpha", "&alpha;"}, {"beta", "&beta;"}, {"sigma", "&sigma;"}, {"eta", "&eta;"},
        {"lambda", "&lambda;"}, {"mu", "&mu;"}, {"epsilon", "&epsilon;"}, {"theta", "&theta;"},
        {"sqrt", "&radic;"}, {"minus", "&minus;"}, {"prime", "&prime;"}, {"half", "&frac12;"},
        {"squared", "&sup2;"}, {"ndash", "&ndash;"}, {"rarr", "&rarr;"}};
    const QString in = QString::fromStdString(markup);
    QString out;
    for (qsizetype i = 0; i < in.size(); ++i) {
        const QChar c = in[i];
        if (c == '\\') {
            qsizetype j = i + 1;
            while (j < in.size() && in[j].isLetter())
                ++j;
            const QString name = in.mid(i + 1, j - i - 1);
            out += symbols.value(name, name.toHtmlEscaped());
            i = j - 1;
        } else if ((c == '_' || c == '^') && i + 1 < in.size() && in[i + 1] == '{') {
            qsizetype depth = 0, j = i + 1;
            for (; j < in.size(); ++j) {
                depth += in[j] == '{' ? 1 : in[j] == '}' ? -1 : 0;
                if (depth == 0)
                    break;
            }
            const QString tag = c == '_' ? QStringLiteral("sub") : QStringLiteral("sup");
            out += QStringLiteral("<%1>%2</%1>").arg(tag, richText(in.mid(i + 2, j - i - 2).toStdString()));
            i = j;
        } else if (c == '{' || c == '}') {
            // A bare group only ends a symbol's name ("e^{\\minus{}h}"); it prints nothing.
        } else if (c == '~') {
            out += QStringLiteral("&nbsp;");
        } else {
            out += QString(c).toHtmlEscaped();
        }
    }
    return out;
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
    forward_->setText(forwardText(false));
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
    forward_->setText(forwardText(st && st->size() > 0 && st->info(0).plan.process == ProcessKind::Flow));
    const bool computed = st && step_ >= 0 && step_ < st->size();
    // The equation in symbols (from the sampler's registry entry), then with this step's numbers.
    const std::vector<SamplerInfo> registered = samplers();
    const auto found = std::ranges::find(registered, config_.sampler, &SamplerInfo::name);
    const SamplerInfo* info = found == registered.end() ? nullptr : &*found;
    QString symbolic, numeric;
    if (info) {
        symbolic = QStringLiteral("<b>%1</b> (%2): %3")
                       .arg(QString::fromStdString(info->title).toHtmlEscaped(),
                            QString::fromStdString(info->reference).toHtmlEscaped(), richText(info->equation));
    } else {
        symbolic = tr("%1: no equation to show").arg(QString::fromStdString(config_.sampler).toHtmlEscaped());
    }
    QString terms;
    if (computed && info) {
        const PlanStep& ps = st->info(step_).plan;
        const PlanStep* prev = step_ > 0 ? &st->info(step_ - 1).plan : nullptr;
        const StepTerms c = step_terms(config_, ps, prev);
        shown_ = c;
        // Where the step stands: VP by t and alpha_bar; flow (contract section 8) by s and the
        // path's alpha = 1 - s, sigma = s (core noise_level, path_at).
        const bool flow = ps.process == ProcessKind::Flow;
        QString where;
        if (flow) {
            const PathPoint at = path_at(ps), to = path_at_prev(ps);
            where = tr("step %1 of %2 (flow path): s = %3 &rarr; s&prime; = %4, &alpha; = 1 &minus; s = %5, "
                       "&sigma; = s = %6, &alpha;&prime; = %7, &sigma;&prime; = %8")
                        .arg(step_ + 1)
                        .arg(st->plannedSteps())
                        .arg(noise_level(ps), 0, 'f', 3)
                        .arg(ps.t_prev < 0 ? QStringLiteral("0 (lands on x&#770;&#8320;)")
                                           : QString::number(noise_level_prev(ps), 'f', 3))
                        .arg(num(at.alpha), num(at.sigma), num(to.alpha), num(to.sigma));
        } else {
            where = tr("step %1 of %2: t = %3 &rarr; t&prime; = %4, %5 = %6, %7 = %8")
                        .arg(step_ + 1)
                        .arg(st->plannedSteps())
                        .arg(ps.t)
                        .arg(ps.t_prev < 0 ? QStringLiteral("0 (lands on x&#770;&#8320;)") : QString::number(ps.t_prev))
                        .arg(kAb, num(ps.alpha_bar), kAbPrev, num(ps.alpha_bar_prev));
        }
        // Scalars, the predictor and grouped forms on one line, then x_prev term by term.
        QStringList scalars, parts;
        for (const StepScalar& v : c.scalars)
            scalars << QStringLiteral("%1 = %2").arg(richText(v.symbol), num(v.value));
        if (!scalars.isEmpty())
            parts << scalars.join(QStringLiteral(", "));
        if (c.predictor)
            parts << sumLine(*c.predictor);
        // A line for x_prev itself is the update in grouped form: written before its expansion.
        QString update = kXprev;
        for (const TermSum& line : c.lines) {
            if (line.lhs == "\\xprev")
                update += QStringLiteral(" = ") + sumText(line.terms);
            else
                parts << sumLine(line);
        }
        update += QStringLiteral(" = ") + sumText(c.terms);
        if (!c.note.empty())
            update += QStringLiteral(" ") + richText(c.note);
        if (flow) {
            // The velocity (the flow-matching target), and where the update is alpha' x0_hat + sigma' eps_hat
            // (Euler; DDIM with eta 0) the same step as a move along it (rectified flow, Liu et al. 2023).
            const PathPoint to = path_at_prev(ps);
            const bool eulerForm = std::ranges::all_of(c.terms, [&](const Term& t) {
                const double want = t.quantity == Quantity::X0Hat ? to.alpha : t.quantity == Quantity::EpsHat ? to.sigma : 0.0;
                return std::abs(c.coefficient(t.quantity) - want) <= 1e-12;
            }) && !c.predictor;
            QString v = tr("v = %1 &minus; %2 (the velocity, what a flow model learns)").arg(kEps, kX0);
            if (eulerForm)
                v += tr("; the same step along it: %1 = x<sub>s</sub> + (s&prime; &minus; s) v, s&prime; &minus; s = %2")
                         .arg(kXprev, num(to.sigma - path_at(ps).sigma));
            parts << v;
        }
        numeric = where;
        if (!parts.isEmpty())
            numeric += QStringLiteral("<br>") + parts.join(QStringLiteral(" &nbsp; "));
        numeric += QStringLiteral("<br>") + update;

        // The size of each term for the selected sample: which one moves it.
        const int i = std::clamp(sample(), 0, st->batch() - 1);
        const int n = st->batch() > 0 ? int(st->valuesPerStep() / st->batch()) : 0;
        std::vector<float> xt, x0, eps, xprev, x0Last;
        const bool needsLast =
            std::ranges::any_of(c.terms, [](const Term& t) { return t.quantity == Quantity::X0HatLast; });
        try {
            st->decode(step_, Field::Xt, xt);
            st->decode(step_, Field::X0Hat, x0);
            st->decode(step_, Field::EpsHat, eps);
            st->decode(step_ + 1, Field::Xt, xprev);
            if (needsLast && step_ > 0)
                st->decode(step_ - 1, Field::X0Hat, x0Last);
        } catch (const InputError& e) {
            // A damaged frame of an opened session: the numbers cannot be shown (the
            // panel showing the same step puts the message in the window's banner too).
            equation_->setText(QStringLiteral("%1<br><br>%2").arg(symbolic, numeric));
            terms_->setText(QString::fromUtf8(e.what()).toHtmlEscaped());
            return;
        }
        const auto at = [&](const std::vector<float>& v, int k) { return double(v[std::size_t(i * n + k)]); };
        // The stored quantities (x_t, x0_hat, eps_hat, the previous x0_hat); the others are not kept.
        const auto stored = [](Quantity q) {
            return q == Quantity::Xt || q == Quantity::X0Hat || q == Quantity::EpsHat || q == Quantity::X0HatLast;
        };
        const auto value = [&](Quantity q, int k) {
            switch (q) {
            case Quantity::Xt: return at(xt, k);
            case Quantity::X0Hat: return at(x0, k);
            case Quantity::EpsHat: return at(eps, k);
            case Quantity::X0HatLast: return x0Last.empty() ? 0.0 : at(x0Last, k);
            default: return std::numeric_limits<double>::quiet_NaN();
            }
        };
        const auto sumStored = [&](const std::vector<Term>& ts, int k) {
            double v = 0.0;
            for (const Term& t : ts)
                if (t.coefficient != 0.0 && stored(t.quantity))
                    v += t.coefficient * value(t.quantity, k);
            return v;
        };
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
        for (const Term& t : c.terms) {
            if (!shown(t))
                continue;
            const QString label = t.quantity == Quantity::Noise
                                      ? QStringLiteral("&sigma; z")
                                      : num(t.coefficient) + QStringLiteral(" ") + richText(t.shown_symbol());
            // A quantity that is not stored (the noise, d') is what x_prev holds beyond the stored terms.
            const double v = stored(t.quantity) ? norm([&](int k) { return t.coefficient * value(t.quantity, k); })
                             : t.coefficient == 0.0 ? 0.0
                                                    : norm([&](int k) { return at(xprev, k) - sumStored(c.terms, k); });
            sizes << size(label, v);
        }
        if (c.predictor)
            sizes << tr("%1's correction %2")
                         .arg(QString::fromStdString(info->title).toHtmlEscaped(),
                              size(kXprev + QStringLiteral(" &minus; ") + richText(c.predictor->lhs),
                                   norm([&](int k) { return at(xprev, k) - sumStored(c.predictor->terms, k); })));
        if (flow) // |v| with v = eps_hat - x0_hat (contract section 8), and the move it makes on the path
            sizes << size(QStringLiteral("v"), norm([&](int k) { return value(Quantity::EpsHat, k) - value(Quantity::X0Hat, k); }))
                  << size(QStringLiteral("x<sub>t&prime;</sub> &minus; x<sub>s</sub>"),
                          norm([&](int k) { return at(xprev, k) - at(xt, k); }));
        terms = tr("Sample %1, size of each term: %2").arg(i + 1).arg(sizes.join(QStringLiteral(" &nbsp;&middot;&nbsp; ")));
    } else if (!computed) {
        numeric = tr("<i>No step computed at the cursor: run, or move the timeline onto a step of this panel.</i>");
    }
    equation_->setText(QStringLiteral("%1<br><br>%2").arg(symbolic, numeric));
    terms_->setText(terms);
}

} // namespace noisetrail::ui
