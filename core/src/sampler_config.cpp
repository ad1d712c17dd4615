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
    // Contract section 9. Which classes exist is the card's to say (Run checks them).
    const Guidance& g = config.guidance;
    for (int k : g.classes)
        if (k < 0)
            throw InputError("--class must be a class index >= 0, got " + std::to_string(k));
    if (g.scale && !std::isfinite(*g.scale))
        throw InputError("--guidance must be a finite number");
    if (g.scale && std::abs(*g.scale) > 1000.0)
        throw InputError("--guidance must be in -1000..1000");
    if (g.interval && !(std::isfinite((*g.interval)[0]) && std::isfinite((*g.interval)[1]) &&
                        (*g.interval)[0] <= (*g.interval)[1]))
        throw InputError("--guidance-interval must be LO,HI with finite LO <= HI");
    if ((g.scale || g.interval) && g.classes.empty())
        throw InputError("--guidance and --guidance-interval need a class (--class K or --classes K1,K2,...)");
}

double guidance_scale(const SamplerConfig& config)
{
    return config.guidance.scale.value_or(1.0);
}

bool is_guided(const SamplerConfig& config)
{
    return !config.guidance.classes.empty() && guidance_scale(config) != 1.0;
}

std::string describe_guidance(const Guidance& g, const std::vector<std::string>& class_names)
{
    if (g.classes.empty())
        return "";
    std::ostringstream out;
    const auto name = [&](int k) {
        return k >= 0 && k < static_cast<int>(class_names.size()) ? class_names[std::size_t(k)] : std::to_string(k);
    };
    out << (g.classes.size() == 1 ? "class " : "classes ");
    for (std::size_t i = 0; i < g.classes.size(); ++i)
        out << (i ? "," : "") << name(g.classes[i]);
    out << ", W " << g.scale.value_or(1.0);
    if (g.interval)
        out << " within [" << (*g.interval)[0] << ", " << (*g.interval)[1] << "]";
    return out.str();
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
    if (!config.guidance.classes.empty())
        out << ", " << describe_guidance(config.guidance);
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
    // The guidance scale tells panels of one conditional model apart (Spec lists are
    // sampler lists and carry no guidance: compare --guidance is its own axis).
    if (form == LabelForm::Title && !config.guidance.classes.empty())
        out << " W " << guidance_scale(config);
    return out.str();
}

} // namespace noisetrail
