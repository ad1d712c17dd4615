// Run recipe JSON (contract section 4): the field-by-field reader and the writer,
// shared by recipe files and sessions. Torch-free; see run_recipe_json.hpp.
#include "run_recipe_json.hpp"

#include "json_file.hpp"
#include "noisetrail/errors.hpp"

#include <cmath>
#include <set>

namespace noisetrail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "noisetrail-run/1";
constexpr std::uintmax_t kMaxRecipeBytes = 1 << 20; // a recipe is a few hundred bytes; refuse anything huge
constexpr std::size_t kMaxPanels = 64;

/// Reads one recipe, every error naming its source and the field.
class RecipeReader {
public:
    explicit RecipeReader(const detail::RecipeSource& source) : src_(source) {}

    [[noreturn]] void fail(const std::string& field, const std::string& what) const
    {
        std::string name = src_.field_root;
        if (!field.empty())
            name += (name.empty() ? "" : ".") + field;
        throw InputError(src_.what + ": " + (name.empty() ? "" : "field '" + name + "' ") + what);
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

    std::string text(const json& v, const std::string& field) const
    {
        if (!v.is_string())
            fail(field, "must be a string");
        return v.get<std::string>();
    }

    fs::path path(const json& v, const std::string& field) const
    {
        const std::string s = text(v, field);
        if (s.empty())
            fail(field, "must not be empty");
        // JSON allows "\u0000"; the operating system would silently cut the path there.
        if (s.find('\0') != std::string::npos)
            fail(field, "contains a NUL character (\\u0000); a file path cannot");
        const fs::path p(s);
        return p.is_absolute() ? p.lexically_normal() : (src_.folder / p).lexically_normal();
    }

    long long integer(const json& v, const std::string& field, long long lo, long long hi) const
    {
        if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
            fail(field, "must be an integer");
        const double d = v.get<double>();
        if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
            fail(field, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
        return v.is_number_unsigned() ? static_cast<long long>(v.get<unsigned long long>()) : v.get<long long>();
    }

    double number(const json& v, const std::string& field) const
    {
        if (!v.is_number() || !std::isfinite(v.get<double>()))
            fail(field, "must be a finite number");
        return v.get<double>();
    }

    template <typename F>
    auto parsed(const std::string& field, F&& f) const
    {
        try {
            return f();
        } catch (const InputError& e) {
            // parse_* name the flag ("--spacing: unknown spacing 'x' ..."); name the field instead.
            std::string msg = e.what();
            if (const auto colon = msg.find(": "); colon != std::string::npos && msg.rfind("--", 0) == 0)
                msg = msg.substr(colon + 2);
            fail(field, msg);
        }
    }

    PanelRecipe panel(const json& j, const std::string& where) const
    {
        if (!j.is_object())
            fail(where, "must be an object");
        only_keys(j, where, {"model", "sampler", "steps", "eta", "spacing", "variance", "clip_x0", "class", "classes",
                             "guidance", "guidance_interval"});
        PanelRecipe p;
        if (j.contains("model"))
            p.model = path(j["model"], where + ".model");
        if (j.contains("sampler")) {
            p.sampler.sampler = text(j["sampler"], where + ".sampler");
            parsed(where + ".sampler", [&] { return sampler_info(p.sampler.sampler); });
        }
        // Omitted: the sampler's default (SamplerConfig::steps = 0). An explicit 0 once ran
        // the default silently; it is an error like --steps 0, except in sessions, which store it.
        if (j.contains("steps"))
            p.sampler.steps = static_cast<int>(
                integer(j["steps"], where + ".steps", src_.zero_steps_is_default ? 0 : 1, 1000000));
        if (j.contains("eta")) {
            p.sampler.eta = number(j["eta"], where + ".eta");
            if (p.sampler.eta < 0)
                fail(where + ".eta", "must be >= 0");
        }
        if (j.contains("spacing"))
            p.sampler.spacing = parsed(where + ".spacing",
                                       [&] { return parse_spacing(text(j["spacing"], where + ".spacing")); });
        if (j.contains("variance"))
            p.sampler.variance = parsed(where + ".variance",
                                        [&] { return parse_variance(text(j["variance"], where + ".variance")); });
        if (j.contains("clip_x0")) {
            const json& c = j["clip_x0"];
            if (c.is_string() && c.get<std::string>() == "off")
                p.sampler.clip_x0 = 0.0;
            else if (c.is_number() && std::isfinite(c.get<double>()) && c.get<double>() > 0)
                p.sampler.clip_x0 = c.get<double>();
            else
                fail(where + ".clip_x0", "must be a number > 0 or \"off\"");
        }
        // Contract section 9. Which classes exist is the card's to say (checked when it runs).
        if (j.contains("class") && j.contains("classes"))
            fail(where + ".classes", "give 'class' or 'classes', not both");
        if (j.contains("class"))
            p.sampler.guidance.classes.push_back(static_cast<int>(integer(j["class"], where + ".class", 0, 999)));
        if (j.contains("classes")) {
            const json& c = j["classes"];
            if (!c.is_array() || c.empty() || c.size() > 1000000)
                fail(where + ".classes", "must be a non-empty array of class indices");
            for (const json& k : c)
                p.sampler.guidance.classes.push_back(static_cast<int>(integer(k, where + ".classes", 0, 999)));
        }
        if (j.contains("guidance"))
            p.sampler.guidance.scale = number(j["guidance"], where + ".guidance");
        if (j.contains("guidance_interval")) {
            const json& v = j["guidance_interval"];
            if (!v.is_array() || v.size() != 2)
                fail(where + ".guidance_interval", "must be [LO, HI]");
            p.sampler.guidance.interval = std::array<double, 2>{number(v[0], where + ".guidance_interval"),
                                                                number(v[1], where + ".guidance_interval")};
        }
        parsed(where, [&] { // the flag rules (W needs a class, LO <= HI), named by the field
            const Guidance& g = p.sampler.guidance;
            if ((g.scale || g.interval) && g.classes.empty())
                throw InputError("'guidance' and 'guidance_interval' need 'class' or 'classes'");
            if (g.scale && std::abs(*g.scale) > 1000.0)
                throw InputError("'guidance' must be in -1000..1000");
            if (g.interval && (*g.interval)[0] > (*g.interval)[1])
                throw InputError("'guidance_interval' must be [LO, HI] with LO <= HI");
            return 0;
        });
        return p;
    }

    RunSetRecipe read(const json& j) const
    {
        if (!j.is_object())
            fail("", "must hold a JSON object");
        only_keys(j, "", {"format", "model", "seed", "batch", "init_noise", "pacing", "panels"});
        RunSetRecipe r;
        if (j.contains("format") && text(j["format"], "format") != kFormat)
            fail("format", "is '" + j["format"].get<std::string>() + "', expected '" + kFormat + "'");
        if (!j.contains("model"))
            fail("model", "is missing (the model card the panels use)");
        r.model = path(j["model"], "model");
        if (j.contains("seed"))
            r.seed = static_cast<std::uint64_t>(integer(j["seed"], "seed", 0, 1LL << 53));
        if (j.contains("batch"))
            r.batch = static_cast<int>(integer(j["batch"], "batch", 1, 1000000));
        if (j.contains("init_noise"))
            r.init_noise = path(j["init_noise"], "init_noise");
        if (j.contains("pacing"))
            r.pacing = parsed("pacing", [&] { return parse_pacing(text(j["pacing"], "pacing")); });
        if (!j.contains("panels"))
            fail("panels", "is missing (a list of panels, each a sampler configuration)");
        const json& panels = j["panels"];
        if (!panels.is_array() || panels.empty() || panels.size() > kMaxPanels)
            fail("panels", "must be a list of 1.." + std::to_string(kMaxPanels) + " panels");
        for (std::size_t i = 0; i < panels.size(); ++i)
            r.panels.push_back(panel(panels[i], "panels[" + std::to_string(i) + "]"));
        return r;
    }

private:
    const detail::RecipeSource& src_;
};

/// `p` relative to `folder` where both (made absolute) share a root, so the
/// recipe moves with its files; else `p` absolute.
std::string relative_to(const fs::path& p, const fs::path& folder)
{
    std::error_code ec;
    const fs::path abs = fs::absolute(p, ec).lexically_normal();
    const fs::path base = fs::absolute(folder.empty() ? fs::path(".") : folder, ec).lexically_normal();
    if (abs.root_path() == base.root_path()) {
        const fs::path rel = abs.lexically_relative(base);
        if (!rel.empty())
            return rel.generic_string();
    }
    return abs.generic_string();
}

} // namespace

namespace detail {

RunSetRecipe recipe_from_json(const json& j, const RecipeSource& source)
{
    return RecipeReader(source).read(j);
}

json recipe_to_json(const RunSetRecipe& r, const fs::path& folder)
{
    json j;
    j["format"] = kFormat;
    j["model"] = relative_to(r.model, folder);
    j["seed"] = r.seed;
    if (r.batch)
        j["batch"] = *r.batch;
    if (r.init_noise)
        j["init_noise"] = relative_to(*r.init_noise, folder);
    j["pacing"] = to_string(r.pacing);
    json panels = json::array();
    for (const PanelRecipe& p : r.panels) {
        json q;
        if (!p.model.empty())
            q["model"] = relative_to(p.model, folder);
        q["sampler"] = p.sampler.sampler;
        if (p.sampler.steps != 0)
            q["steps"] = p.sampler.steps;
        q["eta"] = p.sampler.eta;
        if (p.sampler.spacing) // omitted: the sampler's default
            q["spacing"] = to_string(*p.sampler.spacing);
        q["variance"] = to_string(p.sampler.variance);
        if (p.sampler.clip_x0) // a radius <= 0 means off (SamplerConfig)
            q["clip_x0"] = *p.sampler.clip_x0 > 0 ? json(*p.sampler.clip_x0) : json("off");
        const Guidance& g = p.sampler.guidance;
        if (g.classes.size() == 1)
            q["class"] = g.classes[0];
        else if (!g.classes.empty())
            q["classes"] = g.classes;
        if (g.scale)
            q["guidance"] = *g.scale;
        if (g.interval)
            q["guidance_interval"] = {(*g.interval)[0], (*g.interval)[1]};
        panels.push_back(q);
    }
    j["panels"] = panels;
    return j;
}

} // namespace detail

RunSetRecipe parse_run_recipe(const std::string& text, const fs::path& file)
{
    const std::string what = "run recipe " + file.string();
    return detail::recipe_from_json(detail::parse_json(text, what), {what, "", file.parent_path()});
}

RunSetRecipe read_run_recipe(const fs::path& file)
{
    // The bounded reader and named JSON errors shared by every JSON file (json_file.hpp).
    return parse_run_recipe(detail::read_regular_file(file, "run recipe " + file.string(), kMaxRecipeBytes), file);
}

std::string run_recipe_text(const RunSetRecipe& recipe, const fs::path& file)
{
    return detail::recipe_to_json(recipe, file.parent_path().lexically_normal()).dump(2) + '\n';
}

} // namespace noisetrail
