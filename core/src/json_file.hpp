// Bounded reading of the small files we trust least: model cards, training
// configs, checkpoint state, caches. One home for "read a regular file up to a
// limit" and "parse JSON, naming the file and the field on any error", so that
// no such file can exhaust memory, crash us or give an unnamed message.
// Internal to core (torch-free, so the fuzz targets can link it alone).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace noisetrail::detail {

/// The largest JSON document we read (16 MiB). The biggest legitimate one is a
/// card with an inline gaussian mixture: 100 means of 3x64x64 numbers are about
/// 12 MB. nlohmann holds a parsed number in 16 bytes, so the parsed document
/// stays within a few hundred MB.
inline constexpr std::uintmax_t kMaxJsonFileBytes = std::uintmax_t{16} << 20;

/// Deepest nesting accepted in a JSON document. Cards nest 3 levels
/// (mixture.means[k][c][h][w] is 5); the limit keeps recursive consumers
/// (dump(), comparisons) far from the stack's end.
inline constexpr int kMaxJsonDepth = 64;

/// The contents of `path`, which must be a regular file of at most `limit`
/// bytes. `what` names it in messages ("model card x.json"). Throws InputError
/// for a missing file, a directory, a device or FIFO, a file over the limit or
/// a read error.
std::string read_regular_file(const std::filesystem::path& path, const std::string& what,
                              std::uintmax_t limit = kMaxJsonFileBytes);

/// Parse JSON text. Any error (syntax, a number out of double range such as
/// 1e400, nesting deeper than kMaxJsonDepth) becomes one InputError line
/// "<what>: malformed JSON at field 'a.b': <reason>".
nlohmann::json parse_json(const std::string& text, const std::string& what);

/// read_regular_file + parse_json.
nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what,
                              std::uintmax_t limit = kMaxJsonFileBytes);

/// Checked conversions of one field's value `v`, its range checked before any
/// narrowing; `field` names it in messages ("<what>: field 'schedule.train_steps'
/// must be an integer in 1..1000000"). An integer may be written as a float
/// with an integral value (2e4).
long long json_integer(const nlohmann::json& v, const std::string& what, const std::string& field, long long lo,
                       long long hi);
double json_number(const nlohmann::json& v, const std::string& what, const std::string& field);
std::string json_string(const nlohmann::json& v, const std::string& what, const std::string& field);

} // namespace noisetrail::detail
