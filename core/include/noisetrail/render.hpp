// Frames of a run as pictures, without Qt or a display: the panels side by
// side aligned on t (as the GUI's timeline shows them), image grids or the 2-D
// scatter with paths, captions burned in with a small bitmap font; and the
// filmstrip figure (Ho et al. 2020, Fig. 6: samples at K noise levels). The CLI's
// `session export` and the GUI's Export menu both draw through here.
#pragma once
#include "noisetrail/image_io.hpp"
#include "noisetrail/trajectory.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// The "final samples" position of the timeline (after the last step, t = 0).
inline constexpr int kFinalT = -1;

std::string to_string(Field f);                                      ///< "x_t", "x0_hat", "eps_hat", "x0_cond", "x0_uncond"
Field parse_field(const std::string& name, const std::string& what = "--field"); ///< InputError naming `what`

/// Which step a panel shows at the timeline's noise level t (kFinalT for the
/// final samples): the state it had when t was reached, i.e. the last step whose
/// timestep is >= t (the smallest noise level at or above the cursor; the final
/// samples, index == timesteps.size(), only at kFinalT; step 0 above the first
/// timestep), never beyond what exists (`available` steps, `finished`). -1 when
/// nothing exists. A 50-step DDIM panel at t = 879 shows x_880, not x_860.
/// This is the GUI timeline's rule (TimelineMapping::stepAt).
int step_at(const std::vector<int>& timesteps, int t, int available, bool finished);

/// The noise levels of an animation: every distinct timestep of the panels'
/// plans (the lockstep schedule's ticks), descending, then kFinalT.
std::vector<int> animation_levels(const std::vector<std::vector<int>>& plans);

/// One panel to draw: its stored trajectory and the words of its header.
struct RenderPanel {
    const Trajectory* trajectory = nullptr;
    std::string caption;   ///< e.g. "DDIM, 50 steps, eta 0, leading"
    int index = 0;         ///< panel number, for its colour
};

struct RenderOptions {
    Field field = Field::Xt;
    /// Frame size; 0 x 0 picks a natural size. Content is laid out to fit, centred.
    int width = 0, height = 0;
    /// Image display range (x_t and x0_hat: the data range [-1, 1], noise
    /// saturates as it should; eps_hat: +-3 on a diverging map, it is ~N(0, I)).
    std::optional<std::array<double, 2>> range;
    bool paths = true;          ///< 2-D data: each point's path from x_T (x_t field only)
    int max_paths = 100;        ///< as the GUI: more is a blur, not a picture
    std::optional<Extent> extent; ///< 2-D data; unset: fixed_extent() of the panels
};

/// Draws animation frames of a set of panels. All panels must share data_shape.
class FrameRenderer {
public:
    /// InputError if the panels are empty or their data shapes differ.
    FrameRenderer(std::vector<RenderPanel> panels, RenderOptions options);

    int width() const { return width_; }
    int height() const { return height_; }
    const RenderOptions& options() const { return options_; }
    /// The frame at noise level t (a value of animation_levels(), or any t).
    RgbImage render(int t) const;
    /// animation_levels() of these panels' plans.
    std::vector<int> levels() const;
    /// Where panel p's samples (grid or scatter) lie in a frame.
    struct Rect {
        int x = 0, y = 0, width = 0, height = 0;
    };
    Rect content_rect(int p) const;
    /// Screen pixels per data pixel of the image grids (1 for 2-D data).
    double zoom() const { return zoom_; }
    /// The scatter's extent (2-D data).
    const Extent& extent() const { return extent_; }

private:
    void draw_panel(RgbImage& img, int p, int t, int x0) const;
    std::vector<RenderPanel> panels_;
    RenderOptions options_;
    std::vector<std::int64_t> data_shape_;
    bool scatter_ = false;
    int width_ = 0, height_ = 0, content_w_ = 0, content_h_ = 0, margin_x_ = 0, top_ = 0;
    int text_scale_ = 1;
    double zoom_ = 1; // images: screen pixels per data pixel
    Extent extent_;
};

/// One extent for the whole animation of 2-D panels: a square around the
/// points of every panel at its start (x_T), its end (final samples) and, for
/// x0_hat / eps_hat, every stored step, from the 1st to the 99th percentile
/// plus a margin, so frames never jump.
Extent fixed_extent(const std::vector<RenderPanel>& panels, Field field);

struct FilmstripOptions {
    Field field = Field::X0Hat; ///< Ho et al. show x0_hat over time
    int levels = 8;             ///< K columns, from pure noise to the final samples
    /// Images: each chosen sample gets a row of its own, one sample per cell;
    /// 2-D points: the chosen points in each cell's scatter. Empty: the whole batch per cell.
    std::vector<int> samples;
    int cell = 112;             ///< cell size in pixels (longer side): one chosen sample, or the whole grid
    std::optional<std::array<double, 2>> range;
};

/// The filmstrip: per panel its caption, then K columns at noise levels spread
/// evenly over the animation levels (first = x_T, last = the final samples),
/// each labelled with the t that panel shows there (step_at: panels with
/// different plans are at different t in the same column).
RgbImage render_filmstrip(const std::vector<RenderPanel>& panels, const FilmstripOptions& options);

/// The filmstrip's K noise levels: evenly spaced entries of `levels` (which
/// ends with kFinalT), always including the first and the last.
std::vector<int> filmstrip_levels(const std::vector<int>& levels, int k);

// ---------------------------------------------------------------- drawing primitives

/// Draw `text` with the embedded 6x13 bitmap font (printable ASCII; others as '?'),
/// top-left at (x, y), each font pixel `scale` x `scale`. Clipped to the image.
void draw_text(RgbImage& img, int x, int y, const std::string& text, std::array<std::uint8_t, 3> colour,
               int scale = 1);
/// Width and height of `text` in pixels at `scale`.
int text_width(const std::string& text, int scale = 1);
int text_height(int scale = 1);

/// One colour per panel (Okabe-Ito, readable on light and dark backgrounds), as the GUI.
std::array<std::uint8_t, 3> panel_colour(int panel);

} // namespace noisetrail
