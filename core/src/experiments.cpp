// The experiments of issue 13; what they compute is described in experiments.hpp.
#include "noisetrail/experiments.hpp"

#include "denoiser.hpp"
#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "tensor_util.hpp"

#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace noisetrail::experiments {

namespace fs = std::filesystem;

namespace {

/// Counts model calls across the runs of one experiment and forwards them to the callback.
class Counter {
public:
    Counter(const ProgressCallback& cb, int total) : cb_(cb), total_(total) {}
    void step(const std::string& stage)
    {
        ++done_;
        if (cb_)
            cb_({done_, total_, stage});
    }
    int done() const { return done_; }

private:
    const ProgressCallback& cb_;
    int total_;
    int done_ = 0;
};

bool cancelled_now(const std::atomic<bool>* cancel)
{
    return cancel && cancel->load(std::memory_order_relaxed);
}

void check_rows(const char* what, std::size_t size, int n, std::int64_t D)
{
    if (n < 1 || D < 1 || static_cast<std::int64_t>(size) != n * D)
        throw InputError(std::string(what) + ": expected " + std::to_string(n) + " x " + std::to_string(D) +
                         " values, got " + std::to_string(size));
}

/// One run_sampler call from a given x_T, counting its steps.
RunResult run_from(const Model& model, const SamplerConfig& config, std::span<const float> x_T, std::uint64_t seed,
                   int threads, Counter& counter, const std::atomic<bool>* cancel, const FrameCallback& extra = {})
{
    RunOptions opt;
    opt.sampler = config;
    opt.seed = seed;
    opt.threads = threads;
    opt.init_noise = std::vector<float>(x_T.begin(), x_T.end());
    const std::string stage = describe(config, model.schedule().train_steps(), model.schedule().process());
    const FrameCallback on_frame = [&](std::shared_ptr<const StepFrame> f) {
        counter.step(stage);
        if (extra)
            extra(std::move(f));
    };
    return run_sampler(model, opt, on_frame, cancel);
}

/// What a distance is measured on: coordinates, or classifier features.
std::vector<float> embed(const Classifier* classifier, std::span<const float> x, int n)
{
    if (!classifier)
        return std::vector<float>(x.begin(), x.end());
    return classifier->features(x, n);
}

} // namespace

std::vector<SamplerConfig> parse_sampler_list(const std::string& text, const SamplerConfig& base,
                                              const std::string& what)
{
    std::vector<SamplerConfig> out;
    std::size_t begin = 0;
    while (begin <= text.size()) {
        const std::size_t comma = std::min(text.find(',', begin), text.size());
        const std::string entry = text.substr(begin, comma - begin);
        begin = comma + 1;
        if (entry.empty())
            continue;
        std::vector<std::string> parts;
        for (std::size_t start = 0;;) {
            const std::size_t colon = entry.find(':', start);
            parts.push_back(entry.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
            if (colon == std::string::npos)
                break;
            start = colon + 1;
        }
        if (parts.size() > 3 || parts[0].empty())
            throw InputError(what + ": '" + entry + "' is not NAME[:STEPS[:ETA]]");
        SamplerConfig c = base;
        c.sampler = parts[0];
        try {
            std::size_t used = 0;
            if (parts.size() > 1) {
                c.steps = std::stoi(parts[1], &used);
                if (used != parts[1].size() || c.steps < 0)
                    throw std::invalid_argument("steps");
            }
            if (parts.size() > 2) {
                c.eta = std::stod(parts[2], &used);
                if (used != parts[2].size() || !(c.eta >= 0) || !std::isfinite(c.eta))
                    throw std::invalid_argument("eta");
            }
        } catch (const std::exception&) {
            throw InputError(what + ": '" + entry + "': STEPS must be a whole number >= 0 and ETA a number >= 0");
        }
        out.push_back(c);
    }
    if (out.empty())
        throw InputError(what + ": expected NAME[:STEPS[:ETA]],.., got '" + text + "'");
    return out;
}

std::vector<double> mse_per_example(std::span<const float> a, std::span<const float> b, int n)
{
    if (n < 1 || a.size() != b.size() || a.size() % n != 0 || a.empty())
        throw InputError("mse_per_example: a and b must hold n rows of the same size");
    const std::size_t D = a.size() / n;
    std::vector<double> out(n, 0.0);
    for (int i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < D; ++j) {
            const double d = double(a[i * D + j]) - double(b[i * D + j]);
            s += d * d;
        }
        out[i] = s / double(D);
    }
    return out;
}

double mean_row_distance(std::span<const float> a, std::span<const float> b, int n, int d)
{
    check_rows("mean_row_distance", a.size(), n, d);
    check_rows("mean_row_distance", b.size(), n, d);
    double total = 0;
    for (int i = 0; i < n; ++i) {
        double s = 0;
        for (int j = 0; j < d; ++j) {
            const double diff = double(a[i * d + j]) - double(b[i * d + j]);
            s += diff * diff;
        }
        total += std::sqrt(s);
    }
    return total / n;
}

// ---------------------------------------------------------------- inversion

