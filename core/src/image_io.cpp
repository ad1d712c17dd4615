#include "noisetrail/image_io.hpp"

#include "noisetrail/errors.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

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

void write_png_rgb(const std::filesystem::path& path, int width, int height, std::span<const std::uint8_t> rgb)
{
    if (width <= 0 || height <= 0 || rgb.size() != static_cast<std::size_t>(width) * height * 3)
        throw InputError(path.string() + ": invalid image size");
    std::string raw;
    raw.reserve(static_cast<std::size_t>(height) * (width * 3 + 1));
    for (int y = 0; y < height; ++y) {
        raw.push_back(0); // filter: none
        raw.append(reinterpret_cast<const char*>(rgb.data()) + static_cast<std::size_t>(y) * width * 3,
                   static_cast<std::size_t>(width) * 3);
    }
    uLongf packed_len = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(packed_len, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_len,
                  reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6) != Z_OK)
        throw InputError(path.string() + ": PNG compression failed");
    packed.resize(packed_len);

    std::string png("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr;
    put_u32(ihdr, static_cast<std::uint32_t>(width));
    put_u32(ihdr, static_cast<std::uint32_t>(height));
    ihdr += std::string("\x08\x02\x00\x00\x00", 5); // 8-bit RGB, deflate, no interlace
    put_chunk(png, "IHDR", ihdr);
    put_chunk(png, "IDAT", packed);
    put_chunk(png, "IEND", {});
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(png.data(), static_cast<std::streamsize>(png.size())))
        throw InputError(path.string() + ": cannot write file");
}

void write_image_grid(const std::filesystem::path& path, std::span<const float> images, int batch, int channels,
                      int height, int width, double lo, double hi, int zoom)
{
    const int cols = std::max(1, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(batch)))));
    const int rows = (batch + cols - 1) / cols;
    const int pad = 2;
    const int cell_w = width * zoom + pad, cell_h = height * zoom + pad;
    const int W = cols * cell_w + pad, H = rows * cell_h + pad;
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(W) * H * 3, 40);
    const std::size_t plane = static_cast<std::size_t>(height) * width;
    for (int b = 0; b < batch; ++b) {
        const int ox = pad + (b % cols) * cell_w, oy = pad + (b / cols) * cell_h;
        for (int y = 0; y < height * zoom; ++y)
            for (int x = 0; x < width * zoom; ++x)
                for (int c = 0; c < 3; ++c) {
                    const int src_c = channels == 3 ? c : 0;
                    const float v = images[(static_cast<std::size_t>(b) * channels + src_c) * plane +
                                           static_cast<std::size_t>(y / zoom) * width + x / zoom];
                    const double u = std::clamp((v - lo) / (hi - lo), 0.0, 1.0);
                    rgb[(static_cast<std::size_t>(oy + y) * W + ox + x) * 3 + c] =
                        static_cast<std::uint8_t>(std::lround(u * 255.0));
                }
    }
    write_png_rgb(path, W, H, rgb);
}

void write_scatter_png(const std::filesystem::path& path, std::span<const float> points, int n, int size)
{
    // Square view around the points: a robust extent (1st..99th percentile) plus margin.
    std::vector<float> xs, ys;
    for (int i = 0; i < n; ++i)
        if (std::isfinite(points[2 * i]) && std::isfinite(points[2 * i + 1])) {
            xs.push_back(points[2 * i]);
            ys.push_back(points[2 * i + 1]);
        }
    double cx = 0, cy = 0, half = 2;
    if (!xs.empty()) {
        auto pct = [](std::vector<float> v, double q) {
            const auto k = static_cast<std::size_t>(q * (v.size() - 1));
            std::nth_element(v.begin(), v.begin() + k, v.end());
            return static_cast<double>(v[k]);
        };
        const double x0 = pct(xs, 0.01), x1 = pct(xs, 0.99), y0 = pct(ys, 0.01), y1 = pct(ys, 0.99);
        cx = (x0 + x1) / 2;
        cy = (y0 + y1) / 2;
        half = std::max({(x1 - x0) / 2, (y1 - y0) / 2, 0.5}) * 1.25;
    }
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(size) * size * 3, 255);
    const auto to_px = [&](double v, double c) { return (v - c + half) / (2 * half) * (size - 1); };
    const auto set = [&](int x, int y, std::uint8_t r, std::uint8_t g, std::uint8_t b, double a) {
        if (x < 0 || y < 0 || x >= size || y >= size)
            return;
        auto* p = &rgb[(static_cast<std::size_t>(y) * size + x) * 3];
        p[0] = static_cast<std::uint8_t>(p[0] * (1 - a) + r * a);
        p[1] = static_cast<std::uint8_t>(p[1] * (1 - a) + g * a);
        p[2] = static_cast<std::uint8_t>(p[2] * (1 - a) + b * a);
    };
    // Grid at integer coordinates, darker axes through the origin.
    for (int k = static_cast<int>(std::floor(cx - half)); k <= static_cast<int>(std::ceil(cx + half)); ++k) {
        const int px = static_cast<int>(std::lround(to_px(k, cx)));
        for (int y = 0; y < size; ++y)
            set(px, y, 0, 0, 0, k == 0 ? 0.45 : 0.12);
    }
    for (int k = static_cast<int>(std::floor(cy - half)); k <= static_cast<int>(std::ceil(cy + half)); ++k) {
        const int py = size - 1 - static_cast<int>(std::lround(to_px(k, cy)));
        for (int x = 0; x < size; ++x)
            set(x, py, 0, 0, 0, k == 0 ? 0.45 : 0.12);
    }
    const double alpha = std::clamp(30.0 / std::sqrt(std::max<double>(1, n)), 0.15, 0.8);
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const int px = static_cast<int>(std::lround(to_px(xs[i], cx)));
        const int py = size - 1 - static_cast<int>(std::lround(to_px(ys[i], cy)));
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
                set(px + dx, py + dy, 31, 90, 180, alpha);
    }
    write_png_rgb(path, size, size, rgb);
}

} // namespace noisetrail
