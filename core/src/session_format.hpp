// The .ntsession byte format (layout in noisetrail/session.hpp): what the
// reader (session_format.cpp, torch-free so tests/fuzz can link it alone) and
// the writer (session.cpp) share.
#pragma once
#include "noisetrail/errors.hpp"
#include "noisetrail/session.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace noisetrail {

namespace detail {

inline constexpr char kSessionMagic[8] = {'\x89', 'N', 'T', 'S', '\r', '\n', '\x1a', '\n'};
inline constexpr std::size_t kSessionHeaderSize = 40;
/// Header flag (the u32 after the version; format 2 on): the payload is stored as
/// it is, not deflated. Its bulk, the trajectories' blocks, is deflated already:
/// deflating it again saved 14% of a 4 x 1000-step ring session for 6-9 s of CPU.
inline constexpr std::uint32_t kSessionPayloadStored = 1;

inline std::string session_error(const std::filesystem::path& file, const std::string& what)
{
    return file.string() + ": " + what;
}

class ByteWriter {
public:
    template <typename T> void put(T v)
    {
        static_assert(std::is_trivially_copyable_v<T>);
        buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    void bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
    std::string& str() { return buf_; }

private:
    std::string buf_;
};

/// Bounds-checked reads over the inflated payload: every read and every count
/// is checked against what is left before anything is copied or allocated.
class ByteReader {
public:
    /// `cancel`, when given, is polled by take() (once per trajectory block).
    ByteReader(const std::string& data, const std::filesystem::path& file, const std::atomic<bool>* cancel = nullptr)
        : data_(data), file_(file), cancel_(cancel)
    {
    }
    template <typename T> T get()
    {
        need(sizeof(T), "a number");
        T v;
        std::memcpy(&v, data_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    /// A count of items of `item_bytes` each that must fit in the rest of the payload.
    std::uint64_t count(std::uint64_t item_bytes, std::uint64_t max, const char* what)
    {
        const auto n = get<std::uint64_t>();
        if (n > max || (item_bytes > 0 && n > left() / item_bytes))
            throw InputError(session_error(file_, std::string("corrupt session (") + what + " count " +
                                                      std::to_string(n) + ")"));
        return n;
    }
    const char* take(std::uint64_t n, const char* what)
    {
        if (cancel_ && cancel_->load(std::memory_order_relaxed))
            throw InputError(session_error(file_, "reading cancelled"));
        need(n, what);
        const char* p = data_.data() + pos_;
        pos_ += n;
        return p;
    }
    std::uint64_t left() const { return data_.size() - pos_; }

private:
    void need(std::uint64_t n, const char* what)
    {
        if (n > left())
            throw InputError(session_error(file_, std::string("corrupt session (ends inside ") + what + ")"));
    }
    const std::string& data_;
    const std::filesystem::path& file_;
    const std::atomic<bool>* cancel_ = nullptr;
    std::size_t pos_ = 0;
};

/// The session held in `bytes` (a whole .ntsession file, as read_session reads
/// it from disk); `file` names it in messages and anchors the recipe's paths.
Session parse_session(std::string_view bytes, const std::filesystem::path& file);

} // namespace detail

/// Trajectory blocks exactly as stored (a friend of Trajectory). write: session.cpp; read: session_format.cpp,
/// at most `max_steps` steps (what the description declares, and budgeted before reading).
struct TrajectoryCodec {
    static void write(detail::ByteWriter& w, const Trajectory& t);
    static std::shared_ptr<Trajectory> read(detail::ByteReader& r, const std::filesystem::path& file,
                                            std::vector<std::int64_t> shape, std::vector<int> timesteps,
                                            Trajectory::Precision precision, std::uint32_t version,
                                            std::uint64_t max_steps);

private:
    static void block(detail::ByteWriter& w, const Trajectory::Block& b);
    static Trajectory::Block block(detail::ByteReader& r, const std::filesystem::path& file, std::uint64_t values,
                                   Trajectory::Precision precision, bool first);
};

} // namespace noisetrail
