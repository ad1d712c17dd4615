#include "noisetrail/run.hpp"

#include "run_impl.hpp"

#include "denoiser.hpp"
#include "guidance.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/fingerprint.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/threads.hpp"
#include "samplers/sampler.hpp"
#include "tensor_util.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace noisetrail {

namespace {

/// Bytes per value of x_t that one step holds outside the model call: float64 x_t,
/// x0_hat, eps_hat, x_prev and noise, the frame's float32 copies, temporaries. Measured:
/// 127 with the cheapest model (one Gaussian, 2-D, batch 10^5, peak RSS less the
/// program's own), December 2026.
constexpr double kRunBytesPerValue = 128.0;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Statistics in plain loops over contiguous float64 CPU data: one pass each, no
// per-op dispatch cost (they run every step, so they must stay cheap next to the model).
StepStats compute_stats(const double* xt, const double* x0, const double* eps, const double* prev_x0,
                        std::int64_t B, std::int64_t D)
{
    const std::int64_t n = B * D;
    StepStats s;
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i)
        sum += xt[i];
    s.xt_mean = sum / n;
    double sq = 0;
    for (std::int64_t i = 0; i < n; ++i)
        sq += (xt[i] - s.xt_mean) * (xt[i] - s.xt_mean);
    s.xt_std = std::sqrt(sq / n);
    double norms = 0;
    for (std::int64_t b = 0; b < B; ++b) {
        double r = 0;
        for (std::int64_t j = 0; j < D; ++j)
            r += eps[b * D + j] * eps[b * D + j];
        norms += std::sqrt(r);
    }
    s.eps_norm = norms / B;
    if (prev_x0) {
        double c = 0;
        for (std::int64_t i = 0; i < n; ++i)
            c += (x0[i] - prev_x0[i]) * (x0[i] - prev_x0[i]);
        s.x0_change = std::sqrt(c / n);
    } else {
        s.x0_change = std::numeric_limits<double>::quiet_NaN();
    }
    if (B > 1) {
        std::vector<double> mean(D, 0.0), var(D, 0.0);
        for (std::int64_t b = 0; b < B; ++b)
            for (std::int64_t j = 0; j < D; ++j)
                mean[j] += x0[b * D + j];
        for (double& m : mean)
            m /= B;
        for (std::int64_t b = 0; b < B; ++b)
            for (std::int64_t j = 0; j < D; ++j)
                var[j] += (x0[b * D + j] - mean[j]) * (x0[b * D + j] - mean[j]);
        double total = 0;
        for (double v : var)
            total += std::sqrt(v / B);
        s.x0_batch_std = total / D;
    }
    return s;
}

std::vector<float> to_floats(const double* p, std::int64_t n)
{
    return std::vector<float>(p, p + n); // element-wise narrowing conversion
}

bool all_finite(const at::Tensor& t)
{
    return at::isfinite(t).all().item<bool>();
}

} // namespace

const std::vector<std::string>& step_stat_names()
{
    static const std::vector<std::string> names{"xt_mean", "xt_std", "eps_norm", "x0_change", "x0_batch_std"};
    return names;
}

std::vector<double> step_stat_values(const StepStats& s)
{
    return {s.xt_mean, s.xt_std, s.eps_norm, s.x0_change, s.x0_batch_std};
}

std::vector<float> initial_noise(const std::vector<std::int64_t>& data_shape, int batch, std::uint64_t seed)
{
    c10::InferenceMode guard;
    std::vector<std::int64_t> shape{batch};
    shape.insert(shape.end(), data_shape.begin(), data_shape.end());
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return detail::to_floats(at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat)));
}

int default_batch(const ModelCard& card)
{
    return card.is_image() ? 16 : 1000;
}

