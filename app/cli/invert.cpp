// noisetrail-cli invert: DDIM inversion x_0 -> x_T and reconstruction (contract
// section 7; DDIM paper sec. 5.4, Table 2). The mathematics is in core
// (noisetrail/experiments.hpp); this file reads the data, writes the files and figures.
#include "figures.hpp"
#include "progress.hpp"

#include "noisetrail/experiments.hpp"
#include "noisetrail/npy.hpp"

#include <iostream>
#include <map>

namespace noisetrail::cli {

const char* const kInvertHelp = R"(usage: noisetrail-cli invert --model CARD --data X0.npy --steps S [--spacing SP] --out DIR [options]

DDIM inversion (DDIM paper sec. 5.4): each example x_0 is run along the DDIM
(eta 0) plan backwards to x_T, then forwards again from that x_T. The
reconstruction error falls as S grows (the paper's Table 2 pattern).

  --model CARD          model card (.json)
  --data X0.npy         examples, float32 [N, *data_shape] (float64 is converted)
  --steps S             DDIM steps of the plan, 1..T
  --spacing NAME        leading (default), trailing, linspace, quadratic or logsnr
  --out DIR             writes xT.npy and reconstruction.npy (float32, [n, *data_shape]),
                        mse.csv (index,mse: per-example mean squared error per
                        dimension; index is the row in X0.npy) and reconstruction.png
  --index I[,J..]       invert only these rows of X0.npy (0-based)
  --count N             invert only the first N rows
  --ddpm                also DDPM (fixed_small, the same S) from the same x_T:
                        ddpm_reconstruction.npy and an mse.csv column ddpm_mse
  --seed N              DDPM's noise (default 0)
  --table S1,S2,..      also the table: mean MSE for each S (table.csv, table.md,
                        and table.png for images), e.g. 10,20,50,100,1000
)" NOISETRAIL_HELP_DEVICE_THREADS R"(
x0_hat is never clipped (clipping is not invertible). The reconstruction is
exactly what 'sample --init-noise DIR/xT.npy --sampler ddim --eta 0 --steps S
--clip-x0 off' gives.
)" NOISETRAIL_HELP_EXIT_CODES;

namespace {

namespace fs = std::filesystem;
namespace ex = experiments;

double mean(const std::vector<double>& v)
{
    double s = 0;
    for (double x : v)
        s += x;
    return v.empty() ? 0.0 : s / v.size();
}

} // namespace

int cmd_invert(const std::vector<std::string>& argv)
{
    const Args args(argv,
                    {"--model", "--data", "--steps", "--spacing", "--out", "--index", "--count", "--seed", "--table",
                     "--device", "--threads"},
                    {"--ddpm", "--help"});
    if (print_help(args, kInvertHelp))
        return 0;
    const std::string data_flag = required_text(args, "--data", "X0.npy");
    const std::string out_flag = required_text(args, "--out", "DIR");
    const auto steps = args.integer("--steps", 1, 1000000);
    if (!steps)
        throw InputError("--steps S is required");
    if (args.has("--index") && args.has("--count"))
        throw InputError("--index and --count exclude each other");
    ex::InversionOptions opt;
    opt.steps = static_cast<int>(*steps);
    if (const auto s = args.text("--spacing"))
        opt.spacing = parse_spacing(*s);
    opt.ddpm = args.has("--ddpm");
    opt.seed = seed_from(args);
    opt.threads = threads_from(args);
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    const int T = model->schedule().train_steps();
    if (opt.steps > T)
        throw InputError("--steps must be in 1.." + std::to_string(T) + ", got " + std::to_string(opt.steps));
    std::vector<int> table;
    if (const auto t = args.text("--table"))
        table = parse_int_list("--table", *t, 1, T);

    NpyArray a = read_npy(data_flag);
    if (a.dtype != NpyArray::DType::Float32)
        throw InputError("--data " + data_flag + ": expected float32 (or float64) data, got integers");
    bool ok = a.shape.size() == card.data_shape.size() + 1 && a.shape[0] >= 1;
    for (std::size_t i = 0; ok && i < card.data_shape.size(); ++i)
        ok = a.shape[i + 1] == card.data_shape[i];
    if (!ok) {
        std::string want = "[N";
        for (auto d : card.data_shape)
            want += ", " + std::to_string(d);
        throw InputError("--data " + data_flag + ": shape " + a.shape_string() + " does not match " + want +
                         "] (the model's data_shape)");
    }
    const auto N = a.shape[0];
    const std::size_t D = static_cast<std::size_t>(card.data_dim());
    std::vector<long long> rows;
    if (const auto idx = args.text("--index")) {
        for (int i : parse_int_list("--index", *idx, 0, 2000000000)) {
            if (i >= N)
                throw InputError("--index " + std::to_string(i) + ": " + data_flag + " has only " + std::to_string(N) +
                                 " rows");
            rows.push_back(i);
        }
    } else {
        const long long count = args.integer("--count", 1, 1000000000).value_or(N);
        if (count > N)
            throw InputError("--count " + std::to_string(count) + ": " + data_flag + " has only " +
                             std::to_string(N) + " rows");
        for (long long i = 0; i < count; ++i)
            rows.push_back(i);
    }
    std::vector<float> x0;
    for (long long i : rows)
        x0.insert(x0.end(), a.f32.begin() + i * D, a.f32.begin() + (i + 1) * D);
    const int n = static_cast<int>(rows.size());
    StagedFolder out_stage(out_flag, "--out", {"xT.npy", "reconstruction.npy", "ddpm_reconstruction.npy", "mse.csv", "reconstruction.png", "table.csv", "table.md", "table.png"}); // swapped in whole (docs/CLI.md)
    const fs::path out = out_stage.path();

    std::vector<int> all_steps = table;
    if (std::find(all_steps.begin(), all_steps.end(), opt.steps) == all_steps.end())
        all_steps.push_back(opt.steps);
    std::map<int, ex::Inversion> runs;
    for (int s : all_steps) {
        ex::InversionOptions o = opt;
        o.steps = s;
        Progress progress(s * (o.ddpm ? 3 : 2), "inverting");
        runs[s] = ex::invert_and_reconstruct(*model, x0, n, o,
                                             [&](const ex::Progress& p) { progress.update(p.done, 0); });
        progress.finish();
        std::cerr << "noisetrail-cli invert: S = " << s << ": mean MSE " << mean(runs[s].mse);
        if (o.ddpm)
            std::cerr << ", DDPM " << mean(runs[s].ddpm_mse);
        std::cerr << '\n';
    }

    const ex::Inversion& r = runs.at(opt.steps);
    write_npy(out / "xT.npy", r.shape, r.x_T.data());
    write_npy(out / "reconstruction.npy", r.shape, r.reconstruction.data());
    if (opt.ddpm)
        write_npy(out / "ddpm_reconstruction.npy", r.shape, r.ddpm_reconstruction.data());
    // The tables and figures as core describes them (the GUI's Experiments view shows the
    // same); those of the table over S only with --table.
    std::vector<const ex::Inversion*> over_s;
    for (int s : table)
        over_s.push_back(&runs.at(s));
    const std::vector<std::int64_t> indices(rows.begin(), rows.end());
    write_report(out, ex::inversion_report(*model, x0, indices, r, over_s));
    if (!table.empty()) {
        auto md = open_csv(out / "table.md");
        md << "Reconstruction MSE per dimension (mean over " << n << " examples of " << card.name << ", "
           << to_string(opt.spacing) << " spacing):\n\n| |";
        markdown_step_columns(md, table);
        for (int pass = 0; pass < (opt.ddpm ? 2 : 1); ++pass) {
            md << (pass ? "| DDPM (fixed_small) | " : "| DDIM (eta 0) | ");
            for (int s : table)
                md << num(mean(pass ? runs[s].ddpm_mse : runs[s].mse), "%.2g") << " | ";
            md << '\n';
        }
        md.commit();
    }
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli invert: " << n << " examples, DDIM " << opt.steps << " steps ("
              << to_string(opt.spacing) << "): files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
