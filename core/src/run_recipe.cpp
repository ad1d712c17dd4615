// Run recipes (contract section 4): reading, writing, and the run set they describe.
#include "noisetrail/run_recipe.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace noisetrail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "noisetrail-run/1";
constexpr std::uintmax_t kMaxRecipeBytes = 1 << 20; // a recipe is a few hundred bytes; refuse anything huge
constexpr std::size_t kMaxPanels = 64;

/// Reads one recipe file, every error naming the file and the field.
class RecipeReader {
public:
    explicit RecipeReader(fs::path file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& field, const std::string& what) const
    {
        throw InputError("run recipe " + file_.string() + ": " + (field.empty() ? "" : "field '" + field + "' ") +
                         what);
    }

    json parse() const
    {
        std::error_code ec;
        if (!fs::exists(file_, ec))
            fail("", "does not exist");
        if (!fs::is_regular_file(file_, ec))
            fail("", "is not a regular file");
        const auto size = fs::file_size(file_, ec);
        if (ec || size > kMaxRecipeBytes)
            fail("", "is larger than " + std::to_string(kMaxRecipeBytes) + " bytes; not a run recipe");
        std::ifstream in(file_, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in && !in.eof())
            fail("", "cannot be read");
        try {
            return json::parse(text.str());
        } catch (const json::parse_error& e) {
            fail("", std::string("is not valid JSON (") + e.what() + ")");
        }
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
        const fs::path p(s);
        return p.is_absolute() ? p.lexically_normal() : (file_.parent_path() / p).lexically_normal();
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
        only_keys(j, where, {"model", "sampler", "steps", "eta", "spacing", "variance", "clip_x0"});
        PanelRecipe p;
        if (j.contains("model"))
            p.model = path(j["model"], where + ".model");
        if (j.contains("sampler")) {
            p.sampler.sampler = text(j["sampler"], where + ".sampler");
            parsed(where + ".sampler", [&] { return sampler_info(p.sampler.sampler); });
        }
        if (j.contains("steps"))
            p.sampler.steps = static_cast<int>(integer(j["steps"], where + ".steps", 1, 1000000));
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
        return p;
    }

    RunSetRecipe read() const
    {
        const json j = parse();
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
    fs::path file_;
};

/// `p` relative to `dir` when both are absolute or both relative (so the recipe
/// moves with its files), else as given.
std::string relative_to(const fs::path& p, const fs::path& dir)
{
    if (p.is_absolute() == dir.is_absolute()) {
        const fs::path rel = p.lexically_relative(dir.empty() ? fs::path(".") : dir);
        if (!rel.empty())
            return rel.generic_string();
    }
    return p.generic_string();
}

} // namespace

RunSetRecipe read_run_recipe(const fs::path& file)
{
    return RecipeReader(file).read();
}

void write_run_recipe(const fs::path& file, const RunSetRecipe& r)
{
    const fs::path dir = file.parent_path().lexically_normal();
    json j;
    j["format"] = kFormat;
    j["model"] = relative_to(r.model, dir);
    j["seed"] = r.seed;
    if (r.batch)
        j["batch"] = *r.batch;
    if (r.init_noise)
        j["init_noise"] = relative_to(*r.init_noise, dir);
    j["pacing"] = to_string(r.pacing);
    json panels = json::array();
    for (const PanelRecipe& p : r.panels) {
        json q;
        if (!p.model.empty())
            q["model"] = relative_to(p.model, dir);
        q["sampler"] = p.sampler.sampler;
        if (p.sampler.steps != 0)
            q["steps"] = p.sampler.steps;
        q["eta"] = p.sampler.eta;
        q["spacing"] = to_string(p.sampler.spacing);
        q["variance"] = to_string(p.sampler.variance);
        if (p.sampler.clip_x0) // a radius <= 0 means off (SamplerConfig)
            q["clip_x0"] = *p.sampler.clip_x0 > 0 ? json(*p.sampler.clip_x0) : json("off");
        panels.push_back(q);
    }
    j["panels"] = panels;
    std::ofstream out(file);
    out << j.dump(2) << '\n';
    if (!out)
        throw InputError("run recipe " + file.string() + ": cannot write file");
}

