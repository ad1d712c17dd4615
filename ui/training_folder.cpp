#include "training_folder.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTextStream>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

namespace fs = std::filesystem;

namespace {
void writeText(const QString& path, const std::string& text)
{
    AtomicFile file(path.toStdString());
    file.write(text);
    file.commit();
}
} // namespace

QString defaultDrawnRoot()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("drawn");
}

QString DrawnSetFolder::data() const { return QDir(folder).filePath("data.npy"); }
QString DrawnSetFolder::exactCard() const { return QDir(folder).filePath("exact.json"); }
QString DrawnSetFolder::trainConfig() const { return QDir(folder).filePath("train.json"); }
QString DrawnSetFolder::model() const { return QDir(folder).filePath("model.json"); }
QString DrawnSetFolder::checkpoints() const { return QDir(folder).filePath("checkpoints"); }
QString DrawnSetFolder::quality() const { return QDir(folder).filePath("quality.csv"); }
QString DrawnSetFolder::quickSample(int step) const
{
    return QDir(checkpoints()).filePath(QStringLiteral("quick-%1.npy").arg(step));
}

DrawnSetFolder writeDrawnSet(const QString& root, const std::vector<float>& points)
{
    const int n = int(points.size() / 2);
    if (n < 2)
        throw InputError("a drawn data set needs at least 2 points, it has " + std::to_string(n));
    // One folder per drawn set, named by the time it was made (unique within the root).
    const QString stamp = QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss");
    QString name = stamp;
    for (int k = 2; QFileInfo::exists(QDir(root).filePath(name)); ++k)
        name = QStringLiteral("%1-%2").arg(stamp).arg(k);
    DrawnSetFolder f{QDir(root).filePath(name)};
    if (!QDir().mkpath(f.checkpoints()))
        throw InputError("cannot create the folder " + f.folder.toStdString() + " for the drawn data set");
    write_npy(f.data().toStdString(), {n, 2}, points.data());
    // The drawn set's exact denoiser: an empirical card (contract section 2) over data.npy,
    // on the schedule the network is trained on (TrainConfig's default, written by core).
    const QJsonObject schedule =
        QJsonDocument::fromJson(QByteArray::fromStdString(to_json(TrainConfig{}))).object().value("schedule").toObject();
    QJsonObject card{{"format", "noisetrail-model/1"},
                     {"name", QStringLiteral("Drawn set (exact, %1 points)").arg(n)},
                     {"kind", "empirical"},
                     {"description", "The exact denoiser of a data set drawn in NoiseTrail's Draw & Train window: "
                                     "it reproduces the drawn points (memorisation)."},
                     {"data_shape", QJsonArray{2}},
                     {"prediction", "epsilon"},
                     {"schedule", schedule},
                     {"data", "data.npy"}};
    writeText(f.exactCard(), QJsonDocument(card).toJson().toStdString());
    return f;
}

TrainConfig drawnTrainConfig(const DrawnSetFolder& f, int steps, int cardEvery, std::uint64_t seed)
{
    TrainConfig c;
    c.kind = "noisetrail-mlp";
    c.data = fs::path(f.data().toStdString());
    c.out = fs::path(f.model().toStdString());
    c.checkpoint_dir = fs::path(QDir(f.folder).filePath("state").toStdString());
    c.cards_dir = fs::path(f.checkpoints().toStdString());
    c.name = "Drawn set (MLP)";
    c.description = "The 2-D MLP trained with L_simple on a data set drawn in NoiseTrail's Draw & Train window.";
    c.steps = steps;
    // Live training: batch 256 at a constant learning rate (after the warm-up), so the
    // samples keep improving for as long as the person lets it run and Stop leaves a model
    // as good as its step; the EMA horizon (~100 steps) keeps the checkpoints current.
    c.batch = 256;
    c.lr = 3e-3;
    c.lr_schedule = "constant";
    c.ema_decay = 0.99;
    c.card_every = cardEvery;
    c.seed = seed;
    c.fresh = true; // each Train starts from scratch; its checkpoints are the timeline
    c.sample_count = 256; // the final preview: a picture, not a measurement
    // One intra-op thread: a 2-D MLP's matrices are small, and on a busy two-core machine a
    // second OpenMP thread spin-waits (measured: 50 steps/s on one thread, 1.2 on two under load).
    c.threads = 1;
    c.command = "NoiseTrail Draw & Train window";
    return with_defaults(c);
}

void writeTrainConfig(const DrawnSetFolder& f, const TrainConfig& config)
{
    writeText(f.trainConfig(), to_json(config) + "\n");
}

std::vector<CheckpointCard> listCheckpoints(const DrawnSetFolder& f)
{
    std::vector<CheckpointCard> out;
    static const QRegularExpression re(QStringLiteral("^step-(\\d+)\\.json$"));
    for (const QString& name : QDir(f.checkpoints()).entryList({"step-*.json"}, QDir::Files)) {
        const auto m = re.match(name);
        if (m.hasMatch())
            out.push_back({m.captured(1).toInt(), QDir(f.checkpoints()).absoluteFilePath(name)});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
    return out;
}

void appendQuality(const DrawnSetFolder& f, const PointsQuality& q)
{
    QFile file(f.quality());
    const bool fresh = !file.exists();
    if (!file.open(QIODevice::Append | QIODevice::Text))
        throw InputError("cannot write " + f.quality().toStdString());
    QTextStream s(&file);
    if (fresh)
        s << "step,kde_log_likelihood,mixture_log_likelihood,mean_nearest_distance,data_nearest_distance\n";
    s << q.step << ',' << q.kde_log_likelihood << ',' << q.mixture_log_likelihood << ',' << q.mean_nearest_distance
      << ',' << q.data_nearest_distance << '\n';
}

std::vector<PointsQuality> readQuality(const DrawnSetFolder& f)
{
    std::vector<PointsQuality> out;
    QFile file(f.quality());
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return out;
    file.readLine(); // the header
    while (!file.atEnd()) {
        const QStringList v = QString::fromUtf8(file.readLine()).trimmed().split(',');
        if (v.size() != 5)
            continue;
        PointsQuality q;
        q.step = v[0].toInt();
        q.kde_log_likelihood = v[1].toDouble();
        q.mixture_log_likelihood = v[2].toDouble();
        q.mean_nearest_distance = v[3].toDouble();
        q.data_nearest_distance = v[4].toDouble();
        out.push_back(q);
    }
    return out;
}

std::optional<DrawnSetFolder> drawnSetOf(const QString& card)
{
    QDir dir = QFileInfo(card).absoluteDir();
    if (dir.dirName() == QLatin1String("checkpoints"))
        dir.cdUp();
    DrawnSetFolder f{dir.absolutePath()};
    if (QFileInfo::exists(f.exactCard()) && QFileInfo::exists(f.data()))
        return f;
    return std::nullopt;
}

} // namespace noisetrail::ui
