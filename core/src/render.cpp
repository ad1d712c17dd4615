#include "noisetrail/render.hpp"

#include "noisetrail/errors.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace noisetrail {

namespace {

// The X11 misc-fixed 6x13 font, printable ASCII (scripts/make_font.py).
constexpr int kGlyphW = 6, kGlyphH = 13;
constexpr std::uint8_t kFont[95][kGlyphH] = {
#include "font_6x13.inc"
};

using Rgb = std::array<std::uint8_t, 3>;
constexpr Rgb kInk = {33, 33, 33}, kMuted = {110, 110, 110};
constexpr std::uint8_t kBackground = 250;

std::array<double, 2> display_range(Field field, const std::optional<std::array<double, 2>>& range)
{
    if (range)
        return *range;
    return field == Field::EpsHat ? std::array<double, 2>{-3, 3} : std::array<double, 2>{-1, 1};
}

/// data_shape as (channels, height, width) for images; nullopt for 2-D points.
struct ImageShape {
    int c = 1, h = 0, w = 0;
};
std::optional<ImageShape> image_shape(const std::vector<std::int64_t>& data_shape)
{
    if (data_shape.size() == 3)
        return ImageShape{int(data_shape[0]), int(data_shape[1]), int(data_shape[2])};
    if (data_shape.size() == 2)
        return ImageShape{1, int(data_shape[0]), int(data_shape[1])};
    return std::nullopt;
}

bool is_scatter(const std::vector<std::int64_t>& data_shape) { return data_shape.size() == 1 && data_shape[0] == 2; }

std::vector<std::int64_t> data_shape_of(const Trajectory& t)
{
    return {t.shape().begin() + (t.shape().empty() ? 0 : 1), t.shape().end()};
}

/// "t=960", or the words for the final samples.
std::string level_label(int t) { return t == kFinalT ? "final" : "t=" + std::to_string(t); }

/// Image of `values` (a batch [B, *data_shape]) restricted to `samples` (all when empty).
RgbImage sample_grid(const std::vector<float>& values, const ImageShape& s, int batch, const std::vector<int>& samples,
                     Field field, const std::array<double, 2>& range, double zoom, std::uint8_t background)
{
    const std::size_t per = std::size_t(s.c) * s.h * s.w;
    const auto map = field == Field::EpsHat ? ColourMap::Diverging : ColourMap::Grey;
    if (samples.empty())
        return image_grid(values, batch, s.c, s.h, s.w, range[0], range[1], zoom, map, 2, background);
    std::vector<float> picked;
    picked.reserve(samples.size() * per);
    for (int i : samples)
        picked.insert(picked.end(), values.begin() + std::ptrdiff_t(per * i), values.begin() + std::ptrdiff_t(per * (i + 1)));
    return image_grid(picked, int(samples.size()), s.c, s.h, s.w, range[0], range[1], zoom, map, 2, background);
}

/// Paths of the first `max_paths` points from x_T to `step`, at most ~160 vertices
/// each (as the GUI: DDPM's 1000-step paths stay jagged, drawing stays cheap).
std::vector<std::vector<float>> point_paths(const Trajectory& traj, int step, int max_paths)
{
    std::vector<std::vector<float>> paths;
    if (step <= 0)
        return paths;
    const int stride = std::max(1, step / 160);
    const int n = std::min(traj.batch(), max_paths);
    paths.resize(std::size_t(n));
    for (int i = 0; i < n; ++i) {
        auto& p = paths[std::size_t(i)];
        for (int k = 0; k < step; k += stride) {
            p.push_back(traj.xtValue(k, 2 * std::size_t(i)));
            p.push_back(traj.xtValue(k, 2 * std::size_t(i) + 1));
        }
        p.push_back(traj.xtValue(step, 2 * std::size_t(i)));
        p.push_back(traj.xtValue(step, 2 * std::size_t(i) + 1));
    }
    return paths;
}

/// The values of the field a panel shows at step (decode's rules).
void decode_at(const Trajectory& traj, int step, Field field, std::vector<float>& out)
{
    if (field != Field::Xt && step >= traj.size())
        step = traj.size() - 1; // x0_hat / eps_hat exist per computed step
    traj.decode(step, field, out);
}

void fill_rect(RgbImage& img, int x, int y, int w, int h, Rgb c)
{
    for (int yy = std::max(0, y); yy < std::min(img.height, y + h); ++yy)
        for (int xx = std::max(0, x); xx < std::min(img.width, x + w); ++xx)
            std::copy(c.begin(), c.end(), img.pixel(xx, yy));
}

/// Shorten `text` with "..." to fit `width` pixels.
std::string fit_text(std::string text, int width, int scale)
{
    if (text_width(text, scale) <= width)
        return text;
    while (!text.empty() && text_width(text + "...", scale) > width)
        text.pop_back();
    return text + "...";
}

} // namespace

