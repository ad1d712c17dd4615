#include "noise_axis.hpp"


#include <QCoreApplication>

namespace noisetrail::ui {

NoiseAxis NoiseAxis::choose(const std::vector<std::shared_ptr<const NoiseSchedule>>& schedules)
{
    std::vector<const NoiseSchedule*> raw;
    for (const auto& s : schedules)
        raw.push_back(s.get());
    NoiseAxis axis;
    if (const NoiseSchedule* ref = axis_reference(raw)) // one rule with lockstep pacing (core)
        for (const auto& s : schedules)
            if (s.get() == ref)
                axis.reference = s;
    for (const auto& s : schedules)
        if (s && axis.reference && s->process() != axis.reference->process())
            axis.mixed = true;
    return axis;
}

int NoiseAxis::toAxis(const NoiseSchedule* own, int t) const
{
    if (!reference || !own || t < 0)
        return t;
    return axis_t(*own, t, *reference);
}

std::vector<int> NoiseAxis::toAxis(const NoiseSchedule* own, const std::vector<int>& ts) const
{
    std::vector<int> out;
    out.reserve(ts.size());
    for (int t : ts)
        out.push_back(toAxis(own, t));
    return out;
}

int NoiseAxis::fromAxis(const NoiseSchedule* own, int axisT) const
{
    if (!reference || !own || axisT < 0)
        return axisT;
    return axis_t(*reference, axisT, *own);
}

QString NoiseAxis::tickText(int axisT) const
{
    if (!reference)
        return QString::number(axisT);
    if (flow()) // s = (t + 1) / T, and s = 0 at the final samples
        return QString::number(double(axisT + 1) / reference->train_steps(), 'g', 3);
    if (!mixed)
        return QString::number(axisT);
    const double s = flow_level_of_alpha_bar(axisT < 0 ? 1.0 : reference->alpha_bar(axisT));
    return QCoreApplication::translate("NoiseAxis", "%1 / s %2").arg(axisT).arg(s, 0, 'f', 2);
}

QString NoiseAxis::positionText(int axisT) const
{
    return (flow() ? QStringLiteral("s = ") : QStringLiteral("t = ")) + tickText(axisT);
}

QString NoiseAxis::axisTitle() const
{
    if (flow())
        return QCoreApplication::translate("NoiseAxis", "s (noise level)");
    if (mixed)
        return QCoreApplication::translate("NoiseAxis", "t (flow s: equal SNR)");
    return QCoreApplication::translate("NoiseAxis", "t (noise level)");
}

QString levelSymbol(const NoiseSchedule& schedule)
{
    return schedule.process() == ProcessKind::Flow ? QStringLiteral("s") : QStringLiteral("t");
}

QString levelText(const NoiseSchedule& schedule, int t, bool withSymbol)
{
    QString value;
    if (schedule.process() == ProcessKind::Flow)
        value = QString::number(t < 0 ? 0.0 : schedule.flow_level(t), 'f', 3);
    else
        value = QString::number(t);
    return withSymbol ? levelSymbol(schedule) + QStringLiteral(" = ") + value : value;
}

QString levelText(const PlanStep& step)
{
    if (step.process == ProcessKind::Flow)
        return QStringLiteral("s = ") + QString::number(noise_level(step), 'f', 3);
    return QStringLiteral("t = ") + QString::number(step.t);
}

} // namespace noisetrail::ui
