// Reading .ntsession files (layout in noisetrail/session.hpp). Torch-free, so
// the fuzz target tests/fuzz/fuzz_session.cpp links it alone. The file is
// hostile until proven otherwise: every size and count is checked against the
// bytes left and a limit before anything is allocated, and every problem is one
// InputError naming the file.
#include "session_format.hpp"

#include "run_recipe_json.hpp"

#include "noisetrail/limits.hpp"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>

namespace noisetrail {

static_assert(std::endian::native == std::endian::little, "sessions are written little-endian by memcpy");

using detail::ByteReader;
using detail::session_error;

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Plausibility limits, far above any real run, so a crafted file cannot make a
// count or a product overflow or demand memory its own size does not justify.
constexpr std::uint64_t kMaxJson = 64u << 20;
constexpr int kMaxJsonDepth = 16;
constexpr std::uint64_t kMaxValuesPerStep = std::uint64_t(1) << 26;
constexpr int kMaxSteps = 1000000;
constexpr int kMaxPanels = 64;
constexpr std::uint64_t kMaxDeflateRatio = 1100; // zlib's maximum is about 1032:1

/// Typed access to the description with errors naming the file and the field.
class Fields {
public:
    Fields(const json& j, const fs::path& file, std::string where) : j_(j), file_(file), where_(std::move(where))
    {
        if (!j_.is_object())
            fail("", "expected an object");
    }
    bool has(const char* key) const { return j_.contains(key); }
    const json& at(const char* key) const
    {
        if (!j_.contains(key))
            fail(key, "missing");
        return j_.at(key);
    }
    std::string text(const char* key) const
    {
        const json& v = at(key);
        if (!v.is_string())
            fail(key, "expected a string");
        return v.get<std::string>();
    }
    std::int64_t integer(const char* key, std::int64_t lo, std::int64_t hi) const
    {
        const json& v = at(key);
        if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(hi)))
            fail(key, "expected an integer");
        const auto n = v.get<std::int64_t>();
        if (n < lo || n > hi)
            fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
        return n;
    }
    std::uint64_t unsigned_integer(const char* key) const
    {
        const json& v = at(key);
        if (!v.is_number_unsigned())
            fail(key, "expected a non-negative integer");
        return v.get<std::uint64_t>();
    }
    double number(const char* key) const
    {
        const json& v = at(key);
        if (!v.is_number() || !std::isfinite(v.get<double>()))
            fail(key, "expected a finite number");
        return v.get<double>();
    }
    const json& array(const char* key, std::size_t max) const
    {
        const json& v = at(key);
        if (!v.is_array() || v.size() > max)
            fail(key, "expected a list of at most " + std::to_string(max));
        return v;
    }
    [[noreturn]] void fail(const std::string& key, const std::string& what) const
    {
        std::string field = where_;
        if (!key.empty())
            field += (field.empty() ? "" : ".") + key;
        throw InputError(session_error(file_, "session field '" + field + "': " + what));
    }
    std::string where(const std::string& key) const { return (where_.empty() ? "" : where_ + ".") + key; }

private:
    const json& j_;
    const fs::path& file_;
    std::string where_;
};


std::uint64_t checked_product(const std::vector<std::int64_t>& dims, const fs::path& file, const char* what)
{
    std::uint64_t n = 1;
    for (auto d : dims) {
        if (d <= 0 || std::uint64_t(d) > kMaxValuesPerStep || n > kMaxValuesPerStep / std::uint64_t(d))
            throw InputError(session_error(file, std::string("corrupt session (") + what + " too large or empty)"));
        n *= std::uint64_t(d);
    }
    return n;
}


/// Reads exactly n bytes of the compressed stream into buf; false at its end.
using ReadBytes = std::function<bool(char* buf, std::size_t n)>;

Session decode_session(std::uint64_t file_size, const ReadBytes& read, const fs::path& path,
                       const std::atomic<bool>* cancel);

/// The header's fields after every check made before the payload is read.
struct Header {
    std::uint32_t version = 0;
    bool stored = false;
    std::uint64_t payload_size = 0, packed_size = 0;
    std::uint32_t crc = 0;
};
Header parse_header(std::uint64_t file_size, const ReadBytes& read, const fs::path& path);

