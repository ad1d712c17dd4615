#include "samplers/sampler.hpp"
#include "samplers/sampler_list.hpp"

#include "noisetrail/errors.hpp"

#include <stdexcept>

namespace noisetrail::detail {

#define NOISETRAIL_DECLARE_SAMPLER(name) SamplerUnit name##_sampler();
NOISETRAIL_SAMPLERS(NOISETRAIL_DECLARE_SAMPLER)
#undef NOISETRAIL_DECLARE_SAMPLER

const std::vector<SamplerUnit>& sampler_registry()
{
#define NOISETRAIL_LIST_SAMPLER(name) name##_sampler(),
    static const std::vector<SamplerUnit> units{NOISETRAIL_SAMPLERS(NOISETRAIL_LIST_SAMPLER)};
#undef NOISETRAIL_LIST_SAMPLER
    return units;
}

const SamplerUnit& find_sampler(const std::string& name)
{
    for (const SamplerUnit& u : sampler_registry())
        if (u.info.name == name)
            return u;
    std::string known;
    for (const SamplerUnit& u : sampler_registry())
        known += (known.empty() ? "" : ", ") + u.info.name;
    throw InputError("--sampler: unknown sampler '" + name + "' (expected " + known + ")");
}

at::Tensor apply_terms(const StepTerms& terms, const StepInput& in)
{
    const auto value = [&](Quantity q, const at::Tensor* predicted) -> const at::Tensor& {
        switch (q) {
        case Quantity::Xt: return in.x_t;
        case Quantity::X0Hat: return in.d.x0_hat;
        case Quantity::EpsHat: return in.d.eps_hat;
        case Quantity::Noise:
            if (!in.z.defined())
                throw std::logic_error("sampler terms: a noise term on a step whose plan sigma is 0");
            return in.z;
        case Quantity::X0HatLast:
            if (!in.state || !in.state->x0_last.defined())
                throw std::logic_error("sampler terms: x0_hat of the step before, on a first step");
            return in.state->x0_last;
        case Quantity::EpsHatPredictor:
            if (!predicted)
                throw std::logic_error("sampler terms: eps_hat at the predictor without a predictor");
            return *predicted;
        case Quantity::Defined: break;
        }
        throw std::logic_error("sampler terms: a display-only term in the update");
    };
    // Sum in the order written; zero coefficients are skipped (their quantity may be undefined).
    const auto sum = [&](const std::vector<Term>& ts, const at::Tensor* predicted) {
        at::Tensor out;
        for (const Term& t : ts) {
            if (t.coefficient == 0.0)
                continue;
            const at::Tensor& v = value(t.quantity, predicted);
            if (out.defined())
                out.add_(v, t.coefficient);
            else
                out = t.coefficient * v;
        }
        return out.defined() ? out : at::zeros_like(in.x_t);
    };
    at::Tensor x_prev;
    if (terms.predictor) {
        // The second evaluation happens inside the step, so it is never merged
        // with other runs' evaluations (only the first evaluation of a tick is).
        const at::Tensor x_pred = sum(terms.predictor->terms, nullptr);
        const DenoisedTensors d2 = in.evaluate(x_pred, in.s);
        x_prev = sum(terms.terms, &d2.eps_hat);
    } else {
        x_prev = sum(terms.terms, nullptr);
    }
    if (in.state) {
        in.state->x0_last = in.d.x0_hat;
        in.state->previous = in.s;
    }
    return x_prev;
}

} // namespace noisetrail::detail

namespace noisetrail {

std::string quantity_symbol(Quantity q)
{
    switch (q) {
    case Quantity::Xt: return "\\xt";
    case Quantity::X0Hat: return "\\xzero";
    case Quantity::EpsHat: return "\\eps";
    case Quantity::Noise: return "z";
    case Quantity::X0HatLast: return "\\xzero^{last}";
    case Quantity::EpsHatPredictor: return "\\eps\\prime";
    case Quantity::Defined: break;
    }
    return "?";
}

const std::string& Term::shown_symbol() const
{
    if (symbol.empty()) {
        // One string per quantity, made once (the markup never changes).
        static const std::string names[] = {quantity_symbol(Quantity::Xt),      quantity_symbol(Quantity::X0Hat),
                                            quantity_symbol(Quantity::EpsHat),  quantity_symbol(Quantity::Noise),
                                            quantity_symbol(Quantity::X0HatLast),
                                            quantity_symbol(Quantity::EpsHatPredictor),
                                            quantity_symbol(Quantity::Defined)};
        return names[static_cast<int>(quantity)];
    }
    return symbol;
}

double StepTerms::coefficient(Quantity q) const
{
    double c = 0.0;
    for (const Term& t : terms)
        if (t.quantity == q)
            c += t.coefficient;
    return c;
}

const StepScalar* StepTerms::scalar(std::string_view symbol) const
{
    for (const StepScalar& s : scalars)
        if (s.symbol == symbol)
            return &s;
    return nullptr;
}

StepTerms step_terms(const SamplerConfig& config, const PlanStep& step, const PlanStep* previous)
{
    return detail::find_sampler(config.sampler).terms(config, step, previous);
}

StepTerms step_terms(const SamplerConfig& config, const SamplingPlan& plan, int index)
{
    if (index < 0 || index >= plan.size())
        throw std::out_of_range("step_terms: step " + std::to_string(index) + " of a plan of " +
                                std::to_string(plan.size()));
    return step_terms(config, plan.steps[std::size_t(index)],
                      index > 0 ? &plan.steps[std::size_t(index - 1)] : nullptr);
}

} // namespace noisetrail
