// Fields and the exact path (contract section 10).
#include "noisetrail/fields.hpp"

#include "denoiser.hpp"
#include "guidance.hpp"
#include "tensor_util.hpp"

#include "noisetrail/errors.hpp"

#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace noisetrail {

namespace {

std::string number(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

bool is_exact_kind(const ModelCard& card)
{
    return card.kind == "gaussian-mixture" || card.kind == "empirical";
}

} // namespace

// ---- Fields ------------------------------------------------------------------------------------

PathPoint field_path(const Model& model, double level)
{
    const NoiseSchedule& schedule = model.schedule();
    if (schedule.process() == ProcessKind::Flow) {
        // s = 0 is the data itself: sigma = 0 and eps_hat, the score are undefined there.
        if (!(level > 0.0 && level <= 1.0))
            throw InputError("--t " + number(level) + ": on a flow card the noise level is s in (0, 1]");
        return PathPoint{1.0 - level, level};
    }
    const int T = schedule.train_steps();
    if (!(level >= 0.0 && level <= T - 1) || level != std::floor(level))
        throw InputError("--t " + number(level) + ": on a VP card the noise level is an integer timestep t in 0.." +
                         std::to_string(T - 1));
    const double ab = schedule.alpha_bar(static_cast<int>(level));
    return PathPoint{std::sqrt(ab), std::sqrt(1.0 - ab)};
}

VectorField evaluate_field(const Model& model, std::span<const float> points, double level, const FieldOptions& options)
{
    c10::InferenceMode guard;
    const ModelCard& card = model.card();
    const PathPoint path = field_path(model, level);
    const std::int64_t D = card.data_dim();
    if (points.empty() || static_cast<std::int64_t>(points.size()) % D != 0)
        throw InputError("field: " + std::to_string(points.size()) + " values are not a whole number of points of " +
                         std::to_string(D) + " values (" + card.name + ")");
    for (float v : points)
        if (!std::isfinite(v))
            throw InputError("field: the points hold non-finite values");
    if (!std::isfinite(options.guidance))
        throw InputError("--guidance must be a finite number");
    if (options.guidance != 1.0 && !options.class_index)
        throw InputError("--guidance " + number(options.guidance) +
                         " needs --class K: guidance mixes a class's prediction with the unconditional one");
    const auto B = static_cast<std::int64_t>(points.size()) / D;

    Guidance g;
    if (options.class_index)
        g.classes = {*options.class_index};
    const at::Tensor classes = detail::class_labels(card, g, B);
    const at::Device device = detail::parse_device(model.device());
    const at::Tensor x = detail::to_tensor(points, detail::batch_shape(card, B)).to(at::kDouble).to(device);
    // The model's own time input: VP's integer timestep, the flow level s (detail::time_input).
    const at::Tensor t = card.schedule.process == ProcessKind::Flow
                             ? at::full({B}, level, at::TensorOptions().dtype(at::kDouble))
                             : detail::timesteps(B, static_cast<int>(level));
    at::Tensor out;
    try {
        out = detail::predict_guided(model.denoiser(), card, x, t, classes, options.guidance).out;
    } catch (const InputError&) {
        throw;
    } catch (const std::exception& e) {
        const std::string msg = e.what();
        throw RunError("field at level " + number(level) + ": the model failed: " + msg.substr(0, msg.find('\n')), 0,
                       static_cast<int>(level));
    }
    const std::optional<double> clip =
        options.clip_x0 && *options.clip_x0 > 0.0 ? options.clip_x0 : std::optional<double>{};
    const detail::DenoisedTensors d = detail::to_x0_eps(card.prediction, path, x, out, clip);
    VectorField f;
    f.path = path;
    f.eps_hat = detail::to_floats(d.eps_hat);
    f.x0_hat = detail::to_floats(d.x0_hat);
    f.score = detail::to_floats(-d.eps_hat / path.sigma);
    if (card.schedule.process == ProcessKind::Flow)
        f.velocity = detail::to_floats(d.eps_hat - d.x0_hat);
    return f;
}

// ---- The exact path ----------------------------------------------------------------------------

bool has_exact_ode(const ModelCard& card, const SamplerConfig& config)
{
    const SamplerInfo& info = sampler_info(config.sampler);
    const bool deterministic = info.deterministic || (info.uses_eta && config.eta == 0.0);
    return is_exact_kind(card) && deterministic && !config.guidance.interval;
}

namespace {

/// The exact denoiser of `card` on the flow path x_s = (1 - s) x_0 + s eps, predicting
/// x_0 in float64. Every Gaussian path has the same probability-flow ODE in
/// x_bar = x / alpha against sigma_bar = sigma / alpha (Song et al. 2021, DDIM eq. 14;
/// Karras et al. 2022, eq. 4), so the VP ODE is solved on the flow path of the same
/// data, where s = sigma / (alpha + sigma) lies in [0, 1] and the velocity stays bounded.
std::unique_ptr<detail::Denoiser> exact_flow_twin(const ModelCard& card, ModelCard& twin)
{
    nlohmann::json j = nlohmann::json::parse(card.json_text);
    j.erase("schedule");
    j["process"] = {{"kind", "flow"}};
    j["prediction"] = "sample";
    j["precision"] = "float64";
    twin = parse_model_card(j.dump(), card.path);
    return detail::make_denoiser(twin, NoiseSchedule(twin.schedule), at::kCPU);
}

/// Dormand-Prince 5(4): nodes, stages, 5th-order weights, error weights (b5 - b4), and
/// the dense output's coefficients (Hairer, Norsett & Wanner, Solving ODEs I, II.5 and
/// II.6; their code dopri5, CONTD5).
constexpr std::array<double, 7> kC{0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
constexpr double kA[7][6] = {
    {},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
};
constexpr std::array<double, 7> kE{71.0 / 57600, 0.0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525,
                                   -1.0 / 40};
constexpr std::array<double, 7> kDense{-12715105075.0 / 11282082432, 0.0, 87487479700.0 / 32700410799,
                                       -10690763975.0 / 1880347072, 701980252875.0 / 199316789632,
                                       -1453857185.0 / 822651844, 69997945.0 / 29380423};

/// The smallest level the integrator reaches: the endpoint s = 0 is x0_hat there. The ODE
/// leaves x_0 = E[x_0 | x_s] + O(s^2) (x moves by s v with v = O(1), and x0_hat = x - s v
/// to first order), far below the tolerance.
constexpr double kLevelFloor = 1e-7;

} // namespace

std::vector<std::vector<double>> exact_ode_path(const Model& model, const SamplerConfig& config,
                                                const SamplingPlan& plan, std::span<const float> x_T,
                                                const OdeTolerance& tol)
{
    c10::InferenceMode guard;
    const ModelCard& card = model.card();
    if (!has_exact_ode(card, config))
        throw InputError("the exact ODE path needs an exact card (gaussian-mixture, empirical) and a deterministic "
                         "sampler (euler, heun, dpmpp2m, ddim with eta 0) without a guidance interval");
    const std::int64_t D = card.data_dim();
    if (plan.steps.empty() || x_T.empty() || static_cast<std::int64_t>(x_T.size()) % D != 0)
        throw InputError("exact ODE path: x_T has " + std::to_string(x_T.size()) + " values, not whole points of " +
                         std::to_string(D));
    const std::int64_t B = static_cast<std::int64_t>(x_T.size()) / D;
    ModelCard twin_card;
    const auto twin = exact_flow_twin(card, twin_card);
    const at::Tensor classes = detail::class_labels(card, config.guidance, B);
    const double w = card.is_conditional() ? guidance_scale(config) : 1.0;

    // The flow level of a path point, and the factor from flow coordinates back to the card's.
    const auto level_of = [](const PathPoint& p) { return p.sigma / (p.alpha + p.sigma); };
    // dx/ds on the flow path: v = eps - x0 = (x - x0) / s.
    const auto velocity = [&](const at::Tensor& x, double s) {
        const at::Tensor t = at::full({B}, s, at::TensorOptions().dtype(at::kDouble));
        const at::Tensor x0 = detail::predict_guided(*twin, twin_card, x, t, classes, w).out;
        return (x - x0) / s;
    };

    const PathPoint p0 = path_at(plan.steps.front());
    double s = level_of(p0);
    at::Tensor x = detail::to_tensor(x_T, {B, D}).to(at::kDouble) / (p0.alpha + p0.sigma);

    // Targets: each step's next level, descending; the last (s = 0) is reached through kLevelFloor.
    const int S = plan.size();
    std::vector<double> targets(static_cast<std::size_t>(S));
    for (int k = 0; k < S; ++k)
        targets[k] = std::max(level_of(path_at_prev(plan.steps[k])), kLevelFloor);
    std::vector<std::vector<double>> out(static_cast<std::size_t>(S));
    const auto emit = [&](int k, const at::Tensor& xs) {
        const PathPoint p = path_at_prev(plan.steps[k]);
        at::Tensor xc = xs;
        if (p.sigma == 0.0) // the endpoint: E[x_0 | x_s] at the floor level
            xc = detail::predict_guided(*twin, twin_card, xs, at::full({B}, targets[k], at::kDouble), classes, w).out;
        else
            xc = xs * (p.alpha + p.sigma);
        out[k] = detail::to_doubles(xc);
    };
    int next = 0;
    while (next < S && targets[next] >= s) // a target at the start (none on a valid plan)
        emit(next++, x);
    const double s_end = targets.back();
    double h = -std::min(0.05, s - s_end); // s decreases; the controller adapts the first guess
    std::array<at::Tensor, 7> k;
    k[0] = velocity(x, s);
    int rejected_in_row = 0;
    double e_last = 1e-4; // the last accepted step's error (the PI controller's memory)
    while (next < S) {
        if (s + h < s_end)
            h = s_end - s;
        for (int i = 1; i < 7; ++i) {
            at::Tensor xi = x.clone();
            for (int j = 0; j < i; ++j)
                if (kA[i][j] != 0.0)
                    xi.add_(k[j], h * kA[i][j]);
            k[i] = velocity(xi, s + kC[i] * h);
        }
        // Stage 7 sits at s + h with the 5th-order solution (FSAL): x_new is its argument.
        at::Tensor x_new = x.clone();
        for (int j = 0; j < 6; ++j)
            if (kA[6][j] != 0.0)
                x_new.add_(k[j], h * kA[6][j]);
        at::Tensor err = at::zeros_like(x);
        for (int j = 0; j < 7; ++j)
            if (kE[j] != 0.0)
                err.add_(k[j], h * kE[j]);
        const at::Tensor scale = tol.atol + tol.rtol * at::maximum(x.abs(), x_new.abs());
        // The RMS norm over every coordinate of the batch (Hairer et al. II.4, eq. 4.11): the
        // norm ode_error itself reports, so the reference's error in it stays near rtol.
        const double e = (err / scale).pow(2).mean().sqrt().item<double>();
        if (!std::isfinite(e))
            throw RunError("exact ODE path: the field became non-finite at s = " + number(s), 0, 0);
        if (e <= 1.0) {
            const double s_new = s + h;
            // Dense output (CONTD5) for the targets inside this step.
            const at::Tensor dx = x_new - x;
            const at::Tensor bspl = h * k[0] - dx;
            const at::Tensor r4 = dx - h * k[6] - bspl;
            at::Tensor r5 = at::zeros_like(x);
            for (int j = 0; j < 7; ++j)
                if (kDense[j] != 0.0)
                    r5.add_(k[j], h * kDense[j]);
            while (next < S && targets[next] >= s_new) {
                const double th = (targets[next] - s) / h, th1 = 1.0 - th;
                emit(next, targets[next] == s_new ? x_new : x + th * (dx + th1 * (bspl + th * (r4 + th1 * r5))));
                ++next;
            }
            x = x_new;
            s = s_new;
            k[0] = k[6];
            // PI step control (Gustafsson; Hairer & Wanner, Solving ODEs II, IV.2, and dopri5's
            // beta = 0.04): the last error damps the oscillation of accepted and rejected steps.
            constexpr double beta = 0.04;
            h *= std::clamp(0.9 * std::pow(std::max(e, 1e-10), -(0.2 - 0.75 * beta)) * std::pow(e_last, beta), 0.2,
                            rejected_in_row > 0 ? 1.0 : 5.0); // no growth right after a rejection
            e_last = std::max(e, 1e-4);
            rejected_in_row = 0;
        } else if (++rejected_in_row > 60) {
            throw RunError("exact ODE path: no step size meets the tolerance at s = " + number(s), 0, 0);
        } else {
            h *= std::max(0.2, 0.9 * std::pow(e, -0.2)); // a rejected step only shrinks
        }
    }
    return out;
}

std::vector<double> ode_errors(const Run& run, const std::vector<std::shared_ptr<const StepFrame>>& frames,
                               const OdeTolerance& tolerance)
{
    const Model& model = *run.model();
    const SamplerConfig& config = run.options().sampler;
    if (!has_exact_ode(model.card(), config) || frames.empty())
        return {};
    const auto path = exact_ode_path(model, config, run.plan(), run.x_T(), tolerance);
    const auto B = static_cast<double>(run.shape().front());
    std::vector<double> errors;
    for (std::size_t k = 0; k < frames.size() && k < path.size(); ++k) {
        const std::vector<float>& xp = frames[k]->x_prev;
        const std::vector<double>& xo = path[k];
        double sq = 0.0;
        for (std::size_t i = 0; i < xp.size() && i < xo.size(); ++i)
            sq += (double(xp[i]) - xo[i]) * (double(xp[i]) - xo[i]);
        errors.push_back(std::sqrt(sq / B)); // RMS over the batch of the Euclidean distance
    }
    return errors;
}

// ---- Solver geometry ---------------------------------------------------------------------------

StepGeometry step_geometry(const Model& model, const SamplerConfig& config, const SamplingPlan& plan, int step,
                           const StepPoint& point, const FieldOptions& options)
{
    const auto D = static_cast<std::size_t>(model.card().data_dim());
    if (step < 0 || step >= plan.size())
        throw InputError("step geometry: step " + std::to_string(step) + " is outside the plan's 0.." +
                         std::to_string(plan.size() - 1));
    const auto doubles = [&](const std::vector<float>& v, const char* what, bool needed) {
        if (v.empty() && !needed)
            return std::vector<double>{};
        if (v.size() != D)
            throw InputError(std::string("step geometry: ") + what + " has " + std::to_string(v.size()) +
                             " values, not the card's " + std::to_string(D));
        return std::vector<double>(v.begin(), v.end());
    };
    StepGeometry g;
    g.step = step;
    g.x_t = doubles(point.x_t, "x_t", true);
    g.x0_hat = doubles(point.x0_hat, "x0_hat", true);
    g.eps_hat = doubles(point.eps_hat, "eps_hat", true);
    const std::vector<double> x_prev = doubles(point.x_prev, "x_prev", false);
    const StepTerms terms = step_terms(config, plan, step);
    if (terms.coefficient(Quantity::X0HatLast) != 0.0)
        g.x0_hat_last = doubles(point.x0_hat_last, "the previous step's x0_hat", true);

    const auto value = [&](Quantity q) -> const std::vector<double>& {
        switch (q) {
        case Quantity::Xt: return g.x_t;
        case Quantity::X0Hat: return g.x0_hat;
        case Quantity::EpsHat: return g.eps_hat;
        case Quantity::Noise: return g.noise;
        case Quantity::X0HatLast: return g.x0_hat_last;
        case Quantity::EpsHatPredictor: return g.eps_predictor;
        case Quantity::Defined: break;
        }
        throw std::logic_error("step geometry: a display-only term in the update");
    };
    // Partial sums in the order written, zero coefficients skipped (as apply_terms sums them).
    const auto partial_sums = [&](const std::vector<Term>& ts) {
        std::vector<GeometrySegment> out;
        std::vector<double> at(D, 0.0);
        for (const Term& t : ts) {
            if (t.coefficient == 0.0)
                continue;
            GeometrySegment seg{at, at, t};
            const std::vector<double>& v = value(t.quantity);
            for (std::size_t i = 0; i < D; ++i)
                seg.to[i] += t.coefficient * v[i];
            at = seg.to;
            out.push_back(std::move(seg));
        }
        return out;
    };

    if (terms.predictor) {
        g.predictor = partial_sums(terms.predictor->terms);
        const std::vector<double> x_pred = g.predictor.empty() ? std::vector<double>(D, 0.0) : g.predictor.back().to;
        const std::vector<float> xf(x_pred.begin(), x_pred.end());
        const PlanStep& s = plan.steps[static_cast<std::size_t>(step)];
        FieldOptions o = options;
        // The run evaluates the predictor at level_prev with W = 1 outside its guidance
        // interval (contract section 9; Run::Impl::guidance_at).
        if (const auto& iv = config.guidance.interval;
            iv && !(noise_level_prev(s) >= (*iv)[0] && noise_level_prev(s) <= (*iv)[1]))
            o.guidance = 1.0;
        const VectorField f = evaluate_field(model, xf, noise_level_prev(s), o);
        g.eps_predictor.assign(f.eps_hat.begin(), f.eps_hat.end());
    }
    if (const double c = terms.coefficient(Quantity::Noise); c != 0.0) {
        if (x_prev.empty())
            throw InputError("step geometry: this step drew noise, which is not stored; its x_prev is needed to "
                             "recover it");
        // z = (x_prev - the other terms) / c: the noise the run drew, up to the store's precision.
        g.noise.assign(D, 0.0);
        std::vector<double> rest(D, 0.0);
        for (const Term& t : terms.terms)
            if (t.quantity != Quantity::Noise && t.coefficient != 0.0)
                for (std::size_t i = 0; i < D; ++i)
                    rest[i] += t.coefficient * value(t.quantity)[i];
        for (std::size_t i = 0; i < D; ++i)
            g.noise[i] = (x_prev[i] - rest[i]) / c;
        g.noise_from_x_prev = true;
    }
    g.update = partial_sums(terms.terms);
    return g;
}

// ---- Cost in model calls -------------------------------------------------------------------------

std::vector<int> model_calls_by_step(const SamplerConfig& config, const SamplingPlan& plan)
{
    std::vector<int> out;
    int calls = 0;
    for (int k = 0; k < plan.size(); ++k) {
        calls += step_terms(config, plan, k).predictor ? 2 : 1;
        out.push_back(calls);
    }
    return out;
}

// ---- Solver error and model error --------------------------------------------------------------

namespace {

/// RMS over the batch of the Euclidean distance between two [B, D] arrays.
template <class A, class B>
double rms_distance(const A& a, const B& b, std::size_t batch)
{
    double sq = 0.0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        sq += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
    return std::sqrt(sq / static_cast<double>(batch));
}

void check_outputs(const Model& model, const SamplingPlan& plan, std::span<const float> x_T,
                   const std::vector<std::vector<float>>& x_prev)
{
    const auto D = static_cast<std::size_t>(model.card().data_dim());
    if (x_T.empty() || x_T.size() % D != 0)
        throw InputError("ode_error: x_T has " + std::to_string(x_T.size()) + " values, not whole points of " +
                         std::to_string(D));
    if (static_cast<int>(x_prev.size()) > plan.size())
        throw InputError("ode_error: " + std::to_string(x_prev.size()) + " outputs for a plan of " +
                         std::to_string(plan.size()) + " steps");
    for (const auto& v : x_prev)
        if (v.size() != x_T.size())
            throw InputError("ode_error: a step's output has " + std::to_string(v.size()) + " values, x_T " +
                             std::to_string(x_T.size()));
}

} // namespace

std::vector<double> ode_errors(const Model& exact, const SamplerConfig& config, const SamplingPlan& plan,
                               std::span<const float> x_T, const std::vector<std::vector<float>>& x_prev,
                               const OdeTolerance& tolerance, std::vector<std::vector<double>>* path_out)
{
    if (!has_exact_ode(exact.card(), config) || x_prev.empty())
        return {};
    check_outputs(exact, plan, x_T, x_prev);
    const auto path = exact_ode_path(exact, config, plan, x_T, tolerance);
    if (path_out)
        *path_out = path;
    const std::size_t B = x_T.size() / static_cast<std::size_t>(exact.card().data_dim());
    std::vector<double> errors;
    for (std::size_t k = 0; k < x_prev.size(); ++k)
        errors.push_back(rms_distance(x_prev[k], path[k], B));
    return errors;
}

OdeErrorSplit ode_error_split(const Model& exact, const SamplerConfig& config, const SamplingPlan& plan,
                              std::span<const float> x_T, const std::vector<std::vector<float>>& learned_x_prev,
                              const OdeTolerance& tolerance)
{
    OdeErrorSplit out;
    if (!has_exact_ode(exact.card(), config) || learned_x_prev.empty())
        return out;
    check_outputs(exact, plan, x_T, learned_x_prev);
    // The same sampler from the same x_T on the exact card: its plan must be the learned run's.
    RunOptions o;
    o.sampler = config;
    o.init_noise = std::vector<float>(x_T.begin(), x_T.end());
    std::vector<std::vector<float>> exact_x_prev;
    const RunResult r = run_sampler(exact, o, [&](std::shared_ptr<const StepFrame> f) {
        exact_x_prev.push_back(f->x_prev);
    });
    if (r.plan.size() != plan.size())
        throw InputError("ode_error split: the exact card's plan has " + std::to_string(r.plan.size()) +
                         " steps, the learned run's " + std::to_string(plan.size()));
    for (int k = 0; k < plan.size(); ++k)
        if (noise_level(r.plan.steps[k]) != noise_level(plan.steps[k]) ||
            std::abs(path_at(r.plan.steps[k]).alpha - path_at(plan.steps[k]).alpha) > 1e-12)
            throw InputError("ode_error split: the exact card's schedule differs from the learned card's at step " +
                             std::to_string(k));
    out.path = exact_ode_path(exact, config, plan, x_T, tolerance);
    const auto& path = out.path;
    const std::size_t B = x_T.size() / static_cast<std::size_t>(exact.card().data_dim());
    for (std::size_t k = 0; k < learned_x_prev.size(); ++k) {
        out.total.push_back(rms_distance(learned_x_prev[k], path[k], B));
        out.solver.push_back(rms_distance(exact_x_prev[k], path[k], B));
        out.model.push_back(rms_distance(learned_x_prev[k], exact_x_prev[k], B));
    }
    return out;
}

} // namespace noisetrail
