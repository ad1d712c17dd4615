// .npy reader/writer (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
#include "noisetrail/npy.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"

#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <optional>

namespace noisetrail {

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

std::int64_t NpyArray::numel() const
{
    std::int64_t n = 1;
    for (const std::int64_t d : shape)
        if (d < 0 || __builtin_mul_overflow(n, d, &n))
            throw InputError("shape " + shape_string() + " has more elements than fit in 64 bits");
    return n;
}

std::string NpyArray::shape_string() const
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace {

std::atomic<std::uint64_t> g_size_limit{std::uint64_t{2} << 30};

[[noreturn]] void fail(const std::filesystem::path& p, const std::string& what)
{
    throw InputError(p.string() + ": " + what);
}

std::string mib(std::uint64_t bytes)
{
    return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}

/// The header dictionary, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }
/// (numpy.lib.format). A small hand parser: one pass, no recursion, no regex;
/// exactly the three keys, each once.
struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
};

class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::filesystem::path& path) : s_(text), path_(path) {}

    NpyHeader parse()
    {
        NpyHeader h;
        bool have_descr = false, have_fortran = false, have_shape = false;
        skip_space();
        expect('{');
        for (;;) {
            skip_space();
            if (peek() == '}') {
                ++i_;
                break;
            }
            const std::string key = quoted();
            skip_space();
            expect(':');
            skip_space();
            if (key == "descr") {
                once(have_descr, key);
                h.descr = quoted();
            } else if (key == "fortran_order") {
                once(have_fortran, key);
                h.fortran_order = boolean();
            } else if (key == "shape") {
                once(have_shape, key);
                h.shape = tuple();
            } else {
                bad("unexpected key '" + key + "'");
            }
            skip_space();
            if (peek() == ',') {
                ++i_;
                continue;
            }
            skip_space();
            expect('}');
            break;
        }
        skip_space();
        if (i_ != s_.size())
            bad("text after the closing brace");
        if (!have_descr || !have_fortran || !have_shape)
            bad("'descr', 'fortran_order' and 'shape' are required");
        return h;
    }

private:
    /// numpy allows 64 dimensions (NPY_MAXDIMS in numpy 2; 32 before).
    static constexpr std::size_t kMaxDims = 64;

    [[noreturn]] void bad(const std::string& why) const
    {
        fail(path_, "malformed .npy header (" + why + ")");
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip_space()
    {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    void expect(char c)
    {
        if (peek() != c)
            bad(std::string("expected '") + c + "'");
        ++i_;
    }
    void once(bool& seen, const std::string& key) const
    {
        if (seen)
            bad("key '" + key + "' given twice");
        seen = true;
    }
    std::string quoted()
    {
        const char q = peek();
        if (q != '\'' && q != '"')
            bad("expected a quoted string");
        const std::size_t end = s_.find(q, i_ + 1);
        if (end == std::string::npos)
            bad("unterminated string");
        std::string v = s_.substr(i_ + 1, end - i_ - 1);
        if (v.size() > 64 || v.find('\\') != std::string::npos)
            bad("implausible string");
        i_ = end + 1;
        return v;
    }
    bool boolean()
    {
        if (s_.compare(i_, 4, "True") == 0) {
            i_ += 4;
            return true;
        }
        if (s_.compare(i_, 5, "False") == 0) {
            i_ += 5;
            return false;
        }
        bad("expected True or False");
    }
    std::vector<std::int64_t> tuple()
    {
        std::vector<std::int64_t> dims;
        expect('(');
        for (;;) {
            skip_space();
            if (peek() == ')') {
                ++i_;
                return dims;
            }
            if (peek() == '-')
                fail(path_, "negative dimension in .npy shape");
            std::int64_t v = 0;
            const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), v);
            if (ec == std::errc::result_out_of_range)
                fail(path_, ".npy shape has a dimension that does not fit in 64 bits");
            if (ec != std::errc() || end == s_.data() + i_)
                bad("expected a dimension");
            i_ = static_cast<std::size_t>(end - s_.data());
            if (peek() == 'L') // Python 2 wrote long integers as 3L
                ++i_;
            if (dims.size() == kMaxDims)
                bad("more than " + std::to_string(kMaxDims) + " dimensions");
            dims.push_back(v);
            skip_space();
            if (peek() == ',') {
                ++i_;
                continue;
            }
            expect(')');
            return dims;
        }
    }

    const std::string& s_;
    const std::filesystem::path& path_;
    std::size_t i_ = 0;
};

