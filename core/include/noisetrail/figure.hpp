// An experiment's output as data (issue 18): its tables (the CSV files the CLI
// writes) and its figures as a small description (rows of images or panels of
// 2-D points, legend, caption). Core describes them once; the CLI draws them on
// its canvas (app/cli/figures.hpp) and the GUI with QPainter
// (ui/experiment_worker.cpp). Torch-free and Qt-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace noisetrail::figure {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};

/// One image sample [C, H, W] (C = 1 or 3): [lo, hi] maps to black..white.
struct Image {
    int channels = 1, height = 0, width = 0;
    std::vector<float> values;
    double lo = -1.0, hi = 1.0;
};

/// What a sample is over the run (decision time): the class or component
/// `labels[k]` (a palette index) holds from step k's t to the next step's, drawn
/// left to right from t = T - 1 to the final samples, like the GUI's timeline.
struct Strip {
    std::vector<int> timesteps; ///< the plan's t, descending
    std::vector<int> labels;    ///< one per step
    int train_steps = 1000;     ///< T
};

/// A labelled row of images (image models): the label in `color`, a smaller
/// grey note under it (a distance, a t), and optionally a strip under each image.
struct ImageRow {
    std::string label;
    std::string note;
    Rgb color;
    std::vector<Image> images;
    std::vector<Strip> strips; ///< empty, or one per image
};

/// A histogram under the figure's rows or panels: bars left to right, the
/// tallest full height, three labels under the axis (left end, middle, right end),
/// and a count axis at the left (0, half and the tallest bar's count) named
/// `count_label` above it.
struct Histogram {
    std::string title;
    std::vector<int> counts;
    std::string left, middle, right;
    std::string count_label = "count";
};

/// The counts the count axis of a histogram marks: 0, the tallest bar's count
/// (at least 1) and, when it is even, half of it (so each mark sits on a whole count).
inline std::vector<int> count_ticks(const Histogram& h)
{
    int peak = 1;
    for (int c : h.counts)
        peak = c > peak ? c : peak;
    if (peak % 2 == 0)
        return {0, peak / 2, peak};
    return {0, peak};
}

/// Marks in a point panel, in data coordinates, drawn in order.
struct Series {
    enum class Kind {
        Dots,     ///< filled, xy = x, y per point
        Rings,    ///< hollow (white inside), xy = x, y per point
        Segments, ///< xy = x0, y0, x1, y1 per segment
    };
    Kind kind = Kind::Dots;
    Rgb color;
    std::vector<float> xy;
};

/// A square panel of 2-D points: both axes over [lo, hi], a grid at whole units.
struct PointPanel {
    std::string title;
    double lo = -3.0, hi = 3.0;
    std::vector<Series> series;
};

struct LegendEntry {
    Rgb color;
    std::string label;
};

/// A figure: a title, then rows of images (image models) or panels of points
/// side by side (2-D models), histograms, a legend of colours and a caption.
struct Figure {
    std::string name; ///< the file stem the CLI writes it to: "consistency" -> consistency.png
    std::string title;
    std::vector<ImageRow> rows;
    std::vector<PointPanel> panels;
    std::vector<Histogram> histograms; ///< side by side under the rows or panels
    std::vector<LegendEntry> legend;
    std::string caption;
    std::string legend_title; ///< what the legend's colours are, drawn before its entries ("class of x0_hat:")
};

/// A table: the header and the rows of one CSV file, every cell already text.
struct Table {
    std::string name; ///< the file stem: "consistency" -> consistency.csv
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    /// The CSV text: the header line, then one line per row ('\n' line ends).
    std::string csv() const
    {
        std::string out;
        const auto line = [&out](const std::vector<std::string>& cells) {
            for (std::size_t i = 0; i < cells.size(); ++i)
                out += (i ? "," : "") + cells[i];
            out += '\n';
        };
        line(header);
        for (const auto& r : rows)
            line(r);
        return out;
    }
};

/// What an experiment reports: its tables and figures, the first of each the main one.
struct Report {
    std::vector<Table> tables;
    std::vector<Figure> figures;
};

} // namespace noisetrail::figure
