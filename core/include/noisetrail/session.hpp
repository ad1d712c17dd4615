// Sessions (contract section 5): a finished (or stopped) run saved whole, so a
// reopened session scrubs, plays and exports without the model. The file is the
// project's own format, versioned and compressed:
//
//   header (40 bytes, little-endian): magic "\x89NTS\r\n\x1a\n", u32 format version,
//     u32 flags (0), u64 payload size, u64 compressed size, u32 CRC-32 of the
//     payload, u32 reserved (0)
//   payload, zlib-compressed: u32 length + JSON description (the run recipe of
//     contract section 4 with paths relative to the session file, every panel's
//     card fingerprint, caption, timesteps and stored precision); the shared x_T
//     as exact float32; then per panel its step records (plan, statistics,
//     metrics at full precision; from format 2 the per-sample assignments of
//     decision time) and the blocks of its trajectory (x_t of each
//     step and the final samples, x0_hat, eps_hat) exactly as the Trajectory
//     stores them; from format 3, per step a u8 (1: x0_cond follows, 2: x0_uncond
//     follows) and those blocks of a guided run.
//
// Reading treats the file as hostile: sizes are checked against the file and a
// limit before anything is allocated, counts are overflow-checked, nothing
// recurses on input, and every problem is one InputError naming the file.
// It streams: the payload is parsed as it is read and never held whole, its
// checksum compared at the end. Blocks are kept as stored and inflated when
// shown (Trajectory::decode), so a damaged block is found then, as an InputError
// the views show.
// Writing is atomic (temporary file + rename).
#pragma once
#include "noisetrail/render.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/trajectory.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace noisetrail {

/// The session format version this build writes and the newest it reads.
/// 2: step records also hold the per-sample assignments (FrameMetrics::assignment);
/// 3: a guided step also stores x0_cond and x0_uncond. Versions 1 and 2 are still read.
inline constexpr std::uint32_t kSessionVersion = 3;
/// What one session may make us allocate (its uncompressed payload).
inline constexpr std::uint64_t kMaxSessionPayload = std::uint64_t(8) << 30; // 8 GiB

struct SessionPanel {
    std::string fingerprint; ///< content_fingerprint of the panel's card when it ran ("" unknown)
    std::string caption;     ///< the sampler in words (describe())
    std::shared_ptr<const Trajectory> trajectory;
};

struct Session {
    /// The recipe that made the run. Paths are absolute here (resolved against
    /// the session file's folder when read); the card may since have moved.
    RunSetRecipe recipe;
    std::string model_name;  ///< the top-level card's name, for display without the card
    std::string card_json;   ///< the top-level card's text as it was, so a replay knows its schedule and shape
    int train_steps = 0;     ///< T of the model's schedule
    int batch = 0;
    std::vector<std::int64_t> data_shape;
    std::vector<float> x_T;  ///< the shared starting noise [batch, *data_shape], float32 exact
    std::vector<SessionPanel> panels; ///< one per recipe panel
    std::string created;     ///< UTC time of writing, ISO 8601 (informational)
    std::string version;     ///< NoiseTrail version that wrote it
    /// Set by read_session, from its own accounting: the most memory it held at once
    /// while reading (the session as built so far and its buffers). Blocks stay as
    /// stored and are inflated when shown, so this is about the file's size plus the
    /// reader's buffers, never the payload twice.
    std::uint64_t read_peak_bytes = 0;
};

/// Write atomically; InputError naming the file if it cannot be written (then
/// any earlier file at `path` is untouched). std::invalid_argument if the
/// session is inconsistent (panel count, shapes).
void write_session(const std::filesystem::path& path, const Session& session);

/// Why read_session would refuse `session` once written to `path`, under the memory
/// budget now in force (its InputError's message: the payload, or a step to show, over
/// the budget), or "" when it would open it. A window warns with it before saving a
/// run it could not reopen (issue 27).
std::string session_reopen_problem(const std::filesystem::path& path, const Session& session);

/// Read a session; one InputError naming the file for anything wrong with it:
/// missing, not a session, truncated, corrupt, of a newer format version, over the
/// memory budget. `cancel` (a window reading off its GUI thread) is polled between
/// chunks and blocks; once set, reading ends soon with an InputError "reading cancelled".
Session read_session(const std::filesystem::path& path, const std::atomic<bool>* cancel = nullptr);

/// What a session's header declares, after the checks read_session starts with (a
/// session at all, a version this build reads, sizes that agree with the file, the
/// declared payload within the memory budget); one InputError naming the file, the
/// same as read_session's, otherwise. It reads 40 bytes: a window refuses a bad or
/// budget-breaking file at once, then reads the rest off its GUI thread.
struct SessionHeader {
    std::uint32_t version = 0;
    std::uint64_t payload_bytes = 0; ///< the inflated payload, what reading allocates first
    std::uint64_t file_bytes = 0;
};
SessionHeader read_session_header(const std::filesystem::path& path);

/// The top-level card as it was when the session was written (from card_json),
/// its path the recipe's; InputError naming the session if it holds none.
ModelCard session_card(const Session& session, const std::filesystem::path& file);

/// The precision a run's frames are stored at (GUI, sessions): half floats for
/// 2-D points, whose paths need sub-pixel accuracy; 8 bits per value for images,
/// what a screen shows anyway.
Trajectory::Precision stored_precision(const ModelCard& card);

/// The session's panels for the renderer (captions and colours by panel number);
/// valid while `session` lives.
std::vector<RenderPanel> render_panels(const Session& session);

/// "noisetrail-session/<version>"
std::string session_format_name(std::uint32_t version = kSessionVersion);

} // namespace noisetrail