namespace detail {

at::Tensor class_labels(const ModelCard& card, const Guidance& g, std::int64_t batch)
{
    const auto C = static_cast<int>(card.classes.size());
    if (!g.classes.empty() && !card.is_conditional())
        throw InputError("--class: model " + card.name + " (" + card.path.string() +
                         ") is unconditional: its card names no classes");
    for (int k : g.classes)
        if (k < 0 || k >= C)
            throw InputError("--class " + std::to_string(k) + ": model " + card.name + " has classes 0.." +
                             std::to_string(C - 1));
    if (!card.is_conditional())
        return at::Tensor();
    // Classes cycled over the batch; none asked means the null label (the unconditional model).
    std::vector<std::int64_t> c(static_cast<std::size_t>(batch), card.null_label());
    for (std::size_t b = 0; !g.classes.empty() && b < c.size(); ++b)
        c[b] = g.classes[b % g.classes.size()];
    return at::tensor(c, at::TensorOptions().dtype(at::kLong));
}

GuidedOutput predict_guided(Denoiser& d, const ModelCard& card, const at::Tensor& x_in, const at::Tensor& t,
                            const at::Tensor& classes, double w)
{
    GuidedOutput g;
    if (w == 1.0 || !classes.defined()) { // the conditional model (or an unconditional card): one evaluation
        g.out = g.cond = d.predict(x_in, t, classes);
        return g;
    }
    const std::int64_t B = x_in.size(0);
    const at::Tensor null = at::full_like(classes, card.null_label());
    // One call on 2B rows where the model family measured it cheaper (run_set.cpp).
    if (d.merging_pays(2 * B)) {
        const at::Tensor both = d.predict(at::cat({x_in, x_in}), at::cat({t, t}), at::cat({classes, null}));
        g.cond = both.narrow(0, 0, B);
        g.uncond = both.narrow(0, B, B);
    } else {
        g.cond = d.predict(x_in, t, classes);
        g.uncond = d.predict(x_in, t, null);
    }
    // Classifier-free guidance (Ho & Salimans 2021, eq. 6, diffusers' convention):
    // eps = eps_u + W (eps_c - eps_u). Every prediction (eps, x_0, v, velocity) is the
    // same affine function of eps at this x_t, and the weights 1 - W and W sum to one,
    // so mixing the raw outputs mixes eps_hat; x0_hat and clipping follow.
    g.out = g.uncond + w * (g.cond - g.uncond);
    g.calls = 2;
    return g;
}

} // namespace detail

// ---- Run ---------------------------------------------------------------------------------------

Run::Impl::Impl(std::shared_ptr<const Model> m, const RunOptions& opt)
    : model(std::move(m)), options(opt), gen(at::make_generator<at::CPUGeneratorImpl>(opt.seed))
{
    if (!model)
        throw InputError("Run: no model");
    const ModelCard& card = model->card();
    device = detail::parse_device(model->device());
    if (options.threads <= 0)
        options.threads = default_threads(card); // the one thread policy (threads.hpp)
    unit = &detail::find_sampler(opt.sampler.sampler);
    plan = make_plan(model->schedule(), opt.sampler);
    int batch = opt.batch;
    if (opt.init_noise) {
        const auto D = card.data_dim();
        if (D <= 0 || opt.init_noise->size() % D != 0 || opt.init_noise->empty())
            throw InputError("initial noise has " + std::to_string(opt.init_noise->size()) +
                             " values, not a multiple of the data size " + std::to_string(D));
        batch = static_cast<int>(opt.init_noise->size() / D);
    }
    if (batch < 1 || batch > 1000000)
        throw InputError("--batch must be in 1..1000000, got " + std::to_string(batch));
    // The step's tensors (x_t, x0_hat, eps_hat, x_prev, noise in float64, the frame's
    // float32 copies and statistics) and the model call's working memory, before any
    // is allocated: a batch of 10^6 once ran 25 s and took 3.4 GB before failing.
    check_memory_budget("a batch of " + std::to_string(batch) + " samples of " + card.name,
                        static_cast<double>(batch) * (kRunBytesPerValue * static_cast<double>(card.data_dim()) +
                                                      model->denoiser().bytes_per_sample()));
    shape = detail::batch_shape(card, batch);

    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    const at::Tensor x_T_tensor = opt.init_noise ? detail::to_tensor(std::span<const float>(*opt.init_noise), shape)
                                                 : at::randn(shape, gen, f32);
    if (!all_finite(x_T_tensor))
        throw InputError("initial noise holds non-finite values");
    x_T = detail::to_floats(x_T_tensor);
    clip = opt.sampler.clip_x0 ? (*opt.sampler.clip_x0 > 0 ? opt.sampler.clip_x0 : std::nullopt) : card.default_clip();
    // Sampler arithmetic in float64; coefficients are float64 from the plan.
    x = x_T_tensor.to(at::kDouble).to(device);
    if (unit->make_state)
        state = unit->make_state();

    recipe.card = std::filesystem::weakly_canonical(std::filesystem::absolute(card.path));
    recipe.fingerprint = content_fingerprint(card);
    recipe.sampler = opt.sampler;
    recipe.sampler.steps = resolved_steps(opt.sampler, model->schedule().train_steps());
    recipe.sampler.clip_x0 = clip.value_or(0.0);
    recipe.seed = opt.seed;
    recipe.batch = batch;
    recipe.x_T = x_T;

    // Conditioning (contract section 9): each sample's class, and the scale W.
    classes = detail::class_labels(card, opt.sampler.guidance, batch);
    if (card.is_conditional())
        guidance = guidance_scale(opt.sampler);
}

