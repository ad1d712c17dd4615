#include "export_plot.hpp"

#include "noisetrail/atomic_file.hpp"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QMenu>
#include <QMessageBox>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QPicture>
#include <QBuffer>
#include <QTemporaryDir>
#include <QSvgGenerator>
#include <QTableWidget>
#include <QTextStream>

#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace noisetrail::ui {

namespace {

} // namespace

bool writeFileAtomic(const QString& path, const QByteArray& bytes)
{
    try {
        write_file_atomic(path.toStdString(), std::string_view(bytes.constData(), std::size_t(bytes.size())));
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

namespace {

bool writeText(const QString& path, const QString& text) { return writeFileAtomic(path, text.toUtf8()); }

QString csvCell(const QString& s)
{
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) && !s.contains(QLatin1Char('\n')))
        return s;
    QString q = s;
    q.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

QString graphName(const QCPGraph* g, int index)
{
    if (const QString csv = g->property(kCsvName).toString(); !csv.isEmpty())
        return csv;
    if (!g->name().isEmpty())
        return g->name();
    const QString axis = g->valueAxis() ? g->valueAxis()->label() : QString();
    return (axis.isEmpty() ? QObject::tr("series") : axis) + QStringLiteral(" #%1").arg(index + 1);
}

QString plotName(const QCustomPlot* plot)
{
    return plot->objectName().isEmpty() ? QStringLiteral("plot") : plot->objectName();
}

/// An SVG of w x h CSS pixels (96 dpi: browsers and Inkscape show it at w x h).
void setUpSvg(QSvgGenerator& svg, const QString& file, QSize size, const QString& title, const QString& what)
{
    svg.setFileName(file);
    svg.setSize(size);
    svg.setResolution(96);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(title);
    svg.setDescription(what);
}

/// Qt's SVG and PDF writers (and QCustomPlot's savePdf) write to a file name: they write
/// into a private temporary folder, and the finished file goes to the target through
/// core's atomic writer, like every other output.
bool commitPart(bool ok, const QString& part, const QString& path)
{
    QFile f(part);
    return ok && f.open(QIODevice::ReadOnly) && writeFileAtomic(path, f.readAll());
}

QByteArray pngBytes(const QImage& image)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    return image.save(&buffer, "PNG") ? bytes : QByteArray();
}

} // namespace

bool savePlot(QCustomPlot* plot, const QString& path, int width, int height)
{
    const QString ext = QFileInfo(path).suffix().toLower();
    QTemporaryDir parts;
    const QString tmp = parts.filePath(QStringLiteral("part.") + ext);
    if (ext == "png") {
        const QByteArray png = pngBytes(plot->toPixmap(width, height, 1.0).toImage());
        return !png.isEmpty() && writeFileAtomic(path, png);
    }
    if (ext == "pdf")
        return parts.isValid() && commitPart(plot->savePdf(tmp, width, height), tmp, path);
    if (ext == "svg") {
        const int w = width > 0 ? width : plot->width(), h = height > 0 ? height : plot->height();
        QSvgGenerator svg;
        setUpSvg(svg, tmp, QSize(w, h), plotName(plot), QObject::tr("NoiseTrail plot"));
        QCPPainter painter;
        if (!painter.begin(&svg))
            return false;
        plot->toPainter(&painter, w, h);
        return commitPart(painter.end(), tmp, path);
    }
    if (ext == "csv")
        return writeText(path, plotCsv(plot));
    return false;
}

