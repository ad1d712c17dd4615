// Training the project's own networks (torch-free API; the work happens in core).
//
// One entry point trains any of the native kinds from a TrainConfig:
//  - "noisetrail-unet": an epsilon-predicting UNet on images [N, C, H, W] in [-1, 1];
//  - "noisetrail-mlp":  an epsilon-predicting MLP on points [N, D];
//  both with L_simple = E_{t, x0, eps} ||eps - eps_theta(sqrt(ab_t) x0 + sqrt(1 - ab_t) eps, t)||^2
//  (Ho et al. 2020, eq. 14) and an EMA of the weights that is what gets shipped;
//  - "noisetrail-classifier": a small CNN on labelled images (cross-entropy), whose
//  penultimate features are the metric features (classifier.hpp).
// Training checkpoints into `checkpoint_dir` and resumes from it when run again
// with the same config, so an interrupted run continues where it stopped.
#pragma once
#include "noisetrail/noise_schedule.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace noisetrail {

struct TrainConfig {
    std::string kind = "noisetrail-unet";  ///< noisetrail-unet | noisetrail-mlp | noisetrail-classifier
    std::filesystem::path data;            ///< .npy: images [N, C, H, W] or points [N, D], float32
    std::filesystem::path labels;          ///< int64 labels [N]: a classifier's targets, or a denoiser's classes
                                           ///< (a class-conditional network, contract section 9)
    /// Conditional denoisers: the fraction of examples trained with the null label, so the one
    /// network is also the unconditional model (Ho & Salimans 2021, sec. 3.2). -1 = default 0.1.
    double label_dropout = -1.0;
    /// The card's names of classes 0..C-1 (a conditional denoiser's `classes`, a classifier's
    /// `labels`); empty: "0", "1", ... Must name every class the labels hold.
    std::vector<std::string> class_names;
    std::filesystem::path heldout_data;    ///< classifier: held-out images for accuracy and feature statistics
    std::filesystem::path heldout_labels;
    std::filesystem::path out;             ///< the model card to write (weights etc. go next to it)
    std::filesystem::path checkpoint_dir;  ///< default: <out without .json>.ckpt/
    std::string name;                      ///< card name (default from the kind)
    std::string description;
    ScheduleConfig schedule;               ///< denoisers only; schedule.process = Flow trains a velocity model
    /// Flow: how the noise level s is drawn per example: "uniform" (Lipman et al. 2023) or
    /// "logit-normal" (s = sigmoid(n), n ~ N(0, 1); Esser et al. 2024, SD3). "" = uniform.
    std::string level_sampling;
    /// Flow: paired noise [N, *data_shape] (reflow): example i is interpolated towards
    /// noise[i] instead of fresh Gaussian noise. Empty: fresh noise every step.
    std::filesystem::path noise;
    /// A model card whose weights start the network (reflow fine-tunes its source); same
    /// kind and architecture. Ignored when resuming from a checkpoint.
    std::filesystem::path init;
    std::string architecture_json;         ///< JSON object of the network's hyper-parameters; "" = kind default
    int steps = 0;                         ///< optimiser steps (0 = kind default)
    int batch = 0;                         ///< batch size (0 = kind default)
    double lr = 0.0;                       ///< peak learning rate, Adam (0 = kind default)
    std::string lr_schedule;               ///< "constant" or "cosine" after warm-up ("" = kind default)
    int warmup_steps = -1;                 ///< linear warm-up (-1 = kind default)
    double ema_decay = -1.0;               ///< EMA of the weights (0 = none; -1 = kind default)
    double grad_clip = 1.0;                ///< max global gradient norm (0 = none)
    std::uint64_t seed = 0;
    int checkpoint_every = 0;              ///< steps between checkpoints (0 = kind default)
    /// Steps between checkpoint cards (0 = none; denoisers only): a loadable card of the EMA
    /// weights at step n, `<cards_dir>/step-<n>.json` with its weights `step-<n>.pt` beside it,
    /// written at every multiple of card_every and at the final step (also at the step where a
    /// cancelled run stops), so any point of training can be sampled like a model.
    int card_every = 0;
    std::filesystem::path cards_dir;       ///< checkpoint cards' folder; default: <out's folder>/checkpoints
    int log_every = 0;                     ///< steps per loss-log row (0 = kind default)
    int threads = 0;                       ///< intra-op and OpenBLAS threads (0 = libtorch's and the process's defaults)
    int sample_count = 0;                  ///< samples in the final grid/scatter (0 = kind default)
    bool fresh = false;                    ///< ignore an existing checkpoint
    std::string command;                   ///< how this run was started, recorded in the card
};

