// Atomic outputs; see atomic_file.hpp for the rules and docs/CLI.md ("Outputs") for the user's view.
#include "noisetrail/atomic_file.hpp"

#include "noisetrail/errors.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace noisetrail {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTag = ".noisetrail-tmp-";
constexpr const char* kStagingMarker = ".noisetrail-staging";

std::string why(int err) { return std::strerror(err); }

const char* kind_of(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISDIR(m))
        return "a folder";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

std::string named(const std::string& what, const fs::path& p)
{
    return what.empty() ? p.string() : what + " " + p.string();
}

// ------------------------------------------------------------ live temporaries and signals
//
// A fixed table, so that the signal handler reads it without locks or allocation: it
// calls only async-signal-safe functions (unlink, unlinkat, openat, getdents64, rmdir,
// close, sigaction, raise).

constexpr int kSlots = 128;
constexpr std::size_t kPathMax = 4096;
enum : int { kFree = 0, kClaimed = 1, kLive = 2 };
struct Slot {
    std::atomic<int> state{kFree};
    bool is_dir = false;
    char path[kPathMax] = {};
};
Slot g_slots[kSlots];
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
std::atomic<int> g_deferring{0};  // folder swaps in progress: signals wait for them
std::atomic<int> g_pending_sig{0};

