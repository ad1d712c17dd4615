// The interactive page of a session (issue 25): one self-contained HTML file that
// a student opens in any browser, without NoiseTrail: the panels side by side
// with their captions, a timeline slider aligned on t (step_at, as the GUI),
// play/pause, the field switch, the per-step statistics plotted with the cursor.
// Images are the renderer's frames (render.hpp, the same pixels as `session
// export`) embedded as PNG data: URIs; 2-D points are drawn by the page's own
// script on a canvas. No network, no external scripts or fonts. Every string from
// the session is escaped (HTML text, and '<' '>' '&' inside the embedded JSON).
//
// The page honours its URL fragment: #step=K puts the slider at position K
// (0 = x_T, the last = the final samples), #field=x0_hat picks the field
// (both: #step=K&field=NAME), so a link or a headless browser opens it anywhere.
#pragma once
#include "noisetrail/session.hpp"
#include "noisetrail/trajectory.hpp"

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace noisetrail {

struct PageOptions {
    /// Slider positions: at most this many noise levels, evenly spread (first and
    /// final kept), as the GIF export's --frames (filmstrip_levels); 0: every level.
    int max_frames = 30;
    /// The fields the page offers; those a session cannot show are left out.
    std::vector<Field> fields = {Field::Xt, Field::X0Hat, Field::EpsHat};
    /// 2-D data: the paths of this many samples (from x_T) under the points.
    int paths = 8;
};

struct PageResult {
    bool cancelled = false;  ///< then no file was written
    int positions = 0;       ///< slider positions (noise levels)
    int images = 0;          ///< distinct pictures embedded (images), or point sets (2-D)
    std::size_t bytes = 0;   ///< size of the page
};

/// The slider's noise levels for `session`: animation_levels() of its panels,
/// reduced to `max_frames` as filmstrip_levels() does (0: all).
std::vector<int> page_levels(const Session& session, int max_frames);

/// The page as text. `progress(done, total)` after each rendered level and field;
/// `cancel` checked between them (then "" and result->cancelled).
std::string interactive_page(const Session& session, const PageOptions& options, PageResult* result = nullptr,
                             const std::function<void(int, int)>& progress = {},
                             const std::atomic<bool>* cancel = nullptr);

/// Write the page atomically (`what`: the flag or menu item for errors, e.g. "--out").
PageResult write_interactive_page(const Session& session, const std::filesystem::path& path,
                                  const PageOptions& options, const std::function<void(int, int)>& progress = {},
                                  const std::atomic<bool>* cancel = nullptr, const std::string& what = {});

/// `text` safe as HTML text or a quoted attribute value: & < > " ' as entities.
std::string html_escape(const std::string& text);

} // namespace noisetrail
