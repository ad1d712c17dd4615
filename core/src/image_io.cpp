#include "noisetrail/image_io.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <cmath>
#include <fstream>
#include <string>
#include <unordered_map>

namespace noisetrail {

namespace {

void put_u32(std::string& s, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        s.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_chunk(std::string& out, const char* type, const std::string& data)
{
    put_u32(out, static_cast<std::uint32_t>(data.size()));
    std::string body = std::string(type, 4) + data;
    out += body;
    put_u32(out, static_cast<std::uint32_t>(
                     crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

} // namespace

std::string encode_png(const RgbImage& image)
{
    const int width = image.width, height = image.height;
    if (width <= 0 || height <= 0 || image.rgb.size() != static_cast<std::size_t>(width) * height * 3)
        throw std::invalid_argument("encode_png: invalid image size");
    // The smallest of the lossless codings this picture allows (PNG spec, 11.2.2):
    // grey (1 byte a pixel) when R = G = B everywhere, a palette (1 byte) when it has
    // at most 256 colours (8-bit images on a colour map), RGB otherwise.
    const std::size_t n = static_cast<std::size_t>(width) * height;
    bool grey = true;
    for (std::size_t i = 0; i < n && grey; ++i)
        grey = image.rgb[3 * i] == image.rgb[3 * i + 1] && image.rgb[3 * i] == image.rgb[3 * i + 2];
    std::vector<std::uint32_t> palette;
    std::vector<std::uint8_t> index;
    if (!grey) {
        std::unordered_map<std::uint32_t, std::uint8_t> slot; // colour -> palette index
        index.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t c = (std::uint32_t(image.rgb[3 * i]) << 16) | (std::uint32_t(image.rgb[3 * i + 1]) << 8) |
                                    image.rgb[3 * i + 2];
            auto it = slot.find(c);
            if (it == slot.end()) {
                if (palette.size() == 256) {
                    palette.clear();
                    index.clear();
                    break;
                }
                it = slot.emplace(c, static_cast<std::uint8_t>(palette.size())).first;
                palette.push_back(c);
            }
            index[i] = it->second;
        }
    }
    const int bpp = grey || !palette.empty() ? 1 : 3;
    auto sample = [&](std::size_t i, int k) -> std::uint8_t {
        return grey ? image.rgb[3 * i] : !palette.empty() ? index[i] : image.rgb[3 * i + std::size_t(k)];
    };
    // Per row the filter with the smallest sum of absolute differences (the usual
    // heuristic, PNG spec 12.8): enlarged sample images repeat rows and pixels, which
    // Up and Sub turn into runs of zeros.
    const std::size_t stride = static_cast<std::size_t>(width) * bpp;
    std::vector<std::uint8_t> row(stride), prev(stride, 0), best, cand(stride);
    std::string raw;
    raw.reserve(static_cast<std::size_t>(height) * (stride + 1));
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x)
            for (int k = 0; k < bpp; ++k)
                row[std::size_t(x) * bpp + k] = sample(static_cast<std::size_t>(y) * width + x, k);
        long best_cost = -1;
        int best_filter = 0;
        for (int f = 0; f < 3; ++f) { // none, Sub, Up
            long cost = 0;
            for (std::size_t i = 0; i < stride; ++i) {
                const std::uint8_t left = i >= std::size_t(bpp) ? row[i - bpp] : 0;
                cand[i] = static_cast<std::uint8_t>(row[i] - (f == 1 ? left : f == 2 ? prev[i] : 0));
                cost += cand[i] < 128 ? cand[i] : 256 - cand[i];
            }
            if (best_cost < 0 || cost < best_cost) {
                best_cost = cost;
                best_filter = f;
                best = cand;
            }
        }
        raw.push_back(static_cast<char>(best_filter));
        raw.append(reinterpret_cast<const char*>(best.data()), stride);
        std::swap(prev, row);
    }
    uLongf packed_len = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(packed_len, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_len,
                  reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9) != Z_OK)
        throw std::runtime_error("encode_png: compression failed");
    packed.resize(packed_len);

    std::string png("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr;
    put_u32(ihdr, static_cast<std::uint32_t>(width));
    put_u32(ihdr, static_cast<std::uint32_t>(height));
    ihdr.push_back(8); // bit depth
    ihdr.push_back(grey ? 0 : !palette.empty() ? 3 : 2); // grey, palette, RGB
    ihdr += std::string("\x00\x00\x00", 3); // deflate, adaptive filtering, no interlace
    put_chunk(png, "IHDR", ihdr);
    if (!palette.empty()) {
        std::string plte;
        for (std::uint32_t c : palette) {
            plte.push_back(static_cast<char>(c >> 16));
            plte.push_back(static_cast<char>((c >> 8) & 0xff));
            plte.push_back(static_cast<char>(c & 0xff));
        }
        put_chunk(png, "PLTE", plte);
    }
    put_chunk(png, "IDAT", packed);
    put_chunk(png, "IEND", {});
    return png;
}

void write_png_rgb(const std::filesystem::path& path, int width, int height, std::span<const std::uint8_t> rgb)
{
    if (width <= 0 || height <= 0 || rgb.size() != static_cast<std::size_t>(width) * height * 3)
        throw InputError(path.string() + ": invalid image size");
    RgbImage image(width, height);
    std::copy(rgb.begin(), rgb.end(), image.rgb.begin());
    write_file_atomic(path, encode_png(image));
}

int grid_columns(int batch)
{
    return std::max(1, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(batch)))));
}