QImage figureImage(const QPicture& figure)
{
    const QRect r = figure.boundingRect();
    QImage img(r.size().expandedTo(QSize(1, 1)), QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter p(&img);
    p.drawPicture(-r.topLeft(), figure);
    p.end();
    return img;
}

bool saveFigure(const QPicture& figure, const QString& path, const QString& title)
{
    const QString ext = QFileInfo(path).suffix().toLower();
    const QRect r = figure.boundingRect();
    if (figure.isNull() || r.isEmpty())
        return false;
    QTemporaryDir parts;
    const QString tmp = parts.filePath(QStringLiteral("part.") + ext);
    if (ext == "png") {
        const QByteArray png = pngBytes(figureImage(figure));
        return !png.isEmpty() && writeFileAtomic(path, png);
    }
    if (ext == "svg") {
        QSvgGenerator svg;
        setUpSvg(svg, tmp, r.size(), title, QObject::tr("NoiseTrail figure"));
        QPainter p;
        if (!p.begin(&svg))
            return false;
        p.fillRect(QRect(QPoint(0, 0), r.size()), Qt::white);
        p.drawPicture(-r.topLeft(), figure);
        return commitPart(p.end(), tmp, path);
    }
    if (ext == "pdf") {
        bool ok = false;
        {
            QPdfWriter pdf(tmp);
            pdf.setTitle(title);
            pdf.setCreator(QStringLiteral("NoiseTrail"));
            pdf.setResolution(96); // one figure pixel is one CSS pixel, 0.75 pt
            pdf.setPageSize(QPageSize(QSizeF(r.width() * 0.75, r.height() * 0.75), QPageSize::Point));
            pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
            QPainter p;
            if (p.begin(&pdf)) {
                // The page's pixels may round one off the figure's: fit exactly.
                p.scale(double(pdf.width()) / r.width(), double(pdf.height()) / r.height());
                p.drawPicture(-r.topLeft(), figure);
                ok = p.end();
            }
        } // the writer closes the file here
        return commitPart(ok, tmp, path);
    }
    return false;
}

QString graphsCsv(const QString& keyName, const std::vector<std::pair<QString, const QCPGraph*>>& columns)
{
    const std::size_t n = columns.size();
    std::map<double, std::vector<std::optional<double>>> rows;
    for (std::size_t i = 0; i < n; ++i) {
        const QCPGraph* g = columns[i].second;
        for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) {
            auto& row = rows[it->key];
            row.resize(n);
            row[i] = it->value;
        }
    }
    QString out;
    QTextStream s(&out);
    s << csvCell(keyName.isEmpty() ? QStringLiteral("x") : keyName);
    for (const auto& c : columns)
        s << ',' << csvCell(c.first);
    s << '\n';
    // Descending keys: the timeline's order, from pure noise to t = 0.
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
        s << QString::number(it->first, 'g', 17);
        it->second.resize(n);
        for (const auto& v : it->second)
            s << ',' << (v ? QString::number(*v, 'g', 17) : QString());
        s << '\n';
    }
    return out;
}

QString plotCsv(const QCustomPlot* plot)
{
    std::vector<std::pair<QString, const QCPGraph*>> columns;
    QString keyLabel;
    for (int i = 0; i < plot->graphCount(); ++i) {
        const QCPGraph* g = plot->graph(i);
        if (keyLabel.isEmpty() && g->keyAxis())
            keyLabel = g->keyAxis()->label();
        columns.emplace_back(graphName(g, i), g);
    }
    return graphsCsv(keyLabel, columns);
}

void installPlotExport(QCustomPlot* plot, std::function<PlotExportTarget(QPoint)> target)
{
    if (!plot || plot->property("noisetrailExport").toBool())
        return;
    plot->setProperty("noisetrailExport", true);
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot, target](const QPoint& at) {
        const PlotExportTarget what =
            target ? target(at)
                   : PlotExportTarget{{}, plotName(plot), [plot](const QString& path) { return savePlot(plot, path); }};
        if (!what.save)
            return;
        QMenu menu(plot);
        if (!what.title.isEmpty())
            menu.addAction(what.title)->setEnabled(false); // which of the plots the entries save
        const struct {
            QString text, ext;
        } kinds[] = {{QObject::tr("Save Plot as PNG..."), "png"},
                     {QObject::tr("Save Plot as SVG..."), "svg"},
                     {QObject::tr("Save Plot as PDF..."), "pdf"},
                     {QObject::tr("Save Data as CSV..."), "csv"}};
        for (const auto& k : kinds)
            menu.addAction(k.text, plot, [plot, what, ext = k.ext] {
                const QString path = QFileDialog::getSaveFileName(
                    plot, QObject::tr("Save %1").arg(what.title.isEmpty() ? what.name : what.title),
                    QDir::homePath() + "/" + what.name + "." + ext, ext.toUpper() + QObject::tr(" files (*.%1)").arg(ext));
                if (!path.isEmpty() && !what.save(path))
                    QMessageBox::warning(plot, QObject::tr("Save failed"),
                                         QObject::tr("Could not write %1.").arg(QDir::toNativeSeparators(path)));
            });
        menu.exec(plot->mapToGlobal(at));
    });
}

void installPlotExports(QWidget* root)
{
    for (QCustomPlot* p : root->findChildren<QCustomPlot*>())
        installPlotExport(p);
}

