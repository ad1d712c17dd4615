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

/// What the window needs of a model it cannot load: the saved copy of the card
/// (schedule, shape, name) and a denoiser that refuses to run, plus the curves
/// and, for mixture cards, the target density, all derived from the card alone.
std::shared_ptr<const LoadedModel> replayAssets(const ModelCard& card, const std::string& fingerprint)
{
    auto lm = std::make_shared<LoadedModel>();
    lm->path = QString::fromStdString(card.path.string());
    lm->model = Model::replay(card);
    lm->fingerprint = fingerprint;
    const NoiseSchedule& sched = lm->model->schedule();
    lm->alphaBars = sched.alpha_bars();
    lm->betas = sched.betas();
    lm->logSnr.resize(lm->alphaBars.size());
    for (int t = 0; t < sched.train_steps(); ++t)
        lm->logSnr[std::size_t(t)] = sched.log_snr(t);
    if (card.is_2d_points()) {
        double r = 3.5;
        try {
            if (auto m = metrics::mixture_from_card(card)) {
                for (int k = 0; k < m->components(); ++k)
                    for (int i = 0; i < 2; ++i)
                        r = std::max(r, std::abs(m->means[std::size_t(2 * k + i)]) + 3 * m->stds[std::size_t(k)] + 0.3);
                lm->mixture = std::make_shared<const metrics::GaussianMixture>(*m);
            }
        } catch (const std::exception&) {
        }
        lm->extent = QRectF(-r, -r, 2 * r, 2 * r);
        try {
            lm->density = targetDensity(card, lm->extent, 256); // data-set cards need their files: none then
        } catch (const std::exception&) {
        }
    }
    lm->exampleSource = QObject::tr("not available: the model is replayed from a saved run");
    return lm;
}
} // namespace

bool MainWindow::isReplay() const { return model_ && !replayCard_.isEmpty() && model_->path == replayCard_; }

Session MainWindow::currentSession() const
{
    if (!model_)
        throw InputError("nothing to save: no model is open");
    std::vector<int> ran;
    for (int i = 0; i < panelCount(); ++i)
        if (panels_[std::size_t(i)]->recipe() && panels_[std::size_t(i)]->trajectory().hasStart())
            ran.push_back(i);
    if (ran.empty())
        throw InputError("nothing to save: press Run first");
    const ModelCard& card = model_->card();
    const RunRecipe& first = *panels_[std::size_t(ran[0])]->recipe();
    Session s;
    s.recipe.model = model_->path.toStdString();
    s.recipe.seed = first.seed;
    s.recipe.batch = first.batch;
    s.recipe.pacing = pacing_;
    s.model_name = card.name;
    s.card_json = card.json_text;
    s.train_steps = model_->trainSteps();
    s.batch = first.batch;
    s.data_shape = card.data_shape;
    s.x_T = initial_noise(card.data_shape, first.batch, first.seed); // as every run drew it
    for (int i : ran) {
        const SamplerPanel* p = panels_[std::size_t(i)];
        const RunRecipe& r = *p->recipe();
        PanelRecipe pr;
        pr.sampler = r.sampler;
        if (p->hasOwnModel())
            pr.model = r.card;
        s.recipe.panels.push_back(pr);
        s.panels.push_back({r.fingerprint, describe(r.sampler, p->model()->trainSteps()), p->trajectoryPtr()});
    }
    return s;
}

std::shared_ptr<const Session> MainWindow::sessionOrError(const QString& message)
{
    try {
        return std::make_shared<const Session>(currentSession());
    } catch (const std::exception& e) {
        showError(message.arg(QString::fromUtf8(e.what())));
        return nullptr;
    }
}

bool MainWindow::saveRun(const QString& path)
{
    if (running_) {
        showError(tr("A run is in progress: stop it or let it finish, then save."));
        return false;
    }
    const auto s = sessionOrError(tr("Could not save the run: %1"));
    if (!s)
        return false;
    // Writing four 1000-step panels takes seconds: it runs on its own thread (the
    // finished trajectories are read-only), and a window-modal dialog keeps the
    // window painted but closed to input meanwhile. The caller still gets its
    // answer here (the discard question needs it before it goes on).
    ExportJob job;
    job.setObjectName("saveJob");
    QProgressDialog dialog(tr("Saving %1...").arg(QFileInfo(path).fileName()), QString(), 0, 0, this);
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(0);
    dialog.show(); // at once: until it shows, the window would take input (a second save, Quit)
    QEventLoop loop;
    QString error;
    connect(&job, &ExportJob::finished, &loop, &QEventLoop::quit);
    connect(&job, &ExportJob::failed, &loop, [&](const QString& m) {
        error = m;
        loop.quit();
    });
    job.start([s, path](ExportJob&) {
        write_session(path.toStdString(), *s);
        return QString();
    });
    loop.exec();
    job.wait();
    dialog.close();
    if (!error.isEmpty()) {
        showError(tr("Could not save the run: %1").arg(error));
        return false;
    }
    unsavedRun_ = false;
    addRecentRun(QFileInfo(path).absoluteFilePath());
    statusLabel_->setText(tr("Saved the run to %1.").arg(QDir::toNativeSeparators(path)));
    return true;
}