/// Reads from the session file, streamed.
struct SessionFile {
    std::uint64_t size = 0;
    std::ifstream in;
    explicit SessionFile(const fs::path& path)
    {
        std::error_code ec;
        if (!fs::is_regular_file(path, ec))
            throw InputError(session_error(path, fs::exists(path, ec) ? "not a regular file" : "no such file"));
        size = fs::file_size(path, ec);
        in.open(path, std::ios::binary);
        if (ec || !in)
            throw InputError(session_error(path, "cannot read file"));
    }
    ReadBytes reader()
    {
        return [this](char* buf, std::size_t n) {
            return bool(in.read(buf, std::streamsize(n))) && std::size_t(in.gcount()) == n;
        };
    }
};

} // namespace

// ------------------------------------------------------------------ trajectories

std::shared_ptr<Trajectory> TrajectoryCodec::read(ByteReader& r, const fs::path& file, std::vector<std::int64_t> shape,
                                                  std::vector<int> timesteps, Trajectory::Precision precision,
                                                  std::uint32_t version, std::uint64_t max_steps)
{
    const std::uint64_t values = checked_product(shape, file, "shape");
    auto t = std::make_shared<Trajectory>(std::move(shape), std::move(timesteps), precision);
    const auto corrupt = [&](const std::string& what) {
        return InputError(session_error(file, "corrupt session (" + what + ")"));
    };
    const std::uint64_t n = r.count(13 * 8, std::min<std::uint64_t>(max_steps, t->plannedSteps()), "stored steps");
    for (std::uint64_t k = 0; k < n; ++k) {
        Trajectory::StepInfo i;
        i.step = r.get<std::int32_t>();
        i.plan.t = r.get<std::int32_t>();
        i.plan.t_prev = r.get<std::int32_t>();
        if (i.step != int(k) || i.plan.t != t->timesteps()[k])
            throw corrupt("step " + std::to_string(k) + " out of order");
        i.plan.alpha_bar = r.get<double>();
        i.plan.alpha_bar_prev = r.get<double>();
        i.plan.sigma = r.get<double>();
        double s[5];
        for (double& v : s)
            v = r.get<double>();
        static_assert(sizeof(StepStats) == 5 * sizeof(double));
        i.stats = {s[0], s[1], s[2], s[3], s[4]};
        auto& m = i.metrics.values;
        for (double* v : {&m.pairwise_distance, &m.coordinate_std, &m.vendi, &m.components_covered,
                          &m.occupancy_entropy, &m.class_entropy, &m.classes_covered})
            *v = r.get<double>();
        i.metrics.seconds = r.get<double>();
        std::vector<std::vector<int>*> lists{&i.metrics.componentCounts, &i.metrics.componentNear};
        if (version >= 2) // version 1 files have no assignments: they stay empty
            lists.push_back(&i.metrics.assignment);
        for (auto* counts : lists) {
            const auto c = r.count(sizeof(int), 1u << 20, "component");
            counts->resize(c);
            const void* src = r.take(c * sizeof(int), "component counts");
            if (c > 0) // memcpy from or to a null pointer is undefined even for 0 bytes
                std::memcpy(counts->data(), src, c * sizeof(int));
        }
        t->info_[k] = std::move(i);
    }
    const std::uint64_t xt_blocks = r.count(17, n + 1, "x_t blocks");
    if (xt_blocks != (n > 0 ? n + 1 : xt_blocks) || (n > 0 && xt_blocks == 0))
        throw corrupt("x_t blocks do not match the stored steps");
    for (std::uint64_t k = 0; k < xt_blocks; ++k)
        t->xt_[k] = block(r, file, values, precision, k == 0);
    for (std::uint64_t k = 0; k < n; ++k) {
        t->x0_[k] = block(r, file, values, precision, k == 0);
        t->eps_[k] = block(r, file, values, precision, k == 0);
    }
    t->startGiven_ = xt_blocks > 0;
    t->published_.store(int(n), std::memory_order_release);
    return t;
}

