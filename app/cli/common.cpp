#include "commands.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/data_dirs.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/npy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace noisetrail::cli {

const std::set<std::string> kSamplerFlags{"--model",   "--sampler",  "--steps",   "--eta",
                                          "--spacing", "--variance", "--clip-x0", "--device",
                                          "--class",   "--classes",  "--guidance", "--guidance-interval"};

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

Guidance guidance_from(const Args& args)
{
    Guidance g;
    if (args.has("--class") && args.has("--classes"))
        throw InputError("--class and --classes: give one of them");
    if (auto k = args.integer("--class", 0, 999))
        g.classes.push_back(static_cast<int>(*k));
    if (auto list = args.text("--classes")) {
        std::stringstream in(*list);
        std::string item;
        while (std::getline(in, item, ',')) {
            char* end = nullptr;
            const long v = std::strtol(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || v < 0 || v > 999)
                throw InputError("--classes must be class indices 0..999 separated by commas, got '" + *list + "'");
            g.classes.push_back(static_cast<int>(v));
        }
        if (g.classes.empty())
            throw InputError("--classes must list at least one class index");
    }
    if (auto w = args.number("--guidance"))
        g.scale = *w;
    if (auto iv = args.text("--guidance-interval")) {
        double lo = 0, hi = 0;
        char extra = 0;
        if (std::sscanf(iv->c_str(), "%lf,%lf%c", &lo, &hi, &extra) != 2 || !std::isfinite(lo) || !std::isfinite(hi) ||
            lo > hi)
            throw InputError("--guidance-interval must be LO,HI with LO <= HI (noise levels t, or s on flow), got '" +
                             *iv + "'");
        g.interval = std::array<double, 2>{lo, hi};
    }
    return g;
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
    c.guidance = guidance_from(args);
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

std::string help_text(const char* help)
{
    std::string text = help;
    const std::string marker = "@SAMPLER_FLAGS@\n";
    const auto at = text.find(marker);
    if (at == std::string::npos)
        return text;
    // Written from the registry: a new sampler appears here with no edit.
    const std::vector<SamplerInfo> all = samplers();
    const SamplerConfig defaults;
    const auto pad = [](std::string s, std::size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s + ' '; };
    const auto names = [](const std::vector<std::string>& v) {
        std::string out;
        for (std::size_t i = 0; i < v.size(); ++i)
            out += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
        return out;
    };
    std::ostringstream out;
    out << "  --sampler NAME        the sampler (default " << defaults.sampler << "):\n";
    for (const SamplerInfo& s : all)
        out << "                          " << pad(s.name, 9) << s.summary << '\n';
    // Samplers grouped by their default steps, in registry order: "T for ddpm; 50 for ddim, heun".
    std::vector<std::pair<int, std::vector<std::string>>> by_steps;
    std::vector<std::string> eta, variance;
    std::vector<std::pair<Spacing, std::vector<std::string>>> by_spacing;
    for (const SamplerInfo& s : all) {
        auto sp = std::ranges::find(by_spacing, s.default_spacing, &std::pair<Spacing, std::vector<std::string>>::first);
        if (sp == by_spacing.end()) {
            by_spacing.emplace_back(s.default_spacing, std::vector<std::string>{});
            sp = by_spacing.end() - 1;
        }
        sp->second.push_back(s.name);
        auto it = std::ranges::find(by_steps, s.default_steps, &std::pair<int, std::vector<std::string>>::first);
        if (it == by_steps.end()) {
            by_steps.emplace_back(s.default_steps, std::vector<std::string>{});
            it = by_steps.end() - 1;
        }
        it->second.push_back(s.name);
        if (s.uses_eta)
            eta.push_back(s.name);
        if (s.uses_variance)
            variance.push_back(s.name);
    }
    out << "  --steps S             sampling steps, 1..T (default:";
    for (std::size_t i = 0; i < by_steps.size(); ++i)
        out << (i == 0 ? " " : "; ") << (by_steps[i].first == 0 ? std::string("T") : std::to_string(by_steps[i].first))
            << " for " << names(by_steps[i].second);
    out << ")\n";
    if (!eta.empty())
        out << "  --eta E               eta >= 0 of " << names(eta) << " (default " << defaults.eta
            << ": deterministic)\n";
    out << "  --spacing NAME        leading, trailing, linspace, quadratic or logsnr (default: the\n"
           "                        sampler's own:";
    for (std::size_t i = 0; i < by_spacing.size(); ++i)
        out << (i == 0 ? " " : "; ") << to_string(by_spacing[i].first) << " for " << names(by_spacing[i].second);
    out << ")\n";
    if (!variance.empty())
        out << "  --variance NAME       variance of " << names(variance) << ": fixed_small (default) or fixed_large\n";
    out << "  --class K             sample class K of a conditional model (its card's 'classes')\n"
           "  --classes K1,K2,...   classes cycled over the batch\n"
           "  --guidance W          classifier-free guidance eps_u + W (eps_c - eps_u) (default 1:\n"
           "                        the conditional model; 0: the unconditional one)\n"
           "  --guidance-interval LO,HI\n"
           "                        guide only while t (s on flow) is in [LO, HI]; W = 1 elsewhere\n";
    text.replace(at, marker.size(), out.str());
    return text;
}

bool print_help(const Args& args, const char* help)
{
    if (!args.has("--help"))
        return false;
    std::cout << help_text(help);
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

namespace {
bool g_trust_code = false;
}

void set_trust_code(bool trust)
{
    g_trust_code = trust;
}

CodeTrust code_trust()
{
    return CodeTrust{.all = g_trust_code, .fingerprints = {}};
}

std::shared_ptr<Model> load_model_from(const Args& args)
{
    const auto card = args.text("--model");
    if (!card)
        throw InputError("--model CARD is required (a model card .json, or a bundled card's name such as ring8)");
    return Model::load(resolve_model_card(*card), args.text("--device").value_or("cpu"), code_trust());
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
