// Animated exports of a run: GIF (giflib) and MP4 (H.264 through FFmpeg's
// libavcodec/libavformat). Torch-free and Qt-free, so the CLI writes them
// without a display and the GUI uses the same code on a worker thread.
#pragma once
#include "noisetrail/image_io.hpp"

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

} // namespace noisetrail
