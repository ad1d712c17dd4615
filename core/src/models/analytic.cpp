// Exact denoisers of analytic distributions (contract section 2).
#include "card_json.hpp"
#include "denoiser.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace noisetrail::detail {

namespace {

// Default precision of eps* and E[x_0 | x_t] when the card has no "precision"
// field: float32 where whole trajectories stay within 1e-3 of float64 with a
// wide margin (tests/core/tst_analytic_precision.cpp; figures in README
// "Performance"). Mixtures: 1.2e-5 on ring8 over DDPM 1000, and 2.1x faster.
// Empirical sets stay float64: their logits come from an expanded matrix
// product scaled by 1 / (1 - ab), and a dense 2-D set (two moons, 4000
// points) moves 8.6e-4 over DDPM 1000 in float32, no margin; the 500 digits
// move under 1e-6 and may ask for float32 in their card.
constexpr at::ScalarType kMixturePrecision = at::kFloat;
constexpr at::ScalarType kEmpiricalPrecision = at::kDouble;

[[noreturn]] void card_error(const ModelCard& card, const std::string& what)
{
    throw InputError("model card " + card.path.string() + ": " + what);
}

/// Squared distances |x_b - c * y_k|^2, [B, K]. Direct differences for small
/// dimensions (exact), the expanded form (a matrix product) otherwise.
at::Tensor squared_distances(const at::Tensor& x, const at::Tensor& y, double c)
{
    if (x.size(1) <= 8 && x.size(0) * y.size(0) * x.size(1) <= (1 << 22))
        return (x.unsqueeze(1) - c * y.unsqueeze(0)).pow(2).sum(-1);
    const at::Tensor d = x.pow(2).sum(1, true) - (2.0 * c) * at::matmul(x, y.t()) +
                         (c * c) * y.pow(2).sum(1).unsqueeze(0);
    return d.clamp_min(0.0);
}

/// A flow model's per-sample levels s: the float64 t of time_input, or (an int64 t,
/// Model::denoise) the schedule's grid s_t = (t + 1) / T.
at::Tensor flow_levels(const NoiseSchedule& schedule, const at::Tensor& t)
{
    if (t.scalar_type() == at::kDouble)
        return t;
    return (t.to(at::kCPU, at::kDouble) + 1.0) / static_cast<double>(schedule.train_steps());
}

// Mixture of isotropic Gaussians N(mu_k, s_k^2 I). The marginal at t is
// p_t = sum_k w_k N(sqrt(ab) mu_k, (ab s_k^2 + 1 - ab) I), and the exact noise
// predictor is eps*(x, t) = -sqrt(1 - ab) grad log p_t(x) (Tweedie's formula).
class GaussianMixture final : public Denoiser {
public:
    /// log_w, means, var in float64; eps* is evaluated in `dtype` (float32 or float64).
    GaussianMixture(const ModelCard& card, const NoiseSchedule& schedule, const at::Tensor& log_w,
                    const at::Tensor& means, const at::Tensor& var, at::ScalarType dtype)
        : card_(card), schedule_(schedule), log_w_(log_w.to(dtype)), means_(means.to(dtype)), var_(var.to(dtype)),
          dtype_(dtype)
    {
    }

    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override
    {
        if (schedule_.process() == ProcessKind::Flow)
            return predict_grouped_level(x_t, flow_levels(schedule_, t),
                                         [this](const at::Tensor& x, double s) { return predict_flow(x, s); });
        return predict_grouped(x_t, t, [this](const at::Tensor& x, int tt) { return predict_one(x, tt); });
    }

    // Per-call overhead dominates small batches, memory traffic large ones: merged calls
    // cost 0.5-0.7x separate ones at 2 x 64 rows, about 1x at 2 x 1000, 1.0-1.2x at
    // 2 x 4096 (bench/bench_run_set.cpp, ring8).
    bool merging_pays(std::int64_t merged_batch) const override { return merged_batch <= 2048; }