namespace {

std::array<std::uint8_t, 3> diverging(double v, double limit)
{
    const double u = std::clamp(v / (limit > 0 ? limit : 1.0), -1.0, 1.0);
    // Endpoints of Moreland's cool-warm map, blended through near-white (as the GUI).
    static constexpr double cold[3] = {59, 76, 192}, mid[3] = {242, 242, 242}, warm[3] = {180, 4, 38};
    const double* end = u < 0 ? cold : warm;
    const double a = std::abs(u);
    std::array<std::uint8_t, 3> c{};
    for (int k = 0; k < 3; ++k)
        c[k] = static_cast<std::uint8_t>(std::lround(mid[k] + (end[k] - mid[k]) * a));
    return c;
}

} // namespace

std::array<std::uint8_t, 3> pixel_colour(const float* image, std::size_t plane, std::size_t offset, int channels,
                                         double lo, double hi, ColourMap map)
{
    if (map == ColourMap::Diverging && channels != 3)
        return diverging(image[offset], hi);
    if (map == ColourMap::Diverging) // three channels: each around mid grey over [-hi, hi]
        lo = -hi;
    std::array<std::uint8_t, 3> c{};
    for (int k = 0; k < 3; ++k) {
        const double v = image[(channels == 3 ? k : 0) * plane + offset];
        const double u = hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.5;
        c[std::size_t(k)] = static_cast<std::uint8_t>(std::lround(u * 255.0));
    }
    return c;
}

RgbImage image_grid(std::span<const float> images, int batch, int channels, int height, int width, double lo,
                    double hi, double zoom, ColourMap map, int pad, std::uint8_t background)
{
    const int cols = grid_columns(batch);
    const int rows = (batch + cols - 1) / cols;
    const int iw = std::max(1, static_cast<int>(std::lround(width * zoom)));
    const int ih = std::max(1, static_cast<int>(std::lround(height * zoom)));
    const int cell_w = iw + pad, cell_h = ih + pad;
    RgbImage img(cols * cell_w + pad, rows * cell_h + pad, background);
    const std::size_t plane = static_cast<std::size_t>(height) * width;
    if (images.size() < static_cast<std::size_t>(batch) * channels * plane)
        throw std::invalid_argument("image_grid: fewer values than batch x channels x height x width");
    for (int b = 0; b < batch; ++b) {
        const int ox = pad + (b % cols) * cell_w, oy = pad + (b / cols) * cell_h;
        const float* p = images.data() + static_cast<std::size_t>(b) * channels * plane;
        for (int y = 0; y < ih; ++y) {
            const int sy = std::min(height - 1, static_cast<int>(y / zoom));
            for (int x = 0; x < iw; ++x) {
                const std::size_t o = static_cast<std::size_t>(sy) * width + std::min(width - 1, static_cast<int>(x / zoom));
                const auto c = pixel_colour(p, plane, o, channels, lo, hi, map);
                std::copy(c.begin(), c.end(), img.pixel(ox + x, oy + y));
            }
        }
    }
    return img;
}

void write_image_grid(const std::filesystem::path& path, std::span<const float> images, int batch, int channels,
                      int height, int width, double lo, double hi, int zoom)
{
    write_png(path, image_grid(images, batch, channels, height, width, lo, hi, zoom));
}

void blit(RgbImage& dst, const RgbImage& src, int x, int y)
{
    for (int sy = std::max(0, -y); sy < src.height && y + sy < dst.height; ++sy) {
        const int sx0 = std::max(0, -x), sx1 = std::min(src.width, dst.width - x);
        if (sx1 > sx0)
            std::copy_n(src.pixel(sx0, sy), 3 * (sx1 - sx0), dst.pixel(x + sx0, y + sy));
    }
}

