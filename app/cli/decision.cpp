// noisetrail-cli decision: when does a sample decide what it becomes? The class
// (digit classifier on x0_hat) or mixture component (most responsible component
// of x0_hat) at every step, for several samplers on the same x_T. Also the
// decision files that 'sample --dump' adds.
#include "dump.hpp"
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/experiments.hpp"
#include "noisetrail/npy.hpp"

#include <iostream>

namespace noisetrail::cli {

const char* const kDecisionHelp = R"(usage: noisetrail-cli decision --model CARD --out DIR [options]

Decision time: at every step each sample's x0_hat is assigned to a class (image
models: the digit classifier) or a mixture component (gaussian-mixture cards:
the most responsible component). A sample's "decision t" is the last t at
which its assignment changed (the first t of the plan if it never did).

  --model CARD          model card (.json): a gaussian-mixture card or an image model
  --out DIR             writes decision.csv (panel,sample,decision_step,decision_t,final),
                        assignment-<panel>.npy (int64 [S, B]) and decision.png: per
                        panel the samples with their assignment over t as a coloured
                        strip (t = T on the left, 0 on the right; for 2-D data the
                        paths coloured by it) and the histogram of decision t
  --panels LIST         NAME[:STEPS[:ETA]],.. (default ddpm:1000,ddim:50), all from the same x_T
  --batch B             samples (default 16 for images, 200 otherwise)
  --seed N              x_T and the samplers' noise (default 0)
  --classifier CARD     image models: the classifier (default: mnist-classifier.json
                        in the model card's folder)
)" NOISETRAIL_HELP_SAMPLER_SETTINGS NOISETRAIL_HELP_DEVICE_THREADS R"(
'sample --dump DIR' writes the same per-step assignment for its run
(DIR/assignment.npy, DIR/decision.csv) when the model has components or a classifier.
)" NOISETRAIL_HELP_EXIT_CODES;

namespace {

namespace fs = std::filesystem;
namespace ex = experiments;

void write_assignment(const fs::path& path, const ex::DecisionTrace& tr)
{
    const std::vector<std::int64_t> a(tr.assignment.begin(), tr.assignment.end());
    write_npy(path, {static_cast<std::int64_t>(tr.timesteps.size()), tr.batch}, a.data());
}

} // namespace

void write_decision_dump(const fs::path& dir, const Model& model, const Frames& frames)
{
    const auto assigner = ex::Assigner::for_model(model);
    if (!assigner || frames.empty())
        return; // no components and no classifier: nothing to assign to
    ex::DecisionTracker tracker(*assigner);
    for (const auto& f : frames)
        tracker.add(*f);
    const ex::DecisionTrace tr = tracker.result();
    write_assignment(dir / "assignment.npy", tr);
    auto csv = open_csv(dir / "decision.csv");
    csv << "sample,decision_step,decision_t,final\n";
    const std::vector<int> fin = tr.final_assignment();
    for (int b = 0; b < tr.batch; ++b)
        csv << b << ',' << tr.decision_step[b] << ',' << tr.decision_t[b] << ',' << fin[b] << '\n';
    csv.commit();
}

int cmd_decision(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--out", "--panels", "--batch", "--seed", "--classifier", "--spacing", "--variance",
                     "--clip-x0", "--device", "--threads"},
                    {"--help"});
    if (print_help(args, kDecisionHelp))
        return 0;
    const std::string out_flag = required_text(args, "--out", "DIR");
    const SamplerConfig base = sampler_settings_from(args);
    const std::vector<SamplerConfig> panels =
        experiments::parse_sampler_list(args.text("--panels").value_or("ddpm:1000,ddim:50"), base, "--panels");
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int T = model->schedule().train_steps();
    const auto assigner = ex::Assigner::for_model(*model, args.text("--classifier").value_or(""));
    if (!assigner)
        throw InputError("--model " + card.path.string() +
                         ": decision time needs a gaussian-mixture card (components) or an image model with "
                         "a classifier (--classifier)");
    const int batch = static_cast<int>(args.integer("--batch", 1, 100000).value_or(card.is_image() ? 16 : 200));
    int total = 0;
    for (const SamplerConfig& c : panels) {
        validate(c, T);
        total += resolved_steps(c, T);
    }
    StagedFolder out_stage(out_flag, "--out", {"decision.csv", "assignment-*", "decision.png"}); // swapped in whole (docs/CLI.md)
    const fs::path out = out_stage.path();

    ex::DecisionOptions opt;
    opt.panels = panels;
    opt.batch = batch;
    opt.seed = seed_from(args);
    opt.threads = threads_from(args);
    Progress progress(total, "sampling");
    const ex::Decision r = ex::decision(*model, *assigner, opt, [&](const ex::Progress& p) { progress.update(p.done, 0); });
    progress.finish();
    const std::vector<ex::DecisionTrace>& traces = r.traces;

    for (std::size_t p = 0; p < panels.size(); ++p)
        write_assignment(out / ("assignment-" + std::to_string(p) + ".npy"), r.traces[p]);
    // The table and figure as core describes them: the GUI's Experiments view shows the same.
    write_report(out, ex::decision_report(*model, *assigner, r));
    for (std::size_t p = 0; p < panels.size(); ++p)
        std::cerr << "noisetrail-cli decision: " << describe(panels[p], T) << ": median decision t "
                  << ex::summarise(traces[p]).median_t << '\n';
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli decision: batch " << batch << ", files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