/// Read `count` items of type Src and store them converted in `out` (Dst),
/// in chunks, so a conversion needs no second buffer of the whole array.
float narrow(double d)
{
    // Out of float range is undefined behaviour for a plain cast; numpy's astype gives +-inf.
    if (d > std::numeric_limits<float>::max())
        return std::numeric_limits<float>::infinity();
    if (d < -std::numeric_limits<float>::max())
        return -std::numeric_limits<float>::infinity();
    return static_cast<float>(d);
}
std::int64_t narrow(std::int32_t v) { return v; }

template <typename Src, typename Dst>
bool read_converted(std::istream& in, Dst* out, std::size_t count)
{
    std::array<Src, 8192> buf;
    while (count > 0) {
        const std::size_t k = std::min(count, buf.size());
        if (!in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(k * sizeof(Src))))
            return false;
        for (std::size_t i = 0; i < k; ++i)
            out[i] = narrow(buf[i]);
        out += k;
        count -= k;
    }
    return true;
}

} // namespace

std::uint64_t npy_size_limit()
{
    return g_size_limit.load();
}

void set_npy_size_limit(std::uint64_t bytes)
{
    g_size_limit.store(bytes);
}

NpyArray read_npy(const std::filesystem::path& path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        fail(path, "file does not exist");
    if (fs::is_directory(st))
        fail(path, "is a directory, expected a .npy file");
    if (!fs::is_regular_file(st))
        fail(path, "is not a regular file (a device, FIFO or socket?)");
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec)
        fail(path, "cannot read file (" + ec.message() + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, "cannot open file");
    return read_npy(in, size, path);
}

