// .npy reader/writer (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
#include "noisetrail/npy.hpp"

#include "noisetrail/errors.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <numeric>
#include <regex>
#include <sstream>

namespace noisetrail {

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

std::int64_t NpyArray::numel() const
{
    return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

std::string NpyArray::shape_string() const
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace {

[[noreturn]] void fail(const std::filesystem::path& p, const std::string& what)
{
    throw InputError(p.string() + ": " + what);
}

std::string header_value(const std::string& header, const std::string& key)
{
    // Values are a quoted string, a bool or a parenthesised tuple.
    const std::regex re("'" + key + "'\\s*:\\s*('[^']*'|True|False|\\([^)]*\\))");
    std::smatch m;
    if (!std::regex_search(header, m, re))
        return {};
    return m[1].str();
}

} // namespace

NpyArray read_npy(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, "cannot open file");
    char magic[8];
    if (!in.read(magic, 8))
        fail(path, "truncated .npy file (no header)");
    if (std::memcmp(magic, "\x93NUMPY", 6) != 0)
        fail(path, "not a .npy file (bad magic string)");
    const int major = static_cast<unsigned char>(magic[6]);
    std::uint32_t header_len = 0;
    if (major == 1) {
        unsigned char b[2];
        if (!in.read(reinterpret_cast<char*>(b), 2))
            fail(path, "truncated .npy header");
        header_len = b[0] | (b[1] << 8);
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (!in.read(reinterpret_cast<char*>(b), 4))
            fail(path, "truncated .npy header");
        header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24);
    } else {
        fail(path, "unsupported .npy format version " + std::to_string(major));
    }
    if (header_len > (1u << 20))
        fail(path, "implausible .npy header length");
    std::string header(header_len, '\0');
    if (!in.read(header.data(), header_len))
        fail(path, "truncated .npy header");

    const std::string descr = header_value(header, "descr");
    const std::string fortran = header_value(header, "fortran_order");
    const std::string shape_text = header_value(header, "shape");
    if (descr.empty() || fortran.empty() || shape_text.empty())
        fail(path, "malformed .npy header");
    if (fortran == "True")
        fail(path, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");

    NpyArray a;
    {
        std::string inner = shape_text.substr(1, shape_text.size() - 2);
        std::stringstream ss(inner);
        std::string item;
        while (std::getline(ss, item, ',')) {
            const auto first = item.find_first_not_of(" \t");
            if (first == std::string::npos)
                continue;
            try {
                const long long v = std::stoll(item.substr(first));
                if (v < 0)
                    fail(path, "negative dimension in .npy shape");
                a.shape.push_back(v);
            } catch (const std::logic_error&) {
                fail(path, "malformed .npy shape " + shape_text);
            }
        }
    }
    const std::string dt = descr.substr(1, descr.size() - 2);
    int item_size = 0;
    bool is_float = false;
    if (dt == "<f4" || dt == "=f4") { item_size = 4; is_float = true; }
    else if (dt == "<f8" || dt == "=f8") { item_size = 8; is_float = true; }
    else if (dt == "<i8" || dt == "=i8") { item_size = 8; }
    else if (dt == "<i4" || dt == "=i4") { item_size = 4; }
    else
        fail(path, "unsupported dtype '" + dt + "' (expected float32, float64, int64 or int32)");

    const std::int64_t n = a.numel();
    if (n > (std::int64_t{1} << 32))
        fail(path, "array too large");
    std::vector<char> raw(static_cast<std::size_t>(n) * item_size);
    if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
        fail(path, "truncated .npy file: expected " + std::to_string(n) + " values of shape " +
                       a.shape_string());
    if (is_float) {
        a.dtype = NpyArray::DType::Float32;
        a.f32.resize(n);
        if (item_size == 4) {
            std::memcpy(a.f32.data(), raw.data(), raw.size());
        } else {
            for (std::int64_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, raw.data() + i * 8, 8);
                a.f32[i] = static_cast<float>(d);
            }
        }
    } else {
        a.dtype = NpyArray::DType::Int64;
        a.i64.resize(n);
        if (item_size == 8) {
            std::memcpy(a.i64.data(), raw.data(), raw.size());
        } else {
            for (std::int64_t i = 0; i < n; ++i) {
                std::int32_t v;
                std::memcpy(&v, raw.data() + i * 4, 4);
                a.i64[i] = v;
            }
        }
    }
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
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        throw InputError(path.string() + ": cannot write file");
    const std::uint16_t len = static_cast<std::uint16_t>(header.size());
    out.write("\x93NUMPY\x01\x00", 8);
    out.put(static_cast<char>(len & 0xff));
    out.put(static_cast<char>(len >> 8));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n * item_size));
    if (!out)
        throw InputError(path.string() + ": write failed");
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

} // namespace noisetrail
