// noisetrail-cli session: describe a saved session and export it (contract section 5),
// headless, so a README or a slide deck can be rebuilt by a script.
#include "commands.hpp"
#include "progress.hpp"

#include "noisetrail/animation.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/interactive_page.hpp"
#include "noisetrail/printable.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/session.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

namespace noisetrail::cli {

const char* const kSessionHelp = R"(usage: noisetrail-cli session info FILE [--json]
       noisetrail-cli session export FILE (--gif OUT.gif | --mp4 OUT.mp4) [options]
       noisetrail-cli session filmstrip FILE --out OUT.png [options]
       noisetrail-cli session html FILE --out PAGE.html [options]

A session (written by 'run --session FILE' or the GUI's File > Save Run) holds
the run's recipe and every panel's trajectory; these commands need no model.

info: what the session holds: model, seed, batch, panels and their stored steps.
  --json                machine-readable (format, model, seed, batch, panels with
                        sampler, steps, frames = stored steps and metrics = the
                        names of the per-step values stored)

export: an animation of the panels side by side, aligned on t: one frame per
distinct timestep of the lockstep schedule, then the final samples, with
captions (sampler, t, step) burned in.
  --gif OUT.gif | --mp4 OUT.mp4   output file (MP4: H.264)
  --field NAME          x_t (default), x0_hat or eps_hat
  --fps N               frames per second (default 20; GIF 1..50, MP4 1..120)
  --size WxH            frame size in pixels (default: a natural size)
  --hold S              seconds on the last frame (default 2)
  --frames N            at most N frames, evenly spread over the noise levels
                        (first and final kept; default: all)

filmstrip: a PNG of the samples at K noise levels, per panel, each column
labelled with the t that panel shows (the DDPM paper's Fig. 6 from your own run).
  --out OUT.png         output file
  --field NAME          x0_hat (default), x_t or eps_hat
  --levels K            noise levels (columns), default 8
  --samples LIST        sample indices, e.g. 0,1,2, a row each (default: the whole grid)
  --cell N              cell size in pixels (default 112): one sample, or the grid

html: one self-contained interactive page (no network, nothing else to install):
the panels side by side with their captions, a slider aligned on t, play/pause,
the field switch, the per-step statistics plotted with the cursor; 2-D points
with the paths of a few samples. Open it in any browser; page.html#step=K opens
it at slider position K (0 = x_T).
  --out PAGE.html       output file
  --frames N            slider positions, evenly spread over the noise levels
                        (first and final kept; default 30; 0: every level)
  --fields LIST         fields offered, e.g. x_t,x0_hat (default: all stored)

Exit codes: 0 success, 2 bad arguments or input files.
)";

namespace {

std::string quoted(const std::filesystem::path& p) { return p.string(); }

std::pair<int, int> parse_size(const std::string& text)
{
    const auto x = text.find('x');
    int w = 0, h = 0;
    try {
        if (x == std::string::npos)
            throw std::invalid_argument("no x");
        std::size_t used = 0;
        w = std::stoi(text.substr(0, x), &used);
        if (used != x)
            throw std::invalid_argument("w");
        h = std::stoi(text.substr(x + 1), &used);
        if (used != text.size() - x - 1)
            throw std::invalid_argument("h");
    } catch (const std::exception&) {
        throw InputError("--size: expected WxH (e.g. 640x360), got '" + text + "'");
    }
    if (w < 16 || h < 16 || w > 8192 || h > 8192)
        throw InputError("--size: width and height must be 16..8192, got '" + text + "'");
    return {w, h};
}

std::vector<int> parse_list(const std::string& text, const std::string& flag)
{
    std::vector<int> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            std::size_t used = 0;
            const int v = std::stoi(item, &used);
            if (used != item.size() || v < 0)
                throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw InputError(flag + ": expected comma-separated sample indices, got '" + text + "'");
        }
    }
    if (out.empty() || out.size() > 4096)
        throw InputError(flag + ": expected 1..4096 sample indices");
    return out;
}

std::string precision_name(const Trajectory& t)
{
    return t.precision() == Trajectory::Precision::Half ? "half" : "uint8";
}

int info(const std::filesystem::path& file, bool as_json)
{
    const Session s = read_session(file);
    std::error_code ec;
    const bool found = std::filesystem::exists(s.recipe.model, ec);
    if (as_json) {
        nlohmann::json panels = nlohmann::json::array();
        for (std::size_t p = 0; p < s.panels.size(); ++p) {
            const auto& t = *s.panels[p].trajectory;
            const auto& r = s.recipe.panels[p];
            panels.push_back({{"sampler", r.sampler.sampler},
                              {"steps", t.plannedSteps()},
                              {"frames", t.size()},
                              {"finished", t.finished()},
                              {"caption", s.panels[p].caption},
                              {"model", (r.model.empty() ? s.recipe.model : r.model).string()},
                              {"fingerprint", s.panels[p].fingerprint},
                              {"precision", precision_name(t)},
                              {"metrics", stored_metric_names(t)}});
        }
        nlohmann::json j = {{"format", session_format_name()},
                            {"model", s.recipe.model.string()},
                            {"model_name", s.model_name},
                            {"model_found", found},
                            {"seed", s.recipe.seed},
                            {"batch", s.batch},
                            {"data_shape", s.data_shape},
                            {"pacing", to_string(s.recipe.pacing)},
                            {"train_steps", s.train_steps},
                            {"created", s.created},
                            {"noisetrail_version", s.version},
                            {"panels", panels}};
        std::cout << j.dump(2) << '\n';
        return 0;
    }
    // Every string below comes from the file: printable() so it cannot drive the terminal.
    std::cout << "session  " << printable(quoted(file)) << "\n"
              << "format   " << session_format_name() << " (NoiseTrail " << printable(s.version) << ", "
              << printable(s.created) << ")\n"
              << "model    " << printable(s.model_name) << ": " << printable(quoted(s.recipe.model)) << (found ? "" : "  (not found here)")
              << "\n"
              << "run      seed " << s.recipe.seed << ", batch " << s.batch << ", pacing " << to_string(s.recipe.pacing)
              << ", x_T " << (s.recipe.init_noise ? "from " + printable(quoted(*s.recipe.init_noise)) : std::string("from the seed"))
              << "\n";
    for (std::size_t p = 0; p < s.panels.size(); ++p) {
        const auto& t = *s.panels[p].trajectory;
        std::cout << "panel " << p << "  " << printable(s.panels[p].caption) << ": " << t.size() << "/" << t.plannedSteps()
                  << " steps stored (" << precision_name(t) << ")" << (t.finished() ? "" : ", stopped early") << "\n";
    }
    return 0;
}

int export_animation_cmd(const std::filesystem::path& file, const Args& args)
{
    const auto gif = args.text("--gif"), mp4 = args.text("--mp4");
    if (gif.has_value() == mp4.has_value())
        throw InputError("session export: give exactly one of --gif OUT.gif and --mp4 OUT.mp4");
    const std::filesystem::path out = gif ? *gif : *mp4;
    const AnimationFormat format = gif ? AnimationFormat::Gif : AnimationFormat::Mp4;
    AnimationExport o;
    if (const auto f = args.text("--field"))
        o.render.field = parse_field(*f);
    o.fps = double(args.integer("--fps", 1, format == AnimationFormat::Gif ? 50 : 120).value_or(20));
    if (const auto size = args.text("--size"))
        std::tie(o.render.width, o.render.height) = parse_size(*size);
    if (const auto hold = args.number("--hold")) {
        if (*hold < 0 || *hold > 600)
            throw InputError("--hold: seconds must be 0..600");
        o.hold_seconds = *hold;
    }
    o.max_frames = int(args.integer("--frames", 2, 100000).value_or(0));
    check_output_file_flag(gif ? "--gif" : "--mp4", out.string()); // before any work; never a FIFO or device
    const Session s = read_session(file);
    std::optional<Progress> bar;
    const auto r = export_animation(render_panels(s), out, format, o, [&](int done, int total) {
        if (!bar)
            bar.emplace(total, "exporting");
        bar->update(done, 0);
    });
    if (bar)
        bar->finish();
    std::cerr << "noisetrail-cli session export: wrote " << out.string() << " (" << r.frames << " frames, " << r.width
              << "x" << r.height << ", " << r.encoder << ")\n";
    return 0;
}

int filmstrip_cmd(const std::filesystem::path& file, const Args& args)
{
    const auto out = args.text("--out");
    if (!out)
        throw InputError("session filmstrip: --out OUT.png is required");
    FilmstripOptions o;
    if (const auto f = args.text("--field"))
        o.field = parse_field(*f);
    o.levels = int(args.integer("--levels", 2, 64).value_or(8));
    o.cell = int(args.integer("--cell", 16, 1024).value_or(112));
    if (const auto list = args.text("--samples"))
        o.samples = parse_list(*list, "--samples");
    check_output_file_flag("--out", *out); // before any work; never a FIFO or device
    const Session s = read_session(file);
    const RgbImage img = render_filmstrip(render_panels(s), o);
    write_png(*out, img);
    std::cerr << "noisetrail-cli session filmstrip: wrote " << *out << " (" << img.width << "x" << img.height << ")\n";
    return 0;
}

int html_cmd(const std::filesystem::path& file, const Args& args)
{
    const auto out = args.text("--out");
    if (!out)
        throw InputError("session html: --out PAGE.html is required");
    PageOptions o;
    o.max_frames = int(args.integer("--frames", 0, 100000).value_or(o.max_frames));
    if (o.max_frames == 1)
        throw InputError("--frames: 0 (every level) or at least 2");
    if (const auto list = args.text("--fields")) {
        o.fields.clear();
        std::stringstream ss(*list);
        std::string item;
        while (std::getline(ss, item, ',')) {
            o.fields.push_back(parse_field(item, "--fields"));
            if (o.fields.back() == Field::X0Cond || o.fields.back() == Field::X0Uncond)
                throw InputError("--fields: the page shows x_t, x0_hat and eps_hat (a guided run's " + item +
                                 " is in session export and filmstrip --field)");
        }
        if (o.fields.empty())
            throw InputError("--fields: expected a comma-separated list of x_t, x0_hat, eps_hat");
    }
    check_output_file_flag("--out", *out); // before any work; never a FIFO or device
    const Session s = read_session(file);
    std::optional<Progress> bar;
    const PageResult r = write_interactive_page(
        s, *out, o,
        [&](int done, int total) {
            if (!bar)
                bar.emplace(total, "rendering");
            bar->update(done, 0);
        },
        nullptr, "--out");
    if (bar)
        bar->finish();
    std::cerr << "noisetrail-cli session html: wrote " << *out << " (" << r.bytes / 1024 << " KiB, " << r.positions
              << " slider positions, " << r.images << " pictures)\n";
    return 0;
}

} // namespace