std::string to_string(Field f)
{
    switch (f) {
    case Field::Xt:
        return "x_t";
    case Field::X0Hat:
        return "x0_hat";
    case Field::EpsHat:
        return "eps_hat";
    case Field::X0Cond:
        return "x0_cond"; // contract section 9's names (--dump's x0_cond.npy)
    case Field::X0Uncond:
        return "x0_uncond";
    }
    return "x_t";
}

Field parse_field(const std::string& name, const std::string& what)
{
    for (Field f : {Field::Xt, Field::X0Hat, Field::EpsHat, Field::X0Cond, Field::X0Uncond})
        if (name == to_string(f))
            return f;
    throw InputError(what + ": expected x_t, x0_hat, eps_hat, x0_cond or x0_uncond, got '" + name + "'");
}

int step_at(const std::vector<int>& timesteps, int t, int available, bool finished)
{
    const int S = int(timesteps.size());
    if (available <= 0 || S == 0)
        return -1;
    // The state the panel had when the cursor's t was reached: the smallest noise
    // level at or above t. Levels are the timesteps (descending) and then the final
    // samples at kFinalT; before the first timestep, the start x_T (step 0).
    int k = 0;
    for (int i = 1; i <= S; ++i)
        if ((i < S ? timesteps[std::size_t(i)] : kFinalT) >= t)
            k = i;
        else
            break;
    const int newest = finished ? S : std::min(available, S) - 1;
    return std::min(k, newest);
}

std::vector<int> animation_levels(const std::vector<std::vector<int>>& plans)
{
    std::set<int, std::greater<>> distinct;
    for (const auto& plan : plans)
        distinct.insert(plan.begin(), plan.end());
    std::vector<int> levels(distinct.begin(), distinct.end());
    levels.push_back(kFinalT);
    return levels;
}

std::vector<int> filmstrip_levels(const std::vector<int>& levels, int k)
{
    const int n = int(levels.size());
    if (n == 0 || k <= 0)
        return {};
    if (k >= n)
        return levels;
    std::vector<int> out;
    for (int i = 0; i < k; ++i) {
        const int idx = k == 1 ? n - 1 : int(std::lround(double(i) * (n - 1) / (k - 1)));
        if (out.empty() || out.back() != levels[std::size_t(idx)])
            out.push_back(levels[std::size_t(idx)]);
    }
    return out;
}

std::array<std::uint8_t, 3> panel_colour(int panel)
{
    static constexpr Rgb colours[] = {{0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {204, 121, 167}};
    return colours[((panel % 4) + 4) % 4];
}

int text_width(const std::string& text, int scale) { return int(text.size()) * kGlyphW * scale; }
int text_height(int scale) { return kGlyphH * scale; }

void draw_text(RgbImage& img, int x, int y, const std::string& text, std::array<std::uint8_t, 3> colour, int scale)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        const unsigned char ch = static_cast<unsigned char>(text[i]);
        const auto& glyph = kFont[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
        const int gx = x + int(i) * kGlyphW * scale;
        for (int row = 0; row < kGlyphH; ++row)
            for (int col = 0; col < kGlyphW; ++col)
                if (glyph[row] & (1 << (kGlyphW - 1 - col)))
                    fill_rect(img, gx + col * scale, y + row * scale, scale, scale, colour);
    }
}

Extent fixed_extent(const std::vector<RenderPanel>& panels, Field field)
{
    std::vector<float> all, values;
    for (const auto& p : panels) {
        const Trajectory& t = *p.trajectory;
        if (!t.hasStart())
            continue;
        std::vector<int> steps;
        if (field == Field::Xt)
            steps = {0, t.size()};
        else
            for (int k = 0; k < t.size(); ++k)
                steps.push_back(k);
        for (int k : steps) {
            if (field != Field::Xt && t.size() == 0)
                break;
            if (!t.has(std::min(k, t.size() - 1), field))
                continue; // x0_cond / x0_uncond where the step did not evaluate them
            decode_at(t, k, field, values);
            all.insert(all.end(), values.begin(), values.end());
        }
    }
    return robust_extent(all, int(all.size() / 2));
}