std::vector<double> ddim_invert(const Model& model, const SamplingPlan& plan, std::span<const float> x0, int n,
                                const ProgressCallback& progress, const std::atomic<bool>* cancel, bool* cancelled)
{
    c10::InferenceMode guard;
    const ModelCard& card = model.card();
    if (card.schedule.process != ProcessKind::Vp)
        throw InputError("inversion: model card " + card.path.string() +
                         " has a flow process; DDIM inversion is written for VP cards only (so far)");
    check_rows("inversion data", x0.size(), n, card.data_dim());
    const auto shape = detail::batch_shape(card, n);
    const at::Device device = detail::parse_device(model.device());
    at::Tensor x = detail::to_tensor(x0, shape).to(at::kDouble).to(device);
    Counter counter(progress, plan.size());
    if (cancelled)
        *cancelled = false;
    // The decoder's step k (DDIM eq. 12, eta 0) maps the state at t_k to the one at t_{k+1}:
    //   x_{t_{k+1}} = sqrt(ab_{k+1}) (x_{t_k} - sqrt(1 - ab_k) eps) / sqrt(ab_k) + sqrt(1 - ab_{k+1}) eps,
    //   eps = eps_theta(x_{t_k}, t_k),
    // with ab_{k+1} = alpha_bar_prev (1 after the last step: the data). Solved for x_{t_k}:
    //   x_{t_k} = sqrt(ab_k) (x_{t_{k+1}} - sqrt(1 - ab_{k+1}) eps) / sqrt(ab_{k+1}) + sqrt(1 - ab_k) eps,
    // i.e. x_next = sqrt(ab_next) x0_hat(x) + sqrt(1 - ab_next) eps_hat with x0_hat taken at the
    // state's own level. The only unknown is eps_theta(x_{t_k}, t_k); inversion uses
    // eps_theta(x_{t_{k+1}}, t_k): the model is evaluated on the state we have (one level
    // below), at the timestep t_k of the step being inverted, so every model call uses a plan
    // timestep (the data x_0 has none of its own) and the error vanishes as the steps shrink
    // (the Euler step of the DDIM ODE, eq. 14, run forwards). Walked k = S-1 .. 0: ascending t.
    const int S = plan.size();
    for (int k = S - 1; k >= 0; --k) {
        const PlanStep& s = plan.steps[k];
        const double ab_here = s.alpha_bar_prev, ab_next = s.alpha_bar;
        at::Tensor out;
        try {
            out = model.denoiser().predict(x, s.t);
        } catch (const InputError&) {
            throw;
        } catch (const std::exception& e) {
            std::string msg = e.what();
            throw RunError("inversion step at t = " + std::to_string(s.t) + ": the model failed: " +
                               msg.substr(0, msg.find('\n')),
                           S - 1 - k, s.t);
        }
        const at::Tensor eps = detail::to_x0_eps(card.prediction, s.alpha_bar, x, out, std::nullopt).eps_hat;
        const at::Tensor x0_hat = (x - std::sqrt(1.0 - ab_here) * eps) / std::sqrt(ab_here);
        x = std::sqrt(ab_next) * x0_hat + std::sqrt(1.0 - ab_next) * eps;
        if (!at::isfinite(x).all().item<bool>())
            throw RunError("inversion step at t = " + std::to_string(s.t) + ": the state became non-finite",
                           S - 1 - k, s.t);
        counter.step("DDIM inversion");
        if (k > 0 && cancelled_now(cancel)) {
            if (cancelled)
                *cancelled = true;
            return {};
        }
    }
    return detail::to_doubles(x);
}

Inversion invert_and_reconstruct(const Model& model, std::span<const float> x0, int n, const InversionOptions& o,
                                 const ProgressCallback& progress, const std::atomic<bool>* cancel)
{
    c10::InferenceMode guard;
    if (o.threads > 0)
        at::set_num_threads(o.threads);
    SamplerConfig ddim;
    ddim.sampler = "ddim";
    ddim.steps = o.steps;
    ddim.eta = 0.0;
    ddim.spacing = o.spacing;
    ddim.clip_x0 = 0.0; // off: clipping is not invertible
    validate(ddim, model.schedule().train_steps());
    Inversion res;
    res.plan = make_plan(model.schedule(), ddim);
    res.shape = detail::batch_shape(model.card(), n);
    const int S = res.plan.size();
    Counter counter(progress, S * (o.ddpm ? 3 : 2));
    const ProgressCallback forward = [&](const Progress& p) { counter.step(p.stage); };
    bool stopped = false;
    const std::vector<double> x_T = ddim_invert(model, res.plan, x0, n, forward, cancel, &stopped);
    if (stopped) {
        res.cancelled = true;
        return res;
    }
    res.x_T.assign(x_T.begin(), x_T.end()); // float32, as written to xT.npy
    RunResult r = run_from(model, ddim, res.x_T, o.seed, o.threads, counter, cancel);
    if (r.cancelled) {
        res.cancelled = true;
        return res;
    }
    res.reconstruction = std::move(r.samples);
    res.mse = mse_per_example(res.reconstruction, x0, n);
    if (o.ddpm) {
        SamplerConfig ddpm = ddim;
        ddpm.sampler = "ddpm";
        ddpm.variance = Variance::FixedSmall;
        RunResult d = run_from(model, ddpm, res.x_T, o.seed, o.threads, counter, cancel);
        if (d.cancelled) {
            res.cancelled = true;
            return res;
        }
        res.ddpm_reconstruction = std::move(d.samples);
        res.ddpm_mse = mse_per_example(res.ddpm_reconstruction, x0, n);
    }
    return res;
}

// ------------------------------------------------------------ interpolation

std::vector<double> slerp(std::span<const double> z0, std::span<const double> z1, double a)
{
    if (z0.size() != z1.size() || z0.empty())
        throw InputError("slerp: the two noises must have the same, non-zero size");
    double dot = 0, n0 = 0, n1 = 0;
    for (std::size_t i = 0; i < z0.size(); ++i) {
        dot += z0[i] * z1[i];
        n0 += z0[i] * z0[i];
        n1 += z1[i] * z1[i];
    }
    if (!(n0 > 0) || !(n1 > 0))
        throw InputError("slerp: a noise of norm zero has no direction");
    const double cos_theta = std::clamp(dot / std::sqrt(n0 * n1), -1.0, 1.0);
    const double theta = std::acos(cos_theta);
    double c0 = 1.0 - a, c1 = a; // linear for (nearly) parallel inputs, where sin(theta) -> 0
    if (std::sin(theta) > 1e-6) {
        c0 = std::sin((1.0 - a) * theta) / std::sin(theta);
        c1 = std::sin(a * theta) / std::sin(theta);
    }
    std::vector<double> out(z0.size());
    for (std::size_t i = 0; i < z0.size(); ++i)
        out[i] = c0 * z0[i] + c1 * z1[i];
    return out;
}

