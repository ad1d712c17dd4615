#include "experiment_worker.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/experiments.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/npy.hpp"
#include "noisetrail/run.hpp"
#include "decision_strip.hpp"
#include "render.hpp"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace noisetrail::ui {

namespace ex = experiments;

QString experimentTitle(ExperimentKind kind)
{
    switch (kind) {
    case ExperimentKind::Inversion: return QObject::tr("Inversion and reconstruction");
    case ExperimentKind::Interpolation: return QObject::tr("Interpolation in x_T");
    case ExperimentKind::Consistency: return QObject::tr("Consistency and early stop");
    case ExperimentKind::Decision: return QObject::tr("Decision time");
    }
    return {};
}

QString ExperimentResult::csv() const
{
    QString out = headers.join(',') + '\n';
    for (const QStringList& r : rows)
        out += r.join(',') + '\n';
    return out;
}

namespace {

QString num(double v, const char* f = "%.4g")
{
    return std::isfinite(v) ? QString::asprintf(f, v) : QStringLiteral("nan");
}

QString joinInts(const std::vector<int>& v)
{
    QStringList s;
    for (int x : v)
        s << QString::number(x);
    return s.join(',');
}

QString samplerSpec(const SamplerConfig& c, int T)
{
    return QString::fromStdString(ex::sampler_spec(c, T));
}

QString quoted(const QString& path)
{
    return path.contains(' ') ? '"' + path + '"' : path;
}

/// One sample of a batch as a grey (or RGB) image, `zoom` times enlarged.
QImage tile(const std::vector<float>& batch, const ModelCard& card, int index, float lo, float hi, int zoom)
{
    const auto& s = card.data_shape;
    const int C = s.size() == 3 ? int(s[0]) : 1, H = int(s[s.size() - 2]), W = int(s[s.size() - 1]);
    const std::size_t per = std::size_t(C) * H * W;
    QImage img(W, H, QImage::Format_RGB32);
    if (batch.size() < per * std::size_t(index + 1))
        return img;
    const float* p = batch.data() + per * std::size_t(index);
    for (int y = 0; y < H; ++y) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
        for (int x = 0; x < W; ++x) {
            const std::size_t o = std::size_t(y) * W + x;
            if (C == 3)
                line[x] = qRgb(qRed(greyMap(p[o], lo, hi)), qRed(greyMap(p[H * W + o], lo, hi)),
                               qRed(greyMap(p[2 * H * W + o], lo, hi)));
            else
                line[x] = greyMap(p[o], lo, hi);
        }
    }
    return img.scaled(W * zoom, H * zoom, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

/// A figure of labelled rows of image tiles, optionally with a decision strip under each tile.
struct TileRow {
    QString label;
    QVector<QImage> tiles;
    QVector<ClassStrip> strips; ///< empty, or one per tile
};

/// Figures are recorded as painting commands (export_plot.hpp's saveFigure
/// replays them onto the view's image, PNG, SVG and PDF); this ends `p` and
/// gives the picture the figure's size.
QPicture finish(QPicture& picture, QPainter& p, QSize size)
{
    p.end();
    picture.setBoundingRect(QRect(QPoint(0, 0), size));
    return picture;
}

QPicture tileFigure(const QVector<TileRow>& rows, const QString& title)
{
    const int labelW = 190, gap = 4, titleH = title.isEmpty() ? 0 : 26, stripH = 10;
    int tw = 0, th = 0, cols = 0;
    for (const TileRow& r : rows) {
        cols = std::max(cols, int(r.tiles.size()));
        for (const QImage& t : r.tiles)
            tw = std::max(tw, t.width()), th = std::max(th, t.height());
    }
    int height = titleH + gap;
    for (const TileRow& r : rows)
        height += th + (r.strips.isEmpty() ? 0 : stripH) + gap;
    const QSize size(labelW + cols * (tw + gap) + gap, height + gap);
    QPicture fig;
    QPainter p(&fig);
    p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    p.setPen(Qt::black);
    QFont f = p.font();
    f.setPixelSize(13);
    p.setFont(f);
    if (!title.isEmpty())
        p.drawText(QRect(gap, 4, size.width(), titleH), Qt::AlignLeft | Qt::AlignVCenter, title);
    int y = titleH + gap;
    for (const TileRow& r : rows) {
        p.drawText(QRect(gap, y, labelW - 2 * gap, th), Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, r.label);
        for (int i = 0; i < r.tiles.size(); ++i) {
            const int x = labelW + i * (tw + gap);
            p.drawImage(x, y, r.tiles[i]);
            if (i < r.strips.size())
                paintClassStrip(p, QRectF(x, y + th + 2, r.tiles[i].width(), stripH - 2), r.strips[i]);
        }
        y += th + (r.strips.isEmpty() ? 0 : stripH) + gap;
    }
    return finish(fig, p, size);
}

/// 2-D panels: points and segments in data coordinates, one square per panel,
/// painted through one painter (frame() first, then prepare() and the data).
class PointFigure {
public:
    PointFigure(int panels, double lo, double hi, int size = 340)
        : size_(size), lo_(lo), hi_(hi), extent_(panels * (size + 30) + 30, size + 60), painter_(&picture_)
    {
        painter_.fillRect(QRect(QPoint(0, 0), extent_), Qt::white);
    }
    QPointF map(int panel, double x, double y) const
    {
        const double s = size_ / (hi_ - lo_);
        return {30 + panel * (size_ + 30) + (x - lo_) * s, 36 + size_ - (y - lo_) * s};
    }
    void frame(int panel, const QString& title)
    {
        QPainter& p = painter_;
        p.setPen(QColor(230, 230, 230));
        for (double g = std::ceil(lo_); g <= hi_; g += 1.0) {
            p.drawLine(map(panel, g, lo_), map(panel, g, hi_));
            p.drawLine(map(panel, lo_, g), map(panel, hi_, g));
        }
        p.setPen(Qt::black);
        p.setBrush(Qt::NoBrush);
        p.drawRect(QRectF(map(panel, lo_, hi_), map(panel, hi_, lo_)));
        QFont f = p.font();
        f.setPixelSize(13);
        p.setFont(f);
        p.drawText(QRectF(map(panel, lo_, hi_) - QPointF(0, 30), QSizeF(size_, 26)), Qt::AlignLeft | Qt::AlignVCenter,
                   title);
    }
    QPainter& painter() { return painter_; }
    /// Antialiased, clipped to the panels' row.
    void prepare(QPainter& p) const
    {
        p.setRenderHint(QPainter::Antialiasing);
        p.setClipRect(QRect(30, 36, extent_.width() - 60, size_));
    }
    void dot(QPainter& p, int panel, double x, double y, const QColor& c, double r = 2.5)
    {
        p.setPen(Qt::NoPen);
        p.setBrush(c);
        p.drawEllipse(map(panel, x, y), r, r);
    }
    void segment(QPainter& p, int panel, double x0, double y0, double x1, double y1, const QColor& c)
    {
        p.setPen(QPen(c, 1));
        p.drawLine(map(panel, x0, y0), map(panel, x1, y1));
    }
    QPicture picture() { return finish(picture_, painter_, extent_); }

private:
    int size_;
    double lo_, hi_;
    QSize extent_;
    QPicture picture_;
    QPainter painter_;
};

std::pair<double, double> pointRange(const std::vector<const std::vector<float>*>& sets)
{
    double m = 3.0;
    for (const auto* s : sets)
        for (float v : *s)
            if (std::isfinite(v))
                m = std::max(m, std::abs(double(v)) * 1.05);
    return {-std::ceil(m), std::ceil(m)};
}

using ProgressFn = std::function<void(int, int, const QString&)>;

/// Core's progress reports as the worker's (done, total, stage).
ex::ProgressCallback forward(const ProgressFn& progress)
{
    return [&progress](const ex::Progress& p) {
        if (progress)
            progress(p.done, p.total, QString::fromStdString(p.stage));
    };
}

/// The examples an inversion starts from, with how the CLI names them.
struct Examples {
    std::vector<float> x0;
    QString dataFile;         ///< the .npy the rows come from; empty for mixture draws
    std::vector<int> rows;
};

Examples inversionExamples(const ModelCard& card, const QString& cardPath, int count, std::uint64_t seed)
{
    Examples e;
    const std::int64_t D = card.data_dim();
    const auto pick = [&](const QString& file) {
        const NpyArray a = read_npy(file.toStdString());
        if (a.dtype != NpyArray::DType::Float32 || a.shape.empty() || a.numel() / a.shape[0] != D)
            return false;
        const std::int64_t n = a.shape[0];
        const int k = int(std::min<std::int64_t>(n, count));
        for (int i = 0; i < k; ++i) {
            const std::int64_t row = i * n / k; // spread: data sets are often sorted by label
            e.rows.push_back(int(row));
            e.x0.insert(e.x0.end(), a.f32.begin() + row * D, a.f32.begin() + (row + 1) * D);
        }
        e.dataFile = file;
        return true;
    };
    if (card.kind == "empirical") {
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(card.json_text)).object();
        if (pick(QString::fromStdString(card.resolve(doc.value("data").toString().toStdString()).string())))
            return e;
    }
    if (card.is_image()) {
        const QDir dataDir(QFileInfo(cardPath).absoluteDir().filePath(QStringLiteral("data")));
        for (const QString& f : dataDir.entryList({"*images*.npy"}, QDir::Files, QDir::Name))
            if (pick(dataDir.filePath(f)))
                return e;
    }
    if (auto mix = metrics::mixture_from_card(card)) {
        const std::vector<double> d = metrics::sample_mixture(*mix, count, seed);
        e.x0.assign(d.begin(), d.end());
        return e;
    }
    throw InputError(card.path.string() + ": no examples to invert (no data file next to the card, not a mixture)");
}

ExperimentResultPtr inversion(const ExperimentJob& job, const Model& model, const std::atomic<bool>* cancel,
                              const std::function<void(int, int, const QString&)>& progress)
{
    const ModelCard& card = model.card();
    const Examples ex0 = inversionExamples(card, job.modelPath, job.count, job.seed);
    const int n = int(ex0.x0.size() / std::size_t(card.data_dim()));
    auto res = std::make_shared<ExperimentResult>();
    res->kind = job.kind;
    int total = 0, base = 0;
    for (int s : job.steps)
        total += s * (job.ddpm ? 3 : 2);
    std::vector<ex::Inversion> runs;
    for (int s : job.steps) {
        ex::InversionOptions o;
        o.steps = s;
        o.ddpm = job.ddpm;
        o.seed = job.seed;
        o.threads = job.threads;
        runs.push_back(ex::invert_and_reconstruct(
            model, ex0.x0, n, o,
            [&](const ex::Progress& p) {
                if (progress)
                    progress(base + p.done, total, QStringLiteral("S = %1: %2").arg(s).arg(QString::fromStdString(p.stage)));
            },
            cancel));
        base += s * (job.ddpm ? 3 : 2);
        if (runs.back().cancelled) {
            runs.pop_back();
            res->cancelled = true;
            break;
        }
    }
    const auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v)
            s += x;
        return v.empty() ? NAN : s / v.size();
    };
    res->headers = {"steps", "examples", "ddim_mse"};
    if (job.ddpm)
        res->headers << "ddpm_mse";
    for (std::size_t i = 0; i < runs.size(); ++i) {
        QStringList row{QString::number(job.steps[i]), QString::number(n), num(mean(runs[i].mse), "%.6g")};
        if (job.ddpm)
            row << num(mean(runs[i].ddpm_mse), "%.6g");
        res->rows << row;
    }
    if (!runs.empty())
        res->summary = QObject::tr("Reconstruction MSE per dimension (mean over %1 examples): DDIM %2 at S = %3 to %4 at S = %5%6.")
                           .arg(n)
                           .arg(num(mean(runs.front().mse)))
                           .arg(job.steps.front())
                           .arg(num(mean(runs.back().mse)))
                           .arg(job.steps[runs.size() - 1])
                           .arg(job.ddpm ? QObject::tr("; DDPM from the same x_T %1").arg(num(mean(runs.back().ddpm_mse)))
                                         : QString());
    const QString data = ex0.dataFile.isEmpty() ? QStringLiteral("X0.npy") : quoted(ex0.dataFile);
    const int S0 = job.steps.front();
    res->command = QStringLiteral("noisetrail-cli invert --model %1 --data %2%3 --steps %4%5 --table %6 --out DIR")
                       .arg(quoted(job.modelPath), data,
                            ex0.dataFile.isEmpty() ? QString() : QStringLiteral(" --index ") + joinInts(ex0.rows))
                       .arg(S0)
                       .arg(job.ddpm ? QStringLiteral(" --ddpm --seed %1").arg(job.seed) : QString())
                       .arg(joinInts(job.steps));
    if (ex0.dataFile.isEmpty()) {
        res->examples = ex0.x0;
        res->exampleShape = {n};
        res->exampleShape.insert(res->exampleShape.end(), card.data_shape.begin(), card.data_shape.end());
        res->command += QObject::tr("   (X0.npy: the %1 drawn examples, written by Export)").arg(n);
    }
    if (runs.empty())
        return res;

    if (card.is_image()) {
        const float lo = float(card.data_range.value_or(std::array<double, 2>{-1, 1})[0]);
        const float hi = float(card.data_range.value_or(std::array<double, 2>{-1, 1})[1]);
        const int shown = std::min(n, 12), zoom = 2;
        QVector<TileRow> rows;
        TileRow orig{QObject::tr("original x_0"), {}, {}}, xT{QObject::tr("inverted x_T (S = %1)").arg(job.steps[runs.size() - 1]), {}, {}};
        for (int i = 0; i < shown; ++i) {
            orig.tiles << tile(ex0.x0, card, i, lo, hi, zoom);
            xT.tiles << tile(runs.back().x_T, card, i, -3.f, 3.f, zoom);
        }
        rows << orig << xT;
        for (std::size_t k = 0; k < runs.size(); ++k) {
            TileRow r{QObject::tr("DDIM S = %1, MSE %2").arg(job.steps[k]).arg(num(mean(runs[k].mse), "%.2g")), {}, {}};
            for (int i = 0; i < shown; ++i)
                r.tiles << tile(runs[k].reconstruction, card, i, lo, hi, zoom);
            rows << r;
        }
        TileRow err{QObject::tr("|error|, DDIM S = %1").arg(S0), {}, {}};
        std::vector<float> e(ex0.x0.size());
        for (std::size_t j = 0; j < e.size(); ++j)
            e[j] = std::abs(runs.front().reconstruction[j] - ex0.x0[j]);
        for (int i = 0; i < shown; ++i)
            err.tiles << tile(e, card, i, 0.f, (hi - lo) / 2, zoom);
        rows << err;
        if (job.ddpm)
            for (std::size_t k = 0; k < runs.size(); ++k) {
                TileRow r{QObject::tr("DDPM S = %1, MSE %2").arg(job.steps[k]).arg(num(mean(runs[k].ddpm_mse), "%.2g")), {}, {}};
                for (int i = 0; i < shown; ++i)
                    r.tiles << tile(runs[k].ddpm_reconstruction, card, i, lo, hi, zoom);
                rows << r;
            }
        res->figure = tileFigure(rows, QString());
    } else if (card.is_2d_points()) {
        const ex::Inversion& r = runs.front();
        const auto [lo, hi] = pointRange({&ex0.x0, &r.reconstruction, &r.ddpm_reconstruction});
        const auto [tlo, thi] = pointRange({&runs.back().x_T});
        PointFigure fig(2, std::min(lo, tlo), std::max(hi, thi));
        fig.frame(0, QObject::tr("x_0 (black), DDIM S = %1 (blue)%2").arg(S0).arg(job.ddpm ? QObject::tr(", DDPM (purple)") : QString()));
        fig.frame(1, QObject::tr("inverted x_T (S = %1)").arg(job.steps[runs.size() - 1]));
        QPainter& p = fig.painter();
        fig.prepare(p);
        for (int i = 0; i < n; ++i) {
            const float* a = ex0.x0.data() + 2 * i;
            if (job.ddpm) {
                const float* d = r.ddpm_reconstruction.data() + 2 * i;
                fig.segment(p, 0, a[0], a[1], d[0], d[1], QColor(205, 185, 225));
                fig.dot(p, 0, d[0], d[1], classColor(4), 2);
            }
            const float* b = r.reconstruction.data() + 2 * i;
            fig.segment(p, 0, a[0], a[1], b[0], b[1], classColor(0));
            fig.dot(p, 0, a[0], a[1], Qt::black, 2.5);
            fig.dot(p, 0, b[0], b[1], classColor(0), 1.5);
            fig.dot(p, 1, runs.back().x_T[2 * i], runs.back().x_T[2 * i + 1], classColor(0), 2);
        }
        res->figure = fig.picture();
    }
    return res;
}

