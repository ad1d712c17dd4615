// Exact denoisers of analytic distributions (contract section 2).
#include "card_json.hpp"
#include "denoiser.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

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
    /// `class_log_w`: per label of a conditional card (contract section 9) the log-weights
    /// of p(x | c), -inf off the class, the null label last (log_w); {log_w} when unconditional.
    GaussianMixture(const ModelCard& card, const NoiseSchedule& schedule, const std::vector<at::Tensor>& class_log_w,
                    const at::Tensor& means, const at::Tensor& var, at::ScalarType dtype)
        : card_(card), schedule_(schedule), means_(means.to(dtype)), var_(var.to(dtype)), dtype_(dtype)
    {
        for (const auto& lw : class_log_w)
            class_log_w_.push_back(lw.to(dtype));
    }

    // p(x | c) is the mixture of class c's components, weights renormalised: the same
    // formulas with the class's log-weights.
    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c) override
    {
        const auto null_label = static_cast<std::int64_t>(class_log_w_.size()) - 1;
        return predict_grouped_class(x_t, t, c, null_label, [this](const at::Tensor& xc, const at::Tensor& tc,
                                                                    std::int64_t label) {
            const at::Tensor& log_w = class_log_w_[static_cast<std::size_t>(label)];
            if (schedule_.process() == ProcessKind::Flow)
                return predict_grouped_level(xc, flow_levels(schedule_, tc), [&](const at::Tensor& x, double s) {
                    return predict_flow(x, s, log_w);
                });
            return predict_grouped(xc, tc, [&](const at::Tensor& x, int tt) { return predict_one(x, tt, log_w); });
        });
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
        // (per call; a conditional call evaluates its classes one after another)
        return 16.0 * K + (D <= 8 ? 4.0 * K * D : 0.0);
    }

private:
    at::Tensor predict_one(const at::Tensor& x_t, int t, const at::Tensor& log_w_)
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
    at::Tensor predict_flow(const at::Tensor& x_t, double s, const at::Tensor& log_w_)
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
    std::vector<at::Tensor> class_log_w_; // [K] each, in dtype_; the last is the unconditional log_w
    at::Tensor means_, var_;              // in dtype_
    at::ScalarType dtype_;
};

// The exact denoiser of a finite data set {x_i}: E[x_0 | x_t] is a softmax-
// weighted average of the data points with logits -|x - sqrt(ab) x_i|^2 / (2 (1 - ab)).
class Empirical final : public Denoiser {
public:
    /// data in float64; E[x_0 | x_t] is evaluated in `dtype` (float32 or float64).
    /// `class_bias`: per label of a conditional card (contract section 9) 0 on the class's
    /// examples and -inf elsewhere, [N] each; the null label (unconditional) is the last
    /// and undefined. {undefined} when the card is unconditional.
    Empirical(const ModelCard& card, const NoiseSchedule& schedule, const at::Tensor& data, at::ScalarType dtype,
              std::vector<at::Tensor> class_bias)
        : card_(card), schedule_(schedule), data_(data.to(dtype)), sq_norms_(data.pow(2).sum(1).to(dtype))
    {
        for (const auto& b : class_bias)
            class_bias_.push_back(b.defined() ? b.to(dtype) : b);
    }