std::vector<double> neighbour_change(std::span<const float> samples, int k)
{
    std::vector<double> out;
    if (k < 2 || samples.size() % static_cast<std::size_t>(k) != 0)
        return out;
    const std::size_t D = samples.size() / static_cast<std::size_t>(k);
    for (int i = 1; i < k; ++i) {
        double c = 0;
        for (std::size_t j = 0; j < D; ++j) {
            const double d = double(samples[i * D + j]) - samples[(i - 1) * D + j];
            c += d * d;
        }
        out.push_back(std::sqrt(c / static_cast<double>(D)));
    }
    return out;
}

Interpolation interpolate(const Model& model, std::span<const float> z0, std::span<const float> z1,
                          const InterpolationOptions& o, const ProgressCallback& progress,
                          const std::atomic<bool>* cancel)
{
    const std::int64_t D = model.card().data_dim();
    if (static_cast<std::int64_t>(z0.size()) != D || static_cast<std::int64_t>(z1.size()) != D)
        throw InputError("interpolation: each noise must hold the model's " + std::to_string(D) + " values");
    if (o.points < 2 || o.points > 1000)
        throw InputError("interpolation: points must be in 2..1000, got " + std::to_string(o.points));
    if (o.samplers.empty())
        throw InputError("interpolation: no sampler given");
    const int T = model.schedule().train_steps();
    int total = 0;
    for (const SamplerConfig& c : o.samplers) {
        validate(c, T);
        total += resolved_steps(c, T);
    }
    Interpolation res;
    res.samplers = o.samplers;
    res.shape = detail::batch_shape(model.card(), o.points);
    const std::vector<double> a(z0.begin(), z0.end()), b(z1.begin(), z1.end());
    for (int i = 0; i < o.points; ++i) {
        const double alpha = double(i) / (o.points - 1);
        res.alphas.push_back(alpha);
        const std::vector<double> z = slerp(a, b, alpha);
        res.x_T.insert(res.x_T.end(), z.begin(), z.end());
    }
    Counter counter(progress, total);
    for (const SamplerConfig& c : o.samplers) {
        RunResult r = run_from(model, c, res.x_T, o.seed, o.threads, counter, cancel);
        if (r.cancelled) {
            res.cancelled = true;
            return res;
        }
        res.samples.push_back(std::move(r.samples));
    }
    return res;
}

// ------------------------------------------------------ consistency, early stop

fs::path classifier_path(const ModelCard& card, const fs::path& path)
{
    if (!path.empty())
        return path;
    // The card's own "classifier" (validated by read_model_card), else the digit
    // classifier beside it: the rule for cards written before colour models.
    const auto j = nlohmann::json::parse(card.json_text, nullptr, false);
    if (j.is_object() && j.contains("classifier") && j["classifier"].is_string())
        return card.resolve(j["classifier"].get<std::string>());
    return card.path.parent_path() / "mnist-classifier.json";
}

std::shared_ptr<Classifier> classifier_for(const Model& model, const fs::path& path, const std::string& what)
{
    const ModelCard& card = model.card();
    const fs::path cpath = classifier_path(card, path);
    if (!fs::exists(cpath))
        throw InputError(what + " " + cpath.string() +
                         ": not found; image models are measured with a classifier (the card's 'classifier', "
                         "else mnist-classifier.json beside it; train one with "
                         "'noisetrail-cli train --kind noisetrail-classifier')");
    auto clf = Classifier::load(cpath);
    const auto in = clf->input_shape();
    if (in.size() != 3 || in[0] * in[1] * in[2] != card.data_dim())
        throw InputError(what + " " + cpath.string() + ": its input shape does not match the model's data_shape");
    return clf;
}

