// The .ntsession byte format (layout in noisetrail/session.hpp): what the
// reader (session_format.cpp, torch-free so tests/fuzz can link it alone) and
// the writer (session.cpp) share.
#pragma once
#include "noisetrail/errors.hpp"
#include "noisetrail/session.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
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
    /// `count_only`: nothing is kept, size() says how many bytes would be (a session's
    /// size before it is written, by the writer's own layout).
    explicit ByteWriter(bool count_only = false) : count_only_(count_only) {}
    template <typename T> void put(T v)
    {
        static_assert(std::is_trivially_copyable_v<T>);
        bytes(&v, sizeof v);
    }
    void bytes(const void* p, std::size_t n)
    {
        if (!count_only_)
            buf_.append(static_cast<const char*>(p), n);
        size_ += n;
    }
    std::string& str() { return buf_; }
    std::uint64_t size() const { return size_; }

private:
    std::string buf_;
    bool count_only_ = false;
    std::uint64_t size_ = 0;
};

/// Bounds-checked reads over the payload, streamed from its source (the file as it
/// is, or inflated piece by piece) and never held whole: every read and every count
/// is checked against what is left of the declared size before anything is copied
/// or allocated. Opening thus holds the session being built plus this reader's
/// scratch (a description's text, one piece of the stream), not the payload twice
/// (issue 27: a session within the budget cost twice its size while read).
class ByteReader {
public:
    /// Copies exactly n bytes of the payload into buf; throws InputError when its source
    /// ends early or is corrupt.
    using Source = std::function<void(char* buf, std::size_t n)>;
    /// `size`: the payload's declared size. `cancel`, when given, is polled by read()
    /// (at least every 16 MiB, and once per trajectory block).
    ByteReader(std::uint64_t size, Source source, const std::filesystem::path& file,
               const std::atomic<bool>* cancel = nullptr)
        : size_(size), source_(std::move(source)), file_(file), cancel_(cancel)
    {
    }
    template <typename T> T get()
    {
        static_assert(std::is_trivially_copyable_v<T>);
        need(sizeof(T), "a number");
        T v;
        source_(reinterpret_cast<char*>(&v), sizeof v);
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
    /// The next n bytes into `dst` (n checked against what is left first).
    void read(void* dst, std::uint64_t n, const char* what)
    {
        need(n, what);
        constexpr std::uint64_t kPiece = std::uint64_t(16) << 20;
        auto* out = static_cast<char*>(dst);
        do { // at least once: a block of 0 bytes still polls `cancel`
            if (cancel_ && cancel_->load(std::memory_order_relaxed))
                throw InputError(session_error(file_, "reading cancelled"));
            const std::uint64_t part = std::min(n, kPiece);
            if (part > 0)
                source_(out, std::size_t(part));
            out += part;
            pos_ += part;
            n -= part;
        } while (n > 0);
    }
    /// The next `count` items into `v` (emptied first), grown piece by piece as they are
    /// read: a 256 MiB x_T is never zero-filled whole before `cancel` is looked at again.
    template <typename Vector> void read_into(Vector& v, std::uint64_t count, const char* what)
    {
        using T = typename Vector::value_type;
        static_assert(std::is_trivially_copyable_v<T>);
        v.clear();
        if (count > left() / sizeof(T)) // (no product that could wrap)
            throw InputError(session_error(file_, std::string("corrupt session (ends inside ") + what + ")"));
        v.reserve(std::size_t(count));
        constexpr std::uint64_t kPiece = (std::uint64_t(16) << 20) / sizeof(T);
        for (std::uint64_t at = 0; at < count;) {
            const std::uint64_t part = std::min(count - at, kPiece);
            v.resize(std::size_t(at + part));
            read(v.data() + at, part * sizeof(T), what);
            at += part;
        }
        if (count == 0)
            read(nullptr, 0, what); // still looks at `cancel`
    }
    /// The next n bytes in the reader's own buffer, valid until the next take().
    std::string_view take(std::uint64_t n, const char* what)
    {
        need(n, what);
        scratch_.resize(std::size_t(n));
        scratch_peak_ = std::max<std::uint64_t>(scratch_peak_, scratch_.capacity());
        read(scratch_.data(), n, what);
        return scratch_;
    }
    void release_scratch() { std::string().swap(scratch_); }
    std::uint64_t left() const { return size_ - pos_; }
    /// The most this reader held in buffers of its own at once (what it adds to the
    /// session being built while opening; the source's buffers are its caller's).
    std::uint64_t scratch_peak() const { return scratch_peak_; }

private:
    void need(std::uint64_t n, const char* what) const
    {
        if (n > left())
            throw InputError(session_error(file_, std::string("corrupt session (ends inside ") + what + ")"));
    }
    std::uint64_t size_ = 0, pos_ = 0;
    Source source_;
    const std::filesystem::path& file_;
    const std::atomic<bool>* cancel_ = nullptr;
    std::string scratch_;
    std::uint64_t scratch_peak_ = 0;
};

/// The budget checks read_session makes before allocating, one home for the rule
/// (read_session and session_reopen_problem): the declared payload, which opening
/// holds; what showing one step of a panel of `values` values per step needs.
void check_payload_budget(const std::filesystem::path& file, std::uint64_t payload_bytes);
void check_step_budget(const std::filesystem::path& file, std::size_t panel, std::uint64_t values);

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
