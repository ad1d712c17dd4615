// noisetrail-cli run: several panels from one run recipe, sharing x_T, under a pacing (contract section 4).
#include "commands.hpp"
#include "dump.hpp"
#include "progress.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/threads.hpp"

#include <chrono>
#include <optional>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
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
  --threads N           intra-op threads, 1..4x the cores (default: the free cores,
                        1 for 2-D data)
  --device cpu|cuda     where to run (default cpu)
  --dump DIR            write DIR/panel-<i>/ in the layout of 'sample --dump' (the
                        same files 'sample' writes with that panel's settings) and
                        DIR/schedule.csv: tick,panel,step,t in the order computed
  --session FILE        also save the run as a session (recipe, every panel's
                        trajectory and per-step diversity metrics, recorded as
                        the GUI records them): 'session info|export|filmstrip'
                        and the GUI's File > Open Run read it without the model
  --class K, --classes K1,K2,..., --guidance W, --guidance-interval LO,HI
                        conditioning of every panel, as in 'sample' (a panel's own
                        keys class, classes, guidance, guidance_interval otherwise)
  --no-metrics          with --session: store the steps without the diversity
                        metrics (as the GUI with View > Per-step Diversity
                        Metrics off; faster on large 2-D batches)
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
    const Args args(argv,
                    {"--config", "--pacing", "--merge", "--threads", "--device", "--dump", "--session", "--class",
                     "--classes", "--guidance", "--guidance-interval"},
                    {"--help", "--no-metrics"});
    if (args.has("--help")) {
        std::cout << kRunHelp;
        return 0;
    }
    const auto session_file = args.text("--session");
    const bool measure = !args.has("--no-metrics");
    if (!measure && !session_file)
        throw InputError("--no-metrics applies to --session FILE only");
    if (session_file && session_file->empty())
        throw InputError("--session needs a file name (FILE.ntsession), got an empty one");
    if (session_file)
        check_output_file_flag("--session", *session_file); // before any work: writable, never a FIFO or device
    const auto config = args.text("--config");
    if (!config)
        throw InputError("--config RUN.json is required (a run recipe)");
    RunSetRecipe recipe = read_run_recipe(*config);
    // Conditioning flags set every panel's (contract section 9); the panels' own keys otherwise.
    if (args.has("--class") || args.has("--classes") || args.has("--guidance") || args.has("--guidance-interval")) {
        const Guidance flags = guidance_from(args);
        for (PanelRecipe& p : recipe.panels) {
            if (!flags.classes.empty())
                p.sampler.guidance.classes = flags.classes;
            if (flags.scale)
                p.sampler.guidance.scale = flags.scale;
            if (flags.interval)
                p.sampler.guidance.interval = flags.interval;
        }
    }
    RunSetOptions options;
    options.device = args.text("--device").value_or("cpu");
    options.trust = code_trust();
    options.threads = threads_from(args);
    if (const auto p = args.text("--pacing"))
        options.pacing = parse_pacing(*p);
    if (const auto m = args.text("--merge"))
        options.merge = parse_merge(*m);

    const auto dump_dir = args.text("--dump");
    std::optional<StagedFolder> dump_stage; // written aside, swapped in whole (docs/CLI.md, "Outputs")
    if (dump_dir)
        dump_stage.emplace(*dump_dir, "--dump", std::vector<std::string>{"panel-*", "schedule.csv"});

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
    if (dump_stage)
        for (int i = 0; i < set.size(); ++i)
            prepare_output_dir("--dump", (dump_stage->path() / ("panel-" + std::to_string(i))).string());

    int total = 0;
    for (int i = 0; i < set.size(); ++i)
        total += set.run(i).steps();
    std::vector<Frames> frames(set.size());
    // The session's stores and metrics: core's recorder, as the GUI records a run
    // (measured with the top-level card's mixture or classifier, on the same steps).
    std::optional<Recorder> recorder;
    std::vector<std::shared_ptr<Trajectory>> stores;
    if (session_file) {
        for (int i = 0; i < set.size(); ++i) {
            const Run& r = set.run(i);
            std::vector<int> ts;
            for (const auto& s : r.plan().steps)
                ts.push_back(s.t);
            stores.push_back(std::make_shared<Trajectory>(r.shape(), ts, stored_precision(r.model()->card()), r.x_T()));
        }
        const ModelCard top = read_model_card(recipe.model);
        MetricSources sources = measure ? metric_sources(top) : MetricSources{};
        // The metrics' BLAS calls are tiny (the Vendi score's 64x64 eigensolve): with
        // OpenBLAS's spinning pool they cost 3-30x more, and a 2-D run waits for them.
        if (measure)
            set_blas_threads(1);
        if (measure && top.is_image() && !sources.classifier)
            std::cerr << "noisetrail-cli: warning: the session's image metrics have no classes: " << sources.note << '\n';
        recorder.emplace(stores, std::move(sources), measure);
    }
    std::ostringstream schedule;
    schedule << "tick,panel,step,t\n";
    Progress progress(total, "running");
    int done = 0;
    while (!set.done()) {
        const int tick = set.ticks();
        std::vector<TickFrame> frames_of_tick = set.tick();
        for (const TickFrame& f : frames_of_tick) {
            schedule << tick << ',' << f.panel << ',' << f.frame->step << ',' << f.frame->plan.t << '\n';
            progress.update(++done, f.frame->plan.t);
            if (dump_dir)
                frames[f.panel].push_back(f.frame);
        }
        if (recorder)
            recorder->record(std::move(frames_of_tick));
    }
    if (recorder)
        recorder->finish(); // every step stored and measured
    progress.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

    if (dump_dir) {
        const fs::path d = dump_stage->path();
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
        write_file_atomic(d / "schedule.csv", schedule.str());
        commit_output_dir(*dump_stage);
    }
    if (session_file) {
        Session s;
        s.recipe = recipe;
        s.recipe.pacing = set.pacing();
        const ModelCard& card = set.run(0).model()->card();
        s.model_name = card.name;
        s.card_json = card.json_text;
        s.train_steps = set.run(0).model()->schedule().train_steps();
        s.batch = int(set.run(0).shape()[0]);
        s.data_shape = card.data_shape;
        s.x_T = set.run(0).x_T();
        for (int i = 0; i < set.size(); ++i) {
            const Run& r = set.run(i);
            s.panels.push_back({r.recipe().fingerprint, describe(r.options().sampler, r.model()->schedule().train_steps(), r.model()->schedule().process()),
                                stores[std::size_t(i)]});
        }
        write_session(*session_file, s);
        // Saved all the same (this command can reopen it with a larger budget), but said (issue 27).
        if (const std::string problem = session_reopen_problem(*session_file, s); !problem.empty())
            std::cerr << "noisetrail-cli: warning: the window's File > Open Run will not open " << *session_file << ": "
                      << problem << "; 'noisetrail-cli session' reads it with --max-memory-mib\n";
    }
    for (int i = 0; i < set.size(); ++i) {
        const Run& r = set.run(i);
        std::cerr << "noisetrail-cli: panel " << i << ": "
                  << describe(r.options().sampler, r.model()->schedule().train_steps(), r.model()->schedule().process()) << " on "
                  << r.model()->card().name << ", " << r.model_calls() << " model calls\n";
    }
    std::cerr << "noisetrail-cli: " << set.size() << " panels, batch " << set.run(0).shape()[0] << ", "
              << to_string(set.pacing()) << ": " << set.ticks() << " ticks, " << set.denoiser_calls()
              << " denoiser calls (" << set.merges() << " shared), " << seconds << " s";
    if (dump_dir)
        std::cerr << ", steps in " << *dump_dir;
    if (session_file)
        std::cerr << ", session " << *session_file;
    std::cerr << '\n';
    return 0;
}

} // namespace noisetrail::cli
