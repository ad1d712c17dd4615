// Figures and tables out of the window: every QCustomPlot saves as PNG, PDF
// (QCustomPlot's own writers) and SVG (Qt SVG's generator), and its data as CSV,
// from a context menu; a table copies its selection as tab-separated text
// (Ctrl+C) and exports CSV and Markdown.
#pragma once
#include <QByteArray>
#include <QString>

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
/// then one column per graph (its name, else its value axis's label), one row
/// per key any graph has (empty cells where a graph has no point).
QString plotCsv(const QCustomPlot* plot);
/// Give a plot its export context menu (once; safe to call again).
void installPlotExport(QCustomPlot* plot);
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
