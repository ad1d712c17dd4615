// noisetrail-cli field: the field a sampler follows on a grid (contract section 10).
#include "commands.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/fields.hpp"
#include "noisetrail/npy.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace noisetrail::cli {

const char* const kFieldHelp = R"(usage: noisetrail-cli field --model CARD --t T --out DIR [options]

Evaluate the model's field on an N x N grid of the plane at one noise level
(contract section 10; 2-D cards): what every sampler's step is made of. No
clipping: the model's own prediction.

  --model CARD          a 2-D model card (data_shape [2])
  --t T                 the noise level: an integer timestep t in 0..T-1 on a VP
                        card, s in (0, 1] on a flow card
  --out DIR             writes grid.npy, eps.npy, x0.npy, score.npy (and on a flow
                        card velocity.npy), each float32 [N, N, 2]
  --grid N              points per side, 2..1024 (default 32)
  --extent X0,X1,Y0,Y1  the region, X0 < X1 and Y0 < Y1 (default -3,3,-3,3: x_T ~
                        N(0, I) to 3 standard deviations and every bundled 2-D data set)
  --class K             conditional cards: the class (default: the unconditional model)
  --guidance W          classifier-free guidance scale, with --class (default 1)
  --device cpu|cuda     where to run (default cpu)
  --help                this text

grid.npy holds the points: grid[i, j] = (x_j, y_i), x varying along the second
axis, x_j = X0 + j (X1 - X0) / (N - 1), y_i = Y0 + i (Y1 - Y0) / (N - 1) (row 0 at
the bottom, y = Y0). eps.npy and x0.npy are eps_hat and x0_hat there, score.npy
-eps_hat / sigma_t (the score, grad log p_t), velocity.npy eps_hat - x0_hat (dx/ds).
)" NOISETRAIL_HELP_EXIT_CODES;

namespace {

/// --extent X0,X1,Y0,Y1: four finite numbers, X0 < X1 and Y0 < Y1.
std::array<double, 4> extent_from(const Args& args)
{
    const auto text = args.text("--extent");
    if (!text)
        return {-3.0, 3.0, -3.0, 3.0};
    std::array<double, 4> e{};
    char extra = 0;
    if (std::sscanf(text->c_str(), "%lf,%lf,%lf,%lf%c", &e[0], &e[1], &e[2], &e[3], &extra) != 4 ||
        !std::isfinite(e[0]) || !std::isfinite(e[1]) || !std::isfinite(e[2]) || !std::isfinite(e[3]) ||
        !(e[0] < e[1]) || !(e[2] < e[3]))
        throw InputError("--extent must be X0,X1,Y0,Y1, four finite numbers with X0 < X1 and Y0 < Y1, got '" + *text +
                         "'");
    return e;
}

std::string shape_text(const std::vector<std::int64_t>& shape)
{
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < shape.size(); ++i)
        out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

} // namespace

int cmd_field(const std::vector<std::string>& argv)
{
    const Args args(argv, {"--model", "--t", "--out", "--grid", "--extent", "--class", "--guidance", "--device"},
                    {"--help"});
    if (print_help(args, kFieldHelp))
        return 0;
    const std::string out_flag = required_text(args, "--out", "DIR");
    const std::string t_text = required_text(args, "--t", "T");
    const double level = args.number_or_error("--t", "a noise level (an integer t on VP, s in (0, 1] on flow)");
    const auto N = static_cast<int>(args.integer("--grid", 2, 1024).value_or(32));
    const std::array<double, 4> e = extent_from(args);
    FieldOptions options;
    if (auto k = args.integer("--class", 0, 999))
        options.class_index = static_cast<int>(*k);
    if (args.has("--guidance"))
        options.guidance = args.number_or_error("--guidance", "a finite number W");
    const auto model = load_model_from(args);
    const ModelCard& card = model->card();
    if (!card.is_2d_points())
        throw InputError("--model " + card.path.string() + ": field evaluates 2-D cards (data_shape [2]); this card's "
                         "data_shape is " + shape_text(card.data_shape));
    field_path(*model, level); // a bad --t is refused before any output folder is made

    std::vector<float> grid(static_cast<std::size_t>(N) * N * 2);
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) {
            const std::size_t p = (static_cast<std::size_t>(i) * N + j) * 2;
            grid[p] = static_cast<float>(e[0] + j * (e[1] - e[0]) / (N - 1));
            grid[p + 1] = static_cast<float>(e[2] + i * (e[3] - e[2]) / (N - 1));
        }
    // Every check above passed: now the folder (swapped in whole, docs/CLI.md "Outputs").
    StagedFolder out_stage(out_flag, "--out", {"grid.npy", "eps.npy", "x0.npy", "score.npy", "velocity.npy"});
    const VectorField f = evaluate_field(*model, grid, level, options);
    const std::filesystem::path out = out_stage.path();
    const std::vector<std::int64_t> shape{N, N, 2};
    write_npy(out / "grid.npy", shape, grid.data());
    write_npy(out / "eps.npy", shape, f.eps_hat.data());
    write_npy(out / "x0.npy", shape, f.x0_hat.data());
    write_npy(out / "score.npy", shape, f.score.data());
    if (!f.velocity.empty())
        write_npy(out / "velocity.npy", shape, f.velocity.data());
    commit_output_dir(out_stage);
    std::cerr << "noisetrail-cli field: " << N << " x " << N << " points of " << card.name << " at "
              << (card.schedule.process == ProcessKind::Flow ? "s = " : "t = ") << t_text << " (alpha "
              << f.path.alpha << ", sigma " << f.path.sigma << "), files in " << out_flag << '\n';
    return 0;
}

} // namespace noisetrail::cli