    // p(x | c) is the uniform distribution on class c's examples: the same softmax over
    // those examples alone (the others' logits are -inf).
    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c) override
    {
        const auto null_label = static_cast<std::int64_t>(class_bias_.size()) - 1;
        return predict_grouped_class(x_t, t, c, null_label, [this](const at::Tensor& xc, const at::Tensor& tc,
                                                                    std::int64_t label) {
            const at::Tensor& cb = class_bias_[static_cast<std::size_t>(label)];
            if (schedule_.process() == ProcessKind::Flow)
                return predict_grouped_level(xc, flow_levels(schedule_, tc), [&](const at::Tensor& x, double s) {
                    return predict_one(x, (1.0 - s) * (1.0 - s), 1.0 - s, s * s, cb);
                });
            return predict_grouped(xc, tc, [&](const at::Tensor& x, int tt) {
                const double ab = schedule_.alpha_bar(tt);
                return predict_one(x, ab, std::sqrt(ab), 1.0 - ab, cb);
            });
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
    at::Tensor predict_one(const at::Tensor& x_t, double ab, double sa, double var, const at::Tensor& class_bias)
    {
        const auto B = x_t.size(0);
        const at::Tensor x = x_t.reshape({B, -1}).to(data_.scalar_type());
        // -|x - c y|^2 / (2 (1 - ab)) = (c x.y - c^2 |y|^2 / 2) / (1 - ab) - |x|^2 / (2 (1 - ab));
        // the last term is the same for every data point and cancels in the softmax.
        at::Tensor bias = (-0.5 * ab / var) * sq_norms_;              // [N]
        if (class_bias.defined())
            bias = bias + class_bias;
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
    std::vector<at::Tensor> class_bias_; // per label, [N] or undefined (the null label)
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
    std::vector<at::Tensor> class_log_w;
    if (card.is_conditional()) {
        // Contract section 9: mixture.classes gives each component's class index.
        const auto C = static_cast<int>(card.classes.size());
        if (!m.contains("classes") || !m["classes"].is_array() || static_cast<std::int64_t>(m["classes"].size()) != K)
            card_error(card, "a conditional mixture needs 'mixture.classes', one class index per component (" +
                                 std::to_string(K) + ")");
        std::vector<double> class_total(std::size_t(C), 0.0);
        std::vector<int> of;
        for (const auto& v : m["classes"]) {
            if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() >= C)
                card_error(card, "'mixture.classes' must hold class indices 0.." + std::to_string(C - 1));
            of.push_back(static_cast<int>(v.get<long long>()));
            class_total[std::size_t(of.back())] += weights[std::size_t(of.size() - 1)];
        }
        for (int k = 0; k < C; ++k) {
            if (!(class_total[std::size_t(k)] > 0))
                card_error(card, "class '" + card.classes[std::size_t(k)] +
                                     "' has no mixture component of positive weight ('mixture.classes')");
            std::vector<double> lw(std::size_t(K), -std::numeric_limits<double>::infinity());
            for (std::int64_t i = 0; i < K; ++i)
                if (of[std::size_t(i)] == k)
                    lw[std::size_t(i)] = std::log(weights[std::size_t(i)] / class_total[std::size_t(k)]);
            class_log_w.push_back(at::tensor(lw, opts).to(device));
        }
    } else if (m.contains("classes")) {
        card_error(card, "'mixture.classes' needs the card's 'classes' (their names)");
    }
    class_log_w.push_back(at::tensor(weights, opts).log().to(device));
    at::Tensor mu = at::tensor(means, opts).reshape({K, D}).to(device);
    at::Tensor var = at::tensor(stds, opts).pow(2).to(device);
    return std::make_unique<GaussianMixture>(card, schedule, class_log_w, mu, var,
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
    std::vector<at::Tensor> class_bias;
    if (card.is_conditional()) {
        // Contract section 9: 'labels', an int64 .npy [N] of each example's class.
        if (!j.contains("labels") || !j["labels"].is_string())
            card_error(card, "a conditional empirical card needs 'labels', an int64 .npy of shape [N]");
        NpyArray l;
        try {
            l = read_npy(card.resolve(j["labels"].get<std::string>()));
        } catch (const InputError& e) {
            card_error(card, std::string("labels: ") + e.what());
        }
        const std::int64_t N = a.shape[0];
        const auto C = static_cast<std::int64_t>(card.classes.size());
        if (l.dtype != NpyArray::DType::Int64 || l.shape.size() != 1 || l.shape[0] != N)
            card_error(card, "labels file has shape " + l.shape_string() + ", expected int64 [" + std::to_string(N) +
                                 "] (one class per example)");
        std::vector<std::int64_t> count(std::size_t(C), 0);
        for (std::int64_t v : l.i64) {
            if (v < 0 || v >= C)
                card_error(card, "labels file holds class " + std::to_string(v) + ", outside 0.." +
                                     std::to_string(C - 1));
            ++count[std::size_t(v)];
        }
        const at::Tensor labels = at::tensor(at::ArrayRef<std::int64_t>(l.i64));
        for (std::int64_t k = 0; k < C; ++k) {
            if (count[std::size_t(k)] == 0)
                card_error(card, "class '" + card.classes[std::size_t(k)] + "' has no example in the labels file");
            class_bias.push_back(at::where(labels == k, at::zeros({N}, at::kDouble),
                                           at::full({N}, -std::numeric_limits<double>::infinity(), at::kDouble))
                                     .to(device));
        }
    }
    class_bias.push_back(at::Tensor()); // the null label: every example
    return std::make_unique<Empirical>(card, schedule, data, precision(card, j, kEmpiricalPrecision),
                                       std::move(class_bias));
}

} // namespace noisetrail::detail
