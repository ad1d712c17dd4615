#include "render.hpp"

#include "noisetrail/image_io.hpp" // pixel_colour: one colour rule for the GUI and the renderer

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

QRgb greyMap(float v, float lo, float hi)
{
    const float u = hi > lo ? std::clamp((v - lo) / (hi - lo), 0.f, 1.f) : 0.5f;
    const int g = int(u * 255.f + 0.5f);
    return qRgb(g, g, g);
}

QRgb divergingMap(float v, float limit)
{
    const float u = std::clamp(v / (limit > 0 ? limit : 1.f), -1.f, 1.f);
    // Endpoints of Moreland's cool-warm map, blended through near-white.
    const QColor cold(59, 76, 192), mid(242, 242, 242), warm(180, 4, 38);
    const QColor& end = u < 0 ? cold : warm;
    const float a = std::abs(u);
    return qRgb(int(mid.red() + (end.red() - mid.red()) * a), int(mid.green() + (end.green() - mid.green()) * a),
                int(mid.blue() + (end.blue() - mid.blue()) * a));
}

DisplayRange displayRange(Field field, const std::vector<std::int64_t>&, const std::vector<float>&)
{
    if (field == Field::EpsHat)
        return {-3.f, 3.f};
    return {-1.f, 1.f};
}

QImage sampleImage(const std::vector<float>& values, const std::vector<std::int64_t>& dataShape, int index,
                   Field field, DisplayRange range)
{
    int C = 1, H = 0, W = 0;
    if (dataShape.size() == 3) {
        C = int(dataShape[0]);
        H = int(dataShape[1]);
        W = int(dataShape[2]);
    } else if (dataShape.size() == 2) {
        H = int(dataShape[0]);
        W = int(dataShape[1]);
    } else {
        return {};
    }
    const std::size_t per = std::size_t(C) * H * W;
    if (values.size() < per * std::size_t(index + 1))
        return {};
    const float* p = values.data() + per * std::size_t(index);
    QImage img(W, H, QImage::Format_RGB32);
    for (int y = 0; y < H; ++y) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
        for (int x = 0; x < W; ++x) {
            const auto c = pixel_colour(p, std::size_t(H) * W, std::size_t(y) * W + x, C, range.lo, range.hi,
                                        field == Field::EpsHat ? ColourMap::Diverging : ColourMap::Grey);
            line[x] = qRgb(c[0], c[1], c[2]);
        }
    }
    return img;
}

} // namespace noisetrail::ui
