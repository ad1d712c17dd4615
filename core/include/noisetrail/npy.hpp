// NumPy .npy files (format 1.0-3.0), the exchange format of the CLI.
#pragma once
#include <cstdint>
#include <filesystem>
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

    std::int64_t numel() const;
    std::string shape_string() const; ///< "[4, 2]"
};

/// Read a .npy file. Accepted dtypes: float32, float64 (converted to float32),
/// int64, int32 (converted to int64). Throws InputError naming the file for a
/// missing file, bad magic, unsupported dtype, Fortran order or truncation.
NpyArray read_npy(const std::filesystem::path& path);

/// Write float32 or int64 data; throws InputError if the file cannot be written.
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const float* data);
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               const std::int64_t* data);

} // namespace noisetrail
