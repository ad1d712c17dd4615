#include "loaded_model.hpp"
#include "code_trust.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/fingerprint.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/recorder.hpp"
#include "noisetrail/run.hpp"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QObject>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

namespace noisetrail::ui {
namespace {

QImage normalise(const std::vector<double>& d, int size)
{
    QImage img(size, size, QImage::Format_Grayscale8);
    const double mx = *std::max_element(d.begin(), d.end());
    for (int r = 0; r < size; ++r) {
        uchar* line = img.scanLine(r);
        for (int c = 0; c < size; ++c) {
            // sqrt lifts the tails so thin modes stay visible next to dense ones
            const double v = mx > 0 ? std::sqrt(d[std::size_t(r) * size + c] / mx) : 0.0;
            line[c] = uchar(std::clamp(v * 255.0, 0.0, 255.0));
        }
    }
    return img;
}

// Pixel centre (r, c) -> data coordinates; row 0 is the top (largest y).
QPointF dataAt(const QRectF& e, int size, int r, int c)
{
    return {e.left() + (c + 0.5) / size * e.width(), e.bottom() - (r + 0.5) / size * e.height()};
}

/// p(x | c) of each class of a conditional mixture card (empty otherwise).
std::vector<QImage> classDensities(const ModelCard& card, const metrics::GaussianMixture* mixture, const QRectF& extent)
{
    std::vector<QImage> out;
    if (!mixture || mixture->classes.empty())
        return out;
    for (int c = 0; c < int(card.classes.size()); ++c)
        out.push_back(targetDensity(card, extent, 256, c));
    return out;
}

} // namespace

QImage targetDensity(const ModelCard& card, const QRectF& extent, int size, int cls)
{
    if (!card.is_2d_points() || size <= 0)
        return {};
    std::vector<double> d(std::size_t(size) * size, 0.0);
    if (auto m = metrics::mixture_from_card(card)) {
        if (cls >= 0)
            m = metrics::class_mixture(*m, cls); // p(x | c), contract section 9
        // The exact density, through core's one mixture parser and log-likelihood
        // (weights normalised, a single std broadcast to every component).
        std::vector<double> points(d.size() * 2);
        for (int r = 0; r < size; ++r)
            for (int c = 0; c < size; ++c) {
                const QPointF p = dataAt(extent, size, r, c);
                points[2 * (std::size_t(r) * size + c)] = p.x();
                points[2 * (std::size_t(r) * size + c) + 1] = p.y();
            }
        const std::vector<double> logp = metrics::log_likelihood(*m, points, int(d.size()));
        for (std::size_t i = 0; i < d.size(); ++i)
            d[i] = std::exp(logp[i]);
        return normalise(d, size);
    }
    if (card.kind == "empirical" && cls < 0) {
        const auto path = card.resolve(QJsonDocument::fromJson(QByteArray::fromStdString(card.json_text))
                                           .object().value("data").toString().toStdString());
        const NpyArray a = read_npy(path);
        const std::size_t n = a.f32.size() / 2;
        for (std::size_t i = 0; i < n; ++i) {
            const double x = a.f32[2 * i], y = a.f32[2 * i + 1];
            const int c = int((x - extent.left()) / extent.width() * size);
            const int r = int((extent.bottom() - y) / extent.height() * size);
            if (r >= 0 && r < size && c >= 0 && c < size)
                d[std::size_t(r) * size + c] += 1.0;
        }
        // Separable Gaussian blur, sigma ~ 1.2 px: a kernel density estimate.
        const int R = 3;
        double k[2 * R + 1], ks = 0;
        for (int i = -R; i <= R; ++i)
            ks += k[i + R] = std::exp(-i * i / (2 * 1.44));
        std::vector<double> tmp(d.size(), 0.0);
        for (int r = 0; r < size; ++r)
            for (int c = 0; c < size; ++c) {
                double v = 0;
                for (int i = -R; i <= R; ++i)
                    if (c + i >= 0 && c + i < size)
                        v += k[i + R] * d[std::size_t(r) * size + c + i];
                tmp[std::size_t(r) * size + c] = v / ks;
            }
        for (int r = 0; r < size; ++r)
            for (int c = 0; c < size; ++c) {
                double v = 0;
                for (int i = -R; i <= R; ++i)
                    if (r + i >= 0 && r + i < size)
                        v += k[i + R] * tmp[std::size_t(r + i) * size + c];
                d[std::size_t(r) * size + c] = v / ks;
            }
        return normalise(d, size);
    }
    return {};
}

std::vector<CardChoice> listModelCards(const QString& dir)
{
    std::vector<CardChoice> out;
    if (dir.isEmpty())
        return out;
    const QDir d(dir);
    for (const QString& f : d.entryList({"*.json"}, QDir::Files, QDir::Name)) {
        try {
            const ModelCard c = read_model_card(d.filePath(f).toStdString());
            if (!c.is_denoiser())
                continue; // the metric classifier judges samples; nothing to sample from
            out.push_back({QString::fromStdString(c.name), QFileInfo(d.filePath(f)).absoluteFilePath(),
                           QString::fromStdString(c.description), c.data_shape});
        } catch (const std::exception&) {
            // not a card (or one being written now): not offered
        }
    }
    return out;
}

std::filesystem::path cardKey(const std::filesystem::path& card)
{
    if (card.empty())
        return {}; // no card (no model loaded yet)
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(card, ec);
    if (ec)
        return card.lexically_normal();
    const std::filesystem::path p = std::filesystem::weakly_canonical(abs, ec);
    return ec ? abs.lexically_normal() : p;
}

std::shared_ptr<const LoadedModel> replayModelAssets(const ModelCard& card, const std::string& fingerprint)
{
    auto lm = std::make_shared<LoadedModel>();
    lm->path = QString::fromStdString(card.path.string());
    lm->model = Model::replay(card);
    lm->fingerprint = fingerprint;
    const NoiseSchedule& sched = lm->model->schedule();
    lm->alphaBars = sched.alpha_bars();
    lm->betas = sched.betas();
    lm->logSnr.resize(lm->alphaBars.size());
    for (int t = 0; t < sched.train_steps(); ++t)
        lm->logSnr[std::size_t(t)] = sched.log_snr(t);
    if (card.is_2d_points()) {
        double r = 3.5;
        try {
            if (auto m = metrics::mixture_from_card(card)) {
                for (int k = 0; k < m->components(); ++k)
                    for (int i = 0; i < 2; ++i)
                        r = std::max(r, std::abs(m->means[std::size_t(2 * k + i)]) + 3 * m->stds[std::size_t(k)] + 0.3);
                lm->mixture = std::make_shared<const metrics::GaussianMixture>(*m);
            }
        } catch (const std::exception&) {
        }
        lm->extent = QRectF(-r, -r, 2 * r, 2 * r);
        try {
            lm->density = targetDensity(card, lm->extent, 256); // data-set cards need their files: none then
            lm->classDensity = classDensities(card, lm->mixture.get(), lm->extent);
        } catch (const std::exception&) {
        }
    }
    lm->exampleSource = QObject::tr("not available: the model is replayed from a saved run");
    return lm;
}

std::shared_ptr<const LoadedModel> loadModelAssets(const QString& path)
{
    auto lm = std::make_shared<LoadedModel>();
    lm->path = QFileInfo(path).absoluteFilePath();
    lm->model = Model::load(path.toStdString(), "cpu", trustedCode()); // UntrustedCode: the window asks
    const ModelCard& card = lm->model->card();
    lm->fingerprint = content_fingerprint(card);
    const NoiseSchedule& sched = lm->model->schedule();
    lm->alphaBars = sched.alpha_bars();
    lm->betas = sched.betas();
    lm->logSnr.resize(lm->alphaBars.size());
    for (int t = 0; t < sched.train_steps(); ++t)
        lm->logSnr[t] = sched.log_snr(t);

    const std::int64_t D = card.data_dim();
    // The card's mixture, parsed once in core (gaussian-mixture cards; InputError if malformed).
    std::optional<metrics::GaussianMixture> mixture = metrics::mixture_from_card(card);
    std::mt19937_64 rng(20240611);
    std::normal_distribution<float> normal;

    if (card.is_2d_points()) {
        // Show where x_T starts (N(0, I) reaches ~3.5) and where the data lie.
        double r = 3.5;
        if (mixture) {
            const metrics::GaussianMixture& m = *mixture;
            for (int k = 0; k < m.components(); ++k)
                for (int i = 0; i < 2; ++i)
                    r = std::max(r, std::abs(m.means[std::size_t(2 * k + i)]) + 3 * m.stds[std::size_t(k)] + 0.3);
            // Real examples for the forward view: exact draws from the mixture.
            lm->exampleCount = 512;
            for (double v : metrics::sample_mixture(m, lm->exampleCount, 20240611))
                lm->examples.push_back(float(v));
            lm->exampleSource = QStringLiteral("draws from the card's mixture");
        } else if (card.kind == "empirical") {
            const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(card.json_text)).object();
            const NpyArray a = read_npy(card.resolve(doc.value("data").toString().toStdString()));
            const std::size_t n = a.f32.size() / 2;
            for (std::size_t i = 0; i < n; ++i)
                r = std::max({r, std::abs(double(a.f32[2 * i])) + 0.3, std::abs(double(a.f32[2 * i + 1])) + 0.3});
            lm->exampleCount = int(std::min<std::size_t>(n, 512));
            const std::size_t stride = std::max<std::size_t>(1, n / std::max(1, lm->exampleCount));
            for (int i = 0; i < lm->exampleCount; ++i) {
                lm->examples.push_back(a.f32[2 * i * stride]);
                lm->examples.push_back(a.f32[2 * i * stride + 1]);
            }
            lm->exampleSource = QStringLiteral("points of the card's data set");
        }
        lm->extent = QRectF(-r, -r, 2 * r, 2 * r);
        lm->density = targetDensity(card, lm->extent, 256);
        lm->classDensity = classDensities(card, mixture ? &*mixture : nullptr, lm->extent);
    } else if (card.is_image()) {
        // A committed real example: the card folder's data/ digits when their shape fits.
        QDir dataDir(QFileInfo(path).absoluteDir().filePath("data"));
        for (const QString& f : dataDir.entryList({"*images*.npy"}, QDir::Files, QDir::Name)) {
            const NpyArray a = [&] {
                try {
                    return read_npy(dataDir.filePath(f).toStdString());
                } catch (const std::exception&) {
                    return NpyArray{}; // not readable: not offered as an example
                }
            }();
            if (a.shape.size() >= 2 && a.shape[0] == 0)
                throw InputError(QDir::toNativeSeparators(dataDir.filePath(f)).toStdString() + ": holds no images (shape " +
                                 a.shape_string() + "); remove it or put at least one image in it");
            {
                if (a.shape.size() >= 2 && a.numel() / a.shape[0] == D) {
                    // Spread over the file: data sets are often sorted by label.
                    const std::int64_t n = a.shape[0];
                    lm->exampleCount = int(std::min<std::int64_t>(n, 16));
                    for (int i = 0; i < lm->exampleCount; ++i) {
                        const std::int64_t row = (i * n / lm->exampleCount + i * 7) % n;
                        lm->examples.insert(lm->examples.end(), a.f32.begin() + row * D, a.f32.begin() + (row + 1) * D);
                    }
                    lm->exampleSource = QDir(QFileInfo(path).absolutePath()).relativeFilePath(dataDir.filePath(f));
                    break;
                }
            }
        }
        if (lm->exampleCount == 0 && mixture) {
            lm->exampleCount = std::min(mixture->components(), 16);
            lm->examples.assign(mixture->means.begin(), mixture->means.begin() + std::ptrdiff_t(lm->exampleCount) * D);
            lm->exampleSource = QStringLiteral("the card's mixture means");
        }
    }
    if (mixture)
        lm->mixture = std::make_shared<const metrics::GaussianMixture>(std::move(*mixture));
    if (card.is_image()) {
        // The classifier the recorder measures images with: core's one rule (recorder.hpp).
        MetricSources sources = metric_sources(card);
        lm->classifier = std::move(sources.classifier);
        lm->classifierNote = QString::fromStdString(sources.note);
    }
    lm->exampleNoise.resize(lm->examples.size());
    for (auto& e : lm->exampleNoise)
        e = normal(rng);
    return lm;
}

} // namespace noisetrail::ui
