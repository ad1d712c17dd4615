#include "run_files.hpp"

#include "export_dialogs.hpp"
#include "export_job.hpp"
#include "loaded_model.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/render.hpp"
#include "run_document.hpp"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>

namespace noisetrail::ui {

namespace {
constexpr int kMaxRecent = 8;
QString sessionFilter() { return QObject::tr("NoiseTrail runs (*.ntsession);;All files (*)"); }

/// Core's reason a session is not opened, said for the window: a budget refusal names
/// what raises the budget in the CLI, which the window cannot use; it says what the window opens.
QString forWindow(const std::string& reason)
{
    QString m = QString::fromStdString(reason);
    const QString cliHint = QStringLiteral(" (noisetrail-cli --max-memory-mib raises it)");
    if (m.endsWith(cliHint)) {
        m.chop(cliHint.size());
        m += QObject::tr(". The window opens runs of up to %1; noisetrail-cli session (with --max-memory-mib) "
                         "reads larger ones")
                 .arg(QString::fromStdString(mib_text(double(memory_budget()))));
    }
    return m;
}

QString openFailure(const std::exception& e) { return QObject::tr("Could not open the run: %1").arg(forWindow(e.what())); }

/// A save dialog starting at `suggested`; the suffix of `suggested` is added when the
/// chosen name has none. "" when cancelled.
QString askSavePath(QWidget* parent, const QString& title, const QString& suggested, const QString& filter)
{
    QString path = QFileDialog::getSaveFileName(parent, title, suggested, filter);
    if (!path.isEmpty() && QFileInfo(path).suffix().isEmpty())
        path += "." + QFileInfo(suggested).suffix();
    return path;
}

} // namespace

QString droppedCard(const QMimeData* data, QString* error)
{
    const auto urls = data ? data->urls() : QList<QUrl>();
    if (urls.isEmpty() || !urls[0].isLocalFile()) {
        *error = RunFiles::tr("Nothing to open in what was dropped: drop one model card (.json) file.");
        return {};
    }
    if (urls.size() > 1) {
        *error = RunFiles::tr("%n files were dropped: drop one model card (.json) at a time.", nullptr, int(urls.size()));
        return {};
    }
    const QString path = urls[0].toLocalFile();
    if (!path.endsWith(".json", Qt::CaseInsensitive)) {
        *error = RunFiles::tr("%1 is not a model card: drop a model card (.json) file.").arg(QDir::toNativeSeparators(path));
        return {};
    }
    return path;
}

RunFiles::RunFiles(RunDocument* doc, QWidget* window, std::function<Field()> field, bool useSettings,
                   bool askBeforeDiscard)
    : QObject(window), doc_(doc), window_(window), field_(std::move(field)), useSettings_(useSettings),
      askBeforeDiscard_(askBeforeDiscard)
{
}

void RecentList::setup(const QString& key, bool useSettings, QMenu* menu, std::function<void(const QString&)> open)
{
    key_ = key;
    useSettings_ = useSettings;
    menu_ = menu;
    open_ = std::move(open);
    if (useSettings_)
        files_ = QSettings().value(key_).toStringList();
    fill();
}

void RecentList::add(const QString& path)
{
    files_.removeAll(path);
    files_.prepend(path);
    while (files_.size() > kMaxRecent)
        files_.removeLast();
    if (useSettings_)
        QSettings().setValue(key_, files_);
    fill();
}

void RecentList::fill()
{
    if (!menu_)
        return;
    menu_->clear();
    for (const QString& f : files_) {
        QAction* a = menu_->addAction(QFileInfo(f).fileName(), menu_, [this, f] { open_(f); });
        a->setToolTip(f);
        a->setStatusTip(f);
    }
    menu_->setEnabled(!files_.isEmpty());
}

void RunFiles::setRecentCardsMenu(QMenu* menu, std::function<void(const QString&)> open)
{
    recentCards_.setup(QStringLiteral("recent"), useSettings_, menu, std::move(open));
}

RunFiles::~RunFiles() { stopReading(); }

void RunFiles::stopReading()
{
    if (!reader_.joinable())
        return;
    cancelRead_->store(true);
    reader_.join(); // within a chunk or a block: read_session polls the flag
    ++readToken_;   // what it posted is stale
    readDone_ = true;
}

void RunFiles::addFileActions(QMenu* file)
{
    QAction* save = file->addAction(tr("&Save Run..."), this, &RunFiles::saveRunAs);
    save->setObjectName("saveRunAction");
    save->setShortcut(QKeySequence::Save);
    QAction* open = file->addAction(tr("Open R&un..."), this, &RunFiles::openRunDialog);
    open->setObjectName("openRunAction");
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    recentRuns_.setup(QStringLiteral("recentRuns"), useSettings_, file->addMenu(tr("Recent R&uns")),
                      [this](const QString& f) { openRun(f); });
}

void RunFiles::addExportActions(QMenu* exportMenu)
{
    exportMenu->addAction(tr("&Animation (GIF, MP4)..."), this, &RunFiles::exportAnimation)
        ->setObjectName("exportAnimationAction");
    exportMenu->addAction(tr("&Filmstrip (PNG)..."), this, &RunFiles::exportFilmstrip)
        ->setObjectName("exportFilmstripAction");
    exportMenu->addAction(tr("Interactive Pa&ge (HTML)..."), this, &RunFiles::exportPage)
        ->setObjectName("exportPageAction");
}

std::shared_ptr<const Session> RunFiles::sessionOrError(const QString& message)
{
    try {
        return std::make_shared<const Session>(doc_->session());
    } catch (const std::exception& e) {
        Q_EMIT error(message.arg(QString::fromUtf8(e.what())));
        return nullptr;
    }
}

bool RunFiles::saveRun(const QString& path)
{
    if (doc_->isRunning()) {
        Q_EMIT error(tr("A run is in progress: stop it or let it finish, then save."));
        return false;
    }
    const auto s = sessionOrError(tr("Could not save the run: %1"));
    if (!s)
        return false;
    const QString failure = writeSessionModal(window_, s, path);
    if (!failure.isEmpty()) {
        Q_EMIT error(tr("Could not save the run: %1").arg(failure));
        return false;
    }
    doc_->markSaved();
    recentRuns_.add(QFileInfo(path).absoluteFilePath());
    Q_EMIT status(tr("Saved the run to %1.").arg(QDir::toNativeSeparators(path)));
    return true;
}

QString RunFiles::startFolder() const
{
    return recentRuns_.files().isEmpty() ? QDir::homePath() : QFileInfo(recentRuns_.files().first()).absolutePath();
}

void RunFiles::saveRunAs()
{
    if (doc_->isRunning()) {
        Q_EMIT error(tr("A run is in progress: stop it or let it finish, then save."));
        return;
    }
    if (!sessionOrError(tr("Could not save the run: %1"))) // nothing to save: say so before asking where
        return;
    const QString path = askSavePath(window_, tr("Save Run"), startFolder() + "/run.ntsession", sessionFilter());
    if (path.isEmpty())
        return;
    // Issue 27: a run the window would refuse to open again is said before it is saved.
    if (const auto s = sessionOrError(tr("Could not save the run: %1"))) {
        const std::string problem = session_reopen_problem(path.toStdString(), *s);
        if (!problem.empty() &&
            QMessageBox::warning(window_, tr("Save Run"),
                                 tr("File > Open Run will not open this run again: %1.\n\nSave it anyway?")
                                     .arg(forWindow(problem)),
                                 QMessageBox::Save | QMessageBox::Cancel, QMessageBox::Cancel) != QMessageBox::Save)
            return;
    }
    saveRun(path);
}

void RunFiles::openRunDialog()
{
    const QString path = QFileDialog::getOpenFileName(window_, tr("Open Run"), startFolder(), sessionFilter());
    if (!path.isEmpty())
        openRun(path);
}

bool RunFiles::openRun(const QString& path)
{
    // The header at once: not a session, truncated, too new or over the budget is one
    // error now, before anything is allocated.
    SessionHeader header;
    try {
        header = read_session_header(path.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT error(openFailure(e));
        return false; // the current state stays
    }
    // The rest on a thread: a session within the budget may still take seconds to
    // inflate and check (1000 MiB of zeros in a 4.5 MB file: 6-15 s on a loaded 2-core
    // machine), and the window answers meanwhile.
    stopReading(); // the newest open wins
    const quint64 token = ++readToken_;
    readDone_ = false;
    cancelRead_ = std::make_shared<std::atomic<bool>>(false);
    Q_EMIT status(tr("Reading %1 (%2)...")
                      .arg(QFileInfo(path).fileName(), QString::fromStdString(mib_text(double(header.payload_bytes)))));
    reader_ = std::thread([this, token, path, cancel = cancelRead_] {
        std::shared_ptr<const Session> s;
        LoadedModelPtr replay;
        QString failure;
        try {
            s = std::make_shared<const Session>(read_session(path.toStdString(), cancel.get()));
            // Without its card, the run replays from the session's copy of it (its
            // mixture, inline, may be large): made here too.
            if (!QFileInfo(QString::fromStdString(s->recipe.model.string())).isFile())
                replay = replayModelAssets(session_card(*s, path.toStdString()), s->panels.front().fingerprint);
        } catch (const std::exception& e) {
            s = nullptr;
            failure = openFailure(e);
        } catch (...) {
            s = nullptr;
            failure = tr("Could not open the run: unknown error while reading %1").arg(path);
        }
        // Joined before this object goes (stopReading), and a call posted to a deleted
        // object is dropped: `this` is safe here.
        QMetaObject::invokeMethod(
            this, [this, token, path, s, replay, failure] { onRunRead(token, path, s, replay, failure); },
            Qt::QueuedConnection);
    });
    return true;
}

void RunFiles::onRunRead(quint64 token, const QString& path, const std::shared_ptr<const Session>& s,
                         const LoadedModelPtr& replay, const QString& failure)
{
    if (token != readToken_)
        return; // a newer open was asked for
    readDone_ = true;
    if (reader_.joinable())
        reader_.join(); // it has posted this: it is ending
    if (!s) {
        // The status said "Reading ...": it says what became of it, the banner why.
        Q_EMIT status(tr("%1 was not opened; the window shows what it showed before.").arg(QFileInfo(path).fileName()));
        Q_EMIT error(failure);
        return; // the current state stays
    }
    if (!confirmDiscard(tr("open another run")))
        return;
    openSession(s, path, replay);
}

void RunFiles::openSession(const std::shared_ptr<const Session>& s, const QString& path, LoadedModelPtr replay)
{
    const QString card = QString::fromStdString(s->recipe.model.string());
    if (!replay && !QFileInfo(card).isFile()) {
        // The discarded run, its card moved meanwhile: replay from the session's copy.
        try {
            replay = replayModelAssets(session_card(*s, path.toStdString()), s->panels.front().fingerprint);
        } catch (const std::exception& e) {
            Q_EMIT error(openFailure(e));
            return;
        }
    }
    if (!replay) {
        // The model is here: load it as usual, then show the saved frames (nothing is recomputed).
        doc_->loadModel(card);
        Q_EMIT loadingCard(card);
        connect(
            doc_, &RunDocument::modelReady, this,
            [this, s, path, card] {
                if (doc_->model() && cardKey(doc_->model()->path.toStdString()) == cardKey(card.toStdString()))
                    showSession(s, path);
            },
            Qt::SingleShotConnection);
        return;
    }
    // The card has moved or is on another machine: replay from the session's copy of it.
    doc_->setModel(replay, /*replay=*/true);
    showSession(s, path);
}

void RunFiles::showSession(const std::shared_ptr<const Session>& s, const QString& path)
{
    QStringList missingCards;
    doc_->restore(*s, &missingCards);
    const QString how = doc_->isReplay()
                            ? tr(" (model card not found here: replaying the saved frames; Run asks for the card)")
                            : QString();
    if (path.isEmpty()) { // the discarded run, back: still unsaved
        doc_->markUnsaved();
        Q_EMIT runShown(path, tr("%1 (restored, not saved) \u2014 NoiseTrail").arg(QString::fromStdString(s->model_name)));
        Q_EMIT status(tr("The discarded run is back%1. Save it with Ctrl+S.").arg(how));
    } else {
        recentRuns_.add(QFileInfo(path).absoluteFilePath());
        Q_EMIT runShown(path, tr("%1 \u2014 %2 \u2014 NoiseTrail")
                                  .arg(QFileInfo(path).fileName(), QString::fromStdString(s->model_name)));
        Q_EMIT status(tr("Opened %1%2. Scrub or press Space to play.").arg(QFileInfo(path).fileName(), how));
    }
    if (!missingCards.isEmpty())
        Q_EMIT error(tr("The run's own cards of %1 are not here: the saved frames are shown, but Run would sample "
                        "those panels from the window's model.")
                         .arg(missingCards.join(QStringLiteral(", "))));
}

void RunFiles::keepDiscarded()
{
    try {
        discarded_ = std::make_shared<const Session>(doc_->session());
    } catch (const std::exception&) {
        return; // nothing computed to keep
    }
    Q_EMIT discardedRunChanged(true);
}

void RunFiles::restoreDiscardedRun()
{
    if (!discarded_)
        return;
    if (doc_->isRunning()) {
        Q_EMIT error(tr("A run is in progress: stop it or let it finish, then restore the discarded run."));
        return;
    }
    const std::shared_ptr<const Session> s = discarded_;
    discarded_.reset();
    if (doc_->hasUnsavedRun())
        keepDiscarded(); // the two swap: Ctrl+Z again brings this one back
    else
        Q_EMIT discardedRunChanged(false);
    openSession(s, QString());
}

bool RunFiles::confirmDiscard(const QString& action, Discard kind)
{
    if (!doc_->hasUnsavedRun())
        return true;
    if (kind == Discard::Recoverable || !askBeforeDiscard_ || !QSettings().value("askBeforeDiscard", true).toBool()) {
        keepDiscarded(); // Edit > Restore Discarded Run brings it back
        return true;
    }
    QSettings settings;
    QMessageBox box(QMessageBox::Question, tr("Unsaved run"),
                    tr("The finished run has not been saved. Save it before you %1?").arg(action),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, window_);
    auto* dontAsk = new QCheckBox(tr("Don't ask again"), &box);
    box.setCheckBox(dontAsk);
    const int answer = box.exec();
    if (dontAsk->isChecked() && answer != QMessageBox::Cancel)
        settings.setValue("askBeforeDiscard", false);
    if (answer == QMessageBox::Save) {
        saveRunAs();
        return !doc_->hasUnsavedRun();
    }
    if (answer == QMessageBox::Discard)
        keepDiscarded();
    return answer == QMessageBox::Discard;
}

// ------------------------------------------------------------------ exports

void RunFiles::exportAnimation()
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return;
    const auto panels = render_panels(*s);
    std::vector<std::vector<int>> plans;
    for (const auto& p : panels)
        plans.push_back(p.trajectory->timesteps());
    AnimationExportDialog d(field_(), int(animation_levels(plans).size()), window_, useSettings_);
    if (d.exec() != QDialog::Accepted)
        return;
    const AnimationFormat format = d.format();
    const AnimationExport options = d.options();
    const QString ext = format == AnimationFormat::Gif ? "gif" : "mp4";
    const QString path = askSavePath(window_, tr("Export Animation"), QDir::homePath() + "/run." + ext,
                                     ext.toUpper() + tr(" files (*.%1)").arg(ext));
    if (path.isEmpty())
        return;
    startAnimationExport(path, format, options);
}

ExportJob* RunFiles::startAnimationExport(const QString& path, AnimationFormat format, const AnimationExport& options)
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return nullptr;
    return startAnimationJob(window_, s, path, format, options, [this](const QString& message, bool ok) {
        if (ok)
            Q_EMIT status(message);
        else
            Q_EMIT error(message);
    });
}

