#include "run_status_bar.hpp"

#include <QPainter>
#include <QProgressBar>
#include <QStyle>

#include <algorithm>

namespace noisetrail::ui {

void ElidingLabel::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    const QRect r = contentsRect();
    const QString shown = fontMetrics().elidedText(text(), Qt::ElideRight, r.width());
    style()->drawItemText(&p, r, int(alignment() | Qt::AlignVCenter), palette(), isEnabled(), shown, foregroundRole());
}

RunStatusBar::RunStatusBar(QWidget* parent) : QStatusBar(parent)
{
    message_ = new ElidingLabel;
    message_->setObjectName("statusLabel");
    addWidget(message_, 1);
    metricsNote_ = new ElidingLabel;
    metricsNote_->setObjectName("metricsNote");
    metricsNote_->setToolTip(tr("Diversity metrics are measured on every k-th step of a long panel, so that they "
                                "cost little; their plots show those steps as points"));
    metricsNote_->hide();
    addPermanentWidget(metricsNote_);
    progress_ = new QProgressBar;
    progress_->setMaximumWidth(220);
    progress_->setTextVisible(true);
    progress_->hide();
    addPermanentWidget(progress_);
}

void RunStatusBar::setMessage(const QString& message)
{
    message_->setText(message);
    message_->setToolTip(message);
}
QString RunStatusBar::message() const { return message_->text(); }

void RunStatusBar::setMetricsNote(const QString& note)
{
    metricsNote_->setText(note);
    metricsNote_->setVisible(!note.isEmpty());
}

void RunStatusBar::startProgress(int totalSteps)
{
    progress_->setRange(0, std::max(1, totalSteps));
    progress_->setValue(0);
    progress_->setToolTip(tr("Progress of the whole run, all panels"));
    progress_->show();
}

void RunStatusBar::setProgress(int doneSteps, const QStringList& perPanel)
{
    progress_->setValue(doneSteps);
    progress_->setToolTip(tr("Progress of the run, all computing panels together:\n%1").arg(perPanel.join('\n')));
}

void RunStatusBar::endProgress() { progress_->hide(); }

} // namespace noisetrail::ui
