#include "noisetrail/atomic_file.hpp"

#include "noisetrail/errors.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace noisetrail {

namespace {
std::string why(int err) { return std::strerror(err); }
} // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target))
{
    const auto folder = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
    std::string name = ".";
    name += target_.filename().string();
    name += ".tmp-XXXXXX";
    std::string pattern = (folder / name).string();
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0)
        throw InputError(target_.string() + ": cannot write file (" + why(errno) + ")");
    temp_ = pattern;
    ::fchmod(fd_, 0644); // mkstemp makes 0600; an export is an ordinary file
}

AtomicFile::~AtomicFile()
{
    if (fd_ >= 0)
        ::close(fd_);
    if (!committed_ && !temp_.empty()) {
        std::error_code ec;
        std::filesystem::remove(temp_, ec);
    }
}

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
            throw InputError(target_.string() + ": cannot write file (" + why(n < 0 ? errno : ENOSPC) + ")");
        done += static_cast<std::size_t>(n);
    }
}

void AtomicFile::commit()
{
    if (fd_ >= 0) {
        const bool synced = ::fsync(fd_) == 0;
        const int err = errno;
        const bool closed = ::close(fd_) == 0;
        fd_ = -1;
        if (!synced || !closed)
            throw InputError(target_.string() + ": cannot write file (" + why(synced ? errno : err) + ")");
    }
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec)
        throw InputError(target_.string() + ": cannot write file (" + ec.message() + ")");
    committed_ = true;
}

} // namespace noisetrail
