// Lessons (*.lesson.json, docs/LESSONS.md): a teacher's script, an ordered list
// of steps, each a run recipe (core's noisetrail-run/1, read by the one recipe
// reader), what the window shows and a short Markdown caption. Parsed as hostile
// input: bounded size and depth, every problem one InputError naming the file
// and the field. Torch-free (the fuzz target links it alone).
#pragma once
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/trajectory.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace noisetrail {

/// The window's bottom tabs a step may bring to the front (while presenting: the large
/// view under the panels). None: no large view while presenting, the window's tab as it is.
enum class LessonTab { Statistics, Forward, ReverseStep, None };
std::string to_string(LessonTab tab); ///< "statistics", "forward", "reverse_step", "none"

/// The timeline position a step shows: the noise level t (T-1 is pure noise, 0 the
/// last step) or kLessonFinal, the final samples (the timeline's own convention).
inline constexpr int kLessonFinal = -1;

/// "play": the timeline plays from `from` down to `to` (towards less noise).
struct LessonPlay {
    int from = 0;
    int to = kLessonFinal;
    std::optional<int> speed; ///< timeline stops per second (1..2000, the timeline's own unit); unset: as set

    bool operator==(const LessonPlay&) const = default;
};

/// What a step shows. Unset keys leave the window as the presenter has it.
struct LessonView {
    std::optional<Field> field;        ///< "field": x_t, x0_hat or eps_hat
    std::optional<LessonTab> tab;      ///< "tab"
    std::optional<bool> presentation;  ///< "presentation": F5's mode on or off
    /// "cursor": where the timeline stands once the run has reached it; unset: the final samples.
    std::optional<int> cursor;
    /// "play": {"from": t, "to": t, "speed": n}: the timeline plays the range once the run is done.
    std::optional<LessonPlay> play;

    bool operator==(const LessonView&) const = default;
};

struct LessonStep {
    std::string title;    ///< one line, shown as "step k of n: title"
    std::string caption;  ///< Markdown (no HTML), shown large under the panels
    RunSetRecipe recipe;  ///< "recipe": a run recipe object, paths relative to the lesson's folder
    LessonView show;      ///< "show"

    bool operator==(const LessonStep&) const = default;
};

struct Lesson {
    std::string title;
    std::vector<LessonStep> steps; ///< at least one

    bool operator==(const Lesson&) const = default;
};

inline constexpr std::uintmax_t kMaxLessonBytes = std::uintmax_t{1} << 20; ///< a lesson file (1 MiB)
inline constexpr std::size_t kMaxLessonSteps = 200;
inline constexpr std::size_t kMaxLessonTitleBytes = 200;   ///< a lesson's or a step's title
inline constexpr std::size_t kMaxLessonCaptionBytes = 4000; ///< a caption: a slide's worth of text

/// Read a lesson. InputError "lesson FILE: field 'steps[2].recipe.panels[0].eta' must be >= 0"
/// for every problem: missing or oversized file, malformed JSON or not UTF-8, nesting too deep,
/// wrong "format", unknown keys, missing or mistyped fields, over-long titles or captions.
/// The recipes' sampler names and steps are checked against their models in make_run_set.
Lesson read_lesson(const std::filesystem::path& file);

/// The same from the lesson's text; `file` names it and anchors its relative paths.
Lesson parse_lesson(const std::string& text, const std::filesystem::path& file);

/// The text write_lesson writes to `file`: pretty JSON that parse_lesson reads back equal,
/// paths relative to the file's folder where they share a root with it.
std::string lesson_text(const Lesson& lesson, const std::filesystem::path& file);

/// Write `lesson` to `file` atomically; InputError naming the file if it cannot be written.
void write_lesson(const std::filesystem::path& file, const Lesson& lesson);

} // namespace noisetrail
