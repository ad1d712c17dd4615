// libFuzzer target: the lesson reader (noisetrail-lesson/1, docs/LESSONS.md) on
// arbitrary text. Bad input must end in InputError; a lesson that parsed must obey
// what the reader promises and survive a write/read round trip.
#include "noisetrail/errors.hpp"
#include "noisetrail/lesson.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace noisetrail;
    const std::filesystem::path file = "/fuzz/dir/l.lesson.json";
    Lesson l;
    try {
        l = parse_lesson(std::string(reinterpret_cast<const char*>(data), size), file);
    } catch (const InputError&) {
        return 0;
    }
    if (l.steps.empty() || l.steps.size() > kMaxLessonSteps || l.title.size() > kMaxLessonTitleBytes)
        std::abort();
    for (const LessonStep& s : l.steps) {
        if (s.title.size() > kMaxLessonTitleBytes || s.caption.size() > kMaxLessonCaptionBytes ||
            s.title.find('\n') != std::string::npos || s.recipe.panels.empty() || s.recipe.model.empty())
            std::abort();
        if (s.show.cursor && s.show.play)
            std::abort();
        if (s.show.play && !(s.show.play->from > s.show.play->to && s.show.play->to >= kLessonFinal &&
                             (!s.show.play->speed || (*s.show.play->speed >= 1 && *s.show.play->speed <= 2000))))
            std::abort();
    }
    // What the writer writes, the reader reads back equal (write_lesson's promise).
    try {
        if (!(parse_lesson(lesson_text(l, file), file) == l))
            std::abort();
    } catch (const InputError&) {
        std::abort();
    }
    return 0;
}
