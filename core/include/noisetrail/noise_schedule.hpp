// Training noise schedules (contract section 1), all in float64.
#pragma once
#include <string>
#include <vector>

namespace noisetrail {

/// The forward process (contract section 8): `vp` (sections 1-7) or `flow`, the
/// linear path x_s = (1 - s) x_0 + s eps over s in [0, 1] (Lipman et al. 2023,
/// Liu et al. 2023).
enum class ProcessKind { Vp, Flow };
std::string to_string(ProcessKind k);
/// The VP alpha_bar with the signal-to-noise ratio of the flow path at s:
/// (1 - s)^2 / ((1 - s)^2 + s^2). The shared noise axis of VP and flow runs.
double flow_equivalent_alpha_bar(double s);

struct ScheduleConfig {
    std::string kind = "linear"; ///< linear | scaled_linear | cosine | sigmoid (vp only)
    double beta_start = 1e-4;
    double beta_end = 0.02;
    int train_steps = 1000;      ///< T (flow: process.train_steps)
    ProcessKind process = ProcessKind::Vp; ///< a card's "process.kind"
    double shift = 1.0;                    ///< flow: the plan's shift (contract section 8)
};

/// beta_t, alpha_t = 1 - beta_t and alpha_bar_t = prod_{s<=t} alpha_s for t = 0..T-1
/// (Ho et al. 2020, eq. 4 notation). For a flow process the arrays describe the
/// grid s_t = (t + 1) / T by its VP-equivalent alpha_bar (the same signal-to-noise
/// ratio): alpha_bar = (1 - s)^2 / ((1 - s)^2 + s^2), 0 at t = T - 1 (s = 1); the
/// sampling plans of a flow process use s itself (make_plan).
class NoiseSchedule {
public:
    /// Throws InputError for an unknown kind or invalid parameters.
    explicit NoiseSchedule(const ScheduleConfig& config);

    const ScheduleConfig& config() const { return config_; }
    int train_steps() const { return config_.train_steps; }
    ProcessKind process() const { return config_.process; }
    /// Flow: the level s_t = (t + 1) / T of the grid index t (see above).
    double flow_level(int t) const { return static_cast<double>(t + 1) / config_.train_steps; }
    const std::vector<double>& betas() const { return betas_; }
    const std::vector<double>& alpha_bars() const { return alpha_bars_; }
    double beta(int t) const { return betas_.at(t); }
    double alpha_bar(int t) const { return alpha_bars_.at(t); }
    /// log SNR(t) = log(alpha_bar / (1 - alpha_bar)).
    double log_snr(int t) const;

    static const std::vector<std::string>& kinds();

private:
    ScheduleConfig config_;
    std::vector<double> betas_;
    std::vector<double> alpha_bars_;
};

} // namespace noisetrail
