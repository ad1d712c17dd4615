// Every output of the program is written here, so that nothing is lost, torn, mixed or
// replaced (docs/CLI.md, "Outputs"):
// - a file is written to a temporary file in the target's folder (a unique name that
//   carries the writer's pid), flushed and fsynced, then renamed over the target
//   (rename(2) is atomic within one file system): a crash, a full disk or a kill leaves
//   the previous file whole;
// - an existing output that is not a regular file (a FIFO, a device, a folder) is
//   refused, never opened or replaced; a symlink to a regular file is followed (the file
//   it points to is replaced, the link stays);
// - live temporaries are removed on SIGINT, SIGTERM and SIGHUP (then the signal's default
//   action proceeds); those of dead processes (kill -9) are removed by the next write in
//   their folder;
// - a folder of outputs (--out, --dump) is written into a temporary sibling folder that is
//   swapped in whole, so a reader never sees files of two runs mixed.
#pragma once
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <cstdint>

namespace noisetrail {

/// Check, before any work, that `target` can be written as a file: absent (its folder
/// exists and is writable) or a regular file, or a symlink to one. Returns the path that
/// a write replaces (the symlink's target). InputError "<what> <target>: ..." otherwise
/// (`what` is the flag, e.g. "--gif"; may be empty).
std::filesystem::path check_output_file(const std::filesystem::path& target, const std::string& what = {});

/// Check that files can be created in `folder` (a real probe: a temporary file made and
/// removed); InputError "<what> <folder>: folder is not writable (why)" otherwise.
void check_folder_writable(const std::filesystem::path& folder, const std::string& what = {});

class AtomicFile {
public:
    /// Checks the target (check_output_file) and creates the temporary file next to it;
    /// InputError naming `what` and `target` otherwise.
    explicit AtomicFile(std::filesystem::path target, std::string what = {});
    ~AtomicFile(); ///< removes the temporary file unless committed
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    const std::filesystem::path& target() const { return target_; }
    const std::filesystem::path& temp_path() const { return temp_; }
    /// The temporary file's descriptor, open for writing (-1 after release_fd()).
    int fd() const { return fd_; }
    /// Hand the descriptor to someone who closes it (giflib, stdio); commit() then
    /// reopens the temporary file to fsync it.
    int release_fd();

    /// Write all bytes (retrying short writes); InputError naming the target on failure.
    void write(std::span<const std::uint8_t> bytes);
    void write(std::string_view text);
    /// fsync, close, and rename over the target; InputError naming it on failure.
    void commit();

private:
    std::string where() const;
    std::filesystem::path target_, real_, temp_;
    std::string what_;
    int fd_ = -1;
    int slot_ = -1;
    bool committed_ = false;
};

/// `bytes` written to `target` through an AtomicFile.
void write_file_atomic(const std::filesystem::path& target, std::string_view bytes, const std::string& what = {});

/// A folder of outputs (`--out DIR`, `--dump DIR`) written as a whole. The files go into
/// path(), a temporary sibling of DIR; commit() swaps it with DIR (renameat2
/// RENAME_EXCHANGE; where the file system lacks it, two renames during which DIR is
/// briefly absent), moves back what the old DIR held that this run did not write (other
/// files of the user, compare's cache), and removes the rest of the old DIR. Swaps into
/// one parent folder are serialised by flock(2) on that folder.
class StagedFolder {
public:
    /// Checks DIR (absent, a folder, or a symlink to one; not the current folder or one
    /// holding it; its parent writable) and creates the temporary sibling; InputError
    /// "<what> DIR: ..." otherwise. `owned`: names this command may write, removed from
    /// the old DIR even when this run did not write them again (a guided run's
    /// x0_cond.npy), a trailing '*' matching any suffix ("panel-*").
    StagedFolder(std::filesystem::path dir, std::string what, std::vector<std::string> owned = {});
    ~StagedFolder(); ///< removes the temporary folder unless committed
    StagedFolder(const StagedFolder&) = delete;
    StagedFolder& operator=(const StagedFolder&) = delete;

    /// Where to write the folder's files.
    const std::filesystem::path& path() const { return stage_; }
    /// The folder as the user named it.
    const std::filesystem::path& target() const { return dir_; }
    /// Swap the folder in; SIGINT/SIGTERM/SIGHUP wait until the swap is done. InputError
    /// naming the folder on failure.
    void commit();
    /// Notes for the user (a folder left by a process killed mid-swap that was kept).
    const std::vector<std::string>& notes() const { return notes_; }

private:
    std::filesystem::path dir_, real_, stage_;
    std::string what_;
    std::vector<std::string> owned_, notes_;
    int slot_ = -1;
    bool committed_ = false;
};

/// flock(2) on a folder for the lifetime of the object: StagedFolder swaps into the folder
/// and the compare cache's read-merge-write of a subfolder's cache hold it. No lock file
/// (one inside a swapped folder would move with it); best effort where flock fails.
class FolderLock {
public:
    explicit FolderLock(const std::filesystem::path& folder);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int fd_ = -1;
};

/// Remove the temporary files and folders that this program left in `folder` from
/// processes that are no longer running (their pid is in the name); returns a note for
/// each one kept (a folder killed mid-swap that may hold the previous outputs).
std::vector<std::string> clean_stale_temporaries(const std::filesystem::path& folder);

/// Whether `name` is one of this program's temporary names (".X.noisetrail-tmp-PID-XXXXXX").
bool is_temporary_name(std::string_view name);

} // namespace noisetrail
