// The compare cache (compare-cache.json, noisetrail-compare-cache/1): reading
// it and its cells. A cache may be stale, hand-edited or not a cache at all;
// it is never an error, only a warning and a recomputation. Torch-free, so
// tests/fuzz/fuzz_compare_cache.cpp links it alone; the grid and the writing
// stay in compare.cpp.
#pragma once
#include "noisetrail/compare.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail::compare::detail {

inline constexpr const char* kCacheFormat = "noisetrail-compare-cache/1";

/// {"format": kCacheFormat, "cells": {}}
nlohmann::json empty_cache();

/// The cache in `text`, or empty_cache() and a warning naming `file` when the
/// text is not a compare cache (bad JSON, wrong format, no "cells" object).
nlohmann::json parse_cache(const std::string& text, const std::filesystem::path& file,
                           std::vector<std::string>* warnings);

/// The cache in `file`: empty_cache() when `use` is false or the file does not
/// exist; empty_cache() and a warning when it is not a regular file, larger
/// than kMaxCacheBytes, unreadable or not a compare cache.
nlohmann::json load_cache(const std::filesystem::path& file, bool use, std::vector<std::string>* warnings);

/// A cached cell, or nullopt (and why) when it lacks `metrics` or holds a value that is
/// neither a number nor null (null: a non-finite value, as written).
std::optional<Cell> cell_from_json(const nlohmann::json& e, std::string* why);

/// The cell under `key`, if the cells hold a well-formed one; a malformed one is skipped
/// with a warning (it is recomputed like a missing one).
const nlohmann::json* usable_entry(const nlohmann::json& cells, const std::string& key,
                                   std::vector<std::string>* warnings);

} // namespace noisetrail::compare::detail