Consistency consistency(const Model& model, const ConsistencyOptions& o, const ProgressCallback& progress,
                        const std::atomic<bool>* cancel)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    if (o.samplers.empty())
        throw InputError("consistency: no sampler given");
    if (o.steps.empty() || !std::is_sorted(o.steps.begin(), o.steps.end()) ||
        std::adjacent_find(o.steps.begin(), o.steps.end()) != o.steps.end())
        throw InputError("consistency: the step counts must be distinct and ascending");
    const int D = static_cast<int>(card.data_dim());
    Consistency res;
    res.samplers = o.samplers;
    res.steps = o.steps;
    if (o.init_noise) {
        if (o.init_noise->empty() || o.init_noise->size() % D != 0)
            throw InputError("consistency: the initial noise is not a whole number of samples");
        res.x_T = *o.init_noise;
    } else {
        if (o.batch < 1 || o.batch > 100000)
            throw InputError("consistency: batch must be in 1..100000, got " + std::to_string(o.batch));
        res.x_T = initial_noise(card.data_shape, o.batch, o.seed);
    }
    const int B = static_cast<int>(res.x_T.size() / D);
    res.shape = detail::batch_shape(card, B);
    std::shared_ptr<Classifier> clf;
    if (card.is_image()) {
        clf = classifier_for(model, o.classifier);
        res.space = DistanceSpace::ClassifierFeatures;
    }
    const int dim = clf ? clf->feature_dim() : D;
    int total = 0;
    std::vector<std::vector<SamplerConfig>> configs;
    for (const SamplerConfig& base : o.samplers) {
        configs.emplace_back();
        for (int s : o.steps) {
            SamplerConfig c = base;
            c.steps = s;
            validate(c, T);
            // The previews are taken after steps[i] steps of the longest run: every plan must
            // have exactly S steps (quadratic spacing drops repeated timesteps at large S).
            if (make_plan(model.schedule(), c).size() != s)
                throw InputError("consistency: " + describe(c, T) + " has fewer than " + std::to_string(s) +
                                 " distinct timesteps; use another spacing");
            configs.back().push_back(c);
            total += s;
        }
    }
    Counter counter(progress, total);
    const std::size_t last = o.steps.size() - 1;
    for (std::size_t v = 0; v < configs.size(); ++v) {
        res.samples.emplace_back(o.steps.size());
        res.previews.emplace_back(o.steps.size());
        res.preview_t.emplace_back(o.steps.size(), 0);
        // The longest run first: its samples are the reference and its x0_hat after
        // steps[i] steps is the early-stop preview set beside the steps[i]-step run.
        const FrameCallback keep_previews = [&](std::shared_ptr<const StepFrame> f) {
            for (std::size_t i = 0; i < o.steps.size(); ++i)
                if (f->step + 1 == o.steps[i]) {
                    res.previews[v][i] = f->x0_hat;
                    res.preview_t[v][i] = f->plan.t;
                }
        };
        for (std::size_t i = o.steps.size(); i-- > 0;) {
            RunResult r = run_from(model, configs[v][i], res.x_T, o.seed, o.threads, counter, cancel,
                                   i == last ? keep_previews : FrameCallback{});
            if (r.cancelled) {
                res.cancelled = true;
                return res;
            }
            res.samples[v][i] = std::move(r.samples);
        }
        const std::vector<float> ref = embed(clf.get(), res.samples[v][last], B);
        res.distance.emplace_back();
        res.preview_distance.emplace_back();
        for (std::size_t i = 0; i < o.steps.size(); ++i) {
            const std::vector<float> e = embed(clf.get(), res.samples[v][i], B);
            res.distance[v].push_back(mean_row_distance(e, ref, B, dim));
            const std::vector<float> p = embed(clf.get(), res.previews[v][i], B);
            res.preview_distance[v].push_back(mean_row_distance(p, e, B, dim));
        }
    }
    return res;
}

namespace {

using figure::Rgb;

std::string number(double v, const char* format)
{
    if (!std::isfinite(v))
        return "nan";
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

Rgb palette(std::size_t k)
{
    const auto& c = compare::kPalette[k % compare::kPalette.size()];
    return {c[0], c[1], c[2]};
}

const Rgb kGrey{120, 120, 120};

/// Sample b of a batch [B, *data_shape] as an image of an image card.
figure::Image image_of(const ModelCard& card, std::span<const float> batch, int b)
{
    const auto& s = card.data_shape;
    figure::Image img;
    img.channels = s.size() == 3 ? static_cast<int>(s[0]) : 1;
    img.height = static_cast<int>(s[s.size() - 2]);
    img.width = static_cast<int>(s[s.size() - 1]);
    const std::size_t D = static_cast<std::size_t>(card.data_dim());
    img.values.assign(batch.begin() + b * D, batch.begin() + (b + 1) * D);
    const auto range = card.data_range.value_or(std::array<double, 2>{-1.0, 1.0});
    img.lo = range[0];
    img.hi = range[1];
    return img;
}

figure::ImageRow image_row(const ModelCard& card, std::span<const float> batch, int shown, std::string label,
                           std::string note, Rgb color)
{
    figure::ImageRow row{std::move(label), std::move(note), color, {}, {}};
    for (int b = 0; b < shown; ++b)
        row.images.push_back(image_of(card, batch, b));
    return row;
}

/// A symmetric square range over the points: at least [-3, 3], padded 5 %, whole units.
std::pair<double, double> point_range(const std::vector<std::span<const float>>& sets)
{
    double m = 3.0;
    for (const auto& s : sets)
        for (float v : s)
            if (std::isfinite(v))
                m = std::max(m, std::abs(double(v)) * 1.05);
    m = std::ceil(m);
    return {-m, m};
}

figure::Series dots(figure::Series::Kind kind, Rgb color, std::span<const float> xy)
{
    return {kind, color, std::vector<float>(xy.begin(), xy.end())};
}

/// Segments from point b of `from` to point b of `to` (2-D batches of B points).
figure::Series joins(std::span<const float> from, std::span<const float> to, int B, Rgb color)
{
    figure::Series s{figure::Series::Kind::Segments, color, {}};
    for (int b = 0; b < B; ++b)
        s.xy.insert(s.xy.end(), {from[2 * b], from[2 * b + 1], to[2 * b], to[2 * b + 1]});
    return s;
}

} // namespace

figure::Report consistency_report(const Model& model, const Consistency& r)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    figure::Report rep;
    const std::size_t V = r.distance.size(), S = r.steps.size();
    if (V != r.samplers.size() || V == 0 || S == 0)
        return rep; // cancelled before the first sampler was done
    const int longest = r.steps.back();
    const auto config = [&](std::size_t v, int steps) {
        SamplerConfig c = r.samplers[v];
        c.steps = steps;
        return c;
    };
    const char* space = r.space == DistanceSpace::ClassifierFeatures ? "classifier_features" : "coordinates";
    figure::Table dist{"consistency", {"sampler", "steps", "mean_distance", "space"}, {}};
    figure::Table early{"early_stop", {"sampler", "k", "preview_t", "preview_distance"}, {}};
    for (std::size_t v = 0; v < V; ++v)
        for (std::size_t i = 0; i < S; ++i) {
            dist.rows.push_back({sampler_label(config(v, r.steps[i]), T, LabelForm::Spec), std::to_string(r.steps[i]),
                                 number(r.distance[v][i], "%.9g"), space});
            early.rows.push_back({sampler_label(config(v, longest), T, LabelForm::Spec), std::to_string(r.steps[i]),
                                  std::to_string(r.preview_t[v][i]), number(r.preview_distance[v][i], "%.9g")});
        }
    rep.tables = {std::move(dist), std::move(early)};

