// Shared pieces of the experiment commands (invert, interpolate, consistency,
// decision): number lists on the command line, the tiles and panels their PNG
// figures are made of, and the CLI's renderer of core's figure descriptions
// (noisetrail/figure.hpp; the GUI renders the same descriptions with QPainter).
#pragma once
#include "canvas.hpp"
#include "commands.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/figure.hpp"
#include "noisetrail/image_io.hpp"
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

inline Canvas::Color palette(int k)
{
    return compare::kPalette[static_cast<std::size_t>(std::max(k, 0)) % compare::kPalette.size()];
}

/// The column headers of a Markdown table over step counts: " S = 10 | S = 20 |"
/// (`name` "NFE": model-call budgets), then the rule (first column left-aligned,
/// numbers right-aligned). The row header cell ("| sampler |") is the caller's.
inline void markdown_step_columns(std::ostream& md, const std::vector<int>& steps, const char* name = "S")
{
    for (int s : steps)
        md << ' ' << name << " = " << s << " |";
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
            const Canvas::Color col = pixel_colour(img, static_cast<std::size_t>(g.H) * g.W,
                                                   static_cast<std::size_t>(r) * g.W + c, g.C, lo, hi, ColourMap::Grey);
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


// ------------------------------------------------- core's figure descriptions

inline Canvas::Color color_of(figure::Rgb c)
{
    return {c.r, c.g, c.b};
}

/// A strip at (x, y), w x h: pixel column px shows the label of the step whose t is
/// the first at or below t = (T - 1)(1 - px / (w - 1)) (timesteps descend).
inline void draw_strip(Canvas& cv, int x, int y, int w, int h, const figure::Strip& s)
{
    const int S = static_cast<int>(s.timesteps.size());
    int k = 0;
    for (int px = 0; px < w && S > 0; ++px) {
        const double t = (s.train_steps - 1) * (1.0 - double(px) / std::max(1, w - 1));
        while (k + 1 < S && s.timesteps[k] > t)
            ++k;
        cv.rect(x + px, y, x + px, y + h - 1, palette(s.labels[k]));
    }
}

/// A histogram in (x, y, w, h): its title and its count axis' name above, the
/// count axis at the left (figure::count_ticks), bars, the t axis and its three labels below.
inline void draw_histogram(Canvas& cv, int x, int y, int w, int h, const figure::Histogram& hist)
{
    const Canvas::Color grey{90, 90, 90}, black{0, 0, 0};
    cv.text(x, y - 28, hist.title, black, 1);
    cv.text(x, y - 14, hist.count_label, grey, 1);
    const int bins = std::max<int>(1, static_cast<int>(hist.counts.size()));
    const std::vector<int> ticks = figure::count_ticks(hist);
    const int peak = ticks.back();
    const int bw = w / bins;
    for (int i = 0; i < static_cast<int>(hist.counts.size()); ++i) {
        const int bar = hist.counts[i] * h / peak;
        if (bar > 0)
            cv.rect(x + i * bw + 1, y + h - bar, x + (i + 1) * bw - 2, y + h - 1, grey);
    }
    cv.line(x, y + h, x + bins * bw, y + h, black);
    cv.line(x, y, x, y + h, black);
    for (int v : ticks) {
        const int ty = y + h - v * h / peak;
        const std::string s = std::to_string(v);
        cv.line(x - 3, ty, x - 1, ty, black);
        cv.text(x - 5 - Canvas::text_width(s, 1), ty - 3, s, grey, 1);
    }
    cv.text(x, y + h + 6, hist.left, grey, 1);
    cv.text(x + bins * bw / 2 - Canvas::text_width(hist.middle, 1) / 2, y + h + 6, hist.middle, grey, 1);
    cv.text(x + bins * bw - Canvas::text_width(hist.right, 1), y + h + 6, hist.right, grey, 1);
}

/// A figure description drawn on the canvas in the 5x7 font: the title, then
/// rows of images (labels left, twice enlarged) or square point panels side by
/// side, then the legend and the caption.
inline Canvas render_figure(const figure::Figure& f)
{
    const Canvas::Color black{0, 0, 0}, grey{90, 90, 90};
    const int gap = 5, title_h = f.title.empty() ? 0 : 24;
    if (!f.rows.empty()) {
        const int zoom = 2;
        int label_w = 120, cols = 0, tw = 0, th = 0;
        for (const auto& r : f.rows) {
            label_w = std::max({label_w, Canvas::text_width(r.label, 2) + 2 * gap, Canvas::text_width(r.note, 1) + 2 * gap});
            cols = std::max(cols, static_cast<int>(r.images.size()));
            for (const auto& im : r.images)
                tw = std::max(tw, im.width * zoom), th = std::max(th, im.height * zoom);
        }
        const int strip_h = 10;
        const auto row_h = [&](const figure::ImageRow& r) {
            return std::max(th + (r.strips.empty() ? 0 : strip_h + 2), 30) + gap;
        };
        int rows_h = 0;
        for (const auto& r : f.rows)
            rows_h += row_h(r);
        const int hist_w = 400, hist_h = 70, hist_block = f.histograms.empty() ? 0 : hist_h + 64;
        const int legend_h = f.legend.empty() ? 0 : 22, caption_h = f.caption.empty() ? 0 : 16;
        const int width = std::max({label_w + cols * (tw + gap) + gap, Canvas::text_width(f.title, 2) + 2 * gap,
                                    static_cast<int>(f.histograms.size()) * (hist_w + 40) + 40});
        Canvas cv(width, title_h + gap + rows_h + hist_block + legend_h + caption_h + gap);
        cv.text(gap, gap, f.title, black, 2);
        int y = title_h + gap;
        for (const auto& r : f.rows) {
            const int h = row_h(r);
            cv.text(gap, y + h / 2 - 9, r.label, color_of(r.color), 2);
            cv.text(gap, y + h / 2 + 7, r.note, grey, 1);
            for (std::size_t i = 0; i < r.images.size(); ++i) {
                const figure::Image& im = r.images[i];
                const ImageGeometry g{im.channels, im.height, im.width, im.lo, im.hi};
                const int x = label_w + static_cast<int>(i) * (tw + gap);
                draw_image(cv, x, y, im.values.data(), g, zoom, im.lo, im.hi);
                if (i < r.strips.size())
                    draw_strip(cv, x, y + th + 2, tw, strip_h, r.strips[i]);
            }
            y += h;
        }
        for (std::size_t i = 0; i < f.histograms.size(); ++i)
            draw_histogram(cv, 40 + static_cast<int>(i) * (hist_w + 40), y + 38, hist_w, hist_h, f.histograms[i]);
        y += hist_block;
        int x = gap;
        if (!f.legend.empty() && !f.legend_title.empty())
            x += cv.text(x, y + 4, f.legend_title, black, 1) + 10;
        for (const auto& e : f.legend) {
            cv.rect(x, y + 2, x + 10, y + 12, color_of(e.color));
            x += 14 + cv.text(x + 14, y + 4, e.label, black, 1) + 12;
        }
        cv.text(gap, y + legend_h + 4, f.caption, grey, 1);
        return cv;
    }
    const int size = 400, step = size + 40, top = title_h + gap + 30;
    const int P = std::max<int>(1, static_cast<int>(f.panels.size()));
    const int hist_h = 70, hist_block = f.histograms.empty() ? 0 : hist_h + 64;
    Canvas cv(std::max({P * step + 40, Canvas::text_width(f.title, 2) + 2 * gap,
                        static_cast<int>(f.histograms.size()) * step + 40}),
              top + size + hist_block + 70);
    cv.text(gap, gap, f.title, black, 2);
    // Panel titles in the small font when one is wider than its panel.
    bool small = false;
    for (const auto& fp : f.panels)
        small = small || Canvas::text_width(fp.title, 2) > size + 30;
    for (std::size_t k = 0; k < f.panels.size(); ++k) {
        const figure::PointPanel& fp = f.panels[k];
        const PointPanel p{40 + static_cast<int>(k) * step, top, size, fp.lo, fp.hi};
        p.frame(cv, small ? std::string() : fp.title);
        if (small)
            cv.text(p.x, p.y - 14, fp.title, black, 1);
        for (const figure::Series& s : fp.series) {
            const Canvas::Color c = color_of(s.color);
            using K = figure::Series::Kind;
            if (s.kind == K::Segments) {
                for (std::size_t i = 0; i + 3 < s.xy.size(); i += 4)
                    p.segment(cv, s.xy[i], s.xy[i + 1], s.xy[i + 2], s.xy[i + 3], c);
            } else {
                for (std::size_t i = 0; i + 1 < s.xy.size(); i += 2) {
                    p.dot(cv, s.xy[i], s.xy[i + 1], c, s.kind == K::Rings ? 3 : 2);
                    if (s.kind == K::Rings)
                        p.dot(cv, s.xy[i], s.xy[i + 1], {255, 255, 255}, 1);
                }
            }
        }
    }
    for (std::size_t i = 0; i < f.histograms.size(); ++i)
        draw_histogram(cv, 40 + static_cast<int>(i) * step, top + size + 58, size, hist_h, f.histograms[i]);
    int x = 40, legend_w = 40 + Canvas::text_width(f.legend_title, 2) + 20;
    for (const auto& e : f.legend)
        legend_w += 38 + Canvas::text_width(e.label, 2);
    const int scale = legend_w > P * step ? 1 : 2; // a long legend in the small font
    const int ly = top + size + hist_block + 20;
    if (!f.legend.empty() && !f.legend_title.empty())
        x += cv.text(x, ly + (scale == 1 ? 3 : 0), f.legend_title, black, scale) + 20;
    for (const auto& e : f.legend) {
        cv.rect(x, ly, x + 12, ly + 12, color_of(e.color));
        x += 18 + cv.text(x + 18, ly + (scale == 1 ? 3 : 0), e.label, black, scale) + 20;
    }
    cv.text(40, ly + 26, f.caption, grey, 1);
    return cv;
}

/// Write a report into `out`: each table as NAME.csv, each figure as NAME.png.
inline void write_report(const std::filesystem::path& out, const figure::Report& report)
{
    for (const figure::Table& t : report.tables) {
        auto csv = open_csv(out / (t.name + ".csv"));
        csv << t.csv();
        csv.commit();
    }
    for (const figure::Figure& f : report.figures)
        render_figure(f).save(out / (f.name + ".png"));
}

} // namespace noisetrail::cli
