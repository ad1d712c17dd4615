#include "error_banner.hpp"

#include "noisetrail/printable.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>

namespace noisetrail::ui {

ErrorBanner::ErrorBanner(QWidget* parent) : QFrame(parent)
{
    setObjectName("errorBanner");
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(8, 4, 4, 4);
    label_ = new QLabel;
    label_->setObjectName("errorLabel");
    label_->setWordWrap(true);
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label_->setTextFormat(Qt::PlainText);
    auto* close = new QToolButton;
    close->setObjectName("errorClose");
    close->setText(QStringLiteral("\u2715"));
    close->setAutoRaise(true);
    close->setFocusPolicy(Qt::NoFocus);
    close->setToolTip(tr("Dismiss this message"));
    connect(close, &QToolButton::clicked, this, &ErrorBanner::clear);
    row->addWidget(label_, 1);
    row->addWidget(close);
    restyle();
    hide();
}

void ErrorBanner::restyle()
{
    // Light pink on a light window, deep red with light text on a dark one; the
    // close cross in the text colour so it shows on both.
    // The window's palette: the banner's own says the pink of its style sheet.
    const bool dark = window()->palette().color(QPalette::Window).lightnessF() < 0.5;
    const QString bg = dark ? "#5a1d1a" : "#fdecea", border = dark ? "#b0554d" : "#e0a39d",
                  ink = dark ? "#ffdad6" : "#611a15";
    setStyleSheet(QStringLiteral("#errorBanner{background:%1;border:1px solid %2;border-radius:4px;} "
                                 "#errorBanner QLabel, #errorBanner QToolButton{color:%3;} "
                                 "#errorBanner QToolButton{font-weight:bold;}")
                      .arg(bg, border, ink));
}

void ErrorBanner::showMessage(const QString& message)
{
    restyle(); // the palette may have changed (light / dark) since the last message
    label_->setText(QString::fromStdString(noisetrail::printable(message.toStdString())));
    show();
}

void ErrorBanner::clear()
{
    label_->clear();
    hide();
}

QString ErrorBanner::text() const { return isHidden() ? QString() : label_->text(); }

} // namespace noisetrail::ui
