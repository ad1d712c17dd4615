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
  --spacing NAME        leading (default), trailing, linspace or quadratic
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

/// Original | x_T | reconstruction | |error| (| DDPM) per example, one row each.
void write_image_figure(const fs::path& path, const ModelCard& card, std::span<const float> x0,
                        const ex::Inversion& r, int S)
{
    const ImageGeometry g = image_geometry(card);
    const int n = std::min<int>(static_cast<int>(r.shape[0]), 16), zoom = 3, gap = 8;
    const int tw = g.W * zoom, th = g.H * zoom, label_h = 30;
    std::vector<std::string> titles{"ORIGINAL", "X_T", "DDIM " + std::to_string(S), "ERROR"};
    if (!r.ddpm_reconstruction.empty())
        titles.push_back("DDPM " + std::to_string(S));
    const int cols = static_cast<int>(titles.size()), col_w = std::max(tw + 75, 120) + gap;
    Canvas cv(cols * col_w + gap, label_h + n * (th + gap) + gap);
    for (int c = 0; c < cols; ++c)
        cv.text(gap + c * col_w, 8, titles[c], {0, 0, 0}, 2);
    const std::size_t D = g.size();
    const double span = g.hi - g.lo;
    for (int i = 0; i < n; ++i) {
        const int y = label_h + i * (th + gap);
        const float* orig = x0.data() + i * D;
        const float* rec = r.reconstruction.data() + i * D;
        std::vector<float> err(D);
        for (std::size_t j = 0; j < D; ++j)
            err[j] = std::abs(rec[j] - orig[j]);
        draw_image(cv, gap, y, orig, g, zoom, g.lo, g.hi);
        draw_image(cv, gap + col_w, y, r.x_T.data() + i * D, g, zoom, -3.0, 3.0);
        draw_image(cv, gap + 2 * col_w, y, rec, g, zoom, g.lo, g.hi);
        draw_image(cv, gap + 3 * col_w, y, err.data(), g, zoom, 0.0, span / 2); // white: an error of half the range
        if (!r.ddpm_reconstruction.empty())
            draw_image(cv, gap + 4 * col_w, y, r.ddpm_reconstruction.data() + i * D, g, zoom, g.lo, g.hi);
        cv.text(gap + 3 * col_w + tw + 6, y + th / 2 - 4, "MSE " + num(r.mse[i], "%.2g"), {90, 90, 90}, 1);
    }
    cv.save(path);
}

/// 2-D: the examples (black), their DDIM reconstructions (blue, joined to the example)
/// and DDPM's (purple) on one panel; the inverted x_T on another.
void write_points_figure(const fs::path& path, std::span<const float> x0, const ex::Inversion& r, int S)
{
    const int n = static_cast<int>(r.shape[0]);
    const auto [lo, hi] = point_range({x0, r.reconstruction, r.ddpm_reconstruction});
    const auto [tlo, thi] = point_range({r.x_T});
    Canvas cv(2 * 420 + 40, 480);
    const PointPanel data{40, 50, 400, lo, hi}, noise{40 + 420, 50, 400, tlo, thi};
    data.frame(cv, "DATA, DDIM " + std::to_string(S) + (r.ddpm_reconstruction.empty() ? "" : ", DDPM"));
    noise.frame(cv, "INVERTED X_T");
    const Canvas::Color black{0, 0, 0}, blue = palette(0), purple = palette(4);
    for (int i = 0; i < n; ++i) {
        const float* a = x0.data() + 2 * i;
        if (!r.ddpm_reconstruction.empty()) {
            const float* d = r.ddpm_reconstruction.data() + 2 * i;
            data.segment(cv, a[0], a[1], d[0], d[1], {200, 180, 220});
            data.dot(cv, d[0], d[1], purple, 2);
        }
        const float* b = r.reconstruction.data() + 2 * i;
        data.segment(cv, a[0], a[1], b[0], b[1], blue);
        data.dot(cv, a[0], a[1], black, 2);
        data.dot(cv, b[0], b[1], blue, 1);
        noise.dot(cv, r.x_T[2 * i], r.x_T[2 * i + 1], blue, 2);
    }
    cv.text(40, 462, "BLACK: DATA  BLUE: DDIM RECONSTRUCTION" +
                         std::string(r.ddpm_reconstruction.empty() ? "" : "  PURPLE: DDPM"),
            {90, 90, 90}, 1);
    cv.save(path);
}