int cmd_session(const std::vector<std::string>& argv)
{
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::cout << kSessionHelp;
        return argv.empty() ? 2 : 0;
    }
    const std::string verb = argv[0];
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (verb != "info" && verb != "export" && verb != "filmstrip" && verb != "html")
        throw InputError("session: unknown subcommand '" + verb + "' (expected info, export, filmstrip or html)");
    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
        std::cout << kSessionHelp;
        return 0;
    }
    if (rest.empty() || rest[0].rfind("--", 0) == 0)
        throw InputError("session " + verb + ": the session FILE comes first");
    const std::filesystem::path file = rest[0];
    rest.erase(rest.begin());
    if (verb == "info") {
        const Args args(rest, {}, {"--json", "--help"});
        return info(file, args.has("--json"));
    }
    if (verb == "export") {
        const Args args(rest, {"--gif", "--mp4", "--field", "--fps", "--size", "--hold", "--frames"}, {"--help"});
        return export_animation_cmd(file, args);
    }
    if (verb == "html") {
        const Args args(rest, {"--out", "--frames", "--fields"}, {"--help"});
        return html_cmd(file, args);
    }
    const Args args(rest, {"--out", "--field", "--levels", "--samples", "--cell"}, {"--help"});
    return filmstrip_cmd(file, args);
}

} // namespace noisetrail::cli