    figure::Figure fig{"consistency", "One x_T sampled at every S, distance: mean to the S = " + std::to_string(longest) +
                                          " samples (" + (r.space == DistanceSpace::ClassifierFeatures ? "classifier features" : "coordinates") + ")",
                       {}, {}, {}, {}, {}, {}};
    figure::Figure stop{"early_stop",
                        "Early stop is not fewer steps: x0_hat after k of " + std::to_string(longest) +
                            " steps beside a k-step run",
                        {}, {}, {}, {}, {}, {}};
    const int B = static_cast<int>(r.shape.at(0));
    if (card.is_image()) {
        const int shown = std::min(B, 8);
        for (std::size_t v = 0; v < V; ++v)
            for (std::size_t i = 0; i < S; ++i)
                fig.rows.push_back(image_row(card, r.samples[v][i], shown, sampler_label(config(v, r.steps[i]), T),
                                             "distance " + number(r.distance[v][i], "%.3g"), palette(v)));
        for (std::size_t v = 0; v < V; ++v)
            for (std::size_t i = 0; i + 1 < S; ++i) {
                stop.rows.push_back(image_row(card, r.previews[v][i], shown,
                                              sampler_label(config(v, longest), T) + ": x0_hat after " +
                                                  std::to_string(r.steps[i]),
                                              "t = " + std::to_string(r.preview_t[v][i]), kGrey));
                stop.rows.push_back(image_row(card, r.samples[v][i], shown, sampler_label(config(v, r.steps[i]), T),
                                              "final samples", palette(v)));
            }
    } else if (card.is_2d_points()) {
        std::vector<std::span<const float>> all, pairs;
        for (std::size_t v = 0; v < V; ++v)
            for (std::size_t i = 0; i < S; ++i) {
                all.emplace_back(r.samples[v][i]);
                if (i + 1 < S)
                    pairs.emplace_back(r.samples[v][i]), pairs.emplace_back(r.previews[v][i]);
            }
        const auto [lo, hi] = point_range(all);
        const auto [plo, phi] = point_range(pairs);
        for (std::size_t v = 0; v < V; ++v) {
            const std::string name = sampler_label(r.samplers[v], std::nullopt);
            figure::PointPanel p{name + ", distance " + number(r.distance[v][0], "%.3g") + " at S = " +
                                     std::to_string(r.steps[0]),
                                 lo, hi, {}};
            for (std::size_t i = 0; i + 1 < S; ++i)
                p.series.push_back(joins(r.samples[v][i], r.samples[v][i + 1], B, {200, 200, 200}));
            for (std::size_t i = 0; i < S; ++i)
                p.series.push_back(dots(figure::Series::Kind::Dots, palette(i), r.samples[v][i]));
            fig.panels.push_back(std::move(p));
            figure::PointPanel e{name + ": x0_hat after k of " + std::to_string(longest), plo, phi, {}};
            for (std::size_t i = 0; i + 1 < S; ++i)
                e.series.push_back(joins(r.previews[v][i], r.samples[v][i], B, {215, 215, 215}));
            for (std::size_t i = 0; i + 1 < S; ++i) {
                e.series.push_back(dots(figure::Series::Kind::Rings, palette(i), r.previews[v][i]));
                e.series.push_back(dots(figure::Series::Kind::Dots, palette(i), r.samples[v][i]));
            }
            stop.panels.push_back(std::move(e));
        }
        for (std::size_t i = 0; i < S; ++i) {
            fig.legend.push_back({palette(i), "S = " + std::to_string(r.steps[i])});
            if (i + 1 < S)
                stop.legend.push_back({palette(i), "k = " + std::to_string(r.steps[i])});
        }
        fig.caption = "Grey lines join the samples of one x_T across S.";
        stop.caption = "Hollow: x0_hat after k steps of the longest run. Solid: the final sample of a k-step run "
                       "from the same x_T.";
    }
    rep.figures = {std::move(fig), std::move(stop)};
    return rep;
}

