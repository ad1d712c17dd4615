#include "commands.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/data_dirs.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/npy.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace noisetrail::cli {

const std::set<std::string> kSamplerFlags{"--model",  "--sampler",  "--steps",  "--eta",
                                          "--spacing", "--variance", "--clip-x0", "--device"};

SamplerConfig sampler_settings_from(const Args& args)
{
    SamplerConfig c;
    if (auto s = args.text("--spacing"))
        c.spacing = parse_spacing(*s);
    if (auto s = args.text("--variance"))
        c.variance = parse_variance(*s);
    if (auto s = args.text("--clip-x0")) {
        // 'off' or a radius R > 0, nothing else: a negative R silently meant "off" once.
        if (*s == "off") {
            c.clip_x0 = 0.0;
        } else {
            const auto r = args.number_or_error("--clip-x0", "'off' or a radius R > 0");
            if (!(r > 0))
                throw InputError("--clip-x0 must be 'off' or a radius R > 0, got '" + *s + "'");
            c.clip_x0 = r;
        }
    }
    return c;
}

SamplerConfig sampler_config_from(const Args& args)
{
    SamplerConfig c = sampler_settings_from(args);
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
    sampler_names(); // registry is ready
    return c;
}

NpyArray read_npy_named(const std::string& flag, const std::string& file)
{
    try {
        return read_npy(file);
    } catch (const InputError& e) {
        throw InputError(flag + " " + e.what());
    }
}

bool print_help(const Args& args, const char* help)
{
    if (!args.has("--help"))
        return false;
    std::cout << help;
    return true;
}

std::string required_text(const Args& args, const std::string& flag, const std::string& what)
{
    const auto v = args.text(flag);
    if (!v)
        throw InputError(flag + " " + what + " is required");
    return *v;
}

std::uint64_t seed_from(const Args& args)
{
    return static_cast<std::uint64_t>(args.integer("--seed", 0, (1LL << 53)).value_or(0));
}

int threads_from(const Args& args)
{
    return static_cast<int>(args.integer("--threads", 1, max_threads()).value_or(0));
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
    if (fs::exists(dir) && !fs::is_directory(dir))
        throw InputError(flag + " " + dir + ": is a file, expected a folder");
    if (ec || !fs::is_directory(dir))
        throw InputError(flag + " " + dir + ": cannot create folder" + (ec ? " (" + ec.message() + ")" : ""));
    check_folder_writable(dir, flag); // a unique probe: a fixed name raced concurrent runs
}

void check_output_file_flag(const std::string& flag, const std::string& file)
{
    check_output_file(file, flag);
}

void commit_output_dir(StagedFolder& folder)
{
    folder.commit();
    for (const auto& n : folder.notes())
        std::cerr << "noisetrail-cli: note: " << n << '\n';
}

std::vector<std::string> split_list(const std::string& flag, const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            out.push_back(item);
    if (out.empty())
        throw InputError(flag + ": expected a comma-separated list, got '" + s + "'");
    return out;
}

} // namespace noisetrail::cli