    // [B, K] logits-sized tensors and the [B, K, D] differences of small dimensions
    // (squared_distances). Measured: ring8 (K = 8) takes 95 bytes a sample more than one
    // Gaussian, batch 10^5.
    double bytes_per_sample() const override
    {
        const double K = static_cast<double>(means_.size(0)), D = static_cast<double>(means_.size(1));
        return 16.0 * K + (D <= 8 ? 4.0 * K * D : 0.0);
    }

private:
    at::Tensor predict_one(const at::Tensor& x_t, int t)
    {
        const double ab = schedule_.alpha_bar(t), sa = std::sqrt(ab);
        const auto B = x_t.size(0);
        const at::Tensor x = x_t.reshape({B, -1}).to(dtype_);
        const double D = static_cast<double>(x.size(1));
        const at::Tensor v = ab * var_ + (1.0 - ab); // [K]
        const at::Tensor d2 = squared_distances(x, means_, sa);
        const at::Tensor logits = log_w_.unsqueeze(0) - 0.5 * D * v.log().unsqueeze(0) - d2 / (2.0 * v.unsqueeze(0));
        const at::Tensor r_over_v = at::softmax(logits, 1) / v.unsqueeze(0); // [B, K]
        // grad log p_t = -x sum_k r_k / v_k + sqrt(ab) sum_k r_k mu_k / v_k
        const at::Tensor grad = -x * r_over_v.sum(1, true) + sa * at::matmul(r_over_v, means_);
        const at::Tensor eps = (-std::sqrt(1.0 - ab) * grad).reshape(x_t.sizes()).to(at::kDouble);
        if (card_.prediction == Prediction::Epsilon)
            return eps; // x0 is not needed (the sampler derives it from eps)
        const at::Tensor x0 = (x_t - std::sqrt(1.0 - ab) * eps) / sa;
        return from_x0_eps(card_.prediction, ab, x0, eps);
    }

    // Flow (contract section 8): p_s = sum_k w_k N((1 - s) mu_k, v_k I), v_k = (1 - s)^2 s_k^2 + s^2;
    // x0* = E[x_0 | x_s] = sum_k r_k (mu_k + ((1 - s) s_k^2 / v_k) (x - (1 - s) mu_k)), the
    // component posteriors weighted by their responsibilities r_k; eps* = (x - (1 - s) x0*) / s.
    // Written on x0* so that s = 1 (alpha = 0) needs no division by alpha.
    at::Tensor predict_flow(const at::Tensor& x_t, double s)
    {
        const double a = 1.0 - s;
        const auto B = x_t.size(0);
        const at::Tensor x = x_t.reshape({B, -1}).to(dtype_);
        const double D = static_cast<double>(x.size(1));
        const at::Tensor v = (a * a) * var_ + s * s; // [K]
        const at::Tensor d2 = squared_distances(x, means_, a);
        const at::Tensor logits = log_w_.unsqueeze(0) - 0.5 * D * v.log().unsqueeze(0) - d2 / (2.0 * v.unsqueeze(0));
        const at::Tensor r = at::softmax(logits, 1);                   // [B, K]
        const at::Tensor g = r * (a * var_ / v).unsqueeze(0);          // r_k (1 - s) s_k^2 / v_k
        const at::Tensor x0f = at::matmul(r, means_) + g.sum(1, true) * x - a * at::matmul(g, means_);
        const at::Tensor x0 = x0f.reshape(x_t.sizes()).to(at::kDouble);
        const at::Tensor eps = (x_t - a * x0) / s;
        return from_x0_eps(card_.prediction, PathPoint{a, s}, x0, eps);
    }