/// Rows: the originals, then one row per S for DDIM (and DDPM), labelled with the mean MSE.
void write_table_figure(const fs::path& path, const ModelCard& card, std::span<const float> x0,
                        const std::vector<int>& steps, const std::map<int, ex::Inversion>& runs, bool ddpm)
{
    const ImageGeometry g = image_geometry(card);
    const int n = std::min<int>(static_cast<int>(runs.begin()->second.shape[0]), 10), zoom = 2, gap = 6;
    const int tw = g.W * zoom, th = g.H * zoom, label_w = 230;
    const int rows = 1 + static_cast<int>(steps.size()) * (ddpm ? 2 : 1);
    Canvas cv(label_w + n * (tw + gap) + gap, rows * (th + gap) + gap);
    const std::size_t D = g.size();
    int row = 0;
    const auto put_row = [&](const std::string& label, const float* images) {
        const int y = gap + row * (th + gap);
        cv.text(gap, y + th / 2 - 7, label, {0, 0, 0}, 2);
        for (int i = 0; i < n; ++i)
            draw_image(cv, label_w + i * (tw + gap), y, images + i * D, g, zoom, g.lo, g.hi);
        ++row;
    };
    put_row("ORIGINAL", x0.data());
    for (int pass = 0; pass < (ddpm ? 2 : 1); ++pass)
        for (int s : steps) {
            const ex::Inversion& r = runs.at(s);
            const bool d = pass == 1;
            put_row(std::string(d ? "DDPM " : "DDIM ") + std::to_string(s) + " " +
                        num(mean(d ? r.ddpm_mse : r.mse), "%.2g"),
                    (d ? r.ddpm_reconstruction : r.reconstruction).data());
        }
    cv.save(path);
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
    {
        auto csv = open_csv(out / "mse.csv");
        csv << "index,mse" << (opt.ddpm ? ",ddpm_mse" : "") << '\n';
        for (int i = 0; i < n; ++i) {
            csv << rows[i] << ',' << num(r.mse[i], "%.9g");
            if (opt.ddpm)
                csv << ',' << num(r.ddpm_mse[i], "%.9g");
            csv << '\n';
        }
        csv.commit();
    }
    if (card.is_image())
        write_image_figure(out / "reconstruction.png", card, x0, r, opt.steps);
    else if (card.is_2d_points())
        write_points_figure(out / "reconstruction.png", x0, r, opt.steps);

    if (!table.empty()) {
        auto csv = open_csv(out / "table.csv");
        auto md = open_csv(out / "table.md");
        csv << "steps,examples,ddim_mse" << (opt.ddpm ? ",ddpm_mse" : "") << '\n';
        md << "Reconstruction MSE per dimension (mean over " << n << " examples of " << card.name << ", "
           << to_string(opt.spacing) << " spacing):\n\n| |";
        markdown_step_columns(md, table);
        md << "| DDIM (eta 0) | ";
        for (int s : table) {
            csv << s << ',' << n << ',' << num(mean(runs[s].mse), "%.9g");
            if (opt.ddpm)
                csv << ',' << num(mean(runs[s].ddpm_mse), "%.9g");
            csv << '\n';
            md << num(mean(runs[s].mse), "%.2g") << " | ";
        }
        md << '\n';
        if (opt.ddpm) {
            md << "| DDPM (fixed_small) | ";
            for (int s : table)
                md << num(mean(runs[s].ddpm_mse), "%.2g") << " | ";
            md << '\n';
        }
        csv.commit();
        md.commit();
        if (card.is_image())
            write_table_figure(out / "table.png", card, x0, table, runs, opt.ddpm);
    }
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli invert: " << n << " examples, DDIM " << opt.steps << " steps ("
              << to_string(opt.spacing) << "): files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
