// Small numeric helpers shared by schedules and plans (internal).
#pragma once
#include <vector>

namespace noisetrail {

/// numpy.linspace(start, stop, n) computed the way numpy does it, so that
/// timesteps match reference implementations to the last bit.
inline std::vector<double> linspace(double start, double stop, int n)
{
    std::vector<double> y(n > 0 ? n : 0);
    if (n == 1) {
        y[0] = start;
    } else if (n > 1) {
        const double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; ++i)
            y[i] = i * step + start;
        y[n - 1] = stop;
    }
    return y;
}

} // namespace noisetrail
