// Animated exports of a run: GIF (giflib) and MP4 (H.264 through FFmpeg's
// libavcodec/libavformat). Torch-free and Qt-free, so the CLI writes them
// without a display and the GUI uses the same code on a worker thread.
#pragma once
#include "noisetrail/image_io.hpp"
#include "noisetrail/render.hpp"

#include <atomic>
#include <functional>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace noisetrail {

enum class AnimationFormat { Gif, Mp4 };

std::string to_string(AnimationFormat f);
/// The format a file name asks for (.gif, .mp4), or nullopt.
std::optional<AnimationFormat> animation_format_of(const std::filesystem::path& path);

struct AnimationOptions {
    int width = 0, height = 0;  ///< every frame has exactly this size
    double fps = 20.0;          ///< frames per second (GIF: 1..50, its delays are centiseconds)
    double hold_seconds = 2.0;  ///< how long the last frame stays before the loop restarts / the video ends
};

/// Streams frames into an animation file. The file appears (atomically, by a
/// rename of a temporary file in the same folder) only when finish() succeeds;
/// an abandoned or failed writer leaves whatever was at `path` before untouched.
/// Errors are InputError naming the file (cannot write, encoder missing).
class AnimationWriter {
public:
    static std::unique_ptr<AnimationWriter> open(const std::filesystem::path& path, AnimationFormat format,
                                                 const AnimationOptions& options);
    virtual ~AnimationWriter() = default;

    /// Append one frame; its size must be options.width x options.height.
    virtual void add_frame(const RgbImage& frame) = 0;
    /// Write the hold on the last frame, close and move the file into place.
    virtual void finish() = 0;

    /// Frames a player will show: those added plus the repeats of the hold
    /// (MP4 has a constant frame rate; GIF holds with a longer delay instead).
    virtual int frames_written() const = 0;
    /// The encoder actually used ("giflib", "libx264", ...).
    virtual std::string encoder() const = 0;
};

/// Frames the MP4 writer adds for a hold: round(hold_seconds * fps).
int hold_frames(const AnimationOptions& options);

/// An animation of a run's panels side by side (contract section 5, `session export`).
struct AnimationExport {
    RenderOptions render;      ///< field, frame size (0 x 0: natural), scatter extent
    double fps = 20.0;
    double hold_seconds = 2.0;
    /// At most this many frames, evenly spread over the noise levels (first and
    /// final kept); 0: one frame per distinct timestep plus the final samples.
    int max_frames = 0;
};

struct AnimationResult {
    bool cancelled = false;    ///< then no file was written
    int frames = 0;            ///< frames a player shows (with the hold on MP4)
    int width = 0, height = 0;
    std::string encoder;
};

/// Render every level and write the file atomically. `progress(done, total)`
/// is called after each frame from the calling thread; `cancel` is checked
/// between frames (a cancelled export leaves no file and an earlier one intact).
AnimationResult export_animation(const std::vector<RenderPanel>& panels, const std::filesystem::path& path,
                                 AnimationFormat format, const AnimationExport& options,
                                 const std::function<void(int, int)>& progress = {},
                                 const std::atomic<bool>* cancel = nullptr);

} // namespace noisetrail