double Run::Impl::guidance_at(const at::Tensor& t) const
{
    const auto& interval = options.sampler.guidance.interval;
    if (!interval || guidance == 1.0)
        return guidance;
    // The step's noise level: VP's integer t or the flow level s (one level per call).
    const double level = t.scalar_type() == at::kDouble ? t[0].item<double>() : double(t[0].item<std::int64_t>());
    return level >= (*interval)[0] && level <= (*interval)[1] ? guidance : 1.0;
}

void Run::Impl::apply_threads() const
{
    if (options.threads > 0 && at::get_num_threads() != options.threads)
        at::set_num_threads(options.threads);
}

void Run::Impl::model_failed(const std::exception& e) const
{
    // A model that fails mid-run is a failed run: say where it happened, on one line.
    const int k = steps_done, t = current().t;
    std::string msg = e.what();
    throw RunError("step " + std::to_string(k) + " (t = " + std::to_string(t) +
                       "): the model failed: " + msg.substr(0, msg.find('\n')),
                   k, t);
}

at::Tensor Run::Impl::call_model(const at::Tensor& x_in, const at::Tensor& t, bool record_guidance)
{
    const auto t0 = Clock::now();
    at::Tensor out;
    int calls = 1;
    try {
        const double w = guidance_at(t);
        detail::GuidedOutput g = detail::predict_guided(model->denoiser(), model->card(), x_in, t, classes, w);
        out = g.out;
        calls = g.calls;
        if (record_guidance && guidance != 1.0) {
            last_cond = g.cond;
            last_uncond = g.uncond; // undefined outside the guidance interval: not evaluated
        }
    } catch (const InputError&) {
        throw;
    } catch (const std::exception& e) {
        model_failed(e);
    }
    seconds_denoiser += seconds_since(t0);
    model_calls += calls;
    if (record_guidance)
        first_calls = calls;
    return out;
}

