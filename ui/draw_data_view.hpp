// The Draw & Train window's canvas (issue 23): a person draws a 2-D data set with
// the mouse (brush, spray, eraser; clear and presets; Ctrl+Z undoes), and the canvas
// shows the quick samples of a training checkpoint over the drawn points. The points
// and their rules are PointDrawing's (point_drawing.hpp); this widget maps pixels.
#pragma once
#include "point_drawing.hpp"

#include <QString>
#include <QWidget>

#include <vector>

class QTimer;

namespace noisetrail::ui {

class DrawCanvas : public QWidget {
    Q_OBJECT
public:
    explicit DrawCanvas(QWidget* parent = nullptr);

    PointDrawing& drawing() { return drawing_; }
    const PointDrawing& drawing() const { return drawing_; }
    void setTool(PointDrawing::Tool tool) { tool_ = tool; }
    PointDrawing::Tool tool() const { return tool_; }
    /// While off (a training runs on the drawn set), the mouse draws nothing.
    void setEditable(bool on);
    bool editable() const { return editable_; }
    /// Points drawn over the data (a checkpoint's quick samples), [x, y] pairs; empty: none.
    void setOverlay(std::vector<float> points, const QString& caption = {});
    const std::vector<float>& overlay() const { return overlay_; }
    /// Where a data point is drawn, in widget pixels (tests aim the mouse with it).
    QPointF toPixel(double x, double y) const;

    void clear();
    bool undo();
    /// Presets: the points replace the drawing (undoable). `n` points each.
    void presetRing(int n);
    void presetTwoMoons(int n);
    void presetSmiley(int n);
    /// `text` rendered in a bold font and rasterised to n points; false if it has no ink.
    bool presetText(const QString& text, int n);

    QSize sizeHint() const override { return {480, 480}; }
    QSize minimumSizeHint() const override { return {240, 240}; }

Q_SIGNALS:
    /// The drawn points changed (a stroke, an undo, a preset).
    void changed();

protected:
    void paintEvent(QPaintEvent*) override;
    void mousePressEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void mouseReleaseEvent(QMouseEvent* e) override;

private:
    DrawMapping mapping() const { return {double(width()), double(height())}; }
    void rasterPreset(const class QImage& image, int n);
    PointDrawing drawing_;
    PointDrawing::Tool tool_ = PointDrawing::Tool::Brush;
    bool editable_ = true;
    std::vector<float> overlay_;
    QString caption_;
    QTimer* spray_ = nullptr; ///< the spray keeps spraying while the button is held still
};

} // namespace noisetrail::ui
