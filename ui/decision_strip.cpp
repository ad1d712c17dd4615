#include "decision_strip.hpp"

#include "loaded_model.hpp"
#include "timeline_mapping.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/trajectory.hpp"

#include <QObject>
#include <QPainter>
#include <QStringList>

#include <algorithm>

namespace noisetrail::ui {

QColor classColor(int label)
{
    if (label < 0)
        return QColor(160, 160, 160);
    const auto& c = compare::kPalette[std::size_t(label) % compare::kPalette.size()];
    return QColor(c[0], c[1], c[2]);
}

ClassStrip classStrip(const std::vector<int>& timesteps, std::span<const int> steps, std::span<const int> labels,
                      int shown, int trainSteps)
{
    ClassStrip strip;
    const int S = int(timesteps.size());
    if (S == 0 || steps.size() != labels.size())
        return strip;
    TimelineMapping map;
    map.trainSteps = trainSteps;
    // The t after a step: the next step's, or the final samples' position after the last.
    const auto tAfter = [&](int step) { return step + 1 < S ? timesteps[std::size_t(step) + 1] : TimelineMapping::kFinal; };
    const int last = std::min(shown, S - 1);
    for (std::size_t j = 0; j < steps.size() && steps[j] <= last; ++j) {
        const int next = j + 1 < steps.size() && steps[j + 1] <= last ? timesteps[std::size_t(steps[j + 1])] : tAfter(last);
        const double from = map.pixelOfT(timesteps[std::size_t(steps[j])]), to = map.pixelOfT(next);
        if (to <= from)
            continue;
        if (!strip.segments.empty() && strip.segments.back().label == labels[j])
            strip.segments.back().to = to; // one segment per run of equal labels
        else
            strip.segments.push_back({from, to, labels[j]});
    }
    return strip;
}

int assignmentAt(const Trajectory& trajectory, int step, int sample)
{
    for (int k = std::min(step, trajectory.size() - 1); k >= 0; --k) {
        const std::vector<int>& a = trajectory.info(k).metrics.assignment;
        if (!a.empty())
            return sample >= 0 && sample < int(a.size()) ? a[std::size_t(sample)] : -1;
    }
    return -1;
}

std::vector<ClassStrip> trajectoryStrips(const Trajectory& trajectory, int shown, int trainSteps)
{
    const int B = trajectory.batch(), last = std::min(shown, trajectory.size() - 1);
    std::vector<int> steps;
    for (int k = 0; k <= last; ++k)
        if (int(trajectory.info(k).metrics.assignment.size()) == B)
            steps.push_back(k);
    if (steps.empty() || B < 1)
        return {};
    std::vector<ClassStrip> out;
    out.reserve(std::size_t(B));
    std::vector<int> labels(steps.size());
    for (int b = 0; b < B; ++b) {
        for (std::size_t j = 0; j < steps.size(); ++j)
            labels[j] = trajectory.info(steps[j]).metrics.assignment[std::size_t(b)];
        out.push_back(classStrip(trajectory.timesteps(), steps, labels, shown, trainSteps));
    }
    return out;
}

QString classLegend(const LoadedModel* model)
{
    if (!model || (!model->classifier && !model->mixture))
        return {};
    const std::vector<std::string> names =
        experiments::assignment_labels(model->classifier.get(), model->mixture ? model->mixture->components() : 0);
    QStringList parts;
    for (std::size_t k = 0; k < names.size(); ++k)
        parts << QStringLiteral("<span style=\"color:%1\">\u25a0</span>&nbsp;%2")
                     .arg(classColor(int(k)).name(),
                          // an entry never breaks across lines, only between entries
                          QString::fromStdString(names[k]).toHtmlEscaped().replace(' ', QStringLiteral("&nbsp;")));
    return (model->classifier ? QObject::tr("Class of x0_hat:") : QObject::tr("Component of x0_hat:")) + QStringLiteral(" &nbsp; ") +
           parts.join(QStringLiteral(" &nbsp; "));
}

void paintClassStrip(QPainter& p, const QRectF& rect, const ClassStrip& strip)
{
    for (const ClassStrip::Segment& s : strip.segments)
        p.fillRect(QRectF(rect.left() + s.from * rect.width(), rect.top(), (s.to - s.from) * rect.width(), rect.height()),
                   classColor(s.label));
}

} // namespace noisetrail::ui
