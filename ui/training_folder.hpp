// Where a drawn data set and its training live (issue 23): one folder per drawn set,
// kept under the app's data folder so that sessions which name its cards reopen
// in any later process. Its files:
//
//   data.npy              the drawn set, float32 [N, 2]
//   exact.json            its exact denoiser: an `empirical` card over data.npy
//                         (contract section 2), the drawn set as a model at once
//   train.json            the training recipe (core's TrainConfig as JSON, read_train_config reads it)
//   model.json, model.pt  the final network (train()'s card)
//   checkpoints/step-<n>.json   a loadable card every card_every steps and at the end
//   checkpoints/quick-<n>.npy   that checkpoint's quick sample, [512, 2]
//   quality.csv           per checkpoint: step, KDE log-likelihood, nearest distances
#pragma once
#include "noisetrail/training.hpp"

#include <QString>

#include <optional>
#include <vector>

namespace noisetrail::ui {

/// The default home of drawn sets: <AppDataLocation>/drawn.
QString defaultDrawnRoot();

struct DrawnSetFolder {
    QString folder;
    QString data() const;       ///< data.npy
    QString exactCard() const;  ///< exact.json
    QString trainConfig() const;///< train.json
    QString model() const;      ///< model.json
    QString checkpoints() const;///< checkpoints/
    QString quality() const;    ///< quality.csv
    QString quickSample(int step) const; ///< checkpoints/quick-<step>.npy
};

/// A new folder under `root` (created) holding data.npy and exact.json for `points`
/// ([x, y] pairs, at least 2 points); InputError (core's) naming what failed.
DrawnSetFolder writeDrawnSet(const QString& root, const std::vector<float>& points);

/// The training recipe of the Draw & Train window for a drawn set: the 2-D MLP
/// (noisetrail-mlp) on data.npy with L_simple on the linear schedule, the exact card's
/// schedule, writing model.json and a checkpoint card every `cardEvery` steps.
TrainConfig drawnTrainConfig(const DrawnSetFolder& f, int steps, int cardEvery, std::uint64_t seed);
/// Write train.json (to_json of `config`).
void writeTrainConfig(const DrawnSetFolder& f, const TrainConfig& config);

/// The checkpoint cards in the folder, by step (ascending).
struct CheckpointCard {
    int step = 0;
    QString card;
};
std::vector<CheckpointCard> listCheckpoints(const DrawnSetFolder& f);

/// One row of quality.csv.
void appendQuality(const DrawnSetFolder& f, const PointsQuality& q);
std::vector<PointsQuality> readQuality(const DrawnSetFolder& f);

/// The drawn set folder a card lives in (exact.json, model.json or checkpoints/step-<n>.json
/// of one), or nothing.
std::optional<DrawnSetFolder> drawnSetOf(const QString& card);

} // namespace noisetrail::ui
