// A batch of images as a grid; click a sample to open it large.
#pragma once
#include <QImage>
#include <QWidget>

#include <vector>

namespace noisetrail::ui {

class ImageGridView : public QWidget {
    Q_OBJECT
public:
    explicit ImageGridView(QWidget* parent = nullptr);
    void setImages(std::vector<QImage> images);
    int count() const { return int(images_.size()); }
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
    int columns() const;
    std::vector<QImage> images_;
    int hover_ = -1;
};

} // namespace noisetrail::ui
