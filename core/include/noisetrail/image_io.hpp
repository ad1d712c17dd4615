// Minimal PNG output for the CLI and training (core stays Qt-free).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace noisetrail {

/// An 8-bit RGB image, row-major, 3 bytes per pixel: the currency of the
/// renderer and the animation writers.
struct RgbImage {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb;

    RgbImage() = default;
    RgbImage(int w, int h, std::uint8_t fill = 255)
        : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3, fill) {}
    std::uint8_t* pixel(int x, int y) { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
    const std::uint8_t* pixel(int x, int y) const { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
    bool operator==(const RgbImage&) const = default;
};

/// Write an 8-bit RGB image (row-major, 3 bytes per pixel). Throws InputError
/// if the file cannot be written.
void write_png_rgb(const std::filesystem::path& path, int width, int height,
                   std::span<const std::uint8_t> rgb);
inline void write_png(const std::filesystem::path& path, const RgbImage& image)
{
    write_png_rgb(path, image.width, image.height, image.rgb);
}

/// Tile a batch of images [B, C, H, W] (C = 1 or 3) into a near-square grid,
/// mapping [lo, hi] to [0, 255] and upscaling each pixel `zoom` times.
void write_image_grid(const std::filesystem::path& path, std::span<const float> images, int batch,
                      int channels, int height, int width, double lo, double hi, int zoom = 3);

/// Scatter plot of 2-D points [n, 2] on a white canvas with a unit grid.
void write_scatter_png(const std::filesystem::path& path, std::span<const float> points, int n,
                       int size = 640);

} // namespace noisetrail