ExperimentResultPtr interpolation(const ExperimentJob& job, const Model& model, const std::atomic<bool>* cancel,
                                  const std::function<void(int, int, const QString&)>& progress)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    const std::size_t D = std::size_t(card.data_dim());
    const std::vector<float> z = initial_noise(card.data_shape, 2, job.seed);
    ex::InterpolationOptions o;
    o.points = job.count;
    o.samplers = job.samplers;
    o.seed = job.seed;
    o.threads = job.threads;
    const ex::Interpolation r = ex::interpolate(
        model, std::span<const float>(z.data(), D), std::span<const float>(z.data() + D, D), o,
        forward(progress), cancel);
    auto res = std::make_shared<ExperimentResult>();
    res->kind = job.kind;
    res->cancelled = r.cancelled;
    QStringList specs;
    for (const SamplerConfig& c : job.samplers)
        specs << samplerSpec(c, T);
    res->command = QStringLiteral("noisetrail-cli interpolate --model %1 --samplers %2 --points %3 --seed %4 --out DIR")
                       .arg(quoted(job.modelPath), specs.join(','))
                       .arg(job.count)
                       .arg(job.seed);
    res->headers = {"sampler", "mean_change"};
    const int k = o.points;
    QStringList parts;
    for (std::size_t s = 0; s < r.samples.size(); ++s) {
        double total = 0;
        for (double c : ex::neighbour_change(r.samples[s], k))
            total += c;
        res->rows << QStringList{specs[int(s)], num(total / (k - 1), "%.6g")};
        parts << QStringLiteral("%1 %2").arg(specs[int(s)], num(total / (k - 1), "%.3g"));
    }
    res->summary = QObject::tr("Mean RMS change between neighbouring points: %1 (DDIM morphs; DDPM jumps).")
                       .arg(parts.join(QStringLiteral(", ")));
    if (r.samples.empty())
        return res;
    if (card.is_image()) {
        const auto range = card.data_range.value_or(std::array<double, 2>{-1, 1});
        QVector<TileRow> rows;
        TileRow xT{QObject::tr("x_T = slerp(z0, z1, a)"), {}, {}};
        for (int i = 0; i < k; ++i)
            xT.tiles << tile(r.x_T, card, i, -3.f, 3.f, 2);
        rows << xT;
        for (std::size_t s = 0; s < r.samples.size(); ++s) {
            TileRow row{QString::fromStdString(describe(job.samplers[s], T)), {}, {}};
            for (int i = 0; i < k; ++i)
                row.tiles << tile(r.samples[s], card, i, float(range[0]), float(range[1]), 2);
            rows << row;
        }
        res->figure = tileFigure(rows, QObject::tr("a = 0 (left) to 1 (right), %1 points").arg(k));
    } else if (card.is_2d_points()) {
        std::vector<const std::vector<float>*> sets{&r.x_T};
        for (const auto& s : r.samples)
            sets.push_back(&s);
        const auto [lo, hi] = pointRange(sets);
        PointFigure fig(1 + int(r.samples.size()), lo, hi, 300);
        fig.frame(0, QObject::tr("x_T (slerp)"));
        for (std::size_t s = 0; s < r.samples.size(); ++s)
            fig.frame(1 + int(s), specs[int(s)]);
        QPainter& p = fig.painter();
        fig.prepare(p);
        for (int panel = 0; panel <= int(r.samples.size()); ++panel) {
            const std::vector<float>& pts = panel == 0 ? r.x_T : r.samples[panel - 1];
            for (int i = 0; i + 1 < k; ++i)
                fig.segment(p, panel, pts[2 * i], pts[2 * i + 1], pts[2 * i + 2], pts[2 * i + 3], QColor(190, 190, 190));
            for (int i = 0; i < k; ++i) {
                const double a = r.alphas[i];
                const QColor b = classColor(0), c = classColor(3);
                fig.dot(p, panel, pts[2 * i], pts[2 * i + 1],
                        QColor(int((1 - a) * b.red() + a * c.red()), int((1 - a) * b.green() + a * c.green()),
                               int((1 - a) * b.blue() + a * c.blue())),
                        3);
            }
        }
        res->figure = fig.picture();
    }
    return res;
}

