// Values -> pixels for display: colour maps and sample images (GUI side,
// O(pixels) per redraw, never the model).
#pragma once
#include "noisetrail/trajectory.hpp"
#include "palette.hpp" // panelColor

#include <QColor>
#include <QImage>

#include <cstdint>
#include <vector>

namespace noisetrail::ui {

/// Grey ramp for x_t and x0_hat; a diverging blue-white-red (Moreland's
/// "cool to warm") for eps_hat, so its sign reads at a glance.
QRgb greyMap(float v, float lo, float hi);
QRgb divergingMap(float v, float limit);

/// Display range of a field: the card's data_range for x_t / x0_hat (x_t
/// saturates while noisy, as it should), +-3 for eps_hat (it is ~N(0, I)).
struct DisplayRange {
    float lo = -1.f, hi = 1.f;
};
DisplayRange displayRange(Field field, const std::vector<std::int64_t>& dataShape,
                          const std::vector<float>& values);

/// Sample `index` of a decoded batch as an image. dataShape is [C, H, W] or [H, W];
/// colour images in colour, eps_hat on core's pixel_colour diverging rule.
QImage sampleImage(const std::vector<float>& batchValues, const std::vector<std::int64_t>& dataShape,
                   int index, Field field, DisplayRange range);

} // namespace noisetrail::ui