int exportAllPlots(QWidget* root, const QString& folder, QString* error)
{
    int written = 0;
    for (QCustomPlot* p : root->findChildren<QCustomPlot*>()) {
        if (!p->isVisibleTo(root) && root->isVisible())
            continue;
        for (const char* ext : {"png", "svg", "pdf", "csv"}) {
            const QString path = QDir(folder).filePath(plotName(p) + "." + ext);
            if (!savePlot(p, path, p->width() > 0 ? p->width() : 800, p->height() > 0 ? p->height() : 450)) {
                if (error && error->isEmpty())
                    *error = QObject::tr("could not write %1").arg(QDir::toNativeSeparators(path));
                continue;
            }
        }
        ++written;
    }
    return written;
}

// ------------------------------------------------------------------ tables

QString tableText(const QTableWidget* table, TableFormat format, bool all)
{
    // The rectangle spanned by the selection (or the whole table).
    int r0 = 0, r1 = table->rowCount() - 1, c0 = 0, c1 = table->columnCount() - 1;
    const auto ranges = table->selectedRanges();
    if (!all && !ranges.isEmpty()) {
        r0 = table->rowCount(), r1 = -1, c0 = table->columnCount(), c1 = -1;
        for (const auto& r : ranges) {
            r0 = std::min(r0, r.topRow()), r1 = std::max(r1, r.bottomRow());
            c0 = std::min(c0, r.leftColumn()), c1 = std::max(c1, r.rightColumn());
        }
    }
    const auto cell = [&](int r, int c) {
        const QTableWidgetItem* it = table->item(r, c);
        return it ? it->text() : QString();
    };
    const auto header = [&](int c) {
        const QTableWidgetItem* it = table->horizontalHeaderItem(c);
        return it ? it->text() : QString::number(c + 1);
    };
    const auto rowHeader = [&](int r) {
        const QTableWidgetItem* it = table->verticalHeaderItem(r);
        return it ? it->text() : QString();
    };
    const bool rowNames = table->verticalHeader()->isVisible();
    QStringList lines;
    const auto line = [&](QStringList cells) {
        switch (format) {
        case TableFormat::Tsv:
            for (QString& c : cells)
                c.replace(QLatin1Char('\t'), QLatin1Char(' '));
            return cells.join(QLatin1Char('\t'));
        case TableFormat::Csv:
            for (QString& c : cells)
                c = csvCell(c);
            return cells.join(QLatin1Char(','));
        case TableFormat::Markdown:
            for (QString& c : cells)
                c.replace(QLatin1Char('|'), QLatin1String("\\|"));
            return QStringLiteral("| ") + cells.join(QStringLiteral(" | ")) + QStringLiteral(" |");
        }
        return QString();
    };
    QStringList head;
    if (rowNames)
        head << QString();
    for (int c = c0; c <= c1; ++c)
        head << header(c);
    lines << line(head);
    if (format == TableFormat::Markdown) {
        QStringList rule;
        for (int i = 0; i < head.size(); ++i)
            rule << QStringLiteral("---");
        lines << line(rule);
    }
    for (int r = r0; r <= r1; ++r) {
        QStringList cells;
        if (rowNames)
            cells << rowHeader(r);
        for (int c = c0; c <= c1; ++c)
            cells << cell(r, c);
        lines << line(cells);
    }
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

void installTableExport(QTableWidget* table)
{
    if (!table || table->property("noisetrailExport").toBool())
        return;
    table->setProperty("noisetrailExport", true);
    table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    auto* copy = new QAction(QObject::tr("&Copy"), table);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    QObject::connect(copy, &QAction::triggered, table,
                     [table] { QApplication::clipboard()->setText(tableText(table, TableFormat::Tsv, false)); });
    table->addAction(copy);
    table->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(table, &QWidget::customContextMenuRequested, table, [table, copy](const QPoint& at) {
        QMenu menu(table);
        menu.addAction(copy);
        menu.addAction(QObject::tr("Copy &All"), table,
                       [table] { QApplication::clipboard()->setText(tableText(table, TableFormat::Tsv, true)); });
        menu.addSeparator();
        const struct {
            QString text, ext;
            TableFormat format;
        } kinds[] = {{QObject::tr("Export as CSV..."), "csv", TableFormat::Csv},
                     {QObject::tr("Export as Markdown..."), "md", TableFormat::Markdown}};
        for (const auto& k : kinds)
            menu.addAction(k.text, table, [table, k] {
                const QString path = QFileDialog::getSaveFileName(table, k.text, QDir::homePath() + "/table." + k.ext);
                if (!path.isEmpty() && !writeText(path, tableText(table, k.format, true)))
                    QMessageBox::warning(table, QObject::tr("Save failed"),
                                         QObject::tr("Could not write %1.").arg(QDir::toNativeSeparators(path)));
            });
        menu.exec(table->viewport()->mapToGlobal(at));
    });
}

} // namespace noisetrail::ui