ExperimentResultPtr consistency(const ExperimentJob& job, const Model& model, const std::atomic<bool>* cancel,
                                const std::function<void(int, int, const QString&)>& progress)
{
    const ModelCard& card = model.card();
    ex::ConsistencyOptions o;
    o.samplers = job.samplers;
    o.steps = job.steps;
    o.batch = job.count;
    o.seed = job.seed;
    o.threads = job.threads;
    const ex::Consistency r = ex::consistency(
        model, o,
        forward(progress), cancel);
    auto res = std::make_shared<ExperimentResult>();
    res->kind = job.kind;
    res->cancelled = r.cancelled;
    QStringList names, specs; // "DDIM eta 0" for figures and tables, "ddim:0:0" for the command
    for (const SamplerConfig& c : job.samplers) {
        const bool ddim = c.sampler == "ddim";
        names << QString::fromStdString(c.sampler).toUpper() + (ddim ? QStringLiteral(" eta %1").arg(c.eta) : QString());
        specs << QString::fromStdString(c.sampler) + (ddim ? QStringLiteral(":0:%1").arg(c.eta) : QString());
    }
    res->command = QStringLiteral("noisetrail-cli consistency --model %1 --samplers %2 --steps %3 --batch %4 --seed %5 --out DIR")
                       .arg(quoted(job.modelPath), specs.join(','), joinInts(job.steps))
                       .arg(job.count)
                       .arg(job.seed);
    res->headers = {"sampler", "steps", "mean_distance", "preview_t", "preview_distance"};
    if (r.cancelled || r.distance.size() != job.samplers.size())
        return res;
    QStringList parts;
    for (std::size_t v = 0; v < r.distance.size(); ++v) {
        for (std::size_t i = 0; i < r.steps.size(); ++i)
            res->rows << QStringList{names[int(v)], QString::number(r.steps[i]), num(r.distance[v][i], "%.6g"),
                                     QString::number(r.preview_t[v][i]), num(r.preview_distance[v][i], "%.6g")};
        parts << QStringLiteral("%1 %2").arg(names[int(v)], num(r.distance[v][0], "%.3g"));
    }
    res->summary = QObject::tr("Mean distance (%1) of the S = %2 samples to the S = %3 samples: %4.")
                       .arg(r.space == ex::DistanceSpace::ClassifierFeatures ? QObject::tr("classifier features")
                                                                             : QObject::tr("coordinates"))
                       .arg(r.steps.front())
                       .arg(r.steps.back())
                       .arg(parts.join(QStringLiteral(", ")));
    const int B = int(r.shape[0]);
    if (card.is_image()) {
        const auto range = card.data_range.value_or(std::array<double, 2>{-1, 1});
        const int shown = std::min(B, 8);
        QVector<TileRow> rows;
        for (std::size_t v = 0; v < r.samples.size(); ++v)
            for (std::size_t i = 0; i < r.steps.size(); ++i) {
                TileRow row{QObject::tr("%1 S = %2, distance %3").arg(names[int(v)]).arg(r.steps[i]).arg(num(r.distance[v][i], "%.3g")), {}, {}};
                for (int b = 0; b < shown; ++b)
                    row.tiles << tile(r.samples[v][i], card, b, float(range[0]), float(range[1]), 2);
                rows << row;
            }
        // Early stop: x0_hat after k steps of the longest run against the k-step run (first sampler).
        for (std::size_t i = 0; i + 1 < r.steps.size(); ++i) {
            TileRow pre{QObject::tr("%1 x0_hat after %2 of %3 steps (t = %4)").arg(names[0]).arg(r.steps[i]).arg(r.steps.back()).arg(r.preview_t[0][i]), {}, {}};
            for (int b = 0; b < shown; ++b)
                pre.tiles << tile(r.previews[0][i], card, b, float(range[0]), float(range[1]), 2);
            rows << pre;
        }
        res->figure = tileFigure(rows, QObject::tr("One x_T, each row a step count; below: early stop is not fewer steps"));
    } else if (card.is_2d_points()) {
        std::vector<const std::vector<float>*> sets;
        for (const auto& v : r.samples)
            for (const auto& s : v)
                sets.push_back(&s);
        const auto [lo, hi] = pointRange(sets);
        const int V = int(r.samples.size()), S = int(r.steps.size());
        PointFigure fig(V + 1, lo, hi, 320);
        for (int v = 0; v < V; ++v)
            fig.frame(v, QObject::tr("%1: colour = S, grey joins one x_T").arg(names[v]));
        fig.frame(V, QObject::tr("%1: x0_hat after k of %2 (hollow)").arg(names[0]).arg(r.steps.back()));
        QPainter& p = fig.painter();
        fig.prepare(p);
        for (int v = 0; v < V; ++v) {
            for (int b = 0; b < B; ++b)
                for (int i = 0; i + 1 < S; ++i)
                    fig.segment(p, v, r.samples[v][i][2 * b], r.samples[v][i][2 * b + 1], r.samples[v][i + 1][2 * b],
                                r.samples[v][i + 1][2 * b + 1], QColor(200, 200, 200));
            for (int i = 0; i < S; ++i)
                for (int b = 0; b < B; ++b)
                    fig.dot(p, v, r.samples[v][i][2 * b], r.samples[v][i][2 * b + 1], classColor(i), 2.5);
        }
        for (int i = 0; i + 1 < S; ++i)
            for (int b = 0; b < B; ++b) {
                fig.segment(p, V, r.previews[0][i][2 * b], r.previews[0][i][2 * b + 1], r.samples[0][i][2 * b],
                            r.samples[0][i][2 * b + 1], QColor(215, 215, 215));
                fig.dot(p, V, r.samples[0][i][2 * b], r.samples[0][i][2 * b + 1], classColor(i), 2.5);
                p.setPen(QPen(classColor(i), 1.2));
                p.setBrush(Qt::white);
                p.drawEllipse(fig.map(V, r.previews[0][i][2 * b], r.previews[0][i][2 * b + 1]), 3.0, 3.0);
            }
        res->figure = fig.picture();
    }
    return res;
}