struct Dirent64 {
    ino64_t d_ino;
    off64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

/// Empty the folder open as `dfd` (depth levels of subfolders); signal-safe.
void purge_dir(int dfd, int depth)
{
    alignas(8) char buf[2048];
    for (int pass = 0; pass < 16; ++pass) {
        bool removed = false;
        ::lseek(dfd, 0, SEEK_SET);
        for (;;) {
            const long n = ::syscall(SYS_getdents64, dfd, buf, sizeof buf);
            if (n <= 0)
                break;
            for (long off = 0; off < n;) {
                const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
                off += d->d_reclen;
                const char* name = d->d_name;
                if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
                    continue;
                if (::unlinkat(dfd, name, 0) == 0) {
                    removed = true;
                    continue;
                }
                if (depth > 0 && (errno == EISDIR || errno == EPERM)) {
                    const int sub = ::openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                    if (sub >= 0) {
                        purge_dir(sub, depth - 1);
                        ::close(sub);
                    }
                    if (::unlinkat(dfd, name, AT_REMOVEDIR) == 0)
                        removed = true;
                }
            }
        }
        if (!removed)
            break;
    }
}

void remove_slot_path(const Slot& s)
{
    if (!s.is_dir) {
        ::unlink(s.path);
        return;
    }
    const int fd = ::open(s.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        purge_dir(fd, 3);
        ::close(fd);
    }
    ::rmdir(s.path);
}

void noisetrail_on_signal(int sig)
{
    const int saved = errno;
    if (g_deferring.load() > 0) { // a folder swap is half done: it raises the signal when it ends
        g_pending_sig.store(sig);
        errno = saved;
        return;
    }
    for (const Slot& s : g_slots)
        if (s.state.load(std::memory_order_acquire) == kLive)
            remove_slot_path(s);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
    errno = saved;
    ::raise(sig); // delivered when the handler returns: the default action (termination)
}

/// Install the handler for the signals whose action is still the default one; a program
/// that handles or ignores a signal itself (train's graceful stop) keeps its own.
void install_handlers()
{
    static std::once_flag once;
    std::call_once(once, [] {
        for (int sig : kSignals) {
            struct sigaction old {};
            if (::sigaction(sig, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
                continue;
            struct sigaction sa {};
            sa.sa_handler = noisetrail_on_signal;
            sigemptyset(&sa.sa_mask);
            for (int other : kSignals)
                sigaddset(&sa.sa_mask, other);
            sa.sa_flags = SA_RESTART;
            ::sigaction(sig, &sa, nullptr);
        }
    });
}

/// Register a live temporary; -1 when the table is full or the path too long (it is
/// then left to the next write's stale clean-up, its name carrying our pid).
int register_temp(const fs::path& p, bool is_dir)
{
    install_handlers();
    const std::string s = fs::absolute(p).string();
    if (s.size() >= kPathMax)
        return -1;
    for (int i = 0; i < kSlots; ++i) {
        int expected = kFree;
        if (g_slots[i].state.compare_exchange_strong(expected, kClaimed)) {
            std::memcpy(g_slots[i].path, s.c_str(), s.size() + 1);
            g_slots[i].is_dir = is_dir;
            g_slots[i].state.store(kLive, std::memory_order_release);
            return i;
        }
    }
    return -1;
}

void unregister_temp(int& slot)
{
    if (slot >= 0)
        g_slots[slot].state.store(kFree, std::memory_order_release);
    slot = -1;
}

/// Signals wait while a folder is half swapped (see noisetrail_on_signal).
struct DeferSignals {
    DeferSignals() { g_deferring.fetch_add(1); }
    ~DeferSignals()
    {
        if (g_deferring.fetch_sub(1) == 1) {
            const int sig = g_pending_sig.exchange(0);
            if (sig)
                ::raise(sig);
        }
    }
};

// ------------------------------------------------------------ names

/// Stage names in the user's messages: errors inside a staged folder name the folder the
/// user gave, not the temporary sibling.
std::mutex g_alias_mutex;
std::map<std::string, std::string> g_aliases; // stage path -> the user's folder

std::string display(const fs::path& p)
{
    std::string s = p.string();
    std::lock_guard lock(g_alias_mutex);
    for (const auto& [stage, dir] : g_aliases)
        if (s.size() > stage.size() && s.compare(0, stage.size(), stage) == 0 && s[stage.size()] == '/')
            return dir + s.substr(stage.size());
    return s;
}

/// ".NAME.noisetrail-tmp-PID-XXXXXX" in `folder`, as a mkstemp/mkdtemp pattern.
std::string temp_pattern(const fs::path& folder, const fs::path& target)
{
    std::string base = target.filename().string();
    if (base.size() > 120) // keep the whole name under NAME_MAX
        base.resize(120);
    return (folder / ("." + base + std::string(kTag) + std::to_string(::getpid()) + "-XXXXXX")).string();
}

/// The pid in a temporary name, or 0.
pid_t temp_pid(std::string_view name)
{
    if (name.empty() || name[0] != '.')
        return 0;
    const auto at = name.rfind(kTag);
    if (at == std::string_view::npos || at == 0)
        return 0;
    std::string_view rest = name.substr(at + kTag.size());
    const auto dash = rest.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 9 || rest.size() != dash + 7)
        return 0;
    pid_t pid = 0;
    for (char c : rest.substr(0, dash)) {
        if (c < '0' || c > '9')
            return 0;
        pid = pid * 10 + (c - '0');
    }
    return pid;
}

bool process_alive(pid_t pid)
{
    return pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM;
}

mode_t new_file_mode()
{
    // The umask from /proc (umask(2) cannot be read without changing it, racing other threads).
    static const mode_t mask = [] {
        std::ifstream in("/proc/self/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("Umask:", 0) == 0)
                return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
        return static_cast<mode_t>(022);
    }();
    return 0666 & ~mask;
}

void fsync_folder(const fs::path& folder)
{
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

fs::path folder_of(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

/// The path a write replaces, after the checks of check_output_file (no probe).
fs::path resolve_output(const fs::path& target, const std::string& what)
{
    const std::string who = named(what, fs::path(display(target)));
    struct stat st {};
    fs::path real = target;
    if (::lstat(target.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            struct stat to {};
            if (::stat(target.c_str(), &to) != 0)
                throw InputError(who + ": is a symlink to nothing (" + why(errno) + "); refusing to write through it");
            if (!S_ISREG(to.st_mode))
                throw InputError(who + ": is a symlink to " + kind_of(to.st_mode) +
                                 ", not to a regular file; refusing to replace it");
            std::error_code ec;
            real = fs::canonical(target, ec);
            if (ec)
                throw InputError(who + ": cannot resolve the symlink (" + ec.message() + ")");
        } else if (!S_ISREG(st.st_mode)) {
            throw InputError(who + ": is " + kind_of(st.st_mode) + ", not a regular file; refusing to replace it");
        }
    } else if (errno != ENOENT) {
        throw InputError(who + ": cannot check it (" + why(errno) + ")");
    }
    const fs::path folder = folder_of(real);
    struct stat fst {};
    if (::stat(folder.c_str(), &fst) != 0 || !S_ISDIR(fst.st_mode))
        throw InputError(who + ": folder " + display(folder) + " does not exist");
    return real;
}

} // namespace

bool is_temporary_name(std::string_view name) { return temp_pid(name) != 0; }

std::vector<std::string> clean_stale_temporaries(const fs::path& folder)
{
    std::vector<std::string> notes;
    std::error_code ec;
    for (fs::directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const pid_t pid = temp_pid(name);
        if (pid == 0 || process_alive(pid))
            continue;
        std::error_code e2;
        const auto st = it->symlink_status(e2);
        if (e2)
            continue;
        if (fs::is_regular_file(st)) {
            fs::remove(it->path(), e2);
        } else if (fs::is_directory(st)) {
            // Staging folders carry a marker until they are swapped in; one without it was
            // being swapped when its process was killed and may hold a previous run's outputs.
            if (fs::exists(it->path() / kStagingMarker, e2))
                fs::remove_all(it->path(), e2);
            else
                notes.push_back(it->path().string() + ": left by process " + std::to_string(pid) +
                                ", killed while swapping in its outputs; it may hold the previous outputs, "
                                "not removed");
        }
    }
    return notes;
}

fs::path check_output_file(const fs::path& target, const std::string& what)
{
    const fs::path real = resolve_output(target, what);
    // A real probe: permissions, read-only mounts and full inode tables all show here.
    std::string probe = temp_pattern(folder_of(real), real);
    install_handlers();
    const DeferSignals defer; // a signal waits until the probe is gone again
    const int fd = ::mkostemp(probe.data(), O_CLOEXEC);
    if (fd < 0)
        throw InputError(named(what, fs::path(display(target))) + ": cannot write in its folder (" + why(errno) + ")");
    ::close(fd);
    ::unlink(probe.c_str());
    return real;
}

void check_folder_writable(const fs::path& folder, const std::string& what)
{
    std::string probe = temp_pattern(folder, "probe");
    install_handlers();
    const DeferSignals defer; // a signal waits until the probe is gone again
    const int fd = ::mkostemp(probe.data(), O_CLOEXEC);
    if (fd < 0)
        throw InputError(named(what, folder) + ": folder is not writable (" + why(errno) + ")");
    ::close(fd);
    ::unlink(probe.c_str());
}

// ------------------------------------------------------------ AtomicFile

AtomicFile::AtomicFile(fs::path target, std::string what) : target_(std::move(target)), what_(std::move(what))
{
    real_ = resolve_output(target_, what_);
    const fs::path folder = folder_of(real_);
    clean_stale_temporaries(folder);
    std::string pattern = temp_pattern(folder, real_);
    {
        // A signal between creating the file and registering it waits for the registration.
        install_handlers();
        const DeferSignals defer;
        fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (fd_ < 0)
            throw InputError(where() + ": cannot write file (" + why(errno) + ")");
        temp_ = pattern;
        slot_ = register_temp(temp_, false);
    }
    struct stat st {};
    // Keep the permissions of the file we replace; a new file gets the usual 0666 & ~umask.
    ::fchmod(fd_, ::stat(real_.c_str(), &st) == 0 ? (st.st_mode & 07777) : new_file_mode());
}

AtomicFile::~AtomicFile()
{
    if (fd_ >= 0)
        ::close(fd_);
    if (!committed_ && !temp_.empty())
        ::unlink(temp_.c_str());
    unregister_temp(slot_);
}

std::string AtomicFile::where() const { return named(what_, fs::path(display(target_))); }

int AtomicFile::release_fd()
{
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

void AtomicFile::write(std::span<const std::uint8_t> bytes)
{
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw InputError(where() + ": cannot write file (" + why(n < 0 ? errno : ENOSPC) + ")");
        done += static_cast<std::size_t>(n);
    }
}

void AtomicFile::write(std::string_view text)
{
    write(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void AtomicFile::commit()
{
    int fd = fd_;
    fd_ = -1;
    if (fd < 0) // released to a library that closed it: reopen to flush it to disk
        fd = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw InputError(where() + ": cannot write file (" + why(errno) + ")");
    const bool synced = ::fsync(fd) == 0;
    const int err = errno;
    const bool closed = ::close(fd) == 0;
    if (!synced || !closed)
        throw InputError(where() + ": cannot write file (" + why(synced ? errno : err) + ")");
    // Checked again: something else may have been put there while we wrote.
    struct stat st {};
    if (::lstat(real_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw InputError(where() + ": is " + kind_of(st.st_mode) + ", not a regular file; refusing to replace it");
    if (::rename(temp_.c_str(), real_.c_str()) != 0)
        throw InputError(where() + ": cannot write file (" + why(errno) + ")");
    committed_ = true;
    unregister_temp(slot_);
    fsync_folder(folder_of(real_));
}

void write_file_atomic(const fs::path& target, std::string_view bytes, const std::string& what)
{
    AtomicFile f(target, what);
    f.write(bytes);
    f.commit();
}

// ------------------------------------------------------------ FolderLock

FolderLock::FolderLock(const fs::path& folder)
{
    fd_ = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ >= 0)
        while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
        }
}

FolderLock::~FolderLock()
{
    if (fd_ >= 0)
        ::close(fd_); // releases the lock
}

// ------------------------------------------------------------ StagedFolder

StagedFolder::StagedFolder(fs::path dir, std::string what, std::vector<std::string> owned)
    : dir_(std::move(dir)), what_(std::move(what)), owned_(std::move(owned))
{
    const std::string who = named(what_, dir_);
    std::error_code ec;
    struct stat st {};
    if (::lstat(dir_.c_str(), &st) == 0) {
        struct stat to {};
        if (S_ISLNK(st.st_mode) && ::stat(dir_.c_str(), &to) != 0)
            throw InputError(who + ": is a symlink to nothing (" + why(errno) + ")");
        const mode_t m = S_ISLNK(st.st_mode) ? to.st_mode : st.st_mode;
        if (S_ISREG(m))
            throw InputError(who + ": is a file, expected a folder");
        if (!S_ISDIR(m))
            throw InputError(who + ": is " + std::string(kind_of(m)) + ", expected a folder");
        real_ = fs::canonical(dir_, ec);
        // An output's name taken by a FIFO, a device or a folder: refused before any work
        // (the swap would delete it; it is not ours to replace).
        for (const auto& name : owned_) {
            struct stat e {};
            if (!name.empty() && name.back() != '*' && ::lstat((dir_ / name).c_str(), &e) == 0 &&
                !S_ISREG(e.st_mode) && !S_ISLNK(e.st_mode))
                throw InputError(named(what_, dir_ / name) + ": is " + kind_of(e.st_mode) +
                                 ", not a regular file; refusing to replace it");
        }
    } else {
        real_ = fs::weakly_canonical(fs::absolute(dir_, ec), ec);
        if (!ec)
            fs::create_directories(real_.parent_path(), ec);
    }
    if (!ec && !real_.empty() && real_.filename().empty()) // "out/": the folder "out"
        real_ = real_.parent_path();
    if (ec || real_.empty() || !real_.has_parent_path() || real_ == real_.root_path())
        throw InputError(who + ": cannot create folder" + (ec ? " (" + ec.message() + ")" : ""));
    const fs::path cwd = fs::current_path(ec);
    if (!ec && std::mismatch(real_.begin(), real_.end(), cwd.begin(), cwd.end()).first == real_.end())
        throw InputError(who + ": is the current folder or holds it; the folder is replaced as a whole, "
                                "name a folder of its own");
    const fs::path parent = real_.parent_path();
    struct stat pst {}, dst {};
    if (::stat(parent.c_str(), &pst) != 0 || !S_ISDIR(pst.st_mode))
        throw InputError(who + ": cannot create folder (" + why(errno ? errno : ENOTDIR) + ")");
    if (::stat(real_.c_str(), &dst) == 0 && dst.st_dev != pst.st_dev)
        throw InputError(who + ": is a mount point; the folder is replaced as a whole, name a folder inside it");
    notes_ = clean_stale_temporaries(parent);
    std::string pattern = temp_pattern(parent, real_);
    {
        install_handlers();
        const DeferSignals defer; // see AtomicFile
        if (!::mkdtemp(pattern.data()))
            throw InputError(who + ": cannot create folder next to it (" + why(errno) + ")");
        stage_ = pattern;
        slot_ = register_temp(stage_, true);
    }
    ::chmod(stage_.c_str(), ::stat(real_.c_str(), &dst) == 0 ? (dst.st_mode & 07777) : (new_file_mode() | 0111));
    std::ofstream(stage_ / kStagingMarker).put('\n');
    std::lock_guard lock(g_alias_mutex);
    g_aliases[stage_.string()] = dir_.string();
}

StagedFolder::~StagedFolder()
{
    {
        std::lock_guard lock(g_alias_mutex);
        g_aliases.erase(stage_.string());
    }
    if (!committed_) {
        unregister_temp(slot_);
        std::error_code ec;
        fs::remove_all(stage_, ec);
    }
    unregister_temp(slot_);
}

void StagedFolder::commit()
{
    const std::string who = named(what_, dir_);
    const fs::path parent = real_.parent_path();
    DeferSignals defer;
    const FolderLock lock(parent);

    ::unlink((stage_ / kStagingMarker).c_str());
    fsync_folder(stage_);
    fs::path old;
    if (::rename(stage_.c_str(), real_.c_str()) == 0) { // DIR was absent (or an empty folder)
        committed_ = true;
    } else if (errno != EEXIST && errno != ENOTEMPTY) {
        const int err = errno;
        std::ofstream(stage_ / kStagingMarker).put('\n');
        throw InputError(who + ": cannot write folder (" + why(err) + ")");
    } else if (::renameat2(AT_FDCWD, stage_.c_str(), AT_FDCWD, real_.c_str(), RENAME_EXCHANGE) == 0) {
        committed_ = true;
        old = stage_;
    } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
        // No RENAME_EXCHANGE here: DIR is absent for a moment between two renames.
        std::string aside = temp_pattern(parent, real_);
        if (!::mkdtemp(aside.data()) || ::rename(real_.c_str(), aside.c_str()) != 0 ||
            ::rename(stage_.c_str(), real_.c_str()) != 0) {
            const int err = errno;
            std::ofstream(stage_ / kStagingMarker).put('\n');
            throw InputError(who + ": cannot write folder (" + why(err) + ")");
        }
        committed_ = true;
        old = aside;
        std::error_code ec;
        fs::remove(stage_, ec);
    } else {
        const int err = errno;
        std::ofstream(stage_ / kStagingMarker).put('\n');
        throw InputError(who + ": cannot write folder (" + why(err) + ")");
    }
    unregister_temp(slot_);

    if (!old.empty()) {
        // What the old folder held that this run did not write goes back (the user's
        // files, compare's cache); the rest was ours and is replaced.
        const auto is_owned = [&](const std::string& name) {
            for (const auto& o : owned_)
                if (o == name || (!o.empty() && o.back() == '*' && name.rfind(o.substr(0, o.size() - 1), 0) == 0))
                    return true;
            return false;
        };
        bool keep = false;
        std::error_code ec;
        for (fs::directory_iterator it(old, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            std::error_code e2;
            if (fs::exists(fs::symlink_status(real_ / name, e2)) || is_owned(name) || is_temporary_name(name))
                continue;
            if (::renameat2(AT_FDCWD, it->path().c_str(), AT_FDCWD, (real_ / name).c_str(), RENAME_NOREPLACE) != 0 &&
                errno != EEXIST) {
                keep = true;
                notes_.push_back(who + ": could not keep " + name + " from the previous folder (" + why(errno) +
                                 "); it is in " + old.string());
            }
        }
        if (ec)
            keep = true;
        if (!keep)
            fs::remove_all(old, ec);
    }
    fsync_folder(parent);
}

} // namespace noisetrail
