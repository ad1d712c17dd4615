// The Experiments views' computation (issue 13): runs one of core's experiments
// (noisetrail/experiments.hpp, the code behind `noisetrail-cli invert`,
// `interpolate`, `consistency` and `decision`) on the view's worker thread (a
// JobTracker job, job_tracker.hpp) and hands back an owning result: the rendered
// figure, the numbers as a table and CSV, and the CLI command that reproduces
// it. The GUI thread only shows what arrives.
#pragma once
#include "noisetrail/figure.hpp"
#include "noisetrail/sampler_config.hpp"

#include <QPicture>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace noisetrail::ui {

enum class ExperimentKind { Inversion = 0, Interpolation = 1, Consistency = 2, Decision = 3 };
QString experimentTitle(ExperimentKind kind);

/// What the worker is asked for. Steps lists are ascending.
struct ExperimentJob {
    ExperimentKind kind = ExperimentKind::Inversion;
    QString modelPath;
    std::uint64_t seed = 0;
    std::vector<int> steps{10, 20, 50, 100, 1000}; ///< inversion table / consistency step counts
    int count = 8;        ///< inversion: examples; interpolation: points; consistency, decision: batch
    bool ddpm = true;     ///< inversion: DDPM from the same x_T beside DDIM
    /// Interpolation, consistency and decision: the samplers (panels) to compare.
    std::vector<SamplerConfig> samplers;
    int threads = 0; ///< intra-op threads, set on the worker thread (0: libtorch's default)
};

/// Everything a view shows, computed on the worker (owning values only).
struct ExperimentResult {
    ExperimentKind kind = ExperimentKind::Inversion;
    /// The figure as painting commands, boundingRect() its size in pixels
    /// (export_plot.hpp: figureImage for the view, saveFigure for PNG, SVG, PDF).
    QPicture figure;
    QStringList headers;           ///< table columns (the CSV header)
    QVector<QStringList> rows;     ///< table rows (the CSV rows)
    /// Experiments that report core's tables (figure::Report): the CSV files the
    /// CLI writes, byte for byte; the first is the one shown (headers, rows).
    std::vector<figure::Table> tables;
    QString summary;               ///< one or two sentences with the key numbers
    QString command;               ///< the noisetrail-cli command that computes the same
    std::vector<float> examples;   ///< inversion of mixture draws: the x_0 to export as X0.npy
    std::vector<std::int64_t> exampleShape;
    bool cancelled = false;

    /// The shown table as CSV: the first of `tables`, else headers and rows.
    QString csv() const;
};
using ExperimentResultPtr = std::shared_ptr<const ExperimentResult>;

/// Compute a job on the calling thread (the worker's body; tests call it directly).
/// `cancel` is polled between model calls.
ExperimentResultPtr runExperiment(const ExperimentJob& job, const std::atomic<bool>* cancel = nullptr,
                                  const std::function<void(int, int, const QString&)>& progress = {});

} // namespace noisetrail::ui