    ModelCard card_;
    NoiseSchedule schedule_;
    at::Tensor log_w_, means_, var_; // in dtype_
    at::ScalarType dtype_;
};

// The exact denoiser of a finite data set {x_i}: E[x_0 | x_t] is a softmax-
// weighted average of the data points with logits -|x - sqrt(ab) x_i|^2 / (2 (1 - ab)).
class Empirical final : public Denoiser {
public:
    /// data in float64; E[x_0 | x_t] is evaluated in `dtype` (float32 or float64).
    Empirical(const ModelCard& card, const NoiseSchedule& schedule, const at::Tensor& data, at::ScalarType dtype)
        : card_(card), schedule_(schedule), data_(data.to(dtype)), sq_norms_(data.pow(2).sum(1).to(dtype))
    {
    }

    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override
    {
        if (schedule_.process() == ProcessKind::Flow)
            return predict_grouped_level(x_t, flow_levels(schedule_, t),
                                         [this](const at::Tensor& x, double s) { return predict_one(x, (1.0 - s) * (1.0 - s), 1.0 - s, s * s); });
        return predict_grouped(x_t, t, [this](const at::Tensor& x, int tt) {
            const double ab = schedule_.alpha_bar(tt);
            return predict_one(x, ab, std::sqrt(ab), 1.0 - ab);
        });
    }

    // One pass over the data set serves every merged row: merged calls cost about
    // 0.5-0.6x separate ones (bench/bench_run_set.cpp, 500 digits, 2 x 16 rows).
    bool merging_pays(std::int64_t) const override { return true; }

    // The [rows, N] logits are blocked to a fixed size; per sample, [B, D] temporaries.
    // Measured with the run's part: 601 bytes a sample (two-moons, D = 2), 133 KB (500 digits).
    double bytes_per_sample() const override { return 256.0 * static_cast<double>(data_.size(1)); }

private:
    /// At the path point (alpha^2, alpha, sigma^2): VP (ab, sqrt(ab), 1 - ab) or flow ((1 - s)^2,
    /// 1 - s, s^2), the softmax of section 2 with the path's alpha and sigma (contract section 8).
    at::Tensor predict_one(const at::Tensor& x_t, double ab, double sa, double var)
    {
        const auto B = x_t.size(0);
        const at::Tensor x = x_t.reshape({B, -1}).to(data_.scalar_type());
        // -|x - c y|^2 / (2 (1 - ab)) = (c x.y - c^2 |y|^2 / 2) / (1 - ab) - |x|^2 / (2 (1 - ab));
        // the last term is the same for every data point and cancels in the softmax.
        const at::Tensor bias = (-0.5 * ab / var) * sq_norms_;        // [N]
        const at::Tensor data_t = data_.t();
        // Row blocks keep the [rows, N] logits small (cache-friendly, no huge allocations).
        const std::int64_t rows = std::max<std::int64_t>(1, (1 << 18) / std::max<std::int64_t>(1, data_.size(0)));
        at::Tensor x0 = at::empty_like(x);
        for (std::int64_t b = 0; b < B; b += rows) {
            const std::int64_t e = std::min(B, b + rows);
            const at::Tensor logits = at::addmm(bias, x.slice(0, b, e), data_t, 1.0, sa / var);
            x0.slice(0, b, e).copy_(at::matmul(at::softmax(logits, 1), data_));
        }
        x0 = x0.reshape(x_t.sizes()).to(at::kDouble);
        const at::Tensor eps = (x_t - sa * x0) / std::sqrt(var);
        return from_x0_eps(card_.prediction, PathPoint{sa, std::sqrt(var)}, x0, eps);
    }

    ModelCard card_;
    NoiseSchedule schedule_;
    at::Tensor data_;     // [N, D], in the evaluation dtype
    at::Tensor sq_norms_; // [N], from the float64 data
};

/// The card's optional "precision" of the analytic evaluation: "float32" or
/// "float64"; `fallback` when absent. The sampler runs in float64 either way.
at::ScalarType precision(const ModelCard& card, const nlohmann::json& j, at::ScalarType fallback)
{
    if (!j.contains("precision"))
        return fallback;
    const auto& p = j["precision"];
    if (p == "float32")
        return at::kFloat;
    if (p == "float64")
        return at::kDouble;
    card_error(card, "field 'precision' must be \"float32\" or \"float64\"");
}

} // namespace