std::shared_ptr<const StepFrame> Run::Impl::finish_step(const at::Tensor& out, bool want_frame)
{
    const ModelCard& card = model->card();
    const PlanStep& s = current();
    const int k = steps_done, S = plan.size();
    const int calls_before = model_calls;
    const detail::DenoisedTensors d = detail::to_x0_eps(card.prediction, path_at(s), x, out, clip);
    at::Tensor z;
    if (s.sigma > 0.0)
        z = at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat)).to(at::kDouble).to(device);
    // Further evaluations within the step (Heun): the same model call, parameterisation and clipping.
    const detail::Evaluate evaluate = [&](const at::Tensor& xe, const PlanStep& step) {
        const at::Tensor o = call_model(xe, detail::time_input(xe.size(0), step, true));
        return detail::to_x0_eps(card.prediction, path_at_prev(step), xe, o, clip);
    };
    const at::Tensor x_prev = unit->step({options.sampler, s, x, d, z, state.get(), evaluate});
    // One check per step: a non-finite model output always reaches x_prev (NaN * 0 is NaN).
    if (!all_finite(x_prev))
        throw RunError("step " + std::to_string(k) + " (t = " + std::to_string(s.t) + "): " +
                           (all_finite(out) ? "the sample became non-finite" : "the model returned non-finite values"),
                       k, s.t);
    std::shared_ptr<StepFrame> frame;
    if (want_frame) {
        const at::Tensor xc = x.to(at::kCPU).contiguous(), x0c = d.x0_hat.to(at::kCPU).contiguous(),
                         epsc = d.eps_hat.to(at::kCPU).contiguous(), xpc = x_prev.to(at::kCPU).contiguous();
        const std::int64_t B = shape[0], n = xc.numel();
        frame = std::make_shared<StepFrame>();
        frame->step = k;
        frame->steps = S;
        frame->plan = s;
        frame->shape = shape;
        frame->x_t = to_floats(xc.data_ptr<double>(), n);
        frame->x0_hat = to_floats(x0c.data_ptr<double>(), n);
        frame->eps_hat = to_floats(epsc.data_ptr<double>(), n);
        frame->x_prev = to_floats(xpc.data_ptr<double>(), n);
        frame->stats = compute_stats(xc.data_ptr<double>(), x0c.data_ptr<double>(), epsc.data_ptr<double>(),
                                     prev_x0.defined() ? prev_x0.data_ptr<double>() : nullptr, B, n / B);
        frame->model_calls = first_calls + (model_calls - calls_before);
        if (last_cond.defined()) {
            // What the guided step mixed, as x0_hat (contract section 9: --dump's x0_cond / x0_uncond).
            const PathPoint p = path_at(s);
            const auto x0_of = [&](const at::Tensor& o) {
                const at::Tensor v = detail::to_x0_eps(card.prediction, p, x, o, clip).x0_hat.to(at::kCPU).contiguous();
                return to_floats(v.data_ptr<double>(), n);
            };
            frame->x0_cond = x0_of(last_cond);
            frame->x0_uncond = last_uncond.defined()
                                   ? x0_of(last_uncond)
                                   : std::vector<float>(std::size_t(n), std::numeric_limits<float>::quiet_NaN());
        }
        prev_x0 = x0c;
    }
    last_cond = last_uncond = at::Tensor();
    first_calls = 1;
    x = x_prev;
    ++steps_done;
    return frame;
}

Run::Run(std::shared_ptr<const Model> model, const RunOptions& options)
{
    c10::InferenceMode guard;
    impl_ = std::make_unique<Impl>(std::move(model), options);
}

Run::~Run() = default;
Run::Run(Run&&) noexcept = default;
Run& Run::operator=(Run&&) noexcept = default;

const SamplingPlan& Run::plan() const { return impl_->plan; }
const std::vector<std::int64_t>& Run::shape() const { return impl_->shape; }
const std::vector<float>& Run::x_T() const { return impl_->x_T; }
int Run::steps() const { return impl_->plan.size(); }
int Run::steps_done() const { return impl_->steps_done; }
bool Run::done() const { return impl_->done(); }
int Run::next_t() const { return impl_->done() ? -1 : impl_->current().t; }
const RunRecipe& Run::recipe() const { return impl_->recipe; }
const std::shared_ptr<const Model>& Run::model() const { return impl_->model; }
const RunOptions& Run::options() const { return impl_->options; }
double Run::seconds_denoiser() const { return impl_->seconds_denoiser; }
int Run::model_calls() const { return impl_->model_calls; }

std::vector<float> Run::samples() const
{
    c10::InferenceMode guard;
    return detail::to_floats(impl_->x);
}

std::shared_ptr<const StepFrame> Run::step()
{
    return advance(true);
}

