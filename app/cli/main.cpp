// noisetrail-cli: headless sampling and inspection (contract section 3).
#include "commands.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/threads.hpp"
#include "noisetrail/version.hpp"

#include <cstring>
#include <exception>
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
};

void usage(std::ostream& out)
{
    out << "usage: noisetrail-cli COMMAND [options]\n\ncommands:\n";
    for (const Command& c : kCommands)
        out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << '\n';
    out << "\n'noisetrail-cli COMMAND --help' describes a command; --version prints the version.\n";
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
        const std::vector<std::string> rest(argv + 2, argv + argc);
        try {
            return c.run(rest);
        } catch (const noisetrail::InputError& e) {
            std::cerr << "noisetrail-cli " << c.name << ": error: " << e.what() << '\n';
            return 2;
        } catch (const noisetrail::RunError& e) {
            std::cerr << "noisetrail-cli " << c.name << ": run failed at " << e.what() << '\n';
            return 3;
        } catch (const std::exception& e) {
            // Anything else (libtorch errors included) is a failed run, reported on one line.
            std::string msg = e.what();
            msg = msg.substr(0, msg.find('\n'));
            std::cerr << "noisetrail-cli " << c.name << ": run failed: " << msg << '\n';
            return 3;
        }
    }
    std::cerr << "noisetrail-cli: unknown command '" << first << "'\n";
    usage(std::cerr);
    return 2;
}
