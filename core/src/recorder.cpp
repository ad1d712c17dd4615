// The recorder (recorder.hpp). Torch-free: keep it so, torch translation
// units are the costly ones to compile.
#include "noisetrail/recorder.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/threads.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>

namespace noisetrail {

namespace {

/// The evenly strided subset of the Vendi score: rows floor(j B / m), j < m.
std::vector<double> subset(std::span<const double> rows, int B, int dim, int m)
{
    m = m > 0 ? std::min(B, m) : B;
    std::vector<double> out;
    out.reserve(std::size_t(m) * std::size_t(dim));
    for (int j = 0; j < m; ++j) {
        const std::size_t r = std::size_t(static_cast<long long>(j) * B / m);
        out.insert(out.end(), rows.begin() + std::ptrdiff_t(r * std::size_t(dim)),
                   rows.begin() + std::ptrdiff_t((r + 1) * std::size_t(dim)));
    }
    return out;
}

} // namespace

bool measuredStep(int step, int steps, bool everyStep)
{
    const int k = std::max(1, steps / kMetricPoints);
    return everyStep || step % k == 0 || step == steps - 1;
}

bool hasValues(const metrics::StepMetrics& m)
{
    for (double v : {m.pairwise_distance, m.coordinate_std, m.vendi, m.components_covered, m.occupancy_entropy,
                     m.class_entropy, m.classes_covered})
        if (!std::isnan(v))
            return true;
    return false;
}

MetricSources metric_sources(const ModelCard& card)
{
    MetricSources s;
    if (auto mix = metrics::mixture_from_card(card))
        s.mixture = std::make_shared<const metrics::GaussianMixture>(std::move(*mix));
    if (!card.is_image())
        return s;
    const std::filesystem::path path = experiments::classifier_path(card, {});
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        s.note = "no " + path.filename().string() + " next to the card";
        return s;
    }
    try {
        std::shared_ptr<Classifier> c = Classifier::load(path);
        std::int64_t numel = 1;
        for (auto d : c->input_shape())
            numel *= d;
        if (numel == card.data_dim()) {
            s.classifier = std::move(c);
            s.note = path.filename().string();
        } else {
            s.note = "the classifier's input shape does not fit this model";
        }
    } catch (const std::exception& e) {
        s.note = e.what();
    }
    return s;
}

FrameMetrics computeFrameMetrics(const StepFrame& frame, const metrics::GaussianMixture* mixture,
                                 const Classifier* classifier)
{
    const auto t0 = std::chrono::steady_clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    FrameMetrics out;
    const int B = frame.shape.empty() ? 0 : int(frame.shape[0]);
    if (B < 1 || frame.x0_hat.empty()) {
        out.seconds = elapsed();
        return out;
    }
    const int D = int(frame.x0_hat.size() / std::size_t(B));
    const std::vector<double> x(frame.x0_hat.begin(), frame.x0_hat.end());
    metrics::StepMetrics& m = out.values;
    m.pairwise_distance = metrics::mean_pairwise_distance(x, B, D);
    m.coordinate_std = metrics::mean_coordinate_std(x, B, D);
    if (classifier) {
        // Images: Vendi on classifier features (cosine), class entropy / coverage
        // from its predicted classes; one forward pass of the small CNN.
        const Classifier::Output c = classifier->run(frame.x0_hat, B);
        const std::vector<double> features(c.features.begin(), c.features.end());
        const std::vector<double> probs(c.probabilities.begin(), c.probabilities.end());
        const int F = classifier->feature_dim();
        const auto f = subset(features, B, F, kVendiPoints);
        m.vendi = metrics::vendi_cosine(f, int(f.size() / std::size_t(F)), F);
        const int K = classifier->num_classes();
        const metrics::Occupancy occ = metrics::class_occupancy(probs, B, K);
        m.class_entropy = occ.entropy;
        m.classes_covered = occ.covered;
        // Decision time: each sample's class is the argmax of its probabilities
        // (what Classifier::predict and experiments::Assigner give, without a second pass).
        out.assignment = metrics::argmax_rows(probs, B, K);
    } else {
        const auto s = subset(x, B, D, kVendiPoints);
        const int ms = int(s.size() / std::size_t(D));
        m.vendi = D <= 3 ? metrics::vendi_rbf(s, ms, D, metrics::kDefaultRbfBandwidth) : metrics::vendi_cosine(s, ms, D);
    }
    if (mixture && mixture->dim == D) {
        const metrics::MixtureCoverage c = metrics::mixture_coverage(*mixture, x, B);
        out.componentCounts = c.occupancy.counts;
        out.componentNear = c.high_quality_counts;
        m.components_covered = c.occupancy.covered;
        m.occupancy_entropy = c.occupancy.entropy;
        if (!classifier) // decision time: the most responsible component (experiments::Assigner's rule)
            out.assignment = metrics::most_responsible(*mixture, x, B);
    }
    out.seconds = elapsed();
    return out;
}