figure::Report inversion_report(const Model& model, std::span<const float> x0, const std::vector<std::int64_t>& indices,
                                const Inversion& main, const std::vector<const Inversion*>& table)
{
    const ModelCard& card = model.card();
    const std::size_t D = static_cast<std::size_t>(card.data_dim());
    const int n = static_cast<int>(main.mse.size());
    const bool ddpm = !main.ddpm_mse.empty();
    const auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v)
            s += x;
        return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
    };
    const auto S = [](const Inversion& r) { return static_cast<int>(r.plan.size()); };
    figure::Report rep;
    if (!table.empty()) {
        figure::Table t{"table", {"steps", "examples", "ddim_mse"}, {}};
        if (ddpm)
            t.header.push_back("ddpm_mse");
        for (const Inversion* r : table) {
            t.rows.push_back({std::to_string(S(*r)), std::to_string(r->mse.size()), number(mean(r->mse), "%.9g")});
            if (ddpm)
                t.rows.back().push_back(number(mean(r->ddpm_mse), "%.9g"));
        }
        rep.tables.push_back(std::move(t));
    }
    figure::Table m{"mse", {"index", "mse"}, {}};
    if (ddpm)
        m.header.push_back("ddpm_mse");
    for (int i = 0; i < n; ++i) {
        m.rows.push_back({std::to_string(i < static_cast<int>(indices.size()) ? indices[i] : i), number(main.mse[i], "%.9g")});
        if (ddpm)
            m.rows.back().push_back(number(main.ddpm_mse[i], "%.9g"));
    }
    rep.tables.push_back(std::move(m));
    if (n == 0 || x0.size() < static_cast<std::size_t>(n) * D)
        return rep;

    const std::string s0 = std::to_string(S(main));
    const Rgb black{0, 0, 0}, blue = palette(0), purple = palette(4);
    figure::Figure rec{"reconstruction", "DDIM inversion: x_0 to x_T and back, S = " + s0 + " (eta 0, no clipping)",
                       {}, {}, {}, {}, {}, {}};
    if (card.is_image()) {
        const int shown = std::min(n, 16);
        rec.rows.push_back(image_row(card, x0, shown, "original x_0", "", black));
        figure::ImageRow noise = image_row(card, main.x_T, shown, "inverted x_T", "", black);
        for (figure::Image& im : noise.images)
            im.lo = -3.0, im.hi = 3.0; // noise, not data
        rec.rows.push_back(std::move(noise));
        rec.rows.push_back(image_row(card, main.reconstruction, shown, "DDIM " + s0,
                                     "mean MSE " + number(mean(main.mse), "%.2g"), blue));
        std::vector<float> err(main.reconstruction.size());
        for (std::size_t j = 0; j < err.size(); ++j)
            err[j] = std::abs(main.reconstruction[j] - x0[j]);
        figure::ImageRow e = image_row(card, err, shown, "|error|, DDIM " + s0, "white: half the data range", black);
        for (figure::Image& im : e.images)
            im.hi = (im.hi - im.lo) / 2, im.lo = 0.0; // 0 black, an error of half the data range white
        rec.rows.push_back(std::move(e));
        if (ddpm)
            rec.rows.push_back(image_row(card, main.ddpm_reconstruction, shown, "DDPM " + s0,
                                         "mean MSE " + number(mean(main.ddpm_mse), "%.2g"), purple));
    } else if (card.is_2d_points()) {
        const auto [lo, hi] = point_range({x0.subspan(0, static_cast<std::size_t>(n) * D), main.reconstruction,
                                           main.ddpm_reconstruction});
        const auto [tlo, thi] = point_range({main.x_T});
        figure::PointPanel data{"data, DDIM " + s0 + (ddpm ? ", DDPM" : ""), lo, hi, {}};
        if (ddpm) {
            data.series.push_back(joins(x0, main.ddpm_reconstruction, n, {200, 180, 220}));
            data.series.push_back(dots(figure::Series::Kind::Dots, purple, main.ddpm_reconstruction));
        }
        data.series.push_back(joins(x0, main.reconstruction, n, blue));
        data.series.push_back(dots(figure::Series::Kind::Dots, black, x0.subspan(0, static_cast<std::size_t>(n) * D)));
        data.series.push_back(dots(figure::Series::Kind::Rings, blue, main.reconstruction));
        rec.panels.push_back(std::move(data));
        figure::PointPanel noise{"inverted x_T", tlo, thi, {}};
        noise.series.push_back(dots(figure::Series::Kind::Dots, blue, main.x_T));
        rec.panels.push_back(std::move(noise));
        rec.legend = {{black, "data x_0"}, {blue, "DDIM reconstruction"}};
        if (ddpm)
            rec.legend.push_back({purple, "DDPM from the same x_T"});
    }
    rep.figures.push_back(std::move(rec));
    if (!table.empty() && card.is_image()) {
        const int shown = std::min(n, 10);
        figure::Figure t{"table", "Reconstructions at every S (mean MSE per dimension)", {}, {}, {}, {}, {}, {}};
        t.rows.push_back(image_row(card, x0, shown, "original x_0", "", black));
        for (int pass = 0; pass < (ddpm ? 2 : 1); ++pass)
            for (const Inversion* r : table)
                t.rows.push_back(image_row(card, pass ? r->ddpm_reconstruction : r->reconstruction, shown,
                                           (pass ? "DDPM " : "DDIM ") + std::to_string(S(*r)),
                                           "MSE " + number(mean(pass ? r->ddpm_mse : r->mse), "%.2g"),
                                           pass ? purple : blue));
        rep.figures.push_back(std::move(t));
    }
    return rep;
}

