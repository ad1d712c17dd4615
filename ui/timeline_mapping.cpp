#include "timeline_mapping.hpp"

#include "noisetrail/render.hpp"

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

int TimelineMapping::clampT(int t) const { return std::clamp(t, tMin(), tMax()); }

double TimelineMapping::pixelOfT(double t) const
{
    const double span = double(tMax() - tMin());
    if (span <= 0)
        return pixelLeft;
    return pixelLeft + (tMax() - t) / span * (pixelRight - pixelLeft);
}

int TimelineMapping::tAtPixel(double pixel) const
{
    const double width = pixelRight - pixelLeft;
    if (width == 0)
        return tMax();
    const double t = tMax() - (pixel - pixelLeft) / width * double(tMax() - tMin());
    return clampT(int(std::lround(t)));
}

int TimelineMapping::stepAt(const std::vector<int>& timesteps, int t, int available, bool finished)
{
    return step_at(timesteps, t, available, finished); // one rule for the timeline and the exports (core render.hpp)
}

int TimelineMapping::tOfStep(const std::vector<int>& timesteps, int step)
{
    if (step < 0 || step >= int(timesteps.size()))
        return kFinal;
    return timesteps[step];
}

int TimelineMapping::nextKeyFrame(int t, int direction) const
{
    std::vector<int> keys{tMax()};
    for (int k = 9; k >= 1; --k)
        keys.push_back(k * trainSteps / 10);
    keys.push_back(0);
    keys.push_back(kFinal);
    return nextStop(keys, t, direction);
}

int TimelineMapping::nextStop(const std::vector<int>& stops, int t, int direction)
{
    int best = t;
    bool found = false;
    for (int s : stops) {
        if (direction > 0 && s < t && (!found || s > best)) {
            best = s;
            found = true;
        } else if (direction < 0 && s > t && (!found || s < best)) {
            best = s;
            found = true;
        }
    }
    return best;
}

double TimelineMapping::pixelOfCalls(double calls, int total) const
{
    if (total <= 0)
        return pixelLeft;
    return pixelLeft + calls / total * (pixelRight - pixelLeft);
}

int TimelineMapping::callsAtPixel(double pixel, int total) const
{
    const double width = pixelRight - pixelLeft;
    if (width == 0 || total <= 0)
        return 0;
    return std::clamp(int(std::lround((pixel - pixelLeft) / width * total)), 0, total);
}

int TimelineMapping::callsOfStep(const std::vector<int>& calls, int step)
{
    if (step == 0)
        return 0;
    if (step < 0 || step > int(calls.size()))
        return -1;
    return calls[std::size_t(step - 1)];
}

int TimelineMapping::stepAtCalls(const std::vector<int>& calls, int cursorCalls, int available, bool finished)
{
    const int S = int(calls.size());
    if (available <= 0 || S == 0)
        return -1;
    // The calls grow with the steps: the last state reached within the cursor's calls.
    int k = 0;
    while (k < S && calls[std::size_t(k)] <= cursorCalls)
        ++k;
    const int newest = finished ? S : std::min(available, S) - 1;
    return std::min(k, newest);
}

int TimelineMapping::nextCallStop(const std::vector<int>& stops, int calls, int direction)
{
    int best = calls;
    bool found = false;
    for (int s : stops)
        if ((direction > 0 && s > calls && (!found || s < best)) || (direction < 0 && s < calls && (!found || s > best))) {
            best = s;
            found = true;
        }
    return best;
}

} // namespace noisetrail::ui