std::shared_ptr<const StepFrame> Run::advance(bool want_frame)
{
    if (impl_->done())
        throw std::logic_error("Run::step: the run is done");
    c10::InferenceMode guard;
    impl_->apply_threads();
    const at::Tensor out = impl_->call_model(impl_->x, detail::time_input(impl_->shape[0], impl_->current()), true);
    return impl_->finish_step(out, want_frame);
}

RunResult run_sampler(const Model& model, const RunOptions& opt, const FrameCallback& on_frame,
                      const std::atomic<bool>* cancel)
{
    const auto t_start = Clock::now();
    if (opt.threads > 0)
        at::set_num_threads(opt.threads);
    // The run shares the caller's model without owning it (the caller keeps it alive).
    Run run(std::shared_ptr<const Model>(std::shared_ptr<const Model>(), &model), opt);
    RunResult result;
    result.plan = run.plan();
    result.shape = run.shape();
    result.x_T = run.x_T();
    while (!run.done()) {
        auto frame = run.advance(static_cast<bool>(on_frame));
        if (on_frame)
            on_frame(std::move(frame));
        result.steps_done = run.steps_done();
        if (cancel && cancel->load(std::memory_order_relaxed) && !run.done()) {
            result.cancelled = true;
            break;
        }
    }
    if (!result.cancelled)
        result.samples = run.samples();
    result.seconds_denoiser = run.seconds_denoiser();
    result.seconds_total = seconds_since(t_start);
    return result;
}

std::vector<double> sampler_step(const SamplerConfig& config, const PlanStep& step, std::span<const double> x_t,
                                 std::span<const double> x0_hat, std::span<const double> eps_hat,
                                 std::span<const double> z)
{
    c10::InferenceMode guard;
    const detail::SamplerUnit& unit = detail::find_sampler(config.sampler);
    const std::vector<std::int64_t> shape{static_cast<std::int64_t>(x_t.size())};
    if (x0_hat.size() != x_t.size() || eps_hat.size() != x_t.size() || z.size() != x_t.size())
        throw InputError("sampler_step: x_t, x0_hat, eps_hat and z must have the same size");
    const detail::Evaluate no_model = [&](const at::Tensor&, const PlanStep&) -> detail::DenoisedTensors {
        throw InputError("sampler_step: " + unit.info.title +
                         " evaluates the model within a step; run it with a model (noisetrail::Run)");
    };
    const std::unique_ptr<detail::SamplerState> state = unit.make_state ? unit.make_state() : nullptr;
    const detail::DenoisedTensors d{detail::to_tensor(x0_hat, shape), detail::to_tensor(eps_hat, shape)};
    const at::Tensor out =
        unit.step({config, step, detail::to_tensor(x_t, shape), d, detail::to_tensor(z, shape), state.get(), no_model});
    return detail::to_doubles(out);
}

Denoised to_x0_eps(Prediction p, double alpha_bar, std::span<const double> x_t, std::span<const double> output,
                   std::optional<double> clip_radius)
{
    c10::InferenceMode guard;
    const std::vector<std::int64_t> shape{static_cast<std::int64_t>(x_t.size())};
    const auto d = detail::to_x0_eps(p, alpha_bar, detail::to_tensor(x_t, shape), detail::to_tensor(output, shape),
                                     clip_radius);
    return {detail::to_doubles(d.x0_hat), detail::to_doubles(d.eps_hat)};
}

std::vector<double> q_sample(const NoiseSchedule& schedule, int t, std::span<const double> x0, int n,
                             std::uint64_t seed)
{
    c10::InferenceMode guard;
    const double ab = schedule.alpha_bar(t);
    const auto D = static_cast<std::int64_t>(x0.size());
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor eps = at::randn({n, D}, gen, at::TensorOptions().dtype(at::kDouble));
    const at::Tensor base = detail::to_tensor(x0, {1, D});
    return detail::to_doubles(std::sqrt(ab) * base + std::sqrt(1.0 - ab) * eps);
}

} // namespace noisetrail