figure::Report interpolation_report(const Model& model, const Interpolation& r)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    const int k = static_cast<int>(r.alphas.size());
    const std::size_t D = static_cast<std::size_t>(card.data_dim());
    figure::Report rep;
    figure::Table t{"interpolation", {"sampler", "index", "alpha", "xt_norm", "change"}, {}};
    for (std::size_t s = 0; s < r.samples.size(); ++s) {
        const std::vector<double> change = neighbour_change(r.samples[s], k); // [k - 1]
        for (int i = 0; i < k; ++i) {
            double norm = 0;
            for (std::size_t j = 0; j < D; ++j)
                norm += double(r.x_T[i * D + j]) * r.x_T[i * D + j];
            t.rows.push_back({sampler_label(r.samplers[s], T, LabelForm::Spec), std::to_string(i),
                              number(r.alphas[i], "%.6g"), number(std::sqrt(norm), "%.6g"),
                              i > 0 ? number(change[i - 1], "%.6g") : "nan"});
        }
    }
    rep.tables.push_back(std::move(t));
    if (r.samples.empty())
        return rep; // cancelled before the first sampler was done
    figure::Figure fig{"interpolation",
                       "x_T = slerp(z0, z1, a), a = 0 (left) to 1 (right), " + std::to_string(k) +
                           " points, decoded by each sampler",
                       {}, {}, {}, {}, {}, {}};
    if (card.is_image()) {
        figure::ImageRow noise = image_row(card, r.x_T, k, "x_T (slerp)", "", {0, 0, 0});
        for (figure::Image& im : noise.images)
            im.lo = -3.0, im.hi = 3.0; // noise, not data
        fig.rows.push_back(std::move(noise));
        for (std::size_t s = 0; s < r.samples.size(); ++s)
            fig.rows.push_back(image_row(card, r.samples[s], k, sampler_label(r.samplers[s], T), "", {0, 0, 0}));
    } else if (card.is_2d_points()) {
        std::vector<std::span<const float>> sets;
        for (const auto& s : r.samples)
            sets.emplace_back(s);
        const auto [lo, hi] = point_range(sets);
        const auto [tlo, thi] = point_range({r.x_T});
        // Blue (a = 0) to red (a = 1) through purple.
        const Rgb b = palette(0), e = palette(3);
        const auto ramp = [&](double a) {
            const auto mix = [a](std::uint8_t x, std::uint8_t y) {
                return static_cast<std::uint8_t>(std::lround((1 - a) * x + a * y));
            };
            return Rgb{mix(b.r, e.r), mix(b.g, e.g), mix(b.b, e.b)};
        };
        for (std::size_t p = 0; p <= r.samples.size(); ++p) {
            const std::vector<float>& pts = p == 0 ? r.x_T : r.samples[p - 1];
            figure::PointPanel panel{p == 0 ? "x_T (slerp)" : sampler_label(r.samplers[p - 1], T), p == 0 ? tlo : lo,
                                     p == 0 ? thi : hi, {}};
            figure::Series path{figure::Series::Kind::Segments, {190, 190, 190}, {}};
            for (int i = 0; i + 1 < k; ++i)
                path.xy.insert(path.xy.end(), {pts[2 * i], pts[2 * i + 1], pts[2 * i + 2], pts[2 * i + 3]});
            panel.series.push_back(std::move(path));
            for (int i = 0; i < k; ++i)
                panel.series.push_back({figure::Series::Kind::Dots, ramp(r.alphas[i]), {pts[2 * i], pts[2 * i + 1]}});
            fig.panels.push_back(std::move(panel));
        }
        fig.legend = {{ramp(0.0), "a = 0"}, {ramp(0.5), "a = 0.5"}, {ramp(1.0), "a = 1"}};
        fig.caption = "The points joined in order of a.";
    }
    rep.figures.push_back(std::move(fig));
    return rep;
}

// ------------------------------------------------------------ decision time

std::optional<Assigner> Assigner::for_model(const Model& model, const fs::path& classifier)
{
    const ModelCard& card = model.card();
    Assigner a;
    if (auto mix = metrics::mixture_from_card(card)) {
        a.mixture_ = std::move(mix);
        return a;
    }
    if (card.is_image()) {
        if (classifier.empty()) {
            // The classifier next to the card, when there is one that fits; none is no error.
            try {
                a.classifier_ = classifier_for(model, {});
            } catch (const InputError&) {
                return std::nullopt;
            }
        } else {
            a.classifier_ = classifier_for(model, classifier);
        }
        return a;
    }
    return std::nullopt;
}

std::vector<int> Assigner::assign(std::span<const float> x, int n) const
{
    if (classifier_)
        return classifier_->predict(x, n);
    const std::vector<double> xd(x.begin(), x.end());
    return metrics::most_responsible(*mixture_, xd, n);
}

int Assigner::classes() const
{
    return classifier_ ? classifier_->num_classes() : mixture_->components();
}

std::vector<std::string> assignment_labels(const Classifier* classifier, int components)
{
    if (classifier)
        return classifier->labels();
    std::vector<std::string> out;
    for (int k = 0; k < components; ++k)
        out.push_back("component " + std::to_string(k + 1));
    return out;
}

std::vector<std::string> Assigner::labels() const
{
    return assignment_labels(classifier_.get(), classifier_ ? 0 : mixture_->components());
}

std::vector<int> DecisionTrace::final_assignment() const
{
    if (timesteps.empty())
        return {};
    return std::vector<int>(assignment.end() - batch, assignment.end());
}

void DecisionTracker::add(const StepFrame& f)
{
    const int B = static_cast<int>(f.shape.at(0));
    const int k = static_cast<int>(trace_.timesteps.size());
    if (k == 0) {
        trace_.batch = B;
        trace_.decision_step.assign(B, 0);
        trace_.decision_t.assign(B, f.plan.t);
    } else if (B != trace_.batch) {
        throw InputError("decision time: frames of different batch sizes");
    }
    const std::vector<int> labels = assigner_.assign(f.x0_hat, B);
    for (int b = 0; b < B; ++b)
        if (k > 0 && labels[b] != trace_.assignment[(k - 1) * B + b]) {
            trace_.decision_step[b] = k;
            trace_.decision_t[b] = f.plan.t;
        }
    trace_.timesteps.push_back(f.plan.t);
    trace_.assignment.insert(trace_.assignment.end(), labels.begin(), labels.end());
}

DecisionTrace DecisionTracker::result() const
{
    return trace_;
}

DecisionSummary summarise(const DecisionTrace& trace)
{
    DecisionSummary s;
    const int B = static_cast<int>(trace.decision_t.size());
    if (B == 0)
        return s;
    std::vector<int> sorted = trace.decision_t;
    std::sort(sorted.begin(), sorted.end());
    s.median_t = sorted[sorted.size() / 2];
    int first = 0;
    for (int b = 0; b < B; ++b) {
        s.mean_t += trace.decision_t[b] / static_cast<double>(B);
        first += trace.decision_step[b] == 0;
    }
    s.decided_at_first_step = static_cast<double>(first) / B;
    return s;
}

