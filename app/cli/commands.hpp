// noisetrail-cli subcommands. Each returns the process exit code and may throw
// InputError (exit 2) or RunError (exit 3); main() maps exceptions to codes.
#pragma once
#include "args.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// Help lines shared by the experiment commands (invert, interpolate,
// consistency, decision), spliced into their help texts as string literals.
#define NOISETRAIL_HELP_SAMPLER_SETTINGS                                                   \
    "  --spacing NAME        leading, trailing, linspace, quadratic or logsnr\n"          \
    "                        (default: the sampler's own, as in sample --help)\n"      \
    "  --variance NAME       DDPM variance: fixed_small (default) or fixed_large\n"        \
    "  --clip-x0 R           clip x0_hat to [-R, R]; 'off' disables (default as in sample)\n"
#define NOISETRAIL_HELP_DEVICE_THREADS                                                     \
    "  --device cpu|cuda     where to run (default cpu)\n"                                 \
    "  --threads N           intra-op threads (default: libtorch's choice)\n"              \
    "  --help                this text\n"
#define NOISETRAIL_HELP_EXIT_CODES "Exit codes: 0 success, 2 bad arguments or input files, 3 the run failed.\n"

namespace noisetrail::cli {

struct Command {
    const char* name;
    const char* summary;
    const char* help;
    int (*run)(const std::vector<std::string>& argv);
};

int cmd_sample(const std::vector<std::string>& argv);
int cmd_plan(const std::vector<std::string>& argv);
int cmd_compare(const std::vector<std::string>& argv);
int cmd_train(const std::vector<std::string>& argv);
int cmd_classify(const std::vector<std::string>& argv);
int cmd_run(const std::vector<std::string>& argv);
int cmd_session(const std::vector<std::string>& argv);
int cmd_invert(const std::vector<std::string>& argv);
int cmd_interpolate(const std::vector<std::string>& argv);
int cmd_consistency(const std::vector<std::string>& argv);
int cmd_decision(const std::vector<std::string>& argv);
int cmd_reflow(const std::vector<std::string>& argv);
int cmd_guidance(const std::vector<std::string>& argv);
int cmd_field(const std::vector<std::string>& argv);

extern const char* const kSampleHelp;
extern const char* const kPlanHelp;
extern const char* const kCompareHelp;
extern const char* const kTrainHelp;
extern const char* const kClassifyHelp;
extern const char* const kRunHelp;
extern const char* const kSessionHelp;
extern const char* const kInvertHelp, *const kInterpolateHelp, *const kConsistencyHelp, *const kDecisionHelp;
extern const char* const kReflowHelp;
extern const char* const kGuidanceHelp;
extern const char* const kFieldHelp;

// Shared by subcommands that sample.
extern const std::set<std::string> kSamplerFlags;
/// Sampler flags -> config (validated against the model by make_plan later).
SamplerConfig sampler_config_from(const Args& args);
/// --class / --classes / --guidance / --guidance-interval (contract section 9).
Guidance guidance_from(const Args& args);
/// Only --spacing, --variance and --clip-x0: the settings a sampler list
/// (NAME[:STEPS[:ETA]],..) of the experiment commands leaves to flags.
SamplerConfig sampler_settings_from(const Args& args);
/// A help text with its "@SAMPLER_FLAGS@" line replaced by the sampler flags
/// (--sampler, --steps, --eta, --variance) written from the sampler registry.
std::string help_text(const char* help);
/// --help: print help_text(help) and return true (the command then exits 0).
bool print_help(const Args& args, const char* help);
/// A required flag's value; InputError "FLAG WHAT is required" (e.g. "--out DIR").
std::string required_text(const Args& args, const std::string& flag, const std::string& what);
/// --seed N in 0..2^53 (doubles hold every such seed exactly); 0 when not given.
std::uint64_t seed_from(const Args& args);
/// read_npy with the flag that named the file in front of any error.
NpyArray read_npy_named(const std::string& flag, const std::string& file);
/// --threads N, in 1..max_threads() (4x the cores); 0 when not given (libtorch's choice).
int threads_from(const Args& args);
/// The global --trust-code (main.cpp takes it out of every command's arguments):
/// TorchScript modules from outside the bundled models folder may run.
void set_trust_code(bool trust);
CodeTrust code_trust();
/// Load --model (required) on --device, with code_trust().
std::shared_ptr<Model> load_model_from(const Args& args);
/// Split a comma-separated flag value; InputError naming the flag when it is empty.
std::vector<std::string> split_list(const std::string& flag, const std::string& s);
/// Create a writable output folder or throw InputError naming the flag (compare, whose
/// folder keeps its cache up to date cell by cell, writes its files one by one).
void prepare_output_dir(const std::string& flag, const std::string& dir);
/// Check an output file before any work (absent or a regular file, its folder writable;
/// never a FIFO or a device); InputError naming the flag.
void check_output_file_flag(const std::string& flag, const std::string& file);
/// Swap a staged output folder in and print its notes (docs/CLI.md, "Outputs").
void commit_output_dir(StagedFolder& folder);

} // namespace noisetrail::cli
