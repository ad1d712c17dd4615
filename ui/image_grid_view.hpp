// A batch of images as a grid; click a sample to open it large. Optionally a
// decision strip under each sample: its class at every measured step so far.
#pragma once
#include "decision_strip.hpp"

#include <QImage>
#include <QWidget>

#include <vector>

namespace noisetrail::ui {

class ImageGridView : public QWidget {
    Q_OBJECT
public:
    explicit ImageGridView(QWidget* parent = nullptr);
    /// The most samples drawn: a batch of 10^6 8x8 images froze the window for minutes
    /// (every cell laid out in every paint). Beyond it the grid shows the first
    /// kMaxShown with a note "showing 1,024 of N samples"; paint cost stays bounded.
    static constexpr int kMaxShown = 1024;
    /// The batch's first images (any beyond kMaxShown are dropped); `total` the
    /// batch size when the caller made only the first kMaxShown (default: images.size()).
    void setImages(std::vector<QImage> images, int total = -1);
    /// What an empty grid says (default "Press Run to sample"); empty restores the default.
    void setEmptyText(const QString& text);
    /// One strip per image (or none): drawn under each sample while shown.
    void setStrips(std::vector<ClassStrip> strips);
    const std::vector<ClassStrip>& strips() const { return strips_; }
    void setShowStrips(bool on);
    bool showStrips() const { return showStrips_; }
    /// Where sample `index`'s strip is drawn (empty when strips are off or missing).
    QRect stripRect(int index) const;
    int count() const { return int(images_.size()); } ///< samples drawn, at most kMaxShown
    int total() const { return total_; }               ///< samples in the batch
    /// The sample under a widget position, or -1.
    int indexAt(QPoint pos) const;
    QRect cellRect(int index) const;

Q_SIGNALS:
    void sampleClicked(int index);

protected:
    void paintEvent(QPaintEvent*) override;
    void mousePressEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void leaveEvent(QEvent*) override;

private:
    struct Layout {
        int columns = 1, rows = 1, side = 1, strip = 0, x0 = 0, y0 = 0, gap = 1;
    };
    Layout layout() const;
    QRect cellRect(const Layout& l, int index) const;
    QRect stripRect(const Layout& l, int index) const;
    int noteHeight() const;
    bool stripsShown() const;
    std::vector<QImage> images_;
    QString emptyText_;
    int total_ = 0;
    std::vector<ClassStrip> strips_;
    bool showStrips_ = false;
    int hover_ = -1;
};

} // namespace noisetrail::ui
