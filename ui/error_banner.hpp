// One clear message for errors above the panels; the window stays usable. The
// text is plain (a card's name is no markup) with control characters escaped.
#pragma once
#include <QFrame>

class QLabel;

namespace noisetrail::ui {

class ErrorBanner : public QFrame {
    Q_OBJECT
public:
    explicit ErrorBanner(QWidget* parent = nullptr);
    void showMessage(const QString& message);
    void clear();
    /// The message shown, or empty while hidden.
    QString text() const;

private:
    void restyle();
    QLabel* label_;
};

} // namespace noisetrail::ui