// ---------------------------------------------------------------- frames

FrameRenderer::FrameRenderer(std::vector<RenderPanel> panels, RenderOptions options)
    : panels_(std::move(panels)), options_(std::move(options))
{
    if (panels_.empty())
        throw InputError("render: no panels");
    for (const auto& p : panels_)
        if (!p.trajectory)
            throw std::invalid_argument("render: a panel without a trajectory");
    data_shape_ = data_shape_of(*panels_[0].trajectory);
    for (const auto& p : panels_)
        if (data_shape_of(*p.trajectory) != data_shape_)
            throw InputError("render: the panels have different data shapes");
    scatter_ = is_scatter(data_shape_);
    const auto img = image_shape(data_shape_);
    if (!scatter_ && !img)
        throw InputError("render: data of this shape is neither an image nor 2-D points");
    if (scatter_)
        extent_ = options_.extent ? *options_.extent : fixed_extent(panels_, options_.field);

    const int P = int(panels_.size());
    const int batch = panels_[0].trajectory->batch();
    const int cols = grid_columns(std::max(1, batch)), rows = (std::max(1, batch) + cols - 1) / cols;
    const bool sized = options_.width > 0 && options_.height > 0;
    text_scale_ = sized && options_.height >= 720 ? 2 : 1;
    const int th = text_height(text_scale_), line = th + 8 * text_scale_;
    const int gap = 16 * text_scale_;
    top_ = line;                  // frame title
    const int chrome = 2 * line;  // panel header and footer
    margin_x_ = gap;
    auto grid_w = [&](double z) { return cols * (std::max(1, int(std::lround(img->w * z))) + 2) + 2; };
    auto grid_h = [&](double z) { return rows * (std::max(1, int(std::lround(img->h * z))) + 2) + 2; };
    if (sized) {
        const int cw = (options_.width - 2 * margin_x_ - (P - 1) * gap) / P;
        const int ch = options_.height - top_ - chrome - gap / 2;
        if (cw < 8 || ch < 8)
            throw InputError("--size " + std::to_string(options_.width) + "x" + std::to_string(options_.height) +
                             ": too small for " + std::to_string(P) + " panels");
        if (scatter_) {
            content_w_ = content_h_ = std::min(cw, ch);
        } else {
            double z = std::min(double(cw - 2 * (cols + 1)) / (cols * img->w), double(ch - 2 * (rows + 1)) / (rows * img->h));
            z = std::max(z, 0.05);
            zoom_ = z >= 1 ? std::floor(z) : z; // whole pixels when enlarging: crisp sample images
            content_w_ = grid_w(zoom_);
            content_h_ = grid_h(zoom_);
        }
        width_ = options_.width;
        height_ = options_.height;
    } else {
        if (scatter_) {
            content_w_ = content_h_ = 320;
        } else {
            zoom_ = std::max(1.0, std::floor(240.0 / (cols * img->w)));
            content_w_ = grid_w(zoom_);
            content_h_ = grid_h(zoom_);
        }
        // Room for the longest sampler description, within reason.
        int caption_w = 0;
        for (const auto& p : panels_)
            caption_w = std::max(caption_w, text_width(p.caption, text_scale_) + 8 * text_scale_);
        const int slot = std::max(content_w_, std::min(caption_w, content_w_ * 2));

        width_ = 2 * margin_x_ + P * slot + (P - 1) * gap;
        height_ = top_ + chrome + content_h_ + gap / 2;
        width_ += width_ & 1; // even sizes suit H.264's 4:2:0
        height_ += height_ & 1;
    }
}

std::vector<int> FrameRenderer::levels() const
{
    std::vector<std::vector<int>> plans;
    for (const auto& p : panels_)
        plans.push_back(p.trajectory->timesteps());
    return animation_levels(plans);
}

RgbImage FrameRenderer::render(int t) const
{
    RgbImage img(width_, height_, kBackground);
    const int P = int(panels_.size());
    const int s = text_scale_;
    // Title: what is shown and at which noise level: every panel is at (or just below) this t.
    const std::string title = to_string(options_.field) + "   " + (t == kFinalT ? "final samples" : "t = " + std::to_string(t));
    draw_text(img, margin_x_, 4 * s, title, kInk, s);
    const int gap = 16 * s;
    const int slot = (width_ - 2 * margin_x_ - (P - 1) * gap) / P;
    for (int p = 0; p < P; ++p)
        draw_panel(img, p, t, margin_x_ + p * (slot + gap));
    return img;
}