Extent robust_extent(std::span<const float> points, int n)
{
    std::vector<float> xs, ys;
    for (int i = 0; i < n; ++i)
        if (std::isfinite(points[2 * i]) && std::isfinite(points[2 * i + 1])) {
            xs.push_back(points[2 * i]);
            ys.push_back(points[2 * i + 1]);
        }
    if (xs.empty())
        return {};
    auto pct = [](std::vector<float> v, double q) {
        const auto k = static_cast<std::size_t>(q * (v.size() - 1));
        std::nth_element(v.begin(), v.begin() + k, v.end());
        return static_cast<double>(v[k]);
    };
    const double x0 = pct(xs, 0.01), x1 = pct(xs, 0.99), y0 = pct(ys, 0.01), y1 = pct(ys, 0.99);
    return {(x0 + x1) / 2, (y0 + y1) / 2, std::max({(x1 - x0) / 2, (y1 - y0) / 2, 0.5}) * 1.25};
}

RgbImage scatter_image(std::span<const float> points, int n, int size, const Extent& e,
                       std::array<std::uint8_t, 3> colour, const std::vector<std::vector<float>>& paths)
{
    RgbImage img(size, size, 255);
    const double half = e.half > 0 ? e.half : 1.0;
    const auto px_x = [&](double v) { return (v - e.cx + half) / (2 * half) * (size - 1); };
    const auto px_y = [&](double v) { return size - 1 - (v - e.cy + half) / (2 * half) * (size - 1); };
    const auto set = [&](int x, int y, std::array<std::uint8_t, 3> c, double a) {
        if (x < 0 || y < 0 || x >= size || y >= size)
            return;
        auto* p = img.pixel(x, y);
        for (int k = 0; k < 3; ++k)
            p[k] = static_cast<std::uint8_t>(p[k] * (1 - a) + c[k] * a + 0.5);
    };
    // Grid at integer coordinates, darker axes through the origin.
    for (int k = static_cast<int>(std::floor(e.cx - half)); k <= static_cast<int>(std::ceil(e.cx + half)); ++k) {
        const int px = static_cast<int>(std::lround(px_x(k)));
        for (int y = 0; y < size; ++y)
            set(px, y, {0, 0, 0}, k == 0 ? 0.45 : 0.12);
    }
    for (int k = static_cast<int>(std::floor(e.cy - half)); k <= static_cast<int>(std::ceil(e.cy + half)); ++k) {
        const int py = static_cast<int>(std::lround(px_y(k)));
        for (int x = 0; x < size; ++x)
            set(x, py, {0, 0, 0}, k == 0 ? 0.45 : 0.12);
    }
    // Paths: segments sampled every half pixel, each sample a faint dot (cheap, no
    // antialiasing needed at these alphas; overlaps darken where paths bundle).
    const double path_alpha = paths.size() > 50 ? 0.18 : 0.3;
    for (const auto& path : paths) {
        for (std::size_t i = 2; i + 1 < path.size(); i += 2) {
            const double ax = px_x(path[i - 2]), ay = px_y(path[i - 1]), bx = px_x(path[i]), by = px_y(path[i + 1]);
            if (!std::isfinite(ax + ay + bx + by))
                continue;
            const double len = std::hypot(bx - ax, by - ay);
            if (len > 4.0 * size)
                continue; // far off the canvas
            const int n_samples = std::max(1, static_cast<int>(len * 2));
            int last_x = INT32_MIN, last_y = INT32_MIN;
            for (int s = 0; s <= n_samples; ++s) {
                const double u = static_cast<double>(s) / n_samples;
                const int x = static_cast<int>(std::lround(ax + (bx - ax) * u));
                const int y = static_cast<int>(std::lround(ay + (by - ay) * u));
                if (x == last_x && y == last_y)
                    continue;
                set(x, y, colour, path_alpha);
                last_x = x, last_y = y;
            }
        }
    }
    // Points: small discs in a darker shade, with a thin white rim so they stand out of the paths.
    std::array<std::uint8_t, 3> dark{};
    for (int k = 0; k < 3; ++k)
        dark[k] = static_cast<std::uint8_t>(colour[k] * 0.8);
    const double alpha = std::clamp(30.0 / std::sqrt(std::max<double>(1, n)), 0.35, 0.9);
    const double r = n > 256 ? 2.0 : 2.8;
    for (int i = 0; i < n; ++i) {
        const double x = px_x(points[2 * i]), y = px_y(points[2 * i + 1]);
        if (!std::isfinite(x + y))
            continue;
        for (int dy = -3; dy <= 3; ++dy)
            for (int dx = -3; dx <= 3; ++dx) {
                const int ix = static_cast<int>(std::lround(x)) + dx, iy = static_cast<int>(std::lround(y)) + dy;
                const double d = std::hypot(ix - x, iy - y);
                if (d <= r)
                    set(ix, iy, dark, alpha);
                else if (d <= r + 0.8 && n <= 256)
                    set(ix, iy, {255, 255, 255}, 0.5);
            }
    }
    return img;
}

void write_scatter_png(const std::filesystem::path& path, std::span<const float> points, int n, int size)
{
    write_png(path, scatter_image(points, n, size, robust_extent(points, n)));
}

} // namespace noisetrail
