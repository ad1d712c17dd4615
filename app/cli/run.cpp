// noisetrail-cli run: several panels from one run recipe, sharing x_T, under a pacing (contract section 4).
#include "commands.hpp"
#include "dump.hpp"
#include "progress.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/run_recipe.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace noisetrail::cli {

const char* const kRunHelp = R"(usage: noisetrail-cli run --config RUN.json [options]

Run the panels of a run recipe (*.run.json) from one shared x_T, stepping them
together under a pacing policy.

  --config RUN.json     the run recipe: model, seed, batch, init_noise, pacing, panels
  --pacing NAME         lockstep (default: the panels whose next timestep is the
                        highest go next, so all reach t = 0 together), realtime
                        (every panel one step per tick) or sequential (one panel
                        after the other); overrides the recipe's pacing
  --merge NAME          auto (default: share one model call between panels of the
                        same model where that was measured to pay), always or never
  --threads N           intra-op threads (default: the free cores, 1 for 2-D data)
  --device cpu|cuda     where to run (default cpu)
  --dump DIR            write DIR/panel-<i>/ in the layout of 'sample --dump' (the
                        same files 'sample' writes with that panel's settings) and
                        DIR/schedule.csv: tick,panel,step,t in the order computed
  --session FILE        not yet supported
  --help                this text

Exit codes: 0 success, 2 bad arguments or input files, 3 the run failed.
)";

namespace {

MergePolicy parse_merge(const std::string& name)
{
    if (name == "auto")
        return MergePolicy::Auto;
    if (name == "always")
        return MergePolicy::Always;
    if (name == "never")
        return MergePolicy::Never;
    throw InputError("--merge: unknown policy '" + name + "' (expected auto, always or never)");
}

} // namespace

int cmd_run(const std::vector<std::string>& argv)
{
    const Args args(argv, {"--config", "--pacing", "--merge", "--threads", "--device", "--dump", "--session"},
                    {"--help"});
    if (args.has("--help")) {
        std::cout << kRunHelp;
        return 0;
    }
    if (args.has("--session"))
        throw InputError("--session: sessions are not yet supported by this version; run without --session");
    const auto config = args.text("--config");
    if (!config)
        throw InputError("--config RUN.json is required (a run recipe)");
    const RunSetRecipe recipe = read_run_recipe(*config);
    RunSetOptions options;
    options.device = args.text("--device").value_or("cpu");
    options.threads = static_cast<int>(args.integer("--threads", 1, 1024).value_or(0));
    if (const auto p = args.text("--pacing"))
        options.pacing = parse_pacing(*p);
    if (const auto m = args.text("--merge"))
        options.merge = parse_merge(*m);

    const auto dump_dir = args.text("--dump");
    if (dump_dir)
        prepare_output_dir("--dump", *dump_dir);

    const auto t_start = std::chrono::steady_clock::now();
    RunSet set = [&] {
        try {
            return make_run_set(recipe, options);
        } catch (const InputError& e) {
            throw InputError("run recipe " + *config + ": " + e.what());
        }
    }();
    for (int i = 0; i < set.size(); ++i)
        for (const auto& w : set.run(i).plan().warnings)
            std::cerr << "noisetrail-cli: warning: panel " << i << ": " << w << '\n';
    namespace fs = std::filesystem;
    if (dump_dir)
        for (int i = 0; i < set.size(); ++i)
            prepare_output_dir("--dump", (fs::path(*dump_dir) / ("panel-" + std::to_string(i))).string());

    int total = 0;
    for (int i = 0; i < set.size(); ++i)
        total += set.run(i).steps();
    std::vector<Frames> frames(set.size());
    std::ostringstream schedule;
    schedule << "tick,panel,step,t\n";
    Progress progress(total, "running");
    int done = 0;
    while (!set.done()) {
        const int tick = set.ticks();
        for (TickFrame& f : set.tick()) {
            schedule << tick << ',' << f.panel << ',' << f.frame->step << ',' << f.frame->plan.t << '\n';
            progress.update(++done, f.frame->plan.t);
            if (dump_dir)
                frames[f.panel].push_back(std::move(f.frame));
        }
    }
    progress.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

    if (dump_dir) {
        const fs::path d = *dump_dir;
        for (int i = 0; i < set.size(); ++i) {
            DumpMeta meta;
            meta.command = "run";
            meta.seconds = seconds;
            if (recipe.init_noise)
                meta.init_noise = recipe.init_noise->string();
            meta.extra = {{"panel", i},
                          {"recipe", fs::absolute(*config).string()},
                          {"pacing", to_string(set.pacing())}};
            write_dump(d / ("panel-" + std::to_string(i)), set.run(i), frames[i], meta);
        }
        std::ofstream out(d / "schedule.csv");
        out << schedule.str();
        if (!out)
            throw InputError((d / "schedule.csv").string() + ": cannot write file");
    }
    for (int i = 0; i < set.size(); ++i) {
        const Run& r = set.run(i);
        std::cerr << "noisetrail-cli: panel " << i << ": "
                  << describe(r.options().sampler, r.model()->schedule().train_steps()) << " on "
                  << r.model()->card().name << ", " << r.model_calls() << " model calls\n";
    }
    std::cerr << "noisetrail-cli: " << set.size() << " panels, batch " << set.run(0).shape()[0] << ", "
              << to_string(set.pacing()) << ": " << set.ticks() << " ticks, " << set.denoiser_calls()
              << " denoiser calls (" << set.merges() << " shared), " << seconds << " s";
    if (dump_dir)
        std::cerr << ", steps in " << *dump_dir;
    std::cerr << '\n';
    return 0;
}

} // namespace noisetrail::cli
