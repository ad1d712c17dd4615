// libFuzzer target: read_npy on arbitrary bytes. Bad input must end in
// InputError; anything else (a crash, a sanitizer report, another exception,
// an allocation beyond the input's size) is a finding.
#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size), std::ios::binary);
    try {
        const noisetrail::NpyArray a = noisetrail::read_npy(in, size, "fuzz.npy");
        // What read_npy returns is consistent: the data hold numel() values, and
        // holding them took at most twice the input (int32 -> int64).
        const std::size_t n = a.dtype == noisetrail::NpyArray::DType::Float32 ? a.f32.size() : a.i64.size();
        if (static_cast<std::int64_t>(n) != a.numel() || n * 8 > 2 * size + 8)
            std::abort();
    } catch (const noisetrail::InputError&) {
    }
    return 0;
}
