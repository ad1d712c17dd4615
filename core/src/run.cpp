#include "noisetrail/run.hpp"

#include "denoiser.hpp"
#include "noisetrail/errors.hpp"
#include "samplers/sampler.hpp"
#include "tensor_util.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace noisetrail {

namespace {

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

RunResult run_sampler(const Model& model, const RunOptions& opt, const FrameCallback& on_frame,
                      const std::atomic<bool>* cancel)
{
    const auto t_start = Clock::now();
    c10::InferenceMode guard;
    if (opt.threads > 0)
        at::set_num_threads(opt.threads);
    const ModelCard& card = model.card();
    const at::Device device = detail::parse_device(model.device());
    const detail::SamplerUnit& unit = detail::find_sampler(opt.sampler.sampler);

    RunResult result;
    result.plan = make_plan(model.schedule(), opt.sampler);
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
    result.shape = detail::batch_shape(card, batch);

    // One generator per run: x_T first (unless given), then each step's z.
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    at::Tensor x_T = opt.init_noise ? detail::to_tensor(std::span<const float>(*opt.init_noise), result.shape)
                                    : at::randn(result.shape, gen, f32);
    if (!all_finite(x_T))
        throw InputError("initial noise holds non-finite values");
    result.x_T = detail::to_floats(x_T);

    const std::optional<double> clip = opt.sampler.clip_x0
                                           ? (*opt.sampler.clip_x0 > 0 ? opt.sampler.clip_x0 : std::nullopt)
                                           : card.default_clip();
    // Sampler arithmetic in float64; coefficients are float64 from the plan.
    at::Tensor x = x_T.to(at::kDouble).to(device);
    std::vector<double> prev_x0; // for the x0_change statistic
    const int S = result.plan.size();
    for (int k = 0; k < S; ++k) {
        const PlanStep& s = result.plan.steps[k];
        const auto t_model = Clock::now();
        at::Tensor out;
        try {
            out = model.denoiser().predict(x, s.t);
        } catch (const InputError&) {
            throw;
        } catch (const std::exception& e) {
            // A model that fails mid-run is a failed run: say where it happened, on one line.
            std::string msg = e.what();
            throw RunError("step " + std::to_string(k) + " (t = " + std::to_string(s.t) +
                               "): the model failed: " + msg.substr(0, msg.find('\n')),
                           k, s.t);
        }
        result.seconds_denoiser += seconds_since(t_model);
        const detail::DenoisedTensors d = detail::to_x0_eps(card.prediction, s.alpha_bar, x, out, clip);
        at::Tensor z;
        if (s.sigma > 0.0)
            z = at::randn(result.shape, gen, f32).to(at::kDouble).to(device);
        at::Tensor x_prev = unit.step(opt.sampler, s, x, d.x0_hat, d.eps_hat, z);
        // One check per step: a non-finite model output always reaches x_prev (NaN * 0 is NaN).
        if (!all_finite(x_prev))
            throw RunError("step " + std::to_string(k) + " (t = " + std::to_string(s.t) + "): " +
                               (all_finite(out) ? "the sample became non-finite"
                                                : "the model returned non-finite values"),
                           k, s.t);
        if (on_frame) {
            const at::Tensor xc = x.to(at::kCPU).contiguous(), x0c = d.x0_hat.to(at::kCPU).contiguous(),
                             epsc = d.eps_hat.to(at::kCPU).contiguous(), xpc = x_prev.to(at::kCPU).contiguous();
            const std::int64_t B = result.shape[0], n = xc.numel();
            auto frame = std::make_shared<StepFrame>();
            frame->step = k;
            frame->steps = S;
            frame->plan = s;
            frame->shape = result.shape;
            frame->x_t = to_floats(xc.data_ptr<double>(), n);
            frame->x0_hat = to_floats(x0c.data_ptr<double>(), n);
            frame->eps_hat = to_floats(epsc.data_ptr<double>(), n);
            frame->x_prev = to_floats(xpc.data_ptr<double>(), n);
            frame->stats = compute_stats(xc.data_ptr<double>(), x0c.data_ptr<double>(), epsc.data_ptr<double>(),
                                         prev_x0.empty() ? nullptr : prev_x0.data(), B, n / B);
            prev_x0.assign(x0c.data_ptr<double>(), x0c.data_ptr<double>() + n);
            on_frame(std::move(frame));
        }
        x = x_prev;
        result.steps_done = k + 1;
        if (cancel && cancel->load(std::memory_order_relaxed) && k + 1 < S) {
            result.cancelled = true;
            break;
        }
    }
    if (!result.cancelled)
        result.samples = detail::to_floats(x);
    result.seconds_total = seconds_since(t_start);
    return result;
}

struct Run::Impl {};
Run::Run(std::shared_ptr<const Model>, const RunOptions&) { throw std::logic_error("Run: not yet implemented"); }
Run::~Run() = default;
Run::Run(Run&&) noexcept = default;
Run& Run::operator=(Run&&) noexcept = default;

std::vector<double> sampler_step(const SamplerConfig& config, const PlanStep& step, std::span<const double> x_t,
                                 std::span<const double> x0_hat, std::span<const double> eps_hat,
                                 std::span<const double> z)
{
    c10::InferenceMode guard;
    const detail::SamplerUnit& unit = detail::find_sampler(config.sampler);
    const std::vector<std::int64_t> shape{static_cast<std::int64_t>(x_t.size())};
    if (x0_hat.size() != x_t.size() || eps_hat.size() != x_t.size() || z.size() != x_t.size())
        throw InputError("sampler_step: x_t, x0_hat, eps_hat and z must have the same size");
    const at::Tensor out = unit.step(config, step, detail::to_tensor(x_t, shape), detail::to_tensor(x0_hat, shape),
                                     detail::to_tensor(eps_hat, shape), detail::to_tensor(z, shape));
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
