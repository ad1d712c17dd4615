// Minimal PNG output for the CLI and training (core stays Qt-free).
#pragma once
#include <cstdint>
#include <filesystem>
#include <array>
#include <span>
#include <string>
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

/// The PNG file of an image, in memory (the interactive page embeds frames as
/// data: URIs): lossless, as grey or a palette where the picture allows, so a
/// reader gets back exactly image.rgb. std::invalid_argument for an empty image.
std::string encode_png(const RgbImage& image);

/// Write an 8-bit RGB image (row-major, 3 bytes per pixel). Throws InputError
/// if the file cannot be written.
void write_png_rgb(const std::filesystem::path& path, int width, int height,
                   std::span<const std::uint8_t> rgb);
inline void write_png(const std::filesystem::path& path, const RgbImage& image)
{
    write_png_rgb(path, image.width, image.height, image.rgb);
}

/// How values become colours: a ramp over [lo, hi] per channel (x_t, x0_hat:
/// grey for one channel, the image's own colours for three), or a diverging map
/// over [-limit, limit] with limit = hi (eps_hat, whose sign should read at a
/// glance): one channel on blue-white-red (Moreland's "cool to warm" endpoints),
/// three channels each on its own ramp around mid grey, so 0 is grey and the
/// hue says which colour the noise pushes a pixel towards.
enum class ColourMap { Grey, Diverging };

/// The display colour of pixel `offset` of one image [C, H, W] (C = 1 or 3;
/// `plane` = H x W values per channel) under `map` (see ColourMap). The GUI's
/// panels and the renderer both colour pixels through here.
std::array<std::uint8_t, 3> pixel_colour(const float* image, std::size_t plane, std::size_t offset, int channels,
                                         double lo, double hi, ColourMap map);

/// Columns of the near-square grid that tiles `batch` images.
int grid_columns(int batch);

/// Tile a batch of images [B, C, H, W] (C = 1 or 3) into a near-square grid:
/// each image pixel becomes zoom x zoom screen pixels (nearest; zoom may be
/// fractional), cells `pad` pixels apart on a `background` grey.
RgbImage image_grid(std::span<const float> images, int batch, int channels, int height, int width, double lo,
                    double hi, double zoom, ColourMap map = ColourMap::Grey, int pad = 2,
                    std::uint8_t background = 40);

/// Square region of the plane shown by a scatter plot.
struct Extent {
    double cx = 0, cy = 0, half = 2;
    bool operator==(const Extent&) const = default;
};
/// A square around points [n, 2] from their 1st to 99th percentile, times 1.25
/// (half-width at least 0.5); non-finite points ignored.
Extent robust_extent(std::span<const float> points, int n);

/// A scatter plot of points [n, 2] on a white size x size canvas with a unit
/// grid over `extent`; `paths` (x, y pairs each) drawn under the points in
/// `colour` with transparency.
RgbImage scatter_image(std::span<const float> points, int n, int size, const Extent& extent,
                       std::array<std::uint8_t, 3> colour = {31, 90, 180},
                       const std::vector<std::vector<float>>& paths = {});

/// Copy `src` into `dst` with its top-left at (x, y), clipped.
void blit(RgbImage& dst, const RgbImage& src, int x, int y);

/// Tile a batch of images [B, C, H, W] (C = 1 or 3) into a near-square grid,
/// mapping [lo, hi] to [0, 255] and upscaling each pixel `zoom` times.
void write_image_grid(const std::filesystem::path& path, std::span<const float> images, int batch,
                      int channels, int height, int width, double lo, double hi, int zoom = 3);

/// Scatter plot of 2-D points [n, 2] on a white canvas with a unit grid.
void write_scatter_png(const std::filesystem::path& path, std::span<const float> points, int n,
                       int size = 640);

} // namespace noisetrail