/// `first`: the first block of its chain (x_t, x0_hat or eps_hat), which cannot be a delta.
Trajectory::Block TrajectoryCodec::block(ByteReader& r, const fs::path& file, std::uint64_t values,
                                         Trajectory::Precision precision, bool first)
{
    using Coding = Trajectory::Coding;
    const auto corrupt = [&](const std::string& what) {
        return InputError(session_error(file, "corrupt session (" + what + ")"));
    };
    Trajectory::Block b;
    const auto coding = r.get<std::uint8_t>();
    b.lo = r.get<float>();
    b.scale = r.get<float>();
    const std::uint64_t size = r.count(1, std::numeric_limits<std::uint64_t>::max(), "block bytes");
    const bool half = precision == Trajectory::Precision::Half;
    if (coding > std::uint8_t(Coding::Delta) || (half && coding != std::uint8_t(Coding::Raw)) ||
        (first && coding == std::uint8_t(Coding::Delta)))
        throw corrupt("a block of the wrong kind");
    b.coding = Coding(coding);
    if (!std::isfinite(b.lo) || !std::isfinite(b.scale) || b.scale < 0)
        throw corrupt("a block's range is not finite");
    if (b.coding == Coding::Raw && size != (half ? 2 * values : values))
        throw corrupt("a block of the wrong size");
    const char* p = r.take(size, "a block");
    b.data.assign(p, p + size);
    if (b.coding != Coding::Raw) {
        // Inflate once now, so a bad block is this error and never a failure while scrubbing.
        std::vector<std::uint8_t> raw(values);
        uLongf len = uLongf(values);
        if (uncompress(raw.data(), &len, b.data.data(), uLong(size)) != Z_OK || len != values)
            throw corrupt("a compressed block does not inflate to its size");
    }
    return b;
}

// ------------------------------------------------------------------ read

std::string session_format_name(std::uint32_t version) { return "noisetrail-session/" + std::to_string(version); }

Session read_session(const fs::path& path, const std::atomic<bool>* cancel)
{
    // Streamed: only the inflated payload is held, never the whole compressed file too.
    SessionFile file(path);
    return decode_session(file.size, file.reader(), path, cancel);
}

SessionHeader read_session_header(const fs::path& path)
{
    SessionFile file(path);
    const Header h = parse_header(file.size, file.reader(), path);
    return {h.version, h.payload_size, file.size};
}

namespace detail {

Session parse_session(std::string_view bytes, const fs::path& file)
{
    std::size_t pos = 0;
    return decode_session(
        bytes.size(),
        [&](char* buf, std::size_t n) {
            if (n > bytes.size() - pos)
                return false;
            std::memcpy(buf, bytes.data() + pos, n);
            pos += n;
            return true;
        },
        file, nullptr);
}

} // namespace detail

namespace {

Header parse_header(std::uint64_t file_size, const ReadBytes& read, const fs::path& path)
{
    constexpr std::size_t kHeaderSize = detail::kSessionHeaderSize;
    char head[kHeaderSize];
    if (file_size < kHeaderSize || !read(head, kHeaderSize) ||
        std::memcmp(head, detail::kSessionMagic, sizeof detail::kSessionMagic) != 0)
        throw InputError(session_error(path, "not a NoiseTrail session"));
    const auto u32 = [&](std::size_t at) {
        std::uint32_t v;
        std::memcpy(&v, head + at, sizeof v);
        return v;
    };
    const auto u64 = [&](std::size_t at) {
        std::uint64_t v;
        std::memcpy(&v, head + at, sizeof v);
        return v;
    };
    const std::uint32_t version = u32(8);
    if (version == 0 || version > kSessionVersion)
        throw InputError(session_error(path, "session format version " + std::to_string(version) +
                                                 " is newer than this NoiseTrail reads (" +
                                                 std::to_string(kSessionVersion) + "); update NoiseTrail"));
    const std::uint32_t flags = u32(12);
    if (flags & ~detail::kSessionPayloadStored || (flags != 0 && version < 2))
        throw InputError(session_error(path, "corrupt session (unknown header flags " + std::to_string(flags) + ")"));
    const bool stored = flags & detail::kSessionPayloadStored;
    const std::uint64_t payload_size = u64(16), packed_size = u64(24);
    const std::uint32_t crc = u32(32);
    if (packed_size != file_size - kHeaderSize)
        throw InputError(session_error(path, packed_size > file_size - kHeaderSize
                                                 ? "truncated session (" + std::to_string(file_size) + " bytes, expected " +
                                                       std::to_string(packed_size + kHeaderSize) + ")"
                                                 : "corrupt session (bytes after the end)"));
    if (payload_size > kMaxSessionPayload || payload_size > packed_size * kMaxDeflateRatio ||
        (stored && payload_size != packed_size))
        throw InputError(session_error(path, "corrupt session (implausible size " + std::to_string(payload_size) + ")"));

    // The declared size against the memory budget before a byte is allocated or
    // inflated: a 4 MB file declaring 4 GiB of zeros once took 4.2 GB and 32 s to refuse.
    check_memory_budget(session_error(path, "its payload of " + std::to_string(payload_size) + " bytes"),
                        static_cast<double>(payload_size));
    return {version, stored, payload_size, packed_size, crc};
}

Session decode_session(std::uint64_t file_size, const ReadBytes& read, const fs::path& path,
                       const std::atomic<bool>* cancel)
{
    const auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };
    const auto stop = [&] { return InputError(session_error(path, "reading cancelled")); };
    const Header h = parse_header(file_size, read, path);
    const std::uint32_t version = h.version, crc = h.crc;
    const bool stored = h.stored;
    const std::uint64_t payload_size = h.payload_size, packed_size = h.packed_size;

