#include "commands.hpp"

#include "noisetrail/data_dirs.hpp"
#include "noisetrail/errors.hpp"

#include <filesystem>
#include <fstream>

namespace noisetrail::cli {

const std::set<std::string> kSamplerFlags{"--model",  "--sampler",  "--steps",  "--eta",
                                          "--spacing", "--variance", "--clip-x0", "--device"};

SamplerConfig sampler_config_from(const Args& args)
{
    SamplerConfig c;
    if (auto s = args.text("--sampler"))
        c.sampler = *s;
    if (auto v = args.integer("--steps", -1000000000, 1000000000)) {
        if (*v < 1)
            throw InputError("--steps must be >= 1, got " + std::to_string(*v));
        c.steps = static_cast<int>(*v);
    }
    if (auto v = args.number("--eta")) {
        if (*v < 0)
            throw InputError("--eta must be >= 0, got " + *args.text("--eta"));
        c.eta = *v;
    }
    if (auto s = args.text("--spacing"))
        c.spacing = parse_spacing(*s);
    if (auto s = args.text("--variance"))
        c.variance = parse_variance(*s);
    if (auto s = args.text("--clip-x0")) {
        if (*s == "off" || *s == "none")
            c.clip_x0 = 0.0;
        else
            c.clip_x0 = args.number("--clip-x0");
    }
    sampler_names(); // registry is ready
    return c;
}

std::shared_ptr<Model> load_model_from(const Args& args)
{
    const auto card = args.text("--model");
    if (!card)
        throw InputError("--model CARD is required (a model card .json, or a bundled card's name such as ring8)");
    return Model::load(resolve_model_card(*card), args.text("--device").value_or("cpu"));
}

void prepare_output_dir(const std::string& flag, const std::string& dir)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        throw InputError(flag + " " + dir + ": cannot create folder" + (ec ? " (" + ec.message() + ")" : ""));
    const fs::path probe = fs::path(dir) / ".noisetrail-write-test";
    {
        std::ofstream out(probe);
        if (!out)
            throw InputError(flag + " " + dir + ": folder is not writable");
    }
    fs::remove(probe, ec);
}

} // namespace noisetrail::cli
