#include "experiment_worker.hpp"
#include "code_trust.hpp"

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
#include <QFontMetrics>
#include <QPainter>

#include <algorithm>
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
    if (!tables.empty())
        return QString::fromStdString(tables.front().csv());
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

/// NAME:STEPS[:ETA], as the CLI's --samplers and --panels read it.
QString samplerSpec(const SamplerConfig& c, int T)
{
    return QString::fromStdString(sampler_label(c, T, LabelForm::Spec));
}

QString quoted(const QString& path)
{
    return path.contains(' ') ? '"' + path + '"' : path;
}

/// Figures are recorded as painting commands (export_plot.hpp's saveFigure
/// replays them onto the view's image, PNG, SVG and PDF); this ends `p` and
/// gives the picture the figure's size.
QPicture finish(QPicture& picture, QPainter& p, QSize size)
{
    p.end();
    picture.setBoundingRect(QRect(QPoint(0, 0), size));
    return picture;
}

// ------------------------------------------------- core's figure descriptions

QColor colorOf(figure::Rgb c)
{
    return QColor(c.r, c.g, c.b);
}

QImage imageOf(const figure::Image& im, int zoom)
{
    const int H = im.height, W = im.width;
    QImage img(W, H, QImage::Format_RGB32);
    const auto lo = float(im.lo), hi = float(im.hi);
    if (im.values.size() < std::size_t(im.channels) * H * W)
        return img;
    const float* p = im.values.data();
    for (int y = 0; y < H; ++y) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
        for (int x = 0; x < W; ++x) {
            const std::size_t o = std::size_t(y) * W + x;
            line[x] = im.channels == 3 ? qRgb(qRed(greyMap(p[o], lo, hi)), qRed(greyMap(p[H * W + o], lo, hi)),
                                              qRed(greyMap(p[2 * H * W + o], lo, hi)))
                                       : greyMap(p[o], lo, hi);
        }
    }
    return img.scaled(W * zoom, H * zoom, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

/// A figure description painted with QPainter (the CLI draws the same description
/// on its canvas, app/cli/figures.hpp): the title, rows of images with their labels
/// or square point panels side by side, the legend, the caption.
QPicture paintFigure(const figure::Figure& f)
{
    const int gap = 4, titleH = f.title.empty() ? 0 : 26;
    QFont big, small;
    big.setPixelSize(13);
    small.setPixelSize(11);
    const QFontMetrics fm(big), sm(small);
    QPicture pic;
    QPainter p(&pic);
    QSize size;
    const auto text = [&](const QRectF& r, const std::string& s, const QColor& c, const QFont& font, int flags) {
        p.setPen(c);
        p.setFont(font);
        p.drawText(r, flags, QString::fromStdString(s));
    };
    const int histW = 320, histH = 80, histBlock = f.histograms.empty() ? 0 : histH + 58;
    // The histograms side by side from (x0, y), t = T on the left like the strips;
    // the count axis (figure::count_ticks) at the left, its name above it.
    const auto histograms = [&](int x0, int y, int step) {
        for (std::size_t i = 0; i < f.histograms.size(); ++i) {
            const figure::Histogram& h = f.histograms[i];
            const int x = x0 + int(i) * step, bins = std::max(1, int(h.counts.size()));
            text(QRectF(x, y, histW, 18), h.title, Qt::black, small, Qt::AlignLeft | Qt::AlignVCenter);
            text(QRectF(x, y + 18, histW, 14), h.count_label, QColor(90, 90, 90), small, Qt::AlignLeft | Qt::AlignVCenter);
            const int top = y + 34, bottom = top + histH - 16;
            const std::vector<int> ticks = figure::count_ticks(h);
            const int peak = ticks.back();
            const double bw = double(histW) / bins;
            for (int b = 0; b < int(h.counts.size()); ++b) {
                const double bar = double(h.counts[std::size_t(b)]) * (bottom - top) / peak;
                p.fillRect(QRectF(x + b * bw + 1, bottom - bar, bw - 2, bar), QColor(90, 90, 90));
            }
            p.setPen(Qt::black);
            p.drawLine(x, bottom, x + histW, bottom);
            p.drawLine(x, top, x, bottom);
            for (int v : ticks) {
                const double ty = bottom - double(v) * (bottom - top) / peak;
                p.setPen(Qt::black);
                p.drawLine(QPointF(x - 3, ty), QPointF(x, ty));
                text(QRectF(x - 30, ty - 7, 26, 14), std::to_string(v), QColor(90, 90, 90), small,
                     Qt::AlignRight | Qt::AlignVCenter);
            }
            const QRectF axis(x, bottom + 1, histW, 15);
            text(axis, h.left, Qt::black, small, Qt::AlignLeft);
            text(axis, h.middle, Qt::black, small, Qt::AlignHCenter);
            text(axis, h.right, Qt::black, small, Qt::AlignRight);
        }
    };
    const auto legend = [&](int x, int y) {
        p.setFont(big);
        if (!f.legend.empty() && !f.legend_title.empty()) {
            const QString title = QString::fromStdString(f.legend_title);
            p.setPen(Qt::black);
            p.drawText(QPointF(x, y + 11), title);
            x += fm.horizontalAdvance(title) + 12;
        }
        for (const auto& e : f.legend) {
            p.fillRect(QRect(x, y, 12, 12), colorOf(e.color));
            const QString label = QString::fromStdString(e.label);
            p.setPen(Qt::black);
            p.drawText(QPointF(x + 17, y + 11), label);
            x += 17 + fm.horizontalAdvance(label) + 16;
        }
    };
    int legendW = 30 + (f.legend_title.empty() ? 0 : fm.horizontalAdvance(QString::fromStdString(f.legend_title)) + 12);
    for (const auto& e : f.legend)
        legendW += 17 + fm.horizontalAdvance(QString::fromStdString(e.label)) + 16;
    if (!f.rows.empty()) {
        const int zoom = 2, stripH = 10;
        int labelW = 190, cols = 0, tw = 0, th = 0;
        for (const auto& r : f.rows) {
            labelW = std::max({labelW, fm.horizontalAdvance(QString::fromStdString(r.label)) + 3 * gap,
                               sm.horizontalAdvance(QString::fromStdString(r.note)) + 3 * gap});
            cols = std::max(cols, int(r.images.size()));
            for (const auto& im : r.images)
                tw = std::max(tw, im.width * zoom), th = std::max(th, im.height * zoom);
        }
        const auto rowH = [&](const figure::ImageRow& r) { return std::max(th + (r.strips.empty() ? 0 : stripH), 34) + gap; };
        int rowsH = 0;
        for (const auto& r : f.rows)
            rowsH += rowH(r);
        const int captionH = f.caption.empty() ? 0 : 20, legendH = f.legend.empty() ? 0 : 20;
        size = QSize(std::max({labelW + cols * (tw + gap) + gap, fm.horizontalAdvance(QString::fromStdString(f.title)) + 2 * gap,
                               int(f.histograms.size()) * (histW + 30) + 30, legendW}),
                     titleH + gap + rowsH + histBlock + legendH + captionH + gap);
        p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
        text(QRectF(gap, 0, size.width(), titleH), f.title, Qt::black, big, Qt::AlignLeft | Qt::AlignVCenter);
        int y = titleH + gap;
        for (const auto& r : f.rows) {
            const int h = rowH(r);
            text(QRectF(gap, y, labelW - gap, h / 2.0), r.label, colorOf(r.color), big, Qt::AlignLeft | Qt::AlignBottom);
            text(QRectF(gap, y + h / 2.0, labelW - gap, h / 2.0), r.note, QColor(90, 90, 90), small,
                 Qt::AlignLeft | Qt::AlignTop);
            for (std::size_t i = 0; i < r.images.size(); ++i) {
                const int x = labelW + int(i) * (tw + gap);
                p.drawImage(x, y, imageOf(r.images[i], zoom));
                if (i < r.strips.size()) {
                    const figure::Strip& st = r.strips[i];
                    std::vector<int> steps(st.timesteps.size());
                    for (std::size_t k = 0; k < steps.size(); ++k)
                        steps[k] = int(k);
                    paintClassStrip(p, QRectF(x, y + th + 2, tw, stripH - 2),
                                    classStrip(st.timesteps, steps, st.labels, int(steps.size()), st.train_steps));
                }
            }
            y += h;
        }
        histograms(30, y, histW + 30);
        y += histBlock;
        legend(gap, y + 4);
        text(QRectF(gap, y + legendH, size.width(), captionH), f.caption, QColor(90, 90, 90), small,
             Qt::AlignLeft | Qt::AlignVCenter);
    } else {
        const int panel = 320, step = panel + 30, top = titleH + 30, P = std::max(1, int(f.panels.size()));
        size = QSize(std::max({P * step + 30, fm.horizontalAdvance(QString::fromStdString(f.title)) + 2 * gap,
                               int(f.histograms.size()) * step + 30, legendW}),
                     top + panel + histBlock + 56);
        p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
        text(QRectF(gap, 0, size.width(), titleH), f.title, Qt::black, big, Qt::AlignLeft | Qt::AlignVCenter);
        for (int k = 0; k < int(f.panels.size()); ++k) {
            const figure::PointPanel& fp = f.panels[std::size_t(k)];
            const double s = panel / (fp.hi - fp.lo);
            const auto map = [&](double x, double y) {
                return QPointF(30 + k * step + (x - fp.lo) * s, top + panel - (y - fp.lo) * s);
            };
            p.setRenderHint(QPainter::Antialiasing, false);
            p.setPen(QColor(230, 230, 230));
            for (double g = std::ceil(fp.lo); g <= fp.hi; g += 1.0) {
                p.drawLine(map(g, fp.lo), map(g, fp.hi));
                p.drawLine(map(fp.lo, g), map(fp.hi, g));
            }
            p.setPen(Qt::black);
            p.setBrush(Qt::NoBrush);
            p.drawRect(QRectF(map(fp.lo, fp.hi), map(fp.hi, fp.lo)));
            const QString title = QString::fromStdString(fp.title);
            text(QRectF(map(fp.lo, fp.hi) - QPointF(0, 28), QSizeF(panel + 20, 26)), fp.title, Qt::black,
                 fm.horizontalAdvance(title) > panel + 20 ? small : big, Qt::AlignLeft | Qt::AlignVCenter);
            p.save();
            p.setRenderHint(QPainter::Antialiasing);
            p.setClipRect(QRectF(map(fp.lo, fp.hi), map(fp.hi, fp.lo)));
            for (const figure::Series& se : fp.series) {
                const QColor c = colorOf(se.color);
                using K = figure::Series::Kind;
                if (se.kind == K::Segments) {
                    p.setPen(QPen(c, 1));
                    for (std::size_t i = 0; i + 3 < se.xy.size(); i += 4)
                        p.drawLine(map(se.xy[i], se.xy[i + 1]), map(se.xy[i + 2], se.xy[i + 3]));
                    continue;
                }
                p.setPen(se.kind == K::Rings ? QPen(c, 1.2) : Qt::NoPen);
                p.setBrush(se.kind == K::Rings ? QBrush(Qt::white) : QBrush(c));
                const double radius = se.kind == K::Rings ? 3.0 : 2.5;
                for (std::size_t i = 0; i + 1 < se.xy.size(); i += 2)
                    p.drawEllipse(map(se.xy[i], se.xy[i + 1]), radius, radius);
            }
            p.restore();
        }
        histograms(30, top + panel + 16, step);
        const int ly = top + panel + histBlock + 12;
        legend(30, ly);
        text(QRectF(30, ly + 18, size.width() - 30, 20), f.caption, QColor(90, 90, 90), small,
             Qt::AlignLeft | Qt::AlignVCenter);
    }
    return finish(pic, p, size);
}

/// Figures one under the other, as one picture.
QPicture stackFigures(const std::vector<QPicture>& parts)
{
    QSize size(0, 0);
    for (const QPicture& part : parts)
        size = QSize(std::max(size.width(), part.boundingRect().width()), size.height() + part.boundingRect().height());
    QPicture pic;
    QPainter p(&pic);
    p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    int y = 0;
    for (const QPicture& part : parts) {
        p.drawPicture(0, y, part);
        y += part.boundingRect().height();
    }
    return finish(pic, p, size);
}

/// Core's report in the view: its figures stacked, its first table shown, every table kept for Export CSV.
void takeReport(ExperimentResult& res, const figure::Report& report)
{
    std::vector<QPicture> parts;
    for (const figure::Figure& f : report.figures)
        parts.push_back(paintFigure(f));
    if (!parts.empty())
        res.figure = parts.size() == 1 ? parts.front() : stackFigures(parts);
    res.tables = report.tables;
    res.headers.clear();
    res.rows.clear();
    if (report.tables.empty())
        return;
    for (const std::string& h : report.tables.front().header)
        res.headers << QString::fromStdString(h);
    for (const auto& row : report.tables.front().rows) {
        QStringList cells;
        for (const std::string& c : row)
            cells << QString::fromStdString(c);
        res.rows << cells;
    }
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
    // The tables and figures of `noisetrail-cli invert --table` (core describes them once).
    if (!runs.empty()) {
        std::vector<const ex::Inversion*> table;
        for (const ex::Inversion& r : runs)
            table.push_back(&r);
        const std::vector<std::int64_t> indices(ex0.rows.begin(), ex0.rows.end());
        takeReport(*res, ex::inversion_report(model, ex0.x0, indices, runs.front(), table));
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
    const ex::Interpolation r = ex::interpolate(model, std::span<const float>(z.data(), D),
                                                std::span<const float>(z.data() + D, D), o, forward(progress), cancel);
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
    // The table and figure of `noisetrail-cli interpolate` (core describes them once).
    takeReport(*res, ex::interpolation_report(model, r));
    const int k = o.points;
    QStringList parts;
    for (std::size_t s = 0; s < r.samples.size(); ++s) {
        double total = 0;
        for (double c : ex::neighbour_change(r.samples[s], k))
            total += c;
        parts << QStringLiteral("%1 %2").arg(specs[int(s)], num(total / (k - 1), "%.3g"));
    }
    res->summary = QObject::tr("Mean RMS change between neighbouring points: %1 (DDIM morphs; DDPM jumps).")
                       .arg(parts.join(QStringLiteral(", ")));
    return res;
}

ExperimentResultPtr consistency(const ExperimentJob& job, const Model& model, const std::atomic<bool>* cancel,
                                const std::function<void(int, int, const QString&)>& progress)
{
    const int T = model.schedule().train_steps();
    ex::ConsistencyOptions o;
    o.samplers = job.samplers;
    o.steps = job.steps;
    o.batch = job.count;
    o.seed = job.seed;
    o.threads = job.threads;
    const ex::Consistency r = ex::consistency(model, o, forward(progress), cancel);
    auto res = std::make_shared<ExperimentResult>();
    res->kind = job.kind;
    res->cancelled = r.cancelled;
    QStringList specs; // the CLI takes each sampler's steps from --steps
    for (const SamplerConfig& c : job.samplers)
        specs << samplerSpec(c, T);
    res->command = QStringLiteral("noisetrail-cli consistency --model %1 --samplers %2 --steps %3 --batch %4 --seed %5 --out DIR")
                       .arg(quoted(job.modelPath), specs.join(','), joinInts(job.steps))
                       .arg(job.count)
                       .arg(job.seed);
    // The tables and figures of `noisetrail-cli consistency` (core describes them once).
    takeReport(*res, ex::consistency_report(model, r));
    if (r.cancelled || r.distance.size() != job.samplers.size())
        return res;
    QStringList parts;
    for (std::size_t v = 0; v < r.distance.size(); ++v)
        parts << QStringLiteral("%1 %2").arg(QString::fromStdString(sampler_label(job.samplers[v], std::nullopt)),
                                            num(r.distance[v][0], "%.3g"));
    res->summary = QObject::tr("Mean distance (%1) of the S = %2 samples to the S = %3 samples: %4.")
                       .arg(r.space == ex::DistanceSpace::ClassifierFeatures ? QObject::tr("classifier features")
                                                                             : QObject::tr("coordinates"))
                       .arg(r.steps.front())
                       .arg(r.steps.back())
                       .arg(parts.join(QStringLiteral(", ")));
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
                                              "a metric classifier (its card's 'classifier')");
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
    QStringList parts;
    for (std::size_t p = 0; p < r.traces.size(); ++p)
        parts << QStringLiteral("%1 %2").arg(specs[int(p)]).arg(ex::summarise(r.traces[p]).median_t);
    res->summary = QObject::tr("Median decision t (the last t at which x0_hat's %1 changed): %2.")
                       .arg(assigner->uses_classifier() ? QObject::tr("class") : QObject::tr("component"))
                       .arg(parts.join(QStringLiteral(", ")));
    // The table and figure of `noisetrail-cli decision` (core describes them once).
    takeReport(*res, ex::decision_report(model, *assigner, r));
    return res;
}

} // namespace

ExperimentResultPtr runExperiment(const ExperimentJob& job, const std::atomic<bool>* cancel,
                                  const std::function<void(int, int, const QString&)>& progress)
{
    const auto model = Model::load(job.modelPath.toStdString(), "cpu", trustedCode());
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

} // namespace noisetrail::ui
