// Atomic replacement of a file: write a temporary file in the same folder, then
// rename it over the target (rename(2) is atomic within one file system). A crash,
// a full disk or an abandoned export never leaves a half-written file in the
// user's place, and whatever was there before survives any failure.
#pragma once
#include <filesystem>
#include <span>
#include <cstdint>

namespace noisetrail {

class AtomicFile {
public:
    /// Creates the temporary file next to `target`; InputError naming `target`
    /// if its folder is missing or not writable.
    explicit AtomicFile(std::filesystem::path target);
    ~AtomicFile(); ///< removes the temporary file unless committed
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    const std::filesystem::path& target() const { return target_; }
    const std::filesystem::path& temp_path() const { return temp_; }
    /// The temporary file's descriptor, open for writing (-1 after release_fd()).
    int fd() const { return fd_; }
    /// Hand the descriptor to someone who closes it (giflib, stdio).
    int release_fd();

    /// Write all bytes (retrying short writes); InputError naming the target on failure.
    void write(std::span<const std::uint8_t> bytes);
    /// Flush to disk, close, and rename over the target; InputError naming it on failure.
    void commit();

private:
    std::filesystem::path target_, temp_;
    int fd_ = -1;
    bool committed_ = false;
};

} // namespace noisetrail