FrameRenderer::Rect FrameRenderer::content_rect(int p) const
{
    const int P = int(panels_.size()), s = text_scale_, gap = 16 * s;
    const int slot = (width_ - 2 * margin_x_ - (P - 1) * gap) / P;
    const int x0 = margin_x_ + p * (slot + gap);
    return {x0 + (slot - content_w_) / 2, top_ + text_height(s) + 8 * s, content_w_, content_h_};
}

void FrameRenderer::draw_panel(RgbImage& img, int p, int t, int x0) const
{
    const RenderPanel& panel = panels_[std::size_t(p)];
    const Trajectory& traj = *panel.trajectory;
    const int P = int(panels_.size());
    const int s = text_scale_, th = text_height(s), line = th + 8 * s, gap = 16 * s;
    const int slot = (width_ - 2 * margin_x_ - (P - 1) * gap) / P;
    const Rgb colour = panel_colour(panel.index);
    // Header: a colour mark and the sampler in words.
    int y = top_;
    fill_rect(img, x0, y + 2 * s, 4 * s, th, colour);
    draw_text(img, x0 + 8 * s, y + 2 * s, fit_text(panel.caption, slot - 8 * s, s), kInk, s);
    y += line;
    const int cx = x0 + (slot - content_w_) / 2;
    const int step = step_at(traj.timesteps(), t, traj.size(), traj.finished());
    const int S = traj.plannedSteps();
    if (step < 0 || !traj.hasStart()) {
        draw_text(img, cx, y + content_h_ / 2, "no steps", kMuted, s);
    } else if (options_.field != Field::Xt && !traj.has(std::min(step, traj.size() - 1), options_.field)) {
        // A guided run's conditional / unconditional x0_hat: none on an unguided
        // panel, and no x0_uncond outside the guidance interval (not evaluated there).
        draw_text(img, cx, y + content_h_ / 2, fit_text(to_string(options_.field) + ": not evaluated", slot, s), kMuted,
                  s);
    } else {
        std::vector<float> values;
        decode_at(traj, step, options_.field, values);
        const auto range = display_range(options_.field, options_.range);
        if (scatter_) {
            const auto paths = options_.paths && options_.field == Field::Xt ? point_paths(traj, step, options_.max_paths)
                                                                              : std::vector<std::vector<float>>{};
            blit(img, scatter_image(values, traj.batch(), content_w_, extent_, colour, paths), cx, y);
        } else {
            blit(img, sample_grid(values, *image_shape(data_shape_), traj.batch(), {}, options_.field, range, zoom_, 40),
                 cx, y);
        }
    }
    y += content_h_ + 4 * s;
    // Footer: which step of this panel is shown.
    std::string where;
    if (step < 0)
        where = "";
    else if (step >= S)
        where = "final samples (" + std::to_string(S) + " steps)";
    else
        where = "step " + std::to_string(step + 1) + "/" + std::to_string(S) + "  t=" +
                std::to_string(traj.timesteps()[std::size_t(step)]);
    draw_text(img, cx, y, fit_text(where, slot, s), kMuted, s);
}

// ---------------------------------------------------------------- filmstrip