/// `card` without its extension, plus `suffix` (".ckpt", "-loss.csv"): where training
/// keeps its checkpoints, loss log and weights beside the card it writes.
std::filesystem::path training_sibling(const std::filesystem::path& card, const std::string& suffix);

/// The defaults of a kind filled in (steps, batch, lr, ...); InputError for an unknown kind.
TrainConfig with_defaults(TrainConfig config);

/// Read a JSON config file: keys are TrainConfig's field names ("kind", "data",
/// "steps", "schedule": {...}, "architecture": {...}, ...); paths relative to the
/// file's folder. Unknown keys are an InputError naming the file and key.
TrainConfig read_train_config(const std::filesystem::path& path);
/// The same from the file's text (`path` names it and anchors relative paths).
TrainConfig parse_train_config(const std::string& text, const std::filesystem::path& path);

/// The config as a JSON object text (what the card's training.config records).
std::string to_json(const TrainConfig& config);

struct TrainProgress {
    std::string phase;          ///< "training", "checkpoint card", "evaluating", "sampling", "done"
    int step = 0;               ///< steps done
    int steps = 0;              ///< total
    double loss = 0.0;          ///< smoothed training loss
    double samples_per_s = 0.0;
    double seconds = 0.0;       ///< training time so far, over all resumed sessions
    double seconds_left = 0.0;  ///< estimate for the remaining steps
    /// The checkpoint card just written (TrainConfig::card_every): non-empty exactly in the
    /// callback made right after it was written (phase "checkpoint card"), empty otherwise.
    std::filesystem::path checkpoint_card;
};
using TrainCallback = std::function<void(const TrainProgress&)>;

struct TrainResult {
    std::filesystem::path card, weights, loss_log, preview; ///< preview: sample grid / scatter PNG (classifier: none)
    int steps_done = 0;
    int resumed_from = 0;       ///< step the run resumed at (0 = fresh)
    bool cancelled = false;     ///< stopped by the flag; a checkpoint was written
    double seconds = 0.0;       ///< training time over all sessions
    double final_loss = 0.0;    ///< mean loss of the last log interval
    double accuracy = -1.0;     ///< classifier: held-out accuracy in [0, 1]
};

/// Train (or resume) as configured, write checkpoints, a loss log (CSV), and at
/// the end the card, the weights and a preview. `on_progress` is called from the
/// calling thread; `cancel` is checked between steps (a checkpoint is written
/// before returning). InputError for bad config or data files.
TrainResult train(const TrainConfig& config, const TrainCallback& on_progress = {},
                  const std::atomic<bool>* cancel = nullptr);

/// How close a 2-D (points) card's samples come to its training set: the learned-vs-exact
/// comparison per checkpoint (issue 23). Log-likelihoods in nats per sample.
struct PointsQuality {
    int step = 0;                    ///< the card's training.steps (0 for a card not trained here)
    /// Mean log density of the samples under a Gaussian kernel density of the data, bandwidth
    /// by Scott's rule (metrics::kde_mean_log_likelihood, metrics::scott_bandwidth).
    double kde_log_likelihood = std::numeric_limits<double>::quiet_NaN();
    /// Mean log density under the exact mixture; NaN unless a gaussian-mixture card is given.
    double mixture_log_likelihood = std::numeric_limits<double>::quiet_NaN();
    /// Mean distance of a sample to its nearest data point (memorisation: ~0 for the exact
    /// denoiser of the set, metrics::nearest_distances).
    double mean_nearest_distance = std::numeric_limits<double>::quiet_NaN();
    /// The baseline: mean distance of a data point to its nearest OTHER data point.
    double data_nearest_distance = std::numeric_limits<double>::quiet_NaN();
};

/// Draw `samples` points from `card` (DDIM, 20 steps, eta 0, x_T from `seed`, through the run
/// engine) and measure them against the data [m, d] (row-major, the card's data_shape [d]);
/// `mixture_card`, when given, must be a gaussian-mixture card (its exact log-likelihood).
/// InputError for a card that is not a points denoiser of dimension d, m < 2 or samples < 1.
PointsQuality points_quality(const std::filesystem::path& card, std::span<const float> data, int m, int d,
                             int samples, std::uint64_t seed, const std::filesystem::path& mixture_card = {});

} // namespace noisetrail