ExperimentResultPtr decision(const ExperimentJob& job, const Model& model, const std::atomic<bool>* cancel,
                             const std::function<void(int, int, const QString&)>& progress)
{
    const ModelCard& card = model.card();
    const int T = model.schedule().train_steps();
    const auto assigner = ex::Assigner::for_model(model);
    if (!assigner)
        throw InputError(card.path.string() + ": decision time needs a gaussian-mixture card or an image model with "
                                              "mnist-classifier.json next to it");
    const int B = job.count;
    auto res = std::make_shared<ExperimentResult>();
    res->kind = job.kind;
    QStringList specs;
    for (const SamplerConfig& c : job.samplers)
        specs << samplerSpec(c, T);
    res->command = QStringLiteral("noisetrail-cli decision --model %1 --panels %2 --batch %3 --seed %4 --out DIR")
                       .arg(quoted(job.modelPath), specs.join(','))
                       .arg(B)
                       .arg(job.seed);
    ex::DecisionOptions o;
    o.panels = job.samplers;
    o.batch = B;
    o.seed = job.seed;
    o.threads = job.threads;
    const ex::Decision r = ex::decision(
        model, *assigner, o,
        forward(progress), cancel);
    if (r.cancelled) {
        res->cancelled = true;
        return res;
    }
    const std::vector<ex::DecisionTrace>& traces = r.traces;
    const std::vector<std::vector<float>>&samples = r.samples, &paths = r.paths;
    res->headers = {"panel", "median_decision_t", "mean_decision_t", "decided_at_first_step"};
    QStringList parts;
    for (std::size_t p = 0; p < traces.size(); ++p) {
        const ex::DecisionSummary d = ex::summarise(traces[p]);
        res->rows << QStringList{specs[int(p)], QString::number(d.median_t), num(d.mean_t, "%.1f"),
                                 num(d.decided_at_first_step, "%.3f")};
        parts << QStringLiteral("%1 %2").arg(specs[int(p)]).arg(d.median_t);
    }
    res->summary = QObject::tr("Median decision t (the last t at which x0_hat's %1 changed): %2.")
                       .arg(assigner->uses_classifier() ? QObject::tr("class") : QObject::tr("component"))
                       .arg(parts.join(QStringLiteral(", ")));

    // Histogram of decision t per panel (t = T on the left, like the strips).
    const auto histogram = [&](QPainter& p, const QRect& r, const ex::DecisionTrace& tr) {
        const int bins = 20, w = r.width(), h = r.height();
        std::vector<int> counts(bins, 0);
        for (int t : tr.decision_t)
            ++counts[std::min(bins - 1, t * bins / T)];
        const int peak = std::max(1, *std::max_element(counts.begin(), counts.end()));
        const double bw = double(w) / bins;
        for (int i = 0; i < bins; ++i) {
            const int bar = counts[i] * (h - 16) / peak;
            p.fillRect(QRectF(r.left() + (bins - 1 - i) * bw + 1, r.top() + h - 16 - bar, bw - 2, bar), QColor(90, 90, 90));
        }
        p.setPen(Qt::black);
        p.drawLine(r.left(), r.top() + h - 16, r.right(), r.top() + h - 16);
        QFont f = p.font();
        f.setPixelSize(11);
        p.setFont(f);
        const QRect axis(r.left(), r.top() + h - 15, w, 15);
        p.drawText(axis, Qt::AlignLeft, QStringLiteral("t = %1").arg(T));
        p.drawText(axis, Qt::AlignHCenter, QObject::tr("decision t"));
        p.drawText(axis, Qt::AlignRight, QStringLiteral("t = 0"));
    };
    // Sample b's class over the whole run: every step is labelled.
    const auto strip = [&](const ex::DecisionTrace& tr, int b) {
        const int S = int(tr.timesteps.size());
        std::vector<int> steps(static_cast<std::size_t>(S)), labels(static_cast<std::size_t>(S));
        for (int k = 0; k < S; ++k) {
            steps[std::size_t(k)] = k;
            labels[std::size_t(k)] = tr.assignment[std::size_t(k) * tr.batch + b];
        }
        return classStrip(tr.timesteps, steps, labels, S, T);
    };
    const int P = int(traces.size());
    QPicture panels;
    if (card.is_image()) {
        const auto range = card.data_range.value_or(std::array<double, 2>{-1, 1});
        const int shown = std::min(B, 12);
        QVector<TileRow> rows;
        for (int p = 0; p < P; ++p) {
            TileRow row{specs[p], {}, {}};
            for (int b = 0; b < shown; ++b) {
                row.tiles << tile(samples[p], card, b, float(range[0]), float(range[1]), 2);
                row.strips << strip(traces[p], b);
            }
            rows << row;
        }
        panels = tileFigure(rows, QObject::tr("Under each sample: its class over t (t = %1 left, 0 right)").arg(T));
    } else if (card.is_2d_points()) {
        std::vector<const std::vector<float>*> sets;
        for (const auto& s : paths)
            sets.push_back(&s);
        const auto [lo, hi] = pointRange(sets);
        PointFigure fig(P, lo, hi, 340);
        for (int p = 0; p < P; ++p)
            fig.frame(p, QObject::tr("%1: paths coloured by x0_hat's component").arg(specs[p]));
        QPainter& painter = fig.painter();
        fig.prepare(painter);
        for (int p = 0; p < P; ++p) {
            const ex::DecisionTrace& tr = traces[p];
            const int S = int(tr.timesteps.size());
            const auto at = [&](int k, int b) { return fig.map(p, paths[p][(std::size_t(k) * B + b) * 2], paths[p][(std::size_t(k) * B + b) * 2 + 1]); };
            // Segment k (x_t of step k to its x_prev) in the colour of step k's
            // assignment; one polyline per run of equal colour (small SVG and PDF files).
            QVector<QPointF> run;
            for (int b = 0; b < B; ++b)
                for (int k = 0; k < S;) {
                    const int label = tr.assignment[std::size_t(k) * B + b];
                    run = {at(k, b)};
                    for (; k < S && tr.assignment[std::size_t(k) * B + b] == label; ++k)
                        run << at(k + 1, b);
                    painter.setPen(QPen(classColor(label), 1));
                    painter.drawPolyline(run.data(), int(run.size()));
                }
        }
        panels = fig.picture();
    }
    // The histograms under the panels.
    const QSize ps = panels.boundingRect().size();
    const int hw = std::max(200, ps.width() / std::max(1, P) - 30), hh = 80;
    const QSize size(std::max(ps.width(), P * (hw + 30) + 30), ps.height() + hh + 40);
    QPicture fig;
    QPainter p(&fig);
    p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    p.drawPicture(0, 0, panels);
    QFont f = p.font();
    f.setPixelSize(12);
    p.setFont(f);
    for (int i = 0; i < P; ++i) {
        const int x = 30 + i * (hw + 30), y = ps.height() + 20;
        p.setPen(Qt::black);
        p.drawText(QRect(x, y - 18, hw, 16), Qt::AlignLeft, QObject::tr("%1: decision t of %2 samples").arg(specs[i]).arg(B));
        histogram(p, QRect(x, y, hw, hh), traces[i]);
        p.setFont(f);
    }
    res->figure = finish(fig, p, size);
    return res;
}

} // namespace