void MainWindow::saveRunAs()
{
    if (running_) {
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
        const quint64 token = loadToken_;
        connect(
            this, &MainWindow::modelReady, this,
            [this, s, path, token] {
                if (token == loadToken_)
                    applySession(s, path, model_);
            },
            Qt::SingleShotConnection);
        return true;
    }
    // The card has moved or is on another machine: replay from the session's copy of it.
    std::shared_ptr<const LoadedModel> lm;
    try {
        lm = replayAssets(session_card(*s, path.toStdString()), s->panels.front().fingerprint);
    } catch (const std::exception& e) {
        showError(tr("Could not open the run: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    abandonRun();
    replayCard_ = lm->path;
    onModelLoaded(++loadToken_, lm);
    replayCard_ = lm->path; // onModelLoaded leaves it; loadModel clears it
    applySession(s, path, lm);
    return true;
}

void MainWindow::applySession(const std::shared_ptr<const Session>& s, const QString& path,
                              std::shared_ptr<const LoadedModel> model)
{
    if (!model)
        return;
    const int n = int(s->panels.size());
    while (panelCount() < n && panelCount() < 4)
        addPanel();
    while (panelCount() > n)
        removePanel(panelCount() - 1);
    {
        const QSignalBlocker b1(seed_), b2(batch_);
        seed_->setValue(int(s->recipe.seed));
        batch_->setValue(s->batch);
    }
    setPacing(s->recipe.pacing);
    QStringList missingCards;
    for (int i = 0; i < std::min(n, panelCount()); ++i) {
        SamplerPanel* p = panels_[std::size_t(i)];
        const PanelRecipe& pr = s->recipe.panels[std::size_t(i)];
        p->setConfig(pr.sampler);
        RunRecipe r;
        r.card = pr.model.empty() ? s->recipe.model : pr.model;
        r.fingerprint = s->panels[std::size_t(i)].fingerprint;
        r.sampler = pr.sampler;
        r.seed = s->recipe.seed;
        r.batch = s->batch;
        p->showSaved(s->panels[std::size_t(i)].trajectory, r);
        if (pr.model.empty() || isReplay())
            continue; // a replay runs nothing: the saved frames are all it needs
        // The panel sampled from its own card: give it that card again so Run repeats
        // the saved run (its frames are shown again once the card is loaded).
        const QString own = QString::fromStdString(pr.model.string());
        if (!QFileInfo(own).isFile())
            missingCards << tr("panel %1: %2").arg(i + 1).arg(QDir::toNativeSeparators(own));
        else if (const quint64 token = setPanelCard(i, own))
            savedForLoad_[token] = {s->panels[std::size_t(i)].trajectory, r};
    }
    unsavedRun_ = false;
    follow_ = false;
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
    if (!unsavedRun_ || discardConfirmed_ || !options_.askBeforeDiscard)
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
        return !unsavedRun_;
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
    const auto panels = render_panels(*s);
    auto* job = new ExportJob(this);
    job->setObjectName("exportJob");
    QPointer<QProgressDialog> dialog =
        new QProgressDialog(tr("Writing %1...").arg(QFileInfo(path).fileName()), tr("Cancel"), 0, 0, this);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->setMinimumDuration(300);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QProgressDialog::canceled, job, &ExportJob::cancel); // direct: an atomic flag
    connect(job, &ExportJob::progress, dialog, [dialog](int done, int total) {
        if (dialog) {
            dialog->setMaximum(total);
            dialog->setValue(done);
        }
    });
    auto done = [this, job, dialog](const QString& message, bool ok) {
        if (dialog)
            dialog->close();
        if (ok)
            statusLabel_->setText(message);
        else
            showError(message);
        job->deleteLater();
    };
    connect(job, &ExportJob::finished, this, [done](const QString& m, bool cancelled) {
        done(cancelled ? tr("Export cancelled; nothing was written.") : m, true);
    });
    connect(job, &ExportJob::failed, this, [done](const QString& m) { done(tr("Export failed: %1").arg(m), false); });
    job->start([s, panels, path, format, options](ExportJob& j) {
        const AnimationResult r = export_animation(
            panels, path.toStdString(), format, options, [&j](int d, int t) { j.reportProgress(d, t); }, &j.cancelFlag());
        return tr("Wrote %1: %2 frames, %3 x %4 (%5).")
            .arg(QDir::toNativeSeparators(path))
            .arg(r.frames)
            .arg(r.width)
            .arg(r.height)
            .arg(QString::fromStdString(r.encoder));
    });
    return job;
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