Decision decision(const Model& model, const Assigner& assigner, const DecisionOptions& o,
                  const ProgressCallback& progress, const std::atomic<bool>* cancel)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    if (o.panels.empty())
        throw InputError("decision: no sampler given");
    if (o.batch < 1)
        throw InputError("decision: the batch must be at least 1");
    int total = 0;
    for (const SamplerConfig& c : o.panels) {
        validate(c, T);
        total += resolved_steps(c, T);
    }
    Decision res;
    res.panels = o.panels;
    res.x_T = initial_noise(card.data_shape, o.batch, o.seed);
    Counter counter(progress, total);
    for (const SamplerConfig& c : o.panels) {
        DecisionTracker tracker(assigner);
        std::vector<float> path;
        const RunResult r = run_from(model, c, res.x_T, o.seed, o.threads, counter, cancel,
                                     [&](std::shared_ptr<const StepFrame> f) {
                                         tracker.add(*f);
                                         if (card.is_2d_points())
                                             path.insert(path.end(), f->x_t.begin(), f->x_t.end());
                                     });
        if (r.cancelled) {
            res.cancelled = true;
            return res;
        }
        if (card.is_2d_points())
            path.insert(path.end(), r.samples.begin(), r.samples.end());
        res.traces.push_back(tracker.result());
        res.samples.push_back(r.samples);
        res.paths.push_back(std::move(path));
    }
    return res;
}

figure::Report decision_report(const Model& model, const Assigner& assigner, const Decision& r)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    figure::Report rep;
    figure::Table t{"decision", {"panel", "sample", "decision_step", "decision_t", "final"}, {}};
    for (std::size_t p = 0; p < r.traces.size(); ++p) {
        const DecisionTrace& tr = r.traces[p];
        const std::vector<int> fin = tr.final_assignment();
        for (int b = 0; b < tr.batch; ++b)
            t.rows.push_back({std::to_string(p), std::to_string(b), std::to_string(tr.decision_step[b]),
                              std::to_string(tr.decision_t[b]), std::to_string(fin[b])});
    }
    rep.tables.push_back(std::move(t));
    const std::size_t P = r.traces.size();
    if (P == 0 || P != r.samples.size())
        return rep; // cancelled before the first panel was done
    const auto label = [&](std::size_t p) { return sampler_label(r.panels[p], T); };
    const auto median = [&](std::size_t p) { return "median decision t " + std::to_string(summarise(r.traces[p]).median_t); };
    figure::Figure fig{"decision",
                       std::string("Decision time: the ") + (assigner.uses_classifier() ? "class" : "component") +
                           " of x0_hat at every step, t = " + std::to_string(T) + " on the left, 0 on the right",
                       {}, {}, {}, {}, {}, {}};
    if (card.is_image()) {
        for (std::size_t p = 0; p < P; ++p) {
            const DecisionTrace& tr = r.traces[p];
            const int shown = std::min(tr.batch, 16);
            figure::ImageRow row = image_row(card, r.samples[p], shown, label(p), median(p), {0, 0, 0});
            const std::size_t S = tr.timesteps.size();
            for (int b = 0; b < shown; ++b) {
                figure::Strip strip{tr.timesteps, std::vector<int>(S), T};
                for (std::size_t k = 0; k < S; ++k)
                    strip.labels[k] = tr.assignment[k * tr.batch + b];
                row.strips.push_back(std::move(strip));
            }
            fig.rows.push_back(std::move(row));
        }
    } else if (card.is_2d_points()) {
        std::vector<std::span<const float>> sets;
        for (const auto& s : r.paths)
            sets.emplace_back(s);
        const auto [lo, hi] = point_range(sets);
        for (std::size_t p = 0; p < P; ++p) {
            const DecisionTrace& tr = r.traces[p];
            const int B = tr.batch;
            const std::size_t S = tr.timesteps.size();
            figure::PointPanel panel{label(p) + ", " + median(p), lo, hi, {}};
            // Segment k (x_t of step k to its x_prev) in the colour of step k's assignment.
            std::vector<figure::Series> by_label(static_cast<std::size_t>(assigner.classes()));
            for (std::size_t c = 0; c < by_label.size(); ++c)
                by_label[c] = {figure::Series::Kind::Segments, palette(c), {}};
            for (std::size_t k = 0; k < S; ++k)
                for (int b = 0; b < B; ++b) {
                    const float* a = r.paths[p].data() + (k * B + b) * 2;
                    const float* c = a + static_cast<std::size_t>(B) * 2;
                    const int l = tr.assignment[k * B + b];
                    if (l >= 0 && l < static_cast<int>(by_label.size()))
                        by_label[static_cast<std::size_t>(l)].xy.insert(by_label[static_cast<std::size_t>(l)].xy.end(),
                                                                        {a[0], a[1], c[0], c[1]});
                }
            for (auto& s : by_label)
                if (!s.xy.empty())
                    panel.series.push_back(std::move(s));
            fig.panels.push_back(std::move(panel));
        }
    }
    // The histograms of decision t, t = T on the left like the strips.
    const int bins = 20;
    for (std::size_t p = 0; p < P; ++p) {
        const DecisionTrace& tr = r.traces[p];
        figure::Histogram h{label(p) + ": decision t of " + std::to_string(tr.batch) + " samples",
                            std::vector<int>(bins, 0), "t = " + std::to_string(T), "decision t", "t = 0", "samples"};
        for (int dt : tr.decision_t)
            ++h.counts[static_cast<std::size_t>(bins - 1 - std::min(bins - 1, dt * bins / T))];
        fig.histograms.push_back(std::move(h));
    }
    const std::vector<std::string> names = assigner.labels();
    for (std::size_t c = 0; c < names.size(); ++c)
        fig.legend.push_back({palette(c), names[c]});
    fig.legend_title = assigner.uses_classifier() ? "class of x0_hat:" : "component of x0_hat:";
    rep.figures.push_back(std::move(fig));
    return rep;
}

} // namespace noisetrail::experiments