RgbImage render_filmstrip(const std::vector<RenderPanel>& panels, const FilmstripOptions& o)
{
    if (panels.empty())
        throw InputError("filmstrip: no panels");
    const auto data_shape = data_shape_of(*panels[0].trajectory);
    for (const auto& p : panels)
        if (data_shape_of(*p.trajectory) != data_shape)
            throw InputError("filmstrip: the panels have different data shapes");
    const bool scatter = is_scatter(data_shape);
    const auto shape = image_shape(data_shape);
    if (!scatter && !shape)
        throw InputError("filmstrip: data of this shape is neither an image nor 2-D points");
    const int batch = panels[0].trajectory->batch();
    for (int i : o.samples)
        if (i < 0 || i >= batch)
            throw InputError("filmstrip: sample " + std::to_string(i) + " is outside the batch of " +
                             std::to_string(batch));
    std::vector<std::vector<int>> plans;
    for (const auto& p : panels)
        plans.push_back(p.trajectory->timesteps());
    const std::vector<int> levels = filmstrip_levels(animation_levels(plans), o.levels);
    const auto range = display_range(o.field, o.range);
    const Extent extent = scatter ? fixed_extent(panels, o.field) : Extent{};

    // Images of chosen samples: one row per sample, each cell one sample at the
    // cell size (not a mini-grid of them). The whole batch (no samples chosen) and
    // 2-D points: one grid or scatter per cell, fitting `cell` on its longer side.
    const bool each = !scatter && !o.samples.empty();
    const int n = each ? 1 : o.samples.empty() ? batch : int(o.samples.size());
    const int rows_per_panel = each ? int(o.samples.size()) : 1;
    const int cols = grid_columns(n), rows = (n + cols - 1) / cols;
    double zoom = 1;
    int cell_w = o.cell, cell_h = o.cell;
    if (!scatter) {
        zoom = std::min(double(o.cell - 2 * (cols + 1)) / (cols * shape->w), double(o.cell - 2 * (rows + 1)) / (rows * shape->h));
        // A chosen sample fills its cell; a grid of the whole batch keeps whole pixels where it can.
        zoom = zoom >= 1 && !each ? std::floor(zoom) : std::max(zoom, 0.05);
        const RgbImage probe = image_grid(std::vector<float>(std::size_t(n) * shape->c * shape->h * shape->w), n,
                                          shape->c, shape->h, shape->w, 0, 1, zoom);
        cell_w = probe.width;
        cell_h = probe.height;
    }
    const int gap = 6, margin = 12, th = text_height(1), line = th + 6;
    // Chosen samples carry their index at the left of their row.
    int tag_w = 0;
    if (each)
        for (int i : o.samples)
            tag_w = std::max(tag_w, text_width("#" + std::to_string(i)) + gap);
    const int K = int(levels.size());
    const int W = 2 * margin + tag_w + K * cell_w + (K - 1) * gap;
    const int H = margin + int(panels.size()) * (2 * line + rows_per_panel * (cell_h + gap)) + margin - gap;
    RgbImage img(W, H, kBackground);
    int y = margin;
    std::vector<float> values;
    for (const auto& panel : panels) {
        const Trajectory& traj = *panel.trajectory;
        const Rgb colour = panel_colour(panel.index);
        fill_rect(img, margin, y + 1, 4, th, colour);
        draw_text(img, margin + 8, y + 1, fit_text(to_string(o.field) + " - " + panel.caption, W - 2 * margin - 8, 1),
                  kInk);
        y += line;
        // Each panel's own t over each column: the level it was at there (panels
        // with different plans are at different t for the same column).
        std::vector<int> shown(std::size_t(K), -1);
        for (int k = 0; k < K; ++k) {
            const int step = step_at(traj.timesteps(), levels[std::size_t(k)], traj.size(), traj.finished());
            if (step < 0 || !traj.hasStart())
                continue;
            shown[std::size_t(k)] = step;
            const int S = int(traj.timesteps().size());
            const std::string label = level_label(step >= S ? kFinalT : traj.timesteps()[std::size_t(step)]);
            draw_text(img, margin + tag_w + k * (cell_w + gap) + (cell_w - text_width(label)) / 2, y, label, kInk);
        }
        y += line;
        for (int r = 0; r < rows_per_panel && each; ++r)
            draw_text(img, margin, y + r * (cell_h + gap) + (cell_h - th) / 2, "#" + std::to_string(o.samples[std::size_t(r)]),
                      kMuted);
        for (int k = 0; k < K; ++k) {
            const int step = shown[std::size_t(k)];
            const int x = margin + tag_w + k * (cell_w + gap);
            if (step < 0 || (o.field != Field::Xt && !traj.has(std::min(step, traj.size() - 1), o.field)))
                continue;
            decode_at(traj, step, o.field, values);
            if (scatter) {
                std::vector<float> pts = values;
                int count = traj.batch();
                if (!o.samples.empty()) {
                    pts.clear();
                    for (int i : o.samples) {
                        pts.push_back(values[2 * std::size_t(i)]);
                        pts.push_back(values[2 * std::size_t(i) + 1]);
                    }
                    count = int(o.samples.size());
                }
                blit(img, scatter_image(pts, count, cell_w, extent, colour), x, y);
            } else if (each) {
                for (int r = 0; r < rows_per_panel; ++r)
                    blit(img, sample_grid(values, *shape, traj.batch(), {o.samples[std::size_t(r)]}, o.field, range, zoom, 40),
                         x, y + r * (cell_h + gap));
            } else {
                blit(img, sample_grid(values, *shape, traj.batch(), o.samples, o.field, range, zoom, 40), x, y);
            }
        }
        y += rows_per_panel * (cell_h + gap);
    }
    return img;
}

} // namespace noisetrail