// ------------------------------------------------------------ the recorder

struct Recorder::Impl {
    /// Ticks that may wait: enough to ride out a slow classifier pass, few
    /// enough that a cancelled run stops storing soon.
    static constexpr std::size_t kQueued = 16;

    std::vector<std::shared_ptr<Trajectory>> stores;
    MetricSources sources;
    bool metrics = true;
    std::function<void()> published;

    std::mutex mutex;
    std::condition_variable ready, space;
    std::deque<std::vector<TickFrame>> queue;
    bool done = false;
    std::exception_ptr error;
    std::thread thread; // started last, once the rest is built

    bool measures(int step, int steps) const { return metrics && measuredStep(step, steps, sources.mixture != nullptr); }

    void store(const TickFrame& tf)
    {
        if (tf.panel < 0 || std::size_t(tf.panel) >= stores.size() || !stores[std::size_t(tf.panel)] || !tf.frame)
            throw std::invalid_argument("Recorder: a frame of panel " + std::to_string(tf.panel) + " has no store (" +
                                        std::to_string(stores.size()) + " stores)");
        const StepFrame& f = *tf.frame;
        Trajectory& t = *stores[std::size_t(tf.panel)];
        if (measures(f.step, f.steps)) {
            const FrameMetrics m = computeFrameMetrics(f, sources.mixture.get(), sources.classifier.get());
            t.append(f, &m);
        } else {
            t.append(f);
        }
    }

    void loop()
    {
        pthread_setname_np(pthread_self(), "nt-recorder"); // named in profiles and bench-gui's CPU split
        set_intra_op_threads(1);
        for (;;) {
            std::vector<TickFrame> tick;
            {
                std::unique_lock lock(mutex);
                ready.wait(lock, [&] { return !queue.empty() || done; });
                if (queue.empty())
                    return;
                tick = std::move(queue.front());
                queue.pop_front();
            }
            space.notify_one();
            try {
                for (const TickFrame& tf : tick)
                    store(tf);
                if (published)
                    published();
            } catch (...) {
                std::lock_guard lock(mutex);
                error = std::current_exception();
                queue.clear();
                space.notify_all();
                return;
            }
        }
    }

    void stop()
    {
        {
            std::lock_guard lock(mutex);
            done = true;
        }
        ready.notify_one();
        if (thread.joinable())
            thread.join();
    }
};

Recorder::Recorder(std::vector<std::shared_ptr<Trajectory>> stores, MetricSources sources, bool metrics,
                   std::function<void()> published)
    : impl_(std::make_unique<Impl>())
{
    impl_->stores = std::move(stores);
    impl_->sources = std::move(sources);
    impl_->metrics = metrics;
    impl_->published = std::move(published);
    impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

Recorder::~Recorder() { impl_->stop(); }

void Recorder::record(std::vector<TickFrame> tick)
{
    Impl& d = *impl_;
    std::unique_lock lock(d.mutex);
    d.space.wait(lock, [&] { return d.queue.size() < Impl::kQueued || d.error || d.done; });
    if (d.error)
        std::rethrow_exception(d.error);
    if (d.done)
        throw std::logic_error("Recorder: record() after finish()");
    d.queue.push_back(std::move(tick));
    d.ready.notify_one();
}

void Recorder::finish()
{
    impl_->stop();
    if (impl_->error)
        std::rethrow_exception(impl_->error);
}

bool Recorder::measures(int step, int steps) const { return impl_->measures(step, steps); }

std::vector<std::string> stored_metric_names(const Trajectory& trajectory)
{
    const int n = trajectory.size();
    std::vector<std::string> names;
    if (n == 0)
        return names;
    names = step_stat_names();
    const auto& metric_names = metrics::step_metric_names();
    std::vector<bool> has(metric_names.size(), false);
    bool counts = false, near = false, assignment = false;
    for (int k = 0; k < n; ++k) {
        const FrameMetrics& m = trajectory.info(k).metrics;
        const std::vector<double> v = metrics::step_metric_values(m.values);
        for (std::size_t i = 0; i < v.size(); ++i)
            has[i] = has[i] || !std::isnan(v[i]);
        counts = counts || !m.componentCounts.empty();
        near = near || !m.componentNear.empty();
        assignment = assignment || !m.assignment.empty();
    }
    for (std::size_t i = 0; i < metric_names.size(); ++i)
        if (has[i])
            names.push_back(metric_names[i]);
    for (const auto& [held, name] : {std::pair{counts, "component_counts"}, std::pair{near, "component_near"},
                                     std::pair{assignment, "assignment"}})
        if (held)
            names.emplace_back(name);
    return names;
}

} // namespace noisetrail
