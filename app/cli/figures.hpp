// Shared pieces of the experiment commands (invert, interpolate, consistency,
// decision): number lists on the command line and the tiles and panels their
// PNG figures are made of.
#pragma once
#include "canvas.hpp"
#include "commands.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/model_card.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>
#include <span>
#include <string>
#include <vector>

namespace noisetrail::cli {

inline std::vector<int> parse_int_list(const std::string& flag, const std::string& text, int lo, int hi)
{
    std::vector<int> out;
    for (const std::string& e : split_list(flag, text)) {
        std::size_t used = 0;
        long v = 0;
        try {
            v = std::stol(e, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != e.size() || v < lo || v > hi)
            throw InputError(flag + ": '" + e + "' is not a whole number in " + std::to_string(lo) + ".." +
                             std::to_string(hi));
        out.push_back(static_cast<int>(v));
    }
    return out;
}

/// Short upper-case label of a sampler for figures: "DDIM 50", "DDIM 50 ETA 0.5", "DDPM 1000".
inline std::string figure_label(const SamplerConfig& c, int train_steps)
{
    std::string s = c.sampler + " " + std::to_string(resolved_steps(c, train_steps));
    if (c.sampler == "ddim" && c.eta != 0.0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " eta %g", c.eta);
        s += buf;
    }
    for (char& ch : s)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

inline Canvas::Color palette(int k)
{
    return compare::kPalette[static_cast<std::size_t>(std::max(k, 0)) % compare::kPalette.size()];
}

/// How an image card's samples are drawn.
/// A row of colour swatches from (x, y): palette(i) beside `prefix` values[i]
/// (the step counts of a figure's colours).
inline void swatch_legend(Canvas& cv, int x, int y, const std::vector<int>& values, const std::string& prefix)
{
    for (std::size_t i = 0; i < values.size(); ++i) {
        cv.rect(x, y, x + 12, y + 12, palette(static_cast<int>(i)));
        x += 18 + cv.text(x + 18, y, prefix + std::to_string(values[i]), {0, 0, 0}, 2) + 20;
    }
}

/// The column headers of a Markdown table over step counts: " S = 10 | S = 20 |",
/// then the rule (first column left-aligned, numbers right-aligned). The row
/// header cell ("| sampler |") is the caller's.
inline void markdown_step_columns(std::ostream& md, const std::vector<int>& steps)
{
    for (int s : steps)
        md << " S = " << s << " |";
    md << "\n|---|";
    for (std::size_t k = 0; k < steps.size(); ++k)
        md << "---:|";
    md << '\n';
}

struct ImageGeometry {
    int C = 1, H = 0, W = 0;
    double lo = -1.0, hi = 1.0;
    std::size_t size() const { return static_cast<std::size_t>(C) * H * W; }
};

inline ImageGeometry image_geometry(const ModelCard& card)
{
    ImageGeometry g;
    const auto& s = card.data_shape;
    g.C = s.size() == 3 ? static_cast<int>(s[0]) : 1;
    g.H = static_cast<int>(s[s.size() - 2]);
    g.W = static_cast<int>(s[s.size() - 1]);
    const auto r = card.data_range.value_or(std::array<double, 2>{-1.0, 1.0});
    g.lo = r[0], g.hi = r[1];
    return g;
}

/// One image [C, H, W] at (x, y), [lo, hi] mapped to 0..255, each pixel `zoom` x `zoom`.
inline void draw_image(Canvas& cv, int x, int y, const float* img, const ImageGeometry& g, int zoom, double lo,
                       double hi)
{
    for (int r = 0; r < g.H; ++r)
        for (int c = 0; c < g.W; ++c) {
            Canvas::Color col{};
            for (int ch = 0; ch < 3; ++ch) {
                const int src = g.C == 3 ? ch : 0;
                const double v = (img[(src * g.H + r) * g.W + c] - lo) / (hi - lo);
                col[ch] = static_cast<std::uint8_t>(std::lround(255.0 * std::clamp(v, 0.0, 1.0)));
            }
            cv.rect(x + c * zoom, y + r * zoom, x + (c + 1) * zoom - 1, y + (r + 1) * zoom - 1, col);
        }
}

/// A square plot panel for 2-D points: data range [lo, hi] on both axes, with a unit grid.
struct PointPanel {
    int x = 0, y = 0, size = 300;
    double lo = -3.0, hi = 3.0;

    int X(double v) const { return x + static_cast<int>(std::lround((v - lo) / (hi - lo) * size)); }
    int Y(double v) const { return y + size - static_cast<int>(std::lround((v - lo) / (hi - lo) * size)); }
    void frame(Canvas& cv, const std::string& title) const
    {
        const Canvas::Color grid{230, 230, 230}, black{0, 0, 0};
        for (double g = std::ceil(lo); g <= hi; g += 1.0) {
            cv.line(X(g), y, X(g), y + size, grid);
            cv.line(x, Y(g), x + size, Y(g), grid);
        }
        cv.line(x, y, x + size, y, black);
        cv.line(x, y + size, x + size, y + size, black);
        cv.line(x, y, x, y + size, black);
        cv.line(x + size, y, x + size, y + size, black);
        cv.text(x, y - 22, title, black, 2);
    }
    void dot(Canvas& cv, double px, double py, Canvas::Color c, int r = 2) const
    {
        cv.rect(X(px) - r, Y(py) - r, X(px) + r, Y(py) + r, c);
    }
    void segment(Canvas& cv, double x0, double y0, double x1, double y1, Canvas::Color c, int thick = 1) const
    {
        cv.line(X(x0), Y(y0), X(x1), Y(y1), c, thick);
    }
};

/// A symmetric square range covering the points (at least [-3, 3], padded, whole units).
inline std::pair<double, double> point_range(const std::vector<std::span<const float>>& sets)
{
    double m = 3.0;
    for (const auto& s : sets)
        for (float v : s)
            if (std::isfinite(v))
                m = std::max(m, std::abs(double(v)) * 1.05);
    m = std::ceil(m);
    return {-m, m};
}

/// A CSV (or Markdown) output: gathered in memory, written atomically by commit()
/// (a temporary file renamed over the target; errors name the file).
class OutputText : public std::ostringstream {
public:
    explicit OutputText(std::filesystem::path path) : path_(std::move(path)) {}
    void commit() { write_file_atomic(path_, str()); }

private:
    std::filesystem::path path_;
};

inline OutputText open_csv(const std::filesystem::path& path) { return OutputText(path); }

inline std::string num(double v, const char* f = "%.6g")
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

} // namespace noisetrail::cli