NpyArray read_npy(std::istream& in, std::uint64_t size, const std::filesystem::path& path)
{
    char magic[8];
    if (size < 8 || !in.read(magic, 8))
        fail(path, "truncated .npy file (no header)");
    if (std::memcmp(magic, "\x93NUMPY", 6) != 0)
        fail(path, "not a .npy file (bad magic string)");
    const int major = static_cast<unsigned char>(magic[6]);
    std::uint64_t header_len = 0, prefix = 0;
    if (major == 1) {
        unsigned char b[2];
        if (!in.read(reinterpret_cast<char*>(b), 2))
            fail(path, "truncated .npy header");
        header_len = b[0] | (b[1] << 8);
        prefix = 10;
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (!in.read(reinterpret_cast<char*>(b), 4))
            fail(path, "truncated .npy header");
        header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint64_t(b[3]) << 24);
        prefix = 12;
    } else {
        fail(path, "unsupported .npy format version " + std::to_string(major));
    }
    if (header_len > kMaxNpyHeaderBytes)
        fail(path, ".npy header of " + std::to_string(header_len) + " bytes is longer than the limit of " +
                       std::to_string(kMaxNpyHeaderBytes));
    if (size < prefix || header_len > size - prefix)
        fail(path, "truncated .npy header");
    std::string header(header_len, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
        fail(path, "truncated .npy header");

    const NpyHeader h = HeaderParser(header, path).parse();
    if (h.fortran_order)
        fail(path, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");

    NpyArray a;
    a.shape = h.shape;
    const std::string& dt = h.descr;
    std::size_t item_size = 0;
    bool is_float = false;
    if (dt == "<f4" || dt == "=f4") { item_size = 4; is_float = true; }
    else if (dt == "<f8" || dt == "=f8") { item_size = 8; is_float = true; }
    else if (dt == "<i8" || dt == "=i8") { item_size = 8; }
    else if (dt == "<i4" || dt == "=i4") { item_size = 4; }
    else
        fail(path, "unsupported dtype '" + dt + "' (expected float32, float64, int64 or int32)");

    // Every count checked: the shape's product, its size in bytes, against the
    // file's size (before any allocation), and against the allocation limit.
    std::int64_t n = 0;
    try {
        n = a.numel();
    } catch (const InputError& e) {
        fail(path, std::string(".npy ") + e.what());
    }
    const auto un = static_cast<std::uint64_t>(n);
    if (un > std::numeric_limits<std::uint64_t>::max() / 8)
        fail(path, ".npy shape " + a.shape_string() + " has too many elements");
    const std::uint64_t data_bytes = un * item_size, available = size - prefix - header_len;
    if (data_bytes > available)
        fail(path, "truncated .npy file: shape " + a.shape_string() + " needs " + std::to_string(data_bytes) +
                       " bytes of data, the file holds " + std::to_string(available));
    const std::uint64_t held = un * (is_float ? sizeof(float) : sizeof(std::int64_t));
    if (held > npy_size_limit())
        fail(path, "array of shape " + a.shape_string() + " needs " + mib(held) + ", more than the input limit of " +
                       mib(npy_size_limit()) + " (noisetrail-cli --max-input-mib raises it)");
    if (un > std::numeric_limits<std::size_t>::max() / 8)
        fail(path, ".npy shape " + a.shape_string() + " has too many elements");

    const auto count = static_cast<std::size_t>(un);
    try {
        if (is_float) {
            a.dtype = NpyArray::DType::Float32;
            a.f32.resize(count);
        } else {
            a.dtype = NpyArray::DType::Int64;
            a.i64.resize(count);
        }
    } catch (const std::bad_alloc&) {
        throw std::runtime_error(path.string() + ": out of memory allocating " + mib(held) + " for an array of shape " +
                                 a.shape_string());
    }
    bool ok = true;
    if (is_float && item_size == 4)
        ok = static_cast<bool>(in.read(reinterpret_cast<char*>(a.f32.data()), static_cast<std::streamsize>(data_bytes)));
    else if (is_float)
        ok = read_converted<double>(in, a.f32.data(), count);
    else if (item_size == 8)
        ok = static_cast<bool>(in.read(reinterpret_cast<char*>(a.i64.data()), static_cast<std::streamsize>(data_bytes)));
    else
        ok = read_converted<std::int32_t>(in, a.i64.data(), count);
    if (!ok && count > 0)
        fail(path, "truncated .npy file: expected " + std::to_string(n) + " values of shape " + a.shape_string());
    return a;
}

namespace {

void write_raw(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const char* descr, const void* data, std::size_t item_size)
{
    std::string shape_text = "(";
    std::size_t n = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        shape_text += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
        n *= static_cast<std::size_t>(shape[i]);
    }
    shape_text += ")";
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                         shape_text + ", }";
    // Pad so that magic + len + header + '\n' is a multiple of 64.
    const std::size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    const std::uint16_t len = static_cast<std::uint16_t>(header.size());
    std::string head("\x93NUMPY\x01\x00", 8);
    head += static_cast<char>(len & 0xff);
    head += static_cast<char>(len >> 8);
    head += header;
    AtomicFile out(path); // errors name the file and the reason (a full disk, a FIFO in its place)
    out.write(head);
    out.write(std::string_view(static_cast<const char*>(data), n * item_size));
    out.commit();
}

} // namespace

void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape, const float* data)
{
    write_raw(path, shape, "<f4", data, 4);
}

void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const std::int64_t* data)
{
    write_raw(path, shape, "<i8", data, 8);
}

void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape, const double* data)
{
    write_raw(path, shape, "<f8", data, 8);
}

} // namespace noisetrail