std::unique_ptr<Denoiser> make_gaussian_mixture(const ModelCard& card, const NoiseSchedule& schedule,
                                                const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    if (!j.contains("mixture") || !j["mixture"].is_object())
        card_error(card, "field 'mixture' is missing (weights, means, stds)");
    const auto& m = j["mixture"];
    const auto D = card.data_dim();
    const auto numbers = [&](const char* key) {
        if (!m.contains(key) || !m[key].is_array() || m[key].empty())
            card_error(card, std::string("field 'mixture.") + key + "' must be a non-empty array");
        return m[key];
    };
    const auto& jm = numbers("means");
    const auto K = static_cast<std::int64_t>(jm.size());
    std::vector<double> weights(K, 1.0 / K), means, stds;
    if (m.contains("weights")) {
        const auto& jw = numbers("weights");
        if (static_cast<std::int64_t>(jw.size()) != K)
            card_error(card, "'mixture.weights' has " + std::to_string(jw.size()) + " entries but there are " +
                                 std::to_string(K) + " means");
        double total = 0;
        for (std::int64_t k = 0; k < K; ++k) {
            if (!jw[k].is_number() || !(jw[k].get<double>() >= 0) || !std::isfinite(jw[k].get<double>()))
                card_error(card, "'mixture.weights' must be finite numbers >= 0");
            weights[k] = jw[k].get<double>();
            total += weights[k];
        }
        if (!(total > 0))
            card_error(card, "'mixture.weights' sum to zero");
        for (double& w : weights)
            w /= total; // normalised, as the contract allows
    }
    for (const auto& mu : jm)
        if (!detail::read_mean(mu, card.data_shape, means))
            card_error(card, "each of 'mixture.means' must have " + std::to_string(D) +
                                 " numbers (the product of data_shape), flat or nested to the data shape");
    for (double v : means)
        if (!std::isfinite(v))
            card_error(card, "'mixture.means' must hold finite numbers");
    const auto& js = numbers("stds");
    if (js.size() == 1 && K > 1)
        stds.assign(K, js[0].is_number() ? js[0].get<double>() : -1.0);
    else if (static_cast<std::int64_t>(js.size()) == K)
        for (const auto& s : js)
            stds.push_back(s.is_number() ? s.get<double>() : -1.0);
    else
        card_error(card, "'mixture.stds' must have one entry per component");
    for (double s : stds)
        if (!(s >= 0) || !std::isfinite(s))
            card_error(card, "'mixture.stds' must be finite numbers >= 0");

    const auto opts = at::TensorOptions().dtype(at::kDouble);
    at::Tensor log_w = at::tensor(weights, opts).log().to(device);
    at::Tensor mu = at::tensor(means, opts).reshape({K, D}).to(device);
    at::Tensor var = at::tensor(stds, opts).pow(2).to(device);
    return std::make_unique<GaussianMixture>(card, schedule, log_w, mu, var,
                                             precision(card, j, kMixturePrecision));
}

std::unique_ptr<Denoiser> make_empirical(const ModelCard& card, const NoiseSchedule& schedule,
                                         const at::Device& device)
{
    const auto j = nlohmann::json::parse(card.json_text);
    if (!j.contains("data") || !j["data"].is_string())
        card_error(card, "field 'data' (a .npy file of shape [N, *data_shape]) is missing");
    NpyArray a;
    try {
        a = read_npy(card.resolve(j["data"].get<std::string>()));
    } catch (const InputError& e) {
        card_error(card, e.what());
    }
    std::vector<std::int64_t> want{-1};
    want.insert(want.end(), card.data_shape.begin(), card.data_shape.end());
    bool ok = a.dtype == NpyArray::DType::Float32 && a.shape.size() == want.size() && a.shape[0] >= 1;
    for (std::size_t i = 1; ok && i < want.size(); ++i)
        ok = a.shape[i] == want[i];
    if (!ok)
        card_error(card, "data file has shape " + a.shape_string() + ", expected [N, *data_shape] of floats");
    for (float v : a.f32)
        if (!std::isfinite(v))
            card_error(card, "data file holds non-finite values");
    at::Tensor data = at::tensor(at::ArrayRef<float>(a.f32)).to(at::kDouble).reshape({a.shape[0], -1}).to(device);
    return std::make_unique<Empirical>(card, schedule, data, precision(card, j, kEmpiricalPrecision));
}

} // namespace noisetrail::detail