    // Read (format 2) or inflate in chunks (format 1) into exactly the declared size.
    // Reserved at once but filled piece by piece (16 MiB), `cancel` looked at before
    // each: a window that gives up on a 1 GiB file waits for one piece, not the whole.
    std::string payload;
    try {
        payload.reserve(payload_size);
    } catch (const std::exception&) { // bad_alloc, length_error
        throw InputError(session_error(path, "not enough memory for " + std::to_string(payload_size) + " bytes"));
    }
    constexpr std::uint64_t kPiece = std::uint64_t(16) << 20;
    // The next piece of the payload (within the reserved capacity: data() stays put).
    const auto grow = [&]() -> char* {
        if (cancelled())
            throw stop();
        const std::size_t at = payload.size();
        payload.resize(at + std::size_t(std::min<std::uint64_t>(kPiece, payload_size - at)));
        return payload.data() + at;
    };
    if (stored) {
        while (payload.size() < payload_size) {
            const std::size_t at = payload.size();
            char* piece = grow();
            if (!read(piece, payload.size() - at))
                throw InputError(session_error(path, "truncated session"));
        }
    } else {
        z_stream z{};
        if (inflateInit(&z) != Z_OK)
            throw InputError(session_error(path, "cannot start decompression"));
        struct End {
            z_stream& z;
            ~End() { inflateEnd(&z); }
        } end{z}; // also when `cancel` ends reading
        std::vector<char> chunk(1 << 16);
        std::uint64_t read_total = 0;
        int rc = Z_OK;
        z.avail_out = 0;
        while (rc != Z_STREAM_END) {
            if (z.avail_in == 0) {
                const std::uint64_t want = std::min<std::uint64_t>(chunk.size(), packed_size - read_total);
                if (want == 0)
                    break;
                if (!read(chunk.data(), std::size_t(want)))
                    break;
                read_total += want;
                z.next_in = reinterpret_cast<Bytef*>(chunk.data());
                z.avail_in = uInt(want);
            }
            if (z.avail_out == 0) {
                if (payload.size() == payload_size) {
                    // Output full: only the stream's end may follow.
                    char probe;
                    z.next_out = reinterpret_cast<Bytef*>(&probe);
                    z.avail_out = 1;
                    rc = inflate(&z, Z_NO_FLUSH);
                    if (rc != Z_STREAM_END) {
                        rc = Z_DATA_ERROR;
                        break;
                    }
                    continue;
                }
                const std::size_t at = payload.size();
                z.next_out = reinterpret_cast<Bytef*>(grow());
                z.avail_out = uInt(payload.size() - at);
            }
            rc = inflate(&z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END)
                break;
        }
        const bool complete = rc == Z_STREAM_END && z.total_out == payload_size && read_total == packed_size;
        if (!complete)
            throw InputError(session_error(path, rc == Z_OK ? "truncated session" : "corrupt session (does not inflate)"));
    }
    uLong sum = crc32_z(0, nullptr, 0);
    for (std::size_t at = 0; at < payload.size();) {
        if (cancelled())
            throw stop();
        const std::size_t part = std::min<std::size_t>(payload.size() - at, std::size_t(64) << 20);
        sum = crc32_z(sum, reinterpret_cast<const Bytef*>(payload.data() + at), part);
        at += part;
    }
    if (std::uint32_t(sum) != crc)
        throw InputError(session_error(path, "corrupt session (checksum mismatch)"));

