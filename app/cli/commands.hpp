// noisetrail-cli subcommands. Each returns the process exit code and may throw
// InputError (exit 2) or RunError (exit 3); main() maps exceptions to codes.
#pragma once
#include "args.hpp"

#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"

#include <memory>
#include <string>
#include <vector>

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

extern const char* const kSampleHelp;
extern const char* const kPlanHelp;
extern const char* const kCompareHelp;
extern const char* const kTrainHelp;
extern const char* const kClassifyHelp;
extern const char* const kRunHelp;
extern const char* const kSessionHelp;
extern const char* const kInvertHelp, *const kInterpolateHelp, *const kConsistencyHelp, *const kDecisionHelp;

// Shared by subcommands that sample.
extern const std::set<std::string> kSamplerFlags;
/// Sampler flags -> config (validated against the model by make_plan later).
SamplerConfig sampler_config_from(const Args& args);
/// Load --model (required) on --device.
std::shared_ptr<Model> load_model_from(const Args& args);
/// Split a comma-separated flag value; InputError naming the flag when it is empty.
std::vector<std::string> split_list(const std::string& flag, const std::string& s);
/// Create a writable output folder or throw InputError naming the flag.
void prepare_output_dir(const std::string& flag, const std::string& dir);

} // namespace noisetrail::cli
