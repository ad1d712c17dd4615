// Content fingerprints: what a model *is*, independent of where it lies or when
// it was copied. Used by run recipes, sessions and the compare cache, so that a
// result computed on one machine is recognised on another (a fresh clone changes
// every path and modification time, never the bytes).
#pragma once
#include "noisetrail/model_card.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace noisetrail {

/// SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits.
std::string sha256_hex(std::span<const std::uint8_t> bytes);

/// Incremental SHA-256, for hashing several files without loading them together.
class Sha256 {
public:
    Sha256();
    void update(std::span<const std::uint8_t> bytes);
    void update(const std::string& text);
    /// Hash a whole regular file in chunks; InputError naming it if unreadable.
    void update_file(const std::filesystem::path& file);
    std::string hex(); ///< finishes the hash (call once)

private:
    void block(const std::uint8_t* p);
    std::uint32_t h_[8];
    std::uint8_t buf_[64];
    std::uint64_t length_ = 0; ///< bytes hashed so far
    std::size_t fill_ = 0;
};

/// "sha256:<hex>" of the card's own bytes followed by the bytes of every file
/// the card refers to (any string value in the card that resolves, relative to
/// the card, to an existing regular file: weights, data, TorchScript modules),
/// in the order the card lists them. InputError naming the card if unreadable.
std::string content_fingerprint(const ModelCard& card);

} // namespace noisetrail
