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

/// RFC 1950 section 2.2: CM 8 (deflate), a window of at most 32 KiB, no preset
/// dictionary, and CMF * 256 + FLG a multiple of 31. What a block's first bytes can
/// tell without inflating it.
bool zlib_header(const std::vector<std::uint8_t>& z)
{
    return z.size() >= 2 && (z[0] & 0x0f) == 8 && (z[0] >> 4) <= 7 && !(z[1] & 0x20) && (z[0] * 256 + z[1]) % 31 == 0;
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
            r.read_into(*counts, c, "component counts");
        }
        t->info_[k] = std::move(i);
    }
    const std::uint64_t xt_blocks = r.count(17, n + 1, "x_t blocks");
    if (xt_blocks != (n > 0 ? n + 1 : xt_blocks) || (n > 0 && xt_blocks == 0))
        throw corrupt("x_t blocks do not match the stored steps");
    // As the Trajectory writes them: a self-contained block at least every kKeyInterval
    // steps, so that showing a step inflates a bounded number of blocks.
    int xt_run = 0, x0_run = 0, eps_run = 0; // Delta blocks in a row in each chain
    const auto chained = [&](Trajectory::Block b, int& run) {
        run = b.coding == Trajectory::Coding::Delta ? run + 1 : 0;
        if (run >= Trajectory::kKeyInterval)
            throw corrupt("more than " + std::to_string(Trajectory::kKeyInterval - 1) + " difference blocks in a row");
        return b;
    };
    for (std::uint64_t k = 0; k < xt_blocks; ++k)
        t->xt_[k] = chained(block(r, file, values, precision, k == 0), xt_run);
    for (std::uint64_t k = 0; k < n; ++k) {
        t->x0_[k] = chained(block(r, file, values, precision, k == 0), x0_run);
        t->eps_[k] = chained(block(r, file, values, precision, k == 0), eps_run);
    }
    if (version >= 3) { // a guided step's x0_cond / x0_uncond (version 2 files have none)
        int cond_run = 0, uncond_run = 0;
        for (std::uint64_t k = 0; k < n; ++k) {
            const auto flags = r.get<std::uint8_t>();
            if (flags > 3)
                throw corrupt("step " + std::to_string(k) + "'s guided predictions are flagged " +
                              std::to_string(int(flags)));
            auto& i = t->info_[k];
            // A chain restarts after a step without its block: a difference block must follow one.
            i.hasCond = flags & 1;
            if (i.hasCond)
                t->x0Cond_[k] = chained(block(r, file, values, precision, k == 0 || !t->info_[k - 1].hasCond), cond_run);
            i.hasUncond = flags & 2;
            if (i.hasUncond)
                t->x0Uncond_[k] =
                    chained(block(r, file, values, precision, k == 0 || !t->info_[k - 1].hasUncond), uncond_run);
        }
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
    r.read_into(b.data, size, "a block");
    if (b.coding != Coding::Raw && (size < 6 || !zlib_header(b.data)))
        throw corrupt("a compressed block is not a zlib stream");
    // Not inflated here: Trajectory::decode inflates what is shown, and a block that does
    // not inflate is then its error (one InputError naming the step; the views show it).
    // Inflating every block once to check it cost a 1 GiB session seconds of CPU.
    return b;
}

// ------------------------------------------------------------------ read

std::string session_format_name(std::uint32_t version) { return "noisetrail-session/" + std::to_string(version); }

Session read_session(const fs::path& path, const std::atomic<bool>* cancel)
{
    // Streamed from the file: neither the file nor the payload is ever held whole.
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

void check_payload_budget(const fs::path& file, std::uint64_t payload_bytes)
{
    // Opening holds the payload (its blocks as stored): checked before a byte is allocated
    // or inflated. A 4 MB file declaring 4 GiB of zeros once took 4.2 GB and 32 s to refuse.
    check_memory_budget(session_error(file, "its payload of " + std::to_string(payload_bytes) + " bytes"),
                        static_cast<double>(payload_bytes));
}

void check_step_budget(const fs::path& file, std::size_t panel, std::uint64_t values)
{
    // Blocks are inflated when shown (Trajectory::decode), one step at a time: its values
    // as float32, the 8-bit codes of its difference chain and one inflated block.
    check_memory_budget(session_error(file, "showing a step of panel " + std::to_string(panel) + " (" +
                                                std::to_string(values) + " values)"),
                        static_cast<double>(values) * static_cast<double>(sizeof(float) + 2));
}

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

    detail::check_payload_budget(path, payload_size);
    return {version, stored, payload_size, packed_size, crc};
}

