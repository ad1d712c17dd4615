// Figures and tables out of the window: every QCustomPlot saves as PNG, PDF
// (QCustomPlot's own writers) and SVG (Qt SVG's generator), and its data as CSV,
// from a context menu; a table copies its selection as tab-separated text
// (Ctrl+C) and exports CSV and Markdown.
#pragma once
#include <QByteArray>
#include <QPoint>
#include <QString>

#include <functional>
#include <utility>
#include <vector>

class QCPGraph;
class QCustomPlot;
class QImage;
class QPicture;
class QTableWidget;
class QWidget;

namespace noisetrail::ui {

/// Save a plot by the file's extension (.png, .pdf, .svg) at width x height
/// pixels (0: the plot's size); false if it could not be written.
/// Write `bytes` to `path` through core's atomic writer (docs/CLI.md, "Outputs": a
/// temporary file renamed into place; a FIFO, device or folder there is refused and a
/// failed write keeps the old file). False on any error. Every GUI export uses it.
bool writeFileAtomic(const QString& path, const QByteArray& bytes);

bool savePlot(QCustomPlot* plot, const QString& path, int width = 0, int height = 0);
/// The plot's data as CSV: first column the key axis (its label, e.g. "t"),
/// then one column per graph (its kCsvName property, else its name, else its
/// value axis's label), one row
/// per key any graph has (empty cells where a graph has no point).
QString plotCsv(const QCustomPlot* plot);
/// What a right-click on a plot saves: `title` (said at the top of the menu),
/// `name` (the file name offered) and `save(path)`, which writes it by the path's
/// extension (.png, .svg, .pdf, .csv). A plot that holds a grid of small plots
/// names the one under the click (PlotsWidget::exportTarget).
struct PlotExportTarget {
    QString title, name;
    std::function<bool(const QString& path)> save;
};
/// A graph's CSV column name when its legend name would not do (repeated across
/// the plots of a grid): the graph's QObject property of this name.
inline constexpr const char* kCsvName = "csvName";
/// Curves as CSV: the key column `keyName`, then one column per graph under the name
/// given with it; one row per key any graph has, in descending order (the timeline's,
/// from pure noise to t = 0), an empty cell where a graph has no point.
QString graphsCsv(const QString& keyName, const std::vector<std::pair<QString, const QCPGraph*>>& columns);
/// Give a plot its export context menu (once; safe to call again). `target(at)`
/// says what a click at `at` saves; without it, the whole plot (savePlot).
void installPlotExport(QCustomPlot* plot, std::function<PlotExportTarget(QPoint)> target = {});
/// Every plot under `root` gets its context menu.
void installPlotExports(QWidget* root);
/// Write every visible plot under `root` to `folder` as <objectName>.png/.svg/.pdf/.csv.
/// Returns how many plots were written; `error` gets the first failure.
int exportAllPlots(QWidget* root, const QString& folder, QString* error);

/// Figures painted with QPainter (the Experiments views): recorded once as a
/// QPicture whose boundingRect() is the figure in pixels from (0, 0), then
/// replayed onto any paint device, so the view, PNG, SVG and PDF show the same
/// drawing. saveFigure writes by the file's extension: .png (exactly that many
/// pixels), .svg (that viewBox at 96 dpi) or .pdf (one page of that size at
/// 96 dpi); false if it could not be written (never a half-written file).
bool saveFigure(const QPicture& figure, const QString& path, const QString& title = {});
/// The figure as an image of its size (white where it paints nothing).
QImage figureImage(const QPicture& figure);

/// A table's cells (the selection, or everything when `all`), with its header
/// row, as tab-separated, CSV (RFC 4180 quoting) or Markdown text.
enum class TableFormat { Tsv, Csv, Markdown };
QString tableText(const QTableWidget* table, TableFormat format, bool all);
/// Ctrl+C copies the selection as TSV; the context menu adds Copy All and
/// Export CSV / Markdown.
void installTableExport(QTableWidget* table);

} // namespace noisetrail::ui
