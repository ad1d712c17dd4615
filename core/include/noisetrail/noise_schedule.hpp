// Training noise schedules (contract section 1), all in float64.
#pragma once
#include <string>
#include <vector>

namespace noisetrail {

struct ScheduleConfig {
    std::string kind = "linear"; ///< linear | scaled_linear | cosine | sigmoid
    double beta_start = 1e-4;
    double beta_end = 0.02;
    int train_steps = 1000;      ///< T
};

/// beta_t, alpha_t = 1 - beta_t and alpha_bar_t = prod_{s<=t} alpha_s for t = 0..T-1
/// (Ho et al. 2020, eq. 4 notation).
class NoiseSchedule {
public:
    /// Throws InputError for an unknown kind or invalid parameters.
    explicit NoiseSchedule(const ScheduleConfig& config);

    const ScheduleConfig& config() const { return config_; }
    int train_steps() const { return config_.train_steps; }
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
