#include "render.hpp"

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
            const std::size_t o = std::size_t(y) * W + x;
            if (C == 3 && field != Field::EpsHat) {
                auto ch = [&](int c) { return qRed(greyMap(p[c * H * W + o], range.lo, range.hi)); };
                line[x] = qRgb(ch(0), ch(1), ch(2));
            } else if (field == Field::EpsHat) {
                float v = p[o];
                if (C == 3) // the channel mean keeps the sign readable
                    v = (p[o] + p[H * W + o] + p[2 * H * W + o]) / 3.f;
                line[x] = divergingMap(v, range.hi);
            } else {
                line[x] = greyMap(p[o], range.lo, range.hi);
            }
        }
    }
    return img;
}

} // namespace noisetrail::ui
