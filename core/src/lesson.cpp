// Lesson files (docs/LESSONS.md): the reader and the writer. The recipes inside go
// through the one run recipe reader (run_recipe_json.hpp); the file through the
// bounded JSON reader every untrusted file uses (json_file.hpp). Torch-free.
#include "noisetrail/lesson.hpp"

#include "json_file.hpp"
#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/render.hpp"
#include "run_recipe_json.hpp"

#include <set>

namespace noisetrail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "noisetrail-lesson/1";
constexpr LessonTab kTabs[] = {LessonTab::Statistics, LessonTab::Forward, LessonTab::ReverseStep, LessonTab::None};

class LessonReader {
public:
    LessonReader(std::string what, fs::path folder) : what_(std::move(what)), folder_(std::move(folder)) {}

    [[noreturn]] void fail(const std::string& field, const std::string& why) const
    {
        throw InputError(what_ + ": " + (field.empty() ? "" : "field '" + field + "' ") + why);
    }

    void only_keys(const json& obj, const std::string& where, const std::set<std::string>& allowed) const
    {
        for (const auto& [key, value] : obj.items())
            if (!allowed.count(key)) {
                std::string list;
                for (const auto& k : allowed)
                    list += (list.empty() ? "" : ", ") + k;
                fail(where.empty() ? key : where + "." + key, "is not a known key (expected one of " + list + ")");
            }
    }

    std::string text(const json& v, const std::string& field, std::size_t max_bytes, bool one_line) const
    {
        if (!v.is_string())
            fail(field, "must be a string");
        const std::string s = v.get<std::string>();
        if (s.size() > max_bytes)
            fail(field, "is " + std::to_string(s.size()) + " bytes long, more than the " + std::to_string(max_bytes) +
                            " allowed");
        for (const char c : s)
            if (c == '\0' || (one_line && (c == '\n' || c == '\r')))
                fail(field, one_line ? "must be one line of text" : "contains a NUL character");
        return s;
    }

    /// A timeline position: an integer t in -1..1000000 or "final" (-1).
    int position(const json& v, const std::string& field) const
    {
        if (v.is_string() && v.get<std::string>() == "final")
            return kLessonFinal;
        if (!v.is_number_integer())
            fail(field, "must be a noise level t (an integer, T-1 is pure noise) or \"final\"");
        if (v.is_number_unsigned() ? v.get<unsigned long long>() > 1000000ull
                                   : (v.get<long long>() < kLessonFinal || v.get<long long>() > 1000000))
            fail(field, "must be in -1..1000000 or \"final\"");
        return static_cast<int>(v.get<long long>());
    }

    LessonView view(const json& j, const std::string& where) const
    {
        if (!j.is_object())
            fail(where, "must be an object");
        only_keys(j, where, {"field", "tab", "presentation", "cursor", "play"});
        LessonView v;
        if (j.contains("field")) {
            const std::string name = text(j["field"], where + ".field", 16, true);
            try {
                v.field = parse_field(name, "field");
            } catch (const InputError&) {
                fail(where + ".field", "must be x_t, x0_hat or eps_hat, got '" + name + "'");
            }
        }
        if (j.contains("tab")) {
            const std::string name = text(j["tab"], where + ".tab", 32, true);
            for (LessonTab t : kTabs)
                if (name == to_string(t))
                    v.tab = t;
            if (!v.tab)
                fail(where + ".tab", "must be statistics, forward, reverse_step or none, got '" + name + "'");
        }
        if (j.contains("presentation")) {
            if (!j["presentation"].is_boolean())
                fail(where + ".presentation", "must be true or false");
            v.presentation = j["presentation"].get<bool>();
        }
        if (j.contains("cursor") && j.contains("play"))
            fail(where, "has both 'cursor' and 'play'; a step either stands at a position or plays a range");
        if (j.contains("cursor"))
            v.cursor = position(j["cursor"], where + ".cursor");
        if (j.contains("play")) {
            const json& p = j["play"];
            if (!p.is_object())
                fail(where + ".play", "must be an object {\"from\": t, \"to\": t}");
            only_keys(p, where + ".play", {"from", "to", "speed"});
            if (!p.contains("from") || !p.contains("to"))
                fail(where + ".play", "needs both 'from' and 'to'");
            LessonPlay play;
            play.from = position(p["from"], where + ".play.from");
            play.to = position(p["to"], where + ".play.to");
            // The timeline plays as sampling goes: from noise (high t) towards the final samples.
            if (!(play.from > play.to))
                fail(where + ".play", "must play towards less noise: 'from' above 'to'");
            if (p.contains("speed")) {
                const json& n = p["speed"];
                if (!n.is_number_integer() || n.get<long long>() < 1 || n.get<long long>() > 2000 ||
                    (n.is_number_unsigned() && n.get<unsigned long long>() > 2000))
                    fail(where + ".play.speed", "must be an integer in 1..2000 (timeline stops per second)");
                play.speed = static_cast<int>(n.get<long long>());
            }
            v.play = play;
        }
        return v;
    }