std::vector<float> read_initial_noise(const fs::path& file, const std::vector<std::int64_t>& data_shape,
                                      const std::string& what)
{
    NpyArray a = read_npy(file); // its errors name the file
    if (a.dtype != NpyArray::DType::Float32)
        throw InputError(what + ": expected float32 (or float64) data, got integers");
    bool ok = a.shape.size() == data_shape.size() + 1 && !a.shape.empty() && a.shape[0] >= 1;
    for (std::size_t i = 0; ok && i < data_shape.size(); ++i)
        ok = a.shape[i + 1] == data_shape[i];
    if (!ok) {
        std::string want = "[B";
        for (auto d : data_shape)
            want += ", " + std::to_string(d);
        throw InputError(what + ": shape " + a.shape_string() + " does not match " + want +
                         "] (the model's data_shape)");
    }
    return std::move(a.f32);
}

RunSet make_run_set(const RunSetRecipe& recipe, const RunSetOptions& options)
{
    if (recipe.panels.empty())
        throw InputError("a run recipe needs at least one panel");
    // Each distinct card once: panels of one model share the object (and can share calls).
    std::map<fs::path, std::shared_ptr<Model>> loaded;
    const auto load = [&](const fs::path& card) {
        const fs::path key = fs::weakly_canonical(fs::absolute(card));
        auto& m = loaded[key];
        if (!m)
            m = Model::load(card, options.device);
        return m;
    };
    const std::shared_ptr<Model> top = load(recipe.model);
    const ModelCard& top_card = top->card();

    std::optional<std::vector<float>> x_T;
    int batch = recipe.batch.value_or(default_batch(top_card));
    if (recipe.init_noise) {
        x_T = read_initial_noise(*recipe.init_noise, top_card.data_shape, "init_noise " + recipe.init_noise->string());
        const int file_batch = static_cast<int>(x_T->size() / top_card.data_dim());
        if (recipe.batch && *recipe.batch != file_batch)
            throw InputError("batch " + std::to_string(*recipe.batch) + " does not match init_noise " +
                             recipe.init_noise->string() + ", which holds a batch of " + std::to_string(file_batch));
        batch = file_batch;
    }

    std::vector<std::shared_ptr<Run>> runs;
    for (std::size_t i = 0; i < recipe.panels.size(); ++i) {
        const PanelRecipe& p = recipe.panels[i];
        const std::string where = "panels[" + std::to_string(i) + "]";
        const std::shared_ptr<Model> model = p.model.empty() ? top : load(p.model);
        if (model->card().data_shape != top_card.data_shape) {
            const auto shape = [](const std::vector<std::int64_t>& s) {
                std::string out = "[";
                for (std::size_t k = 0; k < s.size(); ++k)
                    out += (k ? ", " : "") + std::to_string(s[k]);
                return out + "]";
            };
            throw InputError(where + ".model " + p.model.string() + ": data_shape " + shape(model->card().data_shape) +
                             " does not match " + shape(top_card.data_shape) + " of the top-level model " +
                             recipe.model.string());
        }
        RunOptions o;
        o.sampler = p.sampler;
        o.seed = recipe.seed;
        o.batch = batch;
        o.init_noise = x_T;
        o.threads = options.threads;
        try {
            runs.push_back(std::make_shared<Run>(model, o));
        } catch (const InputError& e) {
            // Config errors name the `sample` flag ("--steps must be ..."); here the key is meant.
            const std::string msg = e.what();
            throw InputError(where + ": " + (msg.rfind("--", 0) == 0 ? msg.substr(2) : msg));
        }
    }
    return RunSet(std::move(runs), options.pacing.value_or(recipe.pacing), options.merge);
}

} // namespace noisetrail
