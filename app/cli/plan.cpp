// noisetrail-cli plan: print the timesteps and per-step coefficients of a sampler.
#include "commands.hpp"

#include "noisetrail/sampling_plan.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace noisetrail::cli {

const char* const kPlanHelp = R"(usage: noisetrail-cli plan --model CARD [sampler options] [--json]

Print the sampling plan: for each step t, t_prev, alpha_bar, alpha_bar_prev and
sigma (t_prev = -1 and alpha_bar_prev = 1 after the last step).

  --model CARD          model card (.json); its schedule defines alpha_bar
  --sampler, --steps, --eta, --spacing, --variance, --clip-x0, --device
                        as for 'sample'
  --json                machine-readable output: {"steps": [{"t":..., ...}, ...]}
  --help                this text
)";

int cmd_plan(const std::vector<std::string>& argv)
{
    const Args args(argv, kSamplerFlags, {"--json", "--help"});
    if (args.has("--help")) {
        std::cout << kPlanHelp;
        return 0;
    }
    const SamplerConfig config = sampler_config_from(args);
    const auto model = load_model_from(args);
    const SamplingPlan plan = make_plan(model->schedule(), config);
    for (const auto& w : plan.warnings)
        std::cerr << "noisetrail-cli: warning: " << w << '\n';
    if (args.has("--json")) {
        // Written step by step: a document of 10^6 steps built in memory took 1.5 GB.
        std::cout << "{\"steps\":[";
        for (int i = 0; i < plan.size(); ++i) {
            const PlanStep& s = plan.steps[i];
            std::cout << (i ? "," : "")
                      << nlohmann::json{{"t", s.t},
                                        {"t_prev", s.t_prev},
                                        {"alpha_bar", s.alpha_bar},
                                        {"alpha_bar_prev", s.alpha_bar_prev},
                                        {"sigma", s.sigma}}
                             .dump();
        }
        std::cout << "]}\n";
        return 0;
    }
    std::cout << describe(config, model->schedule().train_steps()) << " on " << model->card().name << "\n";
    std::printf("%6s %6s %7s %22s %22s %22s\n", "step", "t", "t_prev", "alpha_bar", "alpha_bar_prev", "sigma");
    for (int i = 0; i < plan.size(); ++i) {
        const PlanStep& s = plan.steps[i];
        std::printf("%6d %6d %7d %22.17g %22.17g %22.17g\n", i, s.t, s.t_prev, s.alpha_bar, s.alpha_bar_prev,
                    s.sigma);
    }
    return 0;
}

} // namespace noisetrail::cli
