#include "noisetrail/noise_schedule.hpp"

#include "noisetrail/errors.hpp"
#include "numeric.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace noisetrail {

namespace {

std::vector<double> sigmoid_betas(const ScheduleConfig& c)
{
    std::vector<double> x = linspace(-6.0, 6.0, c.train_steps);
    for (double& v : x)
        v = 1.0 / (1.0 + std::exp(-v)) * (c.beta_end - c.beta_start) + c.beta_start;
    return x;
}

// Improved DDPM (Nichol & Dhariwal 2021) eq. 17 with s = 0.008; betas clipped to 0.999.
std::vector<double> cosine_betas(int T)
{
    const auto f = [](double u) {
        const double c = std::cos((u + 0.008) / 1.008 * std::numbers::pi / 2.0);
        return c * c;
    };
    std::vector<double> betas(T);
    for (int i = 0; i < T; ++i) {
        const double t1 = static_cast<double>(i) / T;
        const double t2 = static_cast<double>(i + 1) / T;
        betas[i] = std::min(1.0 - f(t2) / f(t1), 0.999);
    }
    return betas;
}

} // namespace

std::string to_string(ProcessKind k) { return k == ProcessKind::Flow ? "flow" : "vp"; }

double flow_equivalent_alpha_bar(double s)
{
    const double a = 1.0 - s;
    return a * a / (a * a + s * s);
}

const std::vector<std::string>& NoiseSchedule::kinds()
{
    static const std::vector<std::string> k{"linear", "scaled_linear", "cosine", "sigmoid"};
    return k;
}

NoiseSchedule::NoiseSchedule(const ScheduleConfig& config) : config_(config)
{
    const int T = config.train_steps;
    if (T < 1 || T > 1000000)
        throw InputError("schedule: train_steps must be in 1..1000000, got " + std::to_string(T));
    if (config.process == ProcessKind::Flow) {
        if (!(std::isfinite(config.shift) && config.shift > 0.0))
            throw InputError("process: shift must be a finite number > 0");
        alpha_bars_.resize(T);
        betas_.resize(T);
        double prev = 1.0;
        for (int t = 0; t < T; ++t) {
            alpha_bars_[t] = flow_equivalent_alpha_bar(static_cast<double>(t + 1) / T);
            betas_[t] = 1.0 - alpha_bars_[t] / prev;
            prev = alpha_bars_[t];
        }
        return;
    }
    const bool needs_betas = config.kind != "cosine";
    if (needs_betas) {
        if (!(std::isfinite(config.beta_start) && std::isfinite(config.beta_end)) ||
            !(config.beta_start > 0.0 && config.beta_start < 1.0 && config.beta_end > 0.0 &&
              config.beta_end < 1.0))
            throw InputError("schedule: beta_start and beta_end must lie in (0, 1)");
    }
    if (config.kind == "linear") {
        betas_ = linspace(config.beta_start, config.beta_end, T);
    } else if (config.kind == "scaled_linear") {
        betas_ = linspace(std::sqrt(config.beta_start), std::sqrt(config.beta_end), T);
        for (double& b : betas_)
            b *= b;
    } else if (config.kind == "cosine") {
        betas_ = cosine_betas(T);
    } else if (config.kind == "sigmoid") {
        betas_ = sigmoid_betas(config);
    } else {
        throw InputError("schedule: unknown kind '" + config.kind +
                         "' (expected linear, scaled_linear, cosine or sigmoid)");
    }
    alpha_bars_.resize(T);
    double prod = 1.0;
    for (int t = 0; t < T; ++t) {
        if (!(betas_[t] > 0.0 && betas_[t] < 1.0))
            throw InputError("schedule: beta_" + std::to_string(t) + " is outside (0, 1)");
        prod *= 1.0 - betas_[t];
        alpha_bars_[t] = prod;
    }
}

double NoiseSchedule::log_snr(int t) const
{
    const double ab = alpha_bar(t);
    return std::log(ab) - std::log1p(-ab);
}

} // namespace noisetrail