Session decode_session(std::uint64_t file_size, const ReadBytes& read, const fs::path& path,
                       const std::atomic<bool>* cancel)
{
    const Header h = parse_header(file_size, read, path);
    const std::uint32_t version = h.version, crc = h.crc;
    const bool stored = h.stored;
    const std::uint64_t payload_size = h.payload_size, packed_size = h.packed_size;

    // Streamed (issue 27): the payload is parsed as it is read (format 2) or inflated
    // (format 1), its checksum summed on the way and compared at the end, so opening
    // holds the session being built, not the payload besides. Until the checksum
    // agrees nothing read is returned; every count was checked against what is left
    // of the declared size (within the budget), so damage cannot make us allocate more.
    uLong sum = crc32_z(0, nullptr, 0);
    const auto truncated = [&] { return InputError(session_error(path, "truncated session")); };
    z_stream z{};
    struct End {
        z_stream* z = nullptr;
        ~End()
        {
            if (z)
                inflateEnd(z);
        }
    } end; // also when reading ends with an error or `cancel`
    std::vector<char> chunk;
    std::uint64_t read_total = 0;
    int rc = Z_OK;
    // The next piece of the deflate stream into `chunk`, as inflate's input.
    const auto refill = [&] {
        const std::uint64_t want = std::min<std::uint64_t>(chunk.size(), packed_size - read_total);
        if (want == 0 || !read(chunk.data(), std::size_t(want)))
            throw truncated();
        read_total += want;
        z.next_in = reinterpret_cast<Bytef*>(chunk.data());
        z.avail_in = uInt(want);
    };
    ByteReader::Source source;
    if (stored) {
        source = [&](char* buf, std::size_t n) {
            if (!read(buf, n))
                throw truncated();
            sum = crc32_z(sum, reinterpret_cast<const Bytef*>(buf), n);
        };
    } else {
        if (inflateInit(&z) != Z_OK)
            throw InputError(session_error(path, "cannot start decompression"));
        end.z = &z;
        chunk.resize(1 << 16);
        // Inflates exactly n more bytes of the payload into buf.
        source = [&](char* buf, std::size_t n) {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = 0;
            std::size_t left = n;
            while (left > 0) {
                if (rc == Z_STREAM_END)
                    throw truncated(); // the stream ended before the declared size
                if (z.avail_in == 0)
                    refill();
                const uInt part = uInt(std::min<std::size_t>(left, std::size_t(1) << 30));
                z.avail_out = part;
                rc = inflate(&z, Z_NO_FLUSH);
                if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                    throw InputError(session_error(path, "corrupt session (does not inflate)"));
                left -= part - z.avail_out;
            }
            sum = crc32_z(sum, reinterpret_cast<const Bytef*>(buf), n);
        };
    }
    // The payload's end: all of the deflate stream consumed, nothing after it.
    const auto finish = [&] {
        if (stored)
            return;
        while (rc != Z_STREAM_END) {
            char probe;
            if (z.avail_in == 0)
                refill();
            z.next_out = reinterpret_cast<Bytef*>(&probe);
            z.avail_out = 1;
            rc = inflate(&z, Z_NO_FLUSH);
            if ((rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) || z.avail_out == 0)
                throw InputError(session_error(path, "corrupt session (does not inflate)"));
        }
        if (z.avail_in != 0 || read_total != packed_size)
            throw InputError(session_error(path, "corrupt session (bytes after the compressed payload)"));
    };

    ByteReader r(payload_size, std::move(source), path, cancel);
    const std::uint64_t text_len = r.count(1, kMaxJson, "description");
    const std::string_view text = r.take(text_len, "the description");
    json meta;
    try {
        meta = json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t, json&) {
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
    r.release_scratch(); // the description's text, parsed
    r.read_into(s.x_T, nx, "x_T");

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
        detail::check_step_budget(path, i, values);
        sp.trajectory = TrajectoryCodec::read(r, path, shape, ts,
                                              prec == "half" ? Trajectory::Precision::Half : Trajectory::Precision::UInt8,
                                              version, std::uint64_t(stored));
        if (sp.trajectory->size() != stored)
            p.fail("stored_steps", "does not match the stored trajectory");
        s.panels.push_back(std::move(sp));
    }
    if (r.left() != 0)
        throw InputError(session_error(path, "corrupt session (bytes after the last panel)"));
    finish();
    if (std::uint32_t(sum) != crc)
        throw InputError(session_error(path, "corrupt session (checksum mismatch)"));
    // What opening held at most: the session (growing as it was read) plus the reader's
    // own buffers at their largest and, for a deflated payload, its input piece and zlib's window.
    std::uint64_t held = s.x_T.capacity() * sizeof(float);
    for (const SessionPanel& sp : s.panels)
        held += sp.trajectory->bytes();
    s.read_peak_bytes = held + r.scratch_peak() + chunk.capacity() + (stored ? 0 : std::uint64_t(1) << 15);
    return s;
}

} // namespace

} // namespace noisetrail
