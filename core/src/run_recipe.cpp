// Run recipes (contract section 4): writing the file, the initial noise, and the run set they describe.
#include "noisetrail/run_recipe.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <cmath>
#include <fstream>
#include <map>

namespace noisetrail {

namespace fs = std::filesystem;

// Reading and writing the recipe's JSON: run_recipe_json.cpp (torch-free, shared with sessions).

void write_run_recipe(const fs::path& file, const RunSetRecipe& r)
{
    write_file_atomic(file, run_recipe_text(r, file), "run recipe");
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
    // Named here, where the file is known (Run's own check cannot name it).
    for (std::size_t i = 0; i < a.f32.size(); ++i)
        if (!std::isfinite(a.f32[i]))
            throw InputError(what + ": holds non-finite values (the first at flat index " + std::to_string(i) + ")");
    return std::move(a.f32);
}

RunSet make_run_set(const RunSetRecipe& recipe, const RunSetOptions& options)
{
    if (recipe.panels.empty())
        throw InputError("a run recipe needs at least one panel");
    // Each distinct card once: panels of one model share the object (and can share calls).
    std::map<fs::path, std::shared_ptr<const Model>> loaded;
    const auto load = [&](const fs::path& card) {
        const fs::path key = fs::weakly_canonical(fs::absolute(card));
        auto& m = loaded[key];
        if (!m && options.loaded)
            m = options.loaded(card);
        if (!m)
            m = Model::load(card, options.device, options.trust);
        return m;
    };
    const std::shared_ptr<const Model> top = load(recipe.model);
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
        const std::shared_ptr<const Model> model = p.model.empty() ? top : load(p.model);
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