    ByteReader r(payload, path, cancel);
    const std::uint64_t text_len = r.count(1, kMaxJson, "description");
    const char* text = r.take(text_len, "the description");
    json meta;
    try {
        meta = json::parse(text, text + text_len, [&](int depth, json::parse_event_t, json&) {
            if (depth > kMaxJsonDepth)
                throw InputError(session_error(path, "corrupt session (description nested too deeply)"));
            return true;
        });
    } catch (const json::exception& e) {
        throw InputError(session_error(path, std::string("corrupt session (description: ") + e.what() + ")"));
    }
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    const Fields f(meta, path, "");
    if (f.text("format") != session_format_name(version))
        f.fail("format", "expected " + session_format_name(version));
    Session s;
    s.recipe = detail::recipe_from_json(f.at("recipe"), {path.string(), "recipe", folder, /*zero_steps_is_default=*/true});
    s.model_name = f.text("model_name");
    s.card_json = f.has("card") ? f.text("card") : "";
    s.train_steps = int(f.integer("train_steps", 1, kMaxSteps));
    s.batch = int(f.integer("batch", 1, 1000000));
    for (const auto& d : f.array("data_shape", 8)) {
        if (!d.is_number_integer() || d.get<std::int64_t>() <= 0)
            f.fail("data_shape", "expected positive integers");
        s.data_shape.push_back(d.get<std::int64_t>());
    }
    if (s.data_shape.empty())
        f.fail("data_shape", "empty");
    s.created = f.has("created") ? f.text("created") : "";
    s.version = f.has("noisetrail_version") ? f.text("noisetrail_version") : "";
    std::vector<std::int64_t> shape{s.batch};
    shape.insert(shape.end(), s.data_shape.begin(), s.data_shape.end());
    const std::uint64_t values = checked_product(shape, path, "batch x data_shape");

    const std::uint64_t nx = r.count(sizeof(float), values, "x_T values");
    if (nx != values && nx != 0)
        throw InputError(session_error(path, "corrupt session (x_T has " + std::to_string(nx) + " values)"));
    s.x_T.resize(nx);
    const char* x_T = r.take(nx * sizeof(float), "x_T");
    if (nx > 0)
        std::memcpy(s.x_T.data(), x_T, nx * sizeof(float));

    double trajectory_bytes = 0; // decoded size of the panels' 8-bit blocks so far
    const json& panels = f.array("panels", kMaxPanels);
    if (panels.size() != s.recipe.panels.size() || panels.empty())
        f.fail("panels", "expected one per recipe panel");
    for (std::size_t i = 0; i < panels.size(); ++i) {
        const Fields p(panels[i], path, "panels[" + std::to_string(i) + "]");
        SessionPanel sp;
        sp.caption = p.text("caption");
        sp.fingerprint = p.text("fingerprint");
        std::vector<std::int64_t> pshape;
        for (const auto& d : p.array("shape", 9))
            pshape.push_back(d.is_number_integer() ? d.get<std::int64_t>() : -1);
        if (pshape != shape)
            p.fail("shape", "does not match batch and data_shape");
        std::vector<int> ts;
        const json& tj = p.array("timesteps", kMaxSteps);
        for (const auto& t : tj) {
            if (!t.is_number_integer() || t.get<std::int64_t>() < 0 || t.get<std::int64_t>() >= s.train_steps ||
                (!ts.empty() && t.get<std::int64_t>() >= ts.back()))
                p.fail("timesteps", "expected descending integers in 0..T-1");
            ts.push_back(int(t.get<std::int64_t>()));
        }
        if (ts.empty())
            p.fail("timesteps", "empty");
        const std::string prec = p.text("precision");
        if (prec != "uint8" && prec != "half")
            p.fail("precision", "expected uint8 or half");
        const auto stored = p.integer("stored_steps", 0, std::int64_t(ts.size()));
        if (prec == "uint8") {
            // Each 8-bit block may be deflated, and is inflated once below to be checked:
            // its declared size (x_t of every step and the end, x0_hat, eps_hat) against the
            // budget before any is. 120 deflated blocks of 64 MB (7.5 MB on disk) took 22.6 s.
            trajectory_bytes += static_cast<double>(values) * static_cast<double>(3 * stored + 1);
            check_memory_budget(session_error(path, "its trajectories (" + std::to_string(s.batch) +
                                                        " samples, " + std::to_string(stored) + " steps in panel " +
                                                        std::to_string(i) + ")"),
                                trajectory_bytes);
        }
        sp.trajectory = TrajectoryCodec::read(r, path, shape, ts,
                                              prec == "half" ? Trajectory::Precision::Half : Trajectory::Precision::UInt8,
                                              version, std::uint64_t(stored));
        if (sp.trajectory->size() != stored)
            p.fail("stored_steps", "does not match the stored trajectory");
        s.panels.push_back(std::move(sp));
    }
    if (r.left() != 0)
        throw InputError(session_error(path, "corrupt session (bytes after the last panel)"));
    return s;
}

} // namespace

} // namespace noisetrail