void RunFiles::exportFilmstrip()
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return;
    FilmstripDialog d(field_(), s->batch, window_);
    if (d.exec() != QDialog::Accepted)
        return;
    const QString path = askSavePath(window_, tr("Export Filmstrip"), QDir::homePath() + "/filmstrip.png",
                                     tr("PNG images (*.png)"));
    if (path.isEmpty())
        return;
    try {
        const RgbImage img = render_filmstrip(render_panels(*s), d.options());
        write_png(path.toStdString(), img);
        Q_EMIT status(tr("Wrote %1 (%2 x %3).").arg(QDir::toNativeSeparators(path)).arg(img.width).arg(img.height));
    } catch (const std::exception& e) {
        Q_EMIT error(tr("Could not export the filmstrip: %1").arg(QString::fromUtf8(e.what())));
    }
}

void RunFiles::exportPage()
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return;
    PageExportDialog d(int(page_levels(*s, 0).size()), window_);
    if (d.exec() != QDialog::Accepted)
        return;
    const PageOptions options = d.options();
    const QString path = askSavePath(window_, tr("Export Interactive Page"), QDir::homePath() + "/run.html",
                                     tr("Web pages (*.html)"));
    if (path.isEmpty())
        return;
    startPageExport(path, options);
}

ExportJob* RunFiles::startPageExport(const QString& path, const PageOptions& options)
{
    const auto s = sessionOrError(tr("Nothing to export: %1"));
    if (!s)
        return nullptr;
    return startPageJob(window_, s, path, options, [this](const QString& message, bool ok) {
        if (ok)
            Q_EMIT status(message);
        else
            Q_EMIT error(message);
    });
}

} // namespace noisetrail::ui
