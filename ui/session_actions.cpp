// The window's saved runs and exports: File > Save Run / Open Run / Recent Runs,
// the question before an unsaved run is discarded, Export > Animation and
// Filmstrip. Sessions, rendering and encoding are core's (noisetrail/session.hpp,
// render.hpp, animation.hpp): the GUI and `noisetrail-cli session` share them.
#include "main_window.hpp"

#include "export_dialogs.hpp"
#include "export_job.hpp"
#include "noisetrail/animation.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/session.hpp"
#include "timeline_bar.hpp"
#include "timeline_mapping.hpp"

#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPointer>
#include <QProgressDialog>
#include <QSettings>
#include <QSpinBox>

#include <cmath>

namespace noisetrail::ui {

namespace {
constexpr int kMaxRecentRuns = 8;
const QString kSessionFilter = QObject::tr("NoiseTrail runs (*.ntsession);;All files (*)");

} // namespace

std::shared_ptr<const Session> MainWindow::sessionOrError(const QString& message)
{
    try {
        return std::make_shared<const Session>(doc_->session());
    } catch (const std::exception& e) {
        showError(message.arg(QString::fromUtf8(e.what())));
        return nullptr;
    }
}

bool MainWindow::saveRun(const QString& path)
{
    if (isRunning()) {
        showError(tr("A run is in progress: stop it or let it finish, then save."));
        return false;
    }
    const auto s = sessionOrError(tr("Could not save the run: %1"));
    if (!s)
        return false;
    const QString error = writeSessionModal(this, s, path);
    if (!error.isEmpty()) {
        showError(tr("Could not save the run: %1").arg(error));
        return false;
    }
    doc_->markSaved();
    addRecentRun(QFileInfo(path).absoluteFilePath());
    statusLabel_->setText(tr("Saved the run to %1.").arg(QDir::toNativeSeparators(path)));
    return true;
}

void MainWindow::saveRunAs()
{
    if (isRunning()) {
        showError(tr("A run is in progress: stop it or let it finish, then save."));
        return;
    }
    if (!sessionOrError(tr("Could not save the run: %1"))) // nothing to save: say so before asking where
        return;
    const QString start = recentRuns_.isEmpty() ? QDir::homePath() : QFileInfo(recentRuns_.first()).absolutePath();
    QString path = QFileDialog::getSaveFileName(this, tr("Save Run"), start + "/run.ntsession", kSessionFilter);
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += ".ntsession";
    saveRun(path);
}

void MainWindow::openRunDialog()
{
    const QString start = recentRuns_.isEmpty() ? QDir::homePath() : QFileInfo(recentRuns_.first()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Run"), start, kSessionFilter);
    if (!path.isEmpty())
        openRun(path);
}

bool MainWindow::openRun(const QString& path)
{
    std::shared_ptr<const Session> s;
    try {
        s = std::make_shared<const Session>(read_session(path.toStdString()));
    } catch (const std::exception& e) {
        showError(tr("Could not open the run: %1").arg(QString::fromUtf8(e.what())));
        return false; // the current state stays
    }
    if (!confirmDiscard(tr("open another run")))
        return false;
    const QString card = QString::fromStdString(s->recipe.model.string());
    if (QFileInfo(card).isFile()) {
        // The model is here: load it as usual, then show the saved frames (nothing is recomputed).
        discardConfirmed_ = true;
        loadModel(card);
        discardConfirmed_ = false;
        connect(
            doc_, &RunDocument::modelReady, this,
            [this, s, path, card] {
                if (hasModel() && cardKey(model()->path.toStdString()) == cardKey(card.toStdString()))
                    showSession(s, path);
            },
            Qt::SingleShotConnection);
        return true;
    }
    // The card has moved or is on another machine: replay from the session's copy of it.
    std::shared_ptr<const LoadedModel> lm;
    try {
        lm = replayModelAssets(session_card(*s, path.toStdString()), s->panels.front().fingerprint);
    } catch (const std::exception& e) {
        showError(tr("Could not open the run: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    doc_->setModel(lm, /*replay=*/true);
    showSession(s, path);
    return true;
}

void MainWindow::showSession(const std::shared_ptr<const Session>& s, const QString& path)
{
    QStringList missingCards;
    doc_->restore(*s, &missingCards);
    followAct_->setChecked(false);
    timeline_->setCursor(TimelineMapping::kFinal);
    refreshViews();
    updateActions();
    addRecentRun(QFileInfo(path).absoluteFilePath());
    const QString how = isReplay() ? tr(" (model card not found here: replaying the saved frames; Run asks for the card)")
                                   : QString();
    statusLabel_->setText(tr("Opened %1%2. Scrub or press Space to play.").arg(QFileInfo(path).fileName(), how));
    if (!missingCards.isEmpty())
        showError(tr("The run's own cards of %1 are not here: the saved frames are shown, but Run would sample "
                     "those panels from the window's model.")
                      .arg(missingCards.join(QStringLiteral(", "))));
    setWindowTitle(tr("%1 \u2014 %2 \u2014 NoiseTrail")
                       .arg(QFileInfo(path).fileName(), QString::fromStdString(s->model_name)));
    Q_EMIT runOpened(path);
}

bool MainWindow::confirmDiscard(const QString& action)
{
    if (!doc_->hasUnsavedRun() || discardConfirmed_ || !options_.askBeforeDiscard)
        return true;
    QSettings settings;
    if (!settings.value("askBeforeDiscard", true).toBool())
        return true;
    QMessageBox box(QMessageBox::Question, tr("Unsaved run"),
                    tr("The finished run has not been saved. Save it before you %1?").arg(action),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    auto* dontAsk = new QCheckBox(tr("Don't ask again"), &box);
    box.setCheckBox(dontAsk);
    const int answer = box.exec();
    if (dontAsk->isChecked() && answer != QMessageBox::Cancel)
        settings.setValue("askBeforeDiscard", false);
    if (answer == QMessageBox::Save) {
        saveRunAs();
        return !doc_->hasUnsavedRun();
    }
    return answer == QMessageBox::Discard;
}

void MainWindow::addRecentRun(const QString& path)
{
    recentRuns_.removeAll(path);
    recentRuns_.prepend(path);
    while (recentRuns_.size() > kMaxRecentRuns)
        recentRuns_.removeLast();
    if (options_.useSettings)
        QSettings().setValue("recentRuns", recentRuns_);
    updateRecentRunsMenu();
}

void MainWindow::updateRecentRunsMenu()
{
    if (!recentRunsMenu_)
        return;
    recentRunsMenu_->clear();
    for (const QString& f : recentRuns_) {
        QAction* a = recentRunsMenu_->addAction(QFileInfo(f).fileName(), this, [this, f] { openRun(f); });
        a->setToolTip(f);
        a->setStatusTip(f);
    }
    recentRunsMenu_->setEnabled(!recentRuns_.isEmpty());
}

// ------------------------------------------------------------------ exports

void MainWindow::exportAnimation()
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return;
    const auto panels = render_panels(*s);
    std::vector<std::vector<int>> plans;
    for (const auto& p : panels)
        plans.push_back(p.trajectory->timesteps());
    AnimationExportDialog d(field_, int(animation_levels(plans).size()), this);
    if (d.exec() != QDialog::Accepted)
        return;
    const AnimationFormat format = d.format();
    const AnimationExport options = d.options();
    const QString ext = format == AnimationFormat::Gif ? "gif" : "mp4";
    QString path = QFileDialog::getSaveFileName(this, tr("Export Animation"), QDir::homePath() + "/run." + ext,
                                                ext.toUpper() + tr(" files (*.%1)").arg(ext));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += "." + ext;

    startAnimationExport(path, format, options);
}

ExportJob* MainWindow::startAnimationExport(const QString& path, AnimationFormat format, const AnimationExport& options)
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return nullptr;
    return startAnimationJob(this, s, path, format, options, [this](const QString& message, bool ok) {
        if (ok)
            statusLabel_->setText(message);
        else
            showError(message);
    });
}

void MainWindow::exportFilmstrip()
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return;
    FilmstripDialog d(field_, s->batch, this);
    if (d.exec() != QDialog::Accepted)
        return;
    QString path = QFileDialog::getSaveFileName(this, tr("Export Filmstrip"), QDir::homePath() + "/filmstrip.png",
                                                tr("PNG images (*.png)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += ".png";
    try {
        const RgbImage img = render_filmstrip(render_panels(*s), d.options());
        write_png(path.toStdString(), img);
        statusLabel_->setText(tr("Wrote %1 (%2 x %3).").arg(QDir::toNativeSeparators(path)).arg(img.width).arg(img.height));
    } catch (const std::exception& e) {
        showError(tr("Could not export the filmstrip: %1").arg(QString::fromUtf8(e.what())));
    }
}

} // namespace noisetrail::ui
