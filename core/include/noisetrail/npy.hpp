// NumPy .npy files (format 1.0-3.0), the exchange format of the CLI.
#pragma once
#include <cstdint>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace noisetrail {

/// A C-ordered array read from or written to .npy. Floating data are held as
/// float32 (float64 input is converted), integer data as int64.
struct NpyArray {
    enum class DType { Float32, Int64 };
    DType dtype = DType::Float32;
    std::vector<std::int64_t> shape;
    std::vector<float> f32;       ///< when dtype == Float32
    std::vector<std::int64_t> i64; ///< when dtype == Int64

    /// Product of the shape; throws InputError if it overflows int64 (read_npy
    /// checks this, so an array it returned never does).
    std::int64_t numel() const;
    std::string shape_string() const; ///< "[4, 2]"
};

/// Longest .npy header read_npy accepts: numpy's own reading limit
/// (numpy.lib.format, max_header_size = 10000). numpy writes headers of 128 or
/// so bytes; a longer one is a broken or hostile file.
inline constexpr std::size_t kMaxNpyHeaderBytes = 10000;

/// The most memory one .npy array may make read_npy allocate (its data after
/// conversion to float32 or int64). Default 2 GiB; raised for genuine large
/// data with noisetrail-cli --max-input-mib. Since the declared size is checked
/// against the file's size before anything is allocated, only a file that
/// really is that large can reach the limit.
std::uint64_t npy_size_limit();
void set_npy_size_limit(std::uint64_t bytes);

/// Read a .npy file. Accepted dtypes: float32, float64 (converted to float32),
/// int64, int32 (converted to int64). Throws InputError naming the file for a
/// missing file, a directory or device, bad magic, a malformed or over-long
/// header, an unsupported dtype, Fortran order, a shape whose element count
/// overflows, truncation (checked before allocating) or an array over
/// npy_size_limit(); std::runtime_error naming the file if memory runs out.
NpyArray read_npy(const std::filesystem::path& path);

/// The same from a stream of `size` bytes; `name` names it in messages.
NpyArray read_npy(std::istream& in, std::uint64_t size, const std::filesystem::path& name);

/// Write float32, int64 or float64 data; throws InputError if the file cannot be written.
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const float* data);
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const std::int64_t* data);
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const double* data);

} // namespace noisetrail
