// noisetrail-cli: headless sampling and inspection (contract section 3).
#include "commands.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/printable.hpp"
#include "noisetrail/threads.hpp"
#include "noisetrail/version.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <iostream>

namespace {

using noisetrail::cli::Command;

const Command kCommands[] = {
    {"sample", "sample from a model, write samples and every step", noisetrail::cli::kSampleHelp,
     &noisetrail::cli::cmd_sample},
    {"plan", "print a sampler's timesteps and coefficients", noisetrail::cli::kPlanHelp,
     &noisetrail::cli::cmd_plan},
    {"run", "run a recipe's panels together from one x_T (lockstep)", noisetrail::cli::kRunHelp, &noisetrail::cli::cmd_run},
    {"compare", "DDPM vs DDIM grid: metrics tables and plots", noisetrail::cli::kCompareHelp, &noisetrail::cli::cmd_compare},
    {"train", "train a network (UNet, MLP, classifier); resumable", noisetrail::cli::kTrainHelp,
     &noisetrail::cli::cmd_train},
    {"classify", "judge image samples with the digit classifier", noisetrail::cli::kClassifyHelp,
     &noisetrail::cli::cmd_classify},
    {"session", "describe or export a saved run (GIF, MP4, filmstrip, interactive HTML page)", noisetrail::cli::kSessionHelp,
     &noisetrail::cli::cmd_session},
    {"invert", "DDIM inversion x_0 -> x_T and reconstruction", noisetrail::cli::kInvertHelp, &noisetrail::cli::cmd_invert},
    {"interpolate", "slerp in x_T, decoded by each sampler", noisetrail::cli::kInterpolateHelp, &noisetrail::cli::cmd_interpolate},
    {"consistency", "one x_T at several step counts; early stop", noisetrail::cli::kConsistencyHelp, &noisetrail::cli::cmd_consistency},
    {"decision", "when each sample decides its class or component", noisetrail::cli::kDecisionHelp, &noisetrail::cli::cmd_decision},
    {"reflow", "straighten a flow: 2-rectified flow from a model's pairs", noisetrail::cli::kReflowHelp,
     &noisetrail::cli::cmd_reflow},
    {"guidance", "classifier-free guidance's trade-off, one row per scale W", noisetrail::cli::kGuidanceHelp,
     &noisetrail::cli::cmd_guidance},
    {"field", "the field a sampler follows (eps_hat, x0_hat, score) on a 2-D grid", noisetrail::cli::kFieldHelp,
     &noisetrail::cli::cmd_field},
};

void usage(std::ostream& out)
{
    out << "usage: noisetrail-cli COMMAND [options]\n\ncommands:\n";
    for (const Command& c : kCommands)
        out << "  " << c.name << std::string(13 - std::strlen(c.name), ' ') << c.summary << '\n';
    out << "\n'noisetrail-cli COMMAND --help' describes a command; --version prints the version.\n"
           "Every command also takes --max-input-mib N: the most memory one input array (.npy)\n"
           "may take, in MiB (default 2048). Larger files are refused before anything is read.\n"
           "Every command also takes --max-memory-mib N: the memory budget, in MiB (default 1024), for\n"
           "what a file or flag asks to allocate (a network, an archive, a plan, an export, a batch).\n"
           "Every command that loads a model card also takes --trust-code: run a TorchScript module\n"
           "from outside the bundled models folder (it is code with your permissions; see HARDENING.md).\n";
}

/// Take a global FLAG N (in MiB, anywhere after the command) out of `args` and
/// hand its value in bytes to `set`: --max-input-mib (read_npy's allocation limit)
/// and --max-memory-mib (the memory budget, limits.hpp).
void apply_mib_flag(std::vector<std::string>& args, const std::string& flag, void (*set)(std::uint64_t))
{
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string value;
        if (args[i] == flag && i + 1 < args.size())
            value = args[i + 1];
        else if (args[i].rfind(flag + "=", 0) == 0)
            value = args[i].substr(flag.size() + 1);
        else if (args[i] == flag)
            throw noisetrail::InputError(flag + " needs a value");
        else
            continue;
        const std::size_t taken = args[i] == flag ? 2 : 1;
        unsigned long long mib = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mib);
        if (ec != std::errc() || end != value.data() + value.size() || mib < 1 || mib > (1ULL << 24))
            throw noisetrail::InputError(flag + " must be an integer in 1..16777216 (MiB), got '" + value + "'");
        set(mib << 20);
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i + taken));
        --i;
    }
}

/// Take the global --trust-code (anywhere after the command) out of `args`.
void apply_code_trust(std::vector<std::string>& args)
{
    const auto it = std::remove(args.begin(), args.end(), std::string("--trust-code"));
    if (it != args.end())
        noisetrail::cli::set_trust_code(true);
    args.erase(it, args.end());
}

} // namespace

int main(int argc, char** argv)
{
    noisetrail::prepare_process(argc, argv, noisetrail::ThreadUse::Batch);
    if (argc < 2) {
        usage(std::cerr);
        return 2;
    }
    const std::string first = argv[1];
    if (first == "--help" || first == "-h") {
        usage(std::cout);
        return 0;
    }
    if (first == "--version") {
        std::cout << "noisetrail-cli " << NOISETRAIL_VERSION << '\n';
        return 0;
    }
    for (const Command& c : kCommands) {
        if (first != c.name)
            continue;
        std::vector<std::string> rest(argv + 2, argv + argc);
        try {
            apply_mib_flag(rest, "--max-input-mib", &noisetrail::set_npy_size_limit);
            apply_mib_flag(rest, "--max-memory-mib", &noisetrail::set_memory_budget);
            apply_code_trust(rest);
            return c.run(rest);
        } catch (const noisetrail::InputError& e) {
            std::cerr << "noisetrail-cli " << c.name << ": error: " << noisetrail::printable(e.what()) << '\n';
            return 2;
        } catch (const std::filesystem::filesystem_error& e) {
            // Almost always a path given as a flag (an output folder under a file, say).
            std::cerr << "noisetrail-cli " << c.name << ": error: " << noisetrail::printable(e.what()) << '\n';
            return 2;
        } catch (const std::bad_alloc&) {
            // Allocations that know their file say so (read_npy); this is the rest.
            std::cerr << "noisetrail-cli " << c.name << ": run failed: out of memory\n";
            return 3;
        } catch (const noisetrail::RunError& e) {
            std::cerr << "noisetrail-cli " << c.name << ": run failed at " << noisetrail::printable(e.what()) << '\n';
            return 3;
        } catch (const std::exception& e) {
            // Anything else (libtorch errors included) is a failed run, reported on one line.
            std::string msg = e.what();
            msg = msg.substr(0, msg.find('\n'));
            std::cerr << "noisetrail-cli " << c.name << ": run failed: " << noisetrail::printable(msg) << '\n';
            return 3;
        }
    }
    std::cerr << "noisetrail-cli: unknown command '" << noisetrail::printable(first) << "'\n";
    usage(std::cerr);
    return 2;
}