    LessonStep step(const json& j, const std::string& where) const
    {
        if (!j.is_object())
            fail(where, "must be an object");
        only_keys(j, where, {"title", "caption", "recipe", "show"});
        LessonStep s;
        if (!j.contains("title"))
            fail(where + ".title", "is missing (one line naming the step)");
        s.title = text(j["title"], where + ".title", kMaxLessonTitleBytes, true);
        if (j.contains("caption"))
            s.caption = text(j["caption"], where + ".caption", kMaxLessonCaptionBytes, false);
        if (!j.contains("recipe"))
            fail(where + ".recipe", "is missing (a run recipe: model, seed, batch, pacing, panels)");
        if (!j["recipe"].is_object())
            fail(where + ".recipe", "must be a run recipe object");
        s.recipe = detail::recipe_from_json(j["recipe"], {what_, where + ".recipe", folder_});
        if (j.contains("show"))
            s.show = view(j["show"], where + ".show");
        return s;
    }

    Lesson read(const json& j) const
    {
        if (!j.is_object())
            fail("", "must hold a JSON object");
        only_keys(j, "", {"format", "title", "steps"});
        if (!j.contains("format"))
            fail("format", std::string("is missing (expected '") + kFormat + "')");
        if (const std::string f = text(j["format"], "format", 64, true); f != kFormat)
            fail("format", "is '" + f + "', expected '" + kFormat + "' (a newer NoiseTrail may read it)");
        Lesson l;
        if (!j.contains("title"))
            fail("title", "is missing");
        l.title = text(j["title"], "title", kMaxLessonTitleBytes, true);
        if (!j.contains("steps"))
            fail("steps", "is missing (the list of steps)");
        const json& steps = j["steps"];
        if (!steps.is_array() || steps.empty() || steps.size() > kMaxLessonSteps)
            fail("steps", "must be a list of 1.." + std::to_string(kMaxLessonSteps) + " steps");
        for (std::size_t i = 0; i < steps.size(); ++i)
            l.steps.push_back(step(steps[i], "steps[" + std::to_string(i) + "]"));
        return l;
    }

private:
    std::string what_;
    fs::path folder_;
};

json position_json(int t)
{
    return t == kLessonFinal ? json("final") : json(t);
}

} // namespace

std::string to_string(LessonTab tab)
{
    switch (tab) {
    case LessonTab::Statistics:
        return "statistics";
    case LessonTab::Forward:
        return "forward";
    case LessonTab::ReverseStep:
        return "reverse_step";
    case LessonTab::None:
        return "none";
    }
    return "statistics";
}

Lesson parse_lesson(const std::string& text, const fs::path& file)
{
    const std::string what = "lesson " + file.string();
    return LessonReader(what, file.parent_path()).read(detail::parse_json(text, what));
}

Lesson read_lesson(const fs::path& file)
{
    return parse_lesson(detail::read_regular_file(file, "lesson " + file.string(), kMaxLessonBytes), file);
}

std::string lesson_text(const Lesson& lesson, const fs::path& file)
{
    const fs::path folder = file.parent_path().lexically_normal();
    json steps = json::array();
    for (const LessonStep& s : lesson.steps) {
        json j;
        j["title"] = s.title;
        j["caption"] = s.caption;
        j["recipe"] = detail::recipe_to_json(s.recipe, folder);
        json show = json::object();
        if (s.show.field)
            show["field"] = to_string(*s.show.field);
        if (s.show.tab)
            show["tab"] = to_string(*s.show.tab);
        if (s.show.presentation)
            show["presentation"] = *s.show.presentation;
        if (s.show.cursor)
            show["cursor"] = position_json(*s.show.cursor);
        if (s.show.play) {
            show["play"] = {{"from", position_json(s.show.play->from)}, {"to", position_json(s.show.play->to)}};
            if (s.show.play->speed)
                show["play"]["speed"] = *s.show.play->speed;
        }
        j["show"] = show;
        steps.push_back(j);
    }
    json l;
    l["format"] = kFormat;
    l["title"] = lesson.title;
    l["steps"] = steps;
    return l.dump(2) + '\n';
}

void write_lesson(const fs::path& file, const Lesson& lesson)
{
    write_file_atomic(file, lesson_text(lesson, file), "lesson");
}

} // namespace noisetrail
