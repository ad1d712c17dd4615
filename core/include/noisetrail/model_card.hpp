// Model cards: the JSON description of every model (contract section 2).
#pragma once
#include "noisetrail/noise_schedule.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// What the denoiser outputs: eps, x_0, VP's v = sqrt(ab) eps - sqrt(1 - ab) x_0
/// (Salimans & Ho 2022), or the flow velocity v = eps - x_0 (flow cards only,
/// contract section 8).
enum class Prediction { Epsilon, Sample, V, Velocity };
std::string to_string(Prediction p);

struct ModelCard {
    std::filesystem::path path;     ///< the card file; relative paths in it resolve against its folder
    std::string format;             ///< "noisetrail-model/1"
    std::string name;
    std::string kind;               ///< gaussian-mixture | empirical | torchscript | native kinds
    std::string description;
    std::vector<std::int64_t> data_shape;
    Prediction prediction = Prediction::Epsilon;
    ScheduleConfig schedule;        ///< with the process (kind, shift; train_steps) of "process"
    std::optional<std::array<double, 2>> data_range; ///< e.g. [-1, 1] for images
    std::vector<std::string> labels;
    /// A conditional card's class names (contract section 9); empty: unconditional.
    /// Class k is the label k; len(classes) is the null (unconditional) label.
    std::vector<std::string> classes;
    std::string json_text;          ///< the whole card as read, for meta.json and kind-specific fields

    bool is_image() const;          ///< data_shape [C, H, W] with C in {1, 3}, or [H, W]
    bool is_2d_points() const { return data_shape.size() == 1 && data_shape[0] == 2; }
    /// Whether the card describes a denoiser one can sample from (a classifier card does not).
    bool is_denoiser() const { return kind != "noisetrail-classifier"; }
    bool is_conditional() const { return !classes.empty(); }
    /// The unconditional label of a conditional card: len(classes).
    std::int64_t null_label() const { return static_cast<std::int64_t>(classes.size()); }
    std::int64_t data_dim() const;  ///< product of data_shape
    /// Default x0 clipping radius: R = max|data_range| when a data range is given, else none.
    std::optional<double> default_clip() const;
    std::filesystem::path resolve(const std::string& relative) const;
};

/// Read and validate the common fields of a card. Throws InputError naming the
/// card and the field for a missing file, a directory or device, a file over
/// 16 MiB, malformed JSON (numbers out of range included), wrong format string,
/// unknown kind, prediction or schedule, or a bad data_shape.
ModelCard read_model_card(const std::filesystem::path& path);

/// The same from the card's text; `path` names it and anchors its relative paths.
ModelCard parse_model_card(std::string json_text, const std::filesystem::path& path);

/// Kinds a card may declare.
const std::vector<std::string>& model_kinds();

} // namespace noisetrail
