#include "noisetrail/sampler_config.hpp"

#include "noisetrail/errors.hpp"
#include "samplers/sampler.hpp"

#include <cmath>
#include <sstream>

namespace noisetrail {

std::vector<std::string> sampler_names()
{
    std::vector<std::string> names;
    for (const auto& u : detail::sampler_registry())
        names.push_back(u.info.name);
    return names;
}

std::vector<SamplerInfo> samplers()
{
    std::vector<SamplerInfo> out;
    for (const auto& u : detail::sampler_registry())
        out.push_back(u.info);
    return out;
}

const SamplerInfo& sampler_info(const std::string& name)
{
    return detail::find_sampler(name).info;
}

// to_string and parse_* of Spacing and Variance: config_names.cpp (torch-free).

Spacing resolved_spacing(const SamplerConfig& config)
{
    return config.spacing ? *config.spacing : sampler_info(config.sampler).default_spacing;
}

int resolved_steps(const SamplerConfig& config, int train_steps)
{
    if (config.steps != 0)
        return config.steps;
    const int d = sampler_info(config.sampler).default_steps;
    return d == 0 ? train_steps : std::min(d, train_steps);
}

void validate(const SamplerConfig& config, int train_steps)
{
    detail::find_sampler(config.sampler);
    const int S = resolved_steps(config, train_steps);
    if (S < 1 || S > train_steps)
        throw InputError("--steps must be in 1.." + std::to_string(train_steps) +
                         " (the model's train steps), got " + std::to_string(S));
    if (!std::isfinite(config.eta) || config.eta < 0.0)
        throw InputError("--eta must be a finite number >= 0");
    if (config.clip_x0 && !std::isfinite(*config.clip_x0))
        throw InputError("--clip-x0 must be a finite number");
}

std::string describe(const SamplerConfig& config, int train_steps, ProcessKind process)
{
    const SamplerInfo& u = sampler_info(config.sampler);
    std::ostringstream out;
    const int steps = resolved_steps(config, train_steps);
    out << u.title << ", " << steps << (steps == 1 ? " step" : " steps");
    if (u.uses_eta)
        out << ", eta " << config.eta;
    if (u.uses_variance)
        out << ", " << to_string(config.variance);
    if (process == ProcessKind::Vp)
        out << ", " << to_string(resolved_spacing(config));
    if (config.clip_x0 && *config.clip_x0 > 0)
        out << ", clip x0 " << *config.clip_x0;
    return out.str();
}

std::string sampler_label(const SamplerConfig& config, std::optional<int> train_steps, LabelForm form)
{
    const SamplerInfo& u = sampler_info(config.sampler);
    const char sep = form == LabelForm::Spec ? ':' : ' ';
    std::ostringstream out;
    out << (form == LabelForm::Spec ? u.name : u.title);
    if (train_steps)
        out << sep << resolved_steps(config, *train_steps);
    else if (form == LabelForm::Spec)
        out << sep << config.steps;
    if (u.uses_eta)
        out << sep << (form == LabelForm::Spec ? "" : "eta ") << config.eta;
    return out.str();
}

} // namespace noisetrail