ExperimentResultPtr runExperiment(const ExperimentJob& job, const std::atomic<bool>* cancel,
                                  const std::function<void(int, int, const QString&)>& progress)
{
    const auto model = Model::load(job.modelPath.toStdString(), "cpu");
    for (const SamplerConfig& c : job.samplers)
        validate(c, model->schedule().train_steps());
    switch (job.kind) {
    case ExperimentKind::Inversion: return inversion(job, *model, cancel, progress);
    case ExperimentKind::Interpolation: return interpolation(job, *model, cancel, progress);
    case ExperimentKind::Consistency: return consistency(job, *model, cancel, progress);
    case ExperimentKind::Decision: return decision(job, *model, cancel, progress);
    }
    throw InputError("unknown experiment");
}

void ExperimentWorker::run(const ExperimentJob& job)
{
    cancel_.store(false);
    try {
        using Clock = std::chrono::steady_clock;
        auto last = Clock::now() - std::chrono::seconds(1);
        const auto onProgress = [&](int done, int total, const QString& stage) {
            // A 1000-step run sends 1000 events: a few per second reach the GUI.
            if (Clock::now() - last > std::chrono::milliseconds(80) || done == total) {
                last = Clock::now();
                Q_EMIT progress(job.generation, done, total, stage);
            }
        };
        Q_EMIT finished(job.generation, runExperiment(job, &cancel_, onProgress));
    } catch (const std::exception& e) {
        Q_EMIT failed(job.generation, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(job.generation, tr("unknown error in the experiment"));
    }
}

} // namespace noisetrail::ui
