#include "run_document.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "noisetrail/threads.hpp"
#include "noisetrail/recorder.hpp"
#include "plots_widget.hpp"
#include "worker_thread.hpp"

#include <QDir>
#include <QFileInfo>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

namespace noisetrail::ui {

namespace fs = std::filesystem;

namespace {
/// Core's input errors lead with the file ("model card <path>: cannot open
/// file"); the document names the file itself, so the path is said once.
QString withoutPath(const QString& message, const QString& path)
{
    for (const QString& p : {path, QFileInfo(path).absoluteFilePath(), QDir::toNativeSeparators(path)}) {
        if (p.isEmpty())
            continue;
        const qsizetype at = message.indexOf(p + QStringLiteral(": "));
        if (at >= 0 && at <= 24) // a short lead such as "model card "
            return message.mid(at + p.size() + 2);
    }
    return message;
}

QString shapeText(const std::vector<std::int64_t>& s)
{
    QStringList parts;
    for (auto d : s)
        parts << QString::number(d);
    return QStringLiteral("[%1]").arg(parts.join(QStringLiteral(", ")));
}

/// The settings as they run on a model with T train steps: steps resolved, clip
/// resolved to the radius used or 0 (RunRecipe::sampler's form, run.hpp).
SamplerConfig resolved(SamplerConfig c, const ModelCard& card)
{
    c.steps = resolved_steps(c, card.schedule.train_steps);
    const std::optional<double> clip = c.clip_x0 ? (*c.clip_x0 > 0 ? c.clip_x0 : std::nullopt) : card.default_clip();
    c.clip_x0 = clip.value_or(0.0);
    return c;
}
} // namespace

SamplerConfig RunDocument::defaultPanelConfig(int index)
{
    SamplerConfig c;
    switch (index) {
    case 0: c.sampler = "ddpm"; c.steps = 1000; break;
    case 1: c.sampler = "ddim"; c.steps = 50; c.eta = 0.0; break;
    case 2: c.sampler = "ddim"; c.steps = 20; c.eta = 0.0; break;
    default: c.sampler = "ddim"; c.steps = 50; c.eta = 1.0; break;
    }
    return c;
}

RunDocument::RunDocument(QObject* parent) : QObject(parent)
{
    registerMetaTypes();
    recipe_.seed = 1;
    for (int i = 0; i < 2; ++i)
        recipe_.panels.push_back({{}, defaultPanelConfig(i)});
    computed_.resize(recipe_.panels.size());
    stuckCheck_ = new QTimer(this);
    stuckCheck_->setSingleShot(true);
    stuckCheck_->setInterval(kStopGraceMs);
    connect(stuckCheck_, &QTimer::timeout, this, [this] {
        const quint64 g = worker_->runningJob();
        if (g != 0 && worker_->jobs().isCancelled(g))
            giveUpOnStuckWorker();
    });
    startWorker();
}

void RunDocument::startWorker()
{
    // One long-lived worker on its own thread; it never touches a widget.
    thread_ = new QThread(this);
    thread_->setObjectName("NoiseTrail sampling worker");
    worker_ = new SamplingWorker;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &SamplingWorker::modelLoaded, this, &RunDocument::onModelLoaded);
    connect(worker_, &SamplingWorker::modelFailed, this, &RunDocument::onModelFailed);
    connect(worker_, &SamplingWorker::modelUntrusted, this, &RunDocument::onModelUntrusted);
    startWorkerThread(thread_); // before the first job is queued (worker_thread.hpp)
}

RunDocument::~RunDocument()
{
    // Cancel (directly, not queued), then let the threads' event loops end. A thread
    // stuck in a model call never ends: app/gui/main.cpp ends the process then
    // (endIfTeardownHangs, startup.hpp).
    worker_->jobs().cancelUpTo(std::numeric_limits<quint64>::max());
    for (QThread* t : stuckThreads_)
        t->quit();
    if (thread_->isRunning()) {
        thread_->quit();
        thread_->wait();
    }
    for (QThread* t : stuckThreads_)
        t->wait();
}

// ------------------------------------------------------------------ the recipe

void RunDocument::setPanelConfig(int i, const SamplerConfig& config)
{
    if (i < 0 || i >= panelCount() || recipe_.panels[std::size_t(i)].sampler == config)
        return;
    recipe_.panels[std::size_t(i)].sampler = config;
    Q_EMIT changed();
}

void RunDocument::addPanel()
{
    if (panelCount() >= kMaxPanels)
        return;
    abandon();
    recipe_.panels.push_back({{}, defaultPanelConfig(panelCount())});
    computed_.emplace_back();
    Q_EMIT panelsChanged();
    Q_EMIT changed();
}

void RunDocument::removePanel(int i)
{
    if (panelCount() <= 1 || i < 0 || i >= panelCount())
        return;
    abandon();
    recipe_.panels.erase(recipe_.panels.begin() + i);
    computed_.erase(computed_.begin() + i);
    for (auto it = panelLoads_.begin(); it != panelLoads_.end();) {
        if (it->second == i) {
            it = panelLoads_.erase(it);
            continue;
        }
        if (it->second > i)
            --it->second;
        ++it;
    }
    Q_EMIT panelsChanged();
    Q_EMIT changed();
}

void RunDocument::setSeed(quint64 seed)
{
    if (recipe_.seed == seed)
        return;
    recipe_.seed = seed;
    Q_EMIT changed();
}

void RunDocument::setBatch(int batch)
{
    if (recipe_.batch == batch)
        return;
    recipe_.batch = batch;
    Q_EMIT changed();
}

void RunDocument::setPacing(Pacing pacing)
{
    if (recipe_.pacing == pacing)
        return;
    recipe_.pacing = pacing; // how panels advance together, not what they compute: nothing is pending
    Q_EMIT changed();
}

void RunDocument::setFollowedSample(int sample)
{
    sample = std::max(-1, sample);
    if (sample == followed_)
        return;
    followed_ = sample;
    Q_EMIT followedSampleChanged(sample);
}

QString RunDocument::recipeText() const
{
    // Core's recipe text anchored at the root: every path is kept whole.
    RunSetRecipe r = recipe_;
    if (model_)
        r.model = model_->path.toStdString();
    if (r.model.empty())
        return {};
    return QString::fromStdString(run_recipe_text(r, "/settings.run.json"));
}

bool RunDocument::restoreRecipeText(const QString& text)
{
    try {
        setRecipe(parse_run_recipe(text.toStdString(), "/settings.run.json"));
        return true;
    } catch (const std::exception&) {
        return false; // settings of an older version, or edited by hand
    }
}

void RunDocument::setRecipe(RunSetRecipe r)
{
    if (r.panels.empty() || int(r.panels.size()) > kMaxPanels)
        throw InputError("a recipe here has 1.." + std::to_string(kMaxPanels) + " panels, not " +
                         std::to_string(r.panels.size()));
    abandon();
    // A panel's own card is loaded again once the window's model is here.
    std::vector<fs::path> cards;
    for (auto& p : r.panels)
        cards.push_back(std::exchange(p.model, {}));
    recipe_ = std::move(r);
    computed_.assign(recipe_.panels.size(), {});
    Q_EMIT panelsChanged();
    Q_EMIT changed();
    const auto loadCards = [this, cards] {
        for (int i = 0; i < std::min(int(cards.size()), panelCount()); ++i)
            if (!cards[std::size_t(i)].empty() && fs::is_regular_file(cards[std::size_t(i)]))
                setPanelCard(i, QString::fromStdString(cards[std::size_t(i)].string()));
    };
    if (model_ && !loading() && cardKey(model_->path.toStdString()) == cardKey(recipe_.model))
        loadCards();
    else
        connect(this, &RunDocument::modelReady, this, loadCards, Qt::SingleShotConnection);
}

// ------------------------------------------------------------------ models

void RunDocument::loadModel(const QString& path)
{
    abandon();
    const quint64 token = loadToken_ = ++nextToken_;
    queueLoad(token, path);
}

void RunDocument::queueLoad(quint64 token, const QString& path)
{
    loadPaths_[token] = path; // queued again on a new worker if this one is given up on
    QMetaObject::invokeMethod(worker_, [w = worker_, token, path] { w->loadModel(token, path); }, Qt::QueuedConnection);
}

quint64 RunDocument::setPanelCard(int i, const QString& path)
{
    if (i < 0 || i >= panelCount())
        return 0;
    for (auto it = panelLoads_.begin(); it != panelLoads_.end();)
        it = it->second == i ? panelLoads_.erase(it) : std::next(it); // newest wins
    if (path.isEmpty() || (model_ && cardKey(path.toStdString()) == cardKey(model_->path.toStdString()))) {
        setPanelModel(i, nullptr);
        return 0;
    }
    const quint64 token = ++nextToken_;
    panelLoads_[token] = i;
    queueLoad(token, path);
    return token;
}

void RunDocument::setPanelModel(int i, LoadedModelPtr model)
{
    if (i < 0 || i >= panelCount())
        return;
    QString refusal;
    if (model && model_ && model->card().data_shape != model_->card().data_shape) {
        // make_run_set's rule: a panel's card has the top-level card's data shape.
        refusal = tr("Panel %1 cannot use %2: its data shape is %3, the window's model (%4) has %5; a panel's card "
                     "must have the same data shape.")
                      .arg(i + 1)
                      .arg(QDir::toNativeSeparators(model->path), shapeText(model->card().data_shape),
                           QString::fromStdString(model_->card().name), shapeText(model_->card().data_shape));
        model = nullptr;
    }
    PanelRecipe& p = recipe_.panels[std::size_t(i)];
    if (model) {
        models_[cardKey(model->path.toStdString())] = model;
        p.model = cardKey(model->path.toStdString());
    } else {
        p.model.clear();
    }
    if (!refusal.isEmpty())
        Q_EMIT error(refusal);
    Q_EMIT panelModelChanged(i, refusal);
    Q_EMIT changed();
    if (runWhenCardsLoaded_ && panelLoads_.empty()) {
        runWhenCardsLoaded_ = false;
        if (refusal.isEmpty())
            run(); // Run was pressed while this card was loading
    }
}

NoiseAxis RunDocument::noiseAxis() const
{
    std::vector<std::shared_ptr<const NoiseSchedule>> schedules;
    const auto add = [&](const LoadedModelPtr& m) {
        if (m && m->model) // aliasing: the schedule lives as long as its model
            schedules.push_back(std::shared_ptr<const NoiseSchedule>(m, &m->model->schedule()));
    };
    for (int i = 0; i < panelCount(); ++i) // the panels' cards, as lockstep pacing sees them
        add(panelModel(i));
    if (schedules.empty())
        add(model_);
    return NoiseAxis::choose(schedules);
}

LoadedModelPtr RunDocument::panelModel(int i) const
{
    const PanelRecipe& p = recipe_.panels.at(std::size_t(i));
    if (!p.model.empty())
        if (auto it = models_.find(p.model); it != models_.end())
            return it->second;
    return model_;
}

void RunDocument::onModelLoaded(quint64 token, LoadedModelPtr model)
{
    loadPaths_.erase(token);
    if (auto it = panelLoads_.find(token); it != panelLoads_.end()) {
        const int i = it->second;
        panelLoads_.erase(it);
        setPanelModel(i, std::move(model));
        return;
    }
    if (token != loadToken_)
        return; // a newer load was asked for
    loadToken_ = 0;
    setModel(std::move(model));
}

void RunDocument::onModelFailed(quint64 token, const QString& path, const QString& message)
{
    loadPaths_.erase(token);
    if (auto it = panelLoads_.find(token); it != panelLoads_.end()) {
        const int i = it->second;
        panelLoads_.erase(it);
        runWhenCardsLoaded_ = false; // the card failed (one message): the user decides again
        reportLoadFailure(i, path, message);
        return;
    }
    if (token != loadToken_)
        return;
    loadToken_ = 0;
    reportLoadFailure(-1, path, message);
}

void RunDocument::reportLoadFailure(int panel, const QString& path, const QString& message)
{
    if (panel < 0) {
        Q_EMIT modelFailed(path, withoutPath(message, path));
        return;
    }
    const QString m = tr("Panel %1 cannot use %2: %3").arg(panel + 1).arg(QDir::toNativeSeparators(path),
                                                                           withoutPath(message, path));
    Q_EMIT error(m);
    Q_EMIT panelModelChanged(panel, m);
}

void RunDocument::declineCode(int panel, const QString& path, const QString& module)
{
    reportLoadFailure(panel, path,
                      tr("not opened: its TorchScript module %1 is a program and was not trusted")
                          .arg(QDir::toNativeSeparators(module)));
}

void RunDocument::onModelUntrusted(quint64 token, const QString& path, const QString& module,
                                   const QString& fingerprint)
{
    loadPaths_.erase(token);
    int panel = -1;
    if (auto it = panelLoads_.find(token); it != panelLoads_.end()) {
        panel = it->second;
        panelLoads_.erase(it);
        runWhenCardsLoaded_ = false; // the user answers first, then decides again
    } else if (token != loadToken_) {
        return; // a newer load was asked for
    } else {
        loadToken_ = 0;
    }
    Q_EMIT untrustedCode(panel, path, module, fingerprint);
}

void RunDocument::setModel(LoadedModelPtr model, bool replay)
{
    if (!model)
        return;
    abandon();
    replay_ = replay;
    const fs::path key = cardKey(model->path.toStdString());
    const bool other = recipe_.model.empty() || cardKey(recipe_.model) != key;
    model_ = model;
    models_[key] = model;
    recipe_.model = key;
    if (other) {
        recipe_.batch = model->card().is_2d_points() ? 512 : 16;
        applyModelDefaults(model->card());
    }
    // Another model: what was shown was computed by a different one.
    computed_.assign(recipe_.panels.size(), {});
    unsaved_ = false;
    Q_EMIT modelReady();
    Q_EMIT changed();
}

void RunDocument::applyModelDefaults(const ModelCard& card)
{
    for (PanelRecipe& p : recipe_.panels) {
        // A clip radius is in the old model's data units (R = 1 for images in
        // [-1, 1]); on another model it returns to that model's default.
        p.sampler.clip_x0.reset();
        // Classes belong to a conditional card: on a card without them (or with fewer) the
        // panel samples unconditionally again.
        const ModelCard* own = &card;
        if (!p.model.empty())
            if (auto it = models_.find(p.model); it != models_.end())
                own = &it->second->card();
        for (int k : p.sampler.guidance.classes)
            if (k >= static_cast<int>(own->classes.size())) {
                p.sampler.guidance = {};
                break;
            }
        if (p.sampler.steps > card.schedule.train_steps)
            p.sampler.steps = 0; // the sampler's default for this T
        // A panel's own card must have the new card's data shape.
        if (!p.model.empty()) {
            auto it = models_.find(p.model);
            if (it == models_.end() || it->second->card().data_shape != card.data_shape)
                p.model.clear();
        }
    }
}

// ------------------------------------------------------------------ computed state and labels

std::shared_ptr<const Trajectory> RunDocument::trajectory(int i) const { return computed_.at(std::size_t(i)).store; }
const std::optional<RunRecipe>& RunDocument::computed(int i) const { return computed_.at(std::size_t(i)).recipe; }
bool RunDocument::computedWithMetrics(int i) const { return computed_.at(std::size_t(i)).metrics; }
QString RunDocument::endedNote(int i) const { return computed_.at(std::size_t(i)).ended; }

fs::path RunDocument::panelCard(int i) const
{
    const PanelRecipe& p = recipe_.panels.at(std::size_t(i));
    return p.model.empty() ? recipe_.model : p.model;
}

bool RunDocument::requestMatches(int i) const
{
    const Computed& c = computed_.at(std::size_t(i));
    if (!c.recipe || !c.request)
        return false;
    const LoadedModelPtr m = panelModel(i);
    return c.request->sampler == recipe_.panels[std::size_t(i)].sampler && c.seed == recipe_.seed &&
           c.batch == batch() && cardKey(c.recipe->card) == cardKey(panelCard(i)) &&
           (!m || m->fingerprint == c.recipe->fingerprint);
}

bool RunDocument::isPending(int i) const
{
    const Computed& c = computed_.at(std::size_t(i));
    return !requestMatches(i) || !c.store->finished() || (metrics_ && !c.metrics);
}

bool RunDocument::panelsDifferInModel() const
{
    std::optional<fs::path> first;
    for (int i = 0; i < panelCount(); ++i) {
        const auto& c = computed_[std::size_t(i)].recipe;
        const fs::path card = cardKey(c ? c->card : panelCard(i));
        if (first && *first != card)
            return true;
        first = card;
    }
    return false;
}

SamplerConfig RunDocument::shownConfig(int i) const
{
    const auto& c = computed(i);
    return c ? c->sampler : panelConfig(i);
}

double RunDocument::straightness(int i) const
{
    return i >= 0 && i < panelCount() ? computed_[std::size_t(i)].straightness : std::numeric_limits<double>::quiet_NaN();
}

QString RunDocument::describe(int i) const
{
    const auto& c = computed(i);
    const LoadedModelPtr m = panelModel(i);
    const int T = m ? m->trainSteps() : 1000;
    const ProcessKind process = m ? m->model->schedule().process() : ProcessKind::Vp;
    QString text;
    try {
        // Guidance first, with the card's class names: it is what tells such panels apart.
        SamplerConfig config = c ? c->sampler : panelConfig(i);
        const Guidance guidance = config.guidance;
        config.guidance = {};
        text = QString::fromStdString(noisetrail::describe(config, T, process));
        if (!guidance.classes.empty())
            text = QString::fromStdString(describe_guidance(guidance, m ? m->card().classes : std::vector<std::string>{})) +
                   QStringLiteral(" \u00b7 ") + text;
    } catch (const std::exception& e) {
        text = QString::fromStdString(e.what());
    }
    return text + modelSuffix(i);
}

QString RunDocument::shortName(int i) const
{
    const LoadedModelPtr m = panelModel(i);
    const int T = m ? m->trainSteps() : 1000;
    return PlotsWidget::shortName(shownConfig(i), T) + modelSuffix(i);
}

QString RunDocument::modelSuffix(int i) const
{
    // Labels name a panel's model only when the panels differ in model.
    if (!panelsDifferInModel())
        return {};
    const auto& c = computed(i);
    const fs::path card = c ? c->card : panelCard(i);
    const auto it = models_.find(cardKey(card));
    return QStringLiteral(" \u00b7 %1")
        .arg(it != models_.end() ? QString::fromStdString(it->second->card().name)
                                 : QString::fromStdString(card.stem().string()));
}

QString RunDocument::pendingNote(int i) const
{
    const Computed& c = computed_.at(std::size_t(i));
    if (!c.recipe)
        return tr("not run yet");
    if (!isPending(i))
        return {};
    const LoadedModelPtr m = panelModel(i);
    QStringList parts;
    const SamplerConfig& was = c.recipe->sampler;
    SamplerConfig now = panelConfig(i);
    if (m) {
        try {
            now = resolved(now, m->card());
        } catch (const std::exception&) {
        }
    }
    if (now.sampler != was.sampler) {
        try {
            parts << QString::fromStdString(sampler_info(now.sampler).title);
        } catch (const std::exception&) {
            parts << QString::fromStdString(now.sampler);
        }
    }
    if (now.steps != was.steps)
        parts << tr("%n step(s)", nullptr, now.steps);
    if (now.eta != was.eta)
        parts << QStringLiteral("\u03b7 %1").arg(now.eta);
    if (now.spacing != was.spacing)
        parts << (now.spacing ? QString::fromStdString(to_string(*now.spacing)) : tr("default spacing"));
    if (now.variance != was.variance)
        parts << QString::fromStdString(to_string(now.variance));
    if (now.clip_x0 != was.clip_x0)
        parts << (now.clip_x0.value_or(0) > 0 ? tr("clip %1").arg(*now.clip_x0) : tr("no clip"));
    if (!(now.guidance == was.guidance))
        parts << (now.guidance.classes.empty() ? tr("unconditional")
                                               : QString::fromStdString(describe_guidance(now.guidance)));
    if (cardKey(panelCard(i)) != cardKey(c.recipe->card))
        parts << (m ? QString::fromStdString(m->card().name) : tr("another model"));
    if (c.seed != recipe_.seed)
        parts << tr("seed %1").arg(recipe_.seed);
    if (c.batch != batch())
        parts << tr("batch %1").arg(batch());
    if (parts.isEmpty() && !c.store->finished())
        parts << (c.ended.isEmpty() ? tr("unfinished") : c.ended);
    if (parts.isEmpty() && metrics_ && !c.metrics)
        parts << tr("metrics");
    return parts.join(QStringLiteral(", "));
}

QString RunDocument::title(int i) const
{
    const QString note = pendingNote(i);
    if (running_ && std::find(runPanels_.begin(), runPanels_.end(), i) != runPanels_.end() && computed(i) &&
        requestMatches(i))
        return describe(i); // being computed now
    if (!computed(i))
        return tr("%1 (not run yet: press Run)").arg(describe(i));
    if (note.isEmpty())
        return describe(i);
    return tr("%1 \u2014 pending: %2, press Run").arg(describe(i), note);
}

// ------------------------------------------------------------------ runs

RunDocument::RunStart RunDocument::run()
{
    if (!model_ || loading())
        return RunStart::Refused;
    if (isReplay()) {
        Q_EMIT error(tr("The model card %1 is not here (this run was reopened from its saved frames). "
                        "Open the card (File > Open Model Card) to run again.")
                         .arg(QDir::toNativeSeparators(model_->path)));
        return RunStart::Refused;
    }
    if (!panelLoads_.empty()) {
        // A panel's card is on its way: running now would sample that panel from the
        // window's card. Run once it is here.
        runWhenCardsLoaded_ = true;
        return RunStart::WaitingForCard;
    }
    std::vector<int> pending;
    for (int i = 0; i < panelCount(); ++i)
        if (isPending(i))
            pending.push_back(i);
    if (pending.empty()) {
        if (running_) {
            // The run in flight has just completed every panel, its runFinished not yet here.
            abandon();
            unsaved_ = true;
        }
        return RunStart::NothingToDo;
    }
    // Core's validation of each pending panel now, so the message comes before anything
    // changes (make_run_set applies the same rule on the worker).
    for (int i : pending) {
        try {
            validate(panelConfig(i), panelModel(i)->trainSteps());
        } catch (const std::exception& e) {
            Q_EMIT error(tr("Panel %1 cannot run: %2").arg(i + 1).arg(QString::fromStdString(e.what())));
            return RunStart::Refused;
        }
    }
    RunJob job;
    job.recipe = recipe_;
    job.recipe.batch = batch();
    job.recipe.panels.clear();
    for (int i : pending) {
        job.recipe.panels.push_back(recipe_.panels[std::size_t(i)]);
        job.panels.push_back(i);
        Computed& c = computed_[std::size_t(i)];
        c.ended.clear();
    }
    for (const auto& [key, m] : models_)
        job.models[key] = m->model;
    // core's one thread policy: the free cores but one, the GUI thread keeps a
    // core while it animates (threads.hpp). It stays set on the worker thread,
    // so it is always given.
    job.threads = default_threads(model_->card(), ThreadUse::Interactive);
    job.metrics = metrics_;
    job.mixture = model_->mixture;
    job.classifier = model_->classifier;
    runPanels_ = pending;
    running_ = true;
    stopping_ = false;
    // Newest run wins: the job tracker cancels everything older and drops what it
    // still delivers, so the news is always this run's.
    job_ = job;
    generation_ = worker_->startRun(std::move(job), this, runNews());
    armStuckCheck(); // queued behind a cancelled job that may never end
    Q_EMIT runStarted();
    Q_EMIT changed();
    return RunStart::Started;
}

RunNews RunDocument::runNews()
{
    RunNews news;
    news.prepared = [this](const PreparedPanels& p) { onPrepared(p); };
    news.progress = [this] { Q_EMIT progress(); };
    news.measured = [this](int panel, double s) {
        if (panel >= 0 && panel < panelCount())
            computed_[std::size_t(panel)].straightness = s;
    };
    news.finished = [this](bool cancelled) { onRunFinished(cancelled); };
    news.failed = [this](int panel, const QString& message) { onRunFailed(panel, message); };
    return news;
}

void RunDocument::onPrepared(const PreparedPanels& panels)
{
    for (const PreparedPanel& p : panels) {
        if (p.panel < 0 || p.panel >= panelCount())
            continue;
        Computed& c = computed_[std::size_t(p.panel)];
        c.store = p.store;
        c.recipe = p.recipe;
        c.request = recipe_.panels[std::size_t(p.panel)];
        c.seed = recipe_.seed;
        c.batch = batch();
        c.topModel = recipe_.model;
        c.metrics = metrics_;
        c.ended.clear();
        c.straightness = std::numeric_limits<double>::quiet_NaN();
    }
    Q_EMIT changed();
    Q_EMIT progress(); // x_T in every recomputed panel, now
}

void RunDocument::stop()
{
    if (!running_)
        return;
    worker_->jobs().cancelUpTo(generation_);
    stopping_ = true;
    armStuckCheck();
    Q_EMIT changed(); // "Stopping..." until the run's end arrives
}

void RunDocument::armStuckCheck()
{
    // A step ends within a model call; one that has not returned after the grace
    // (a TorchScript module that loops) would keep "Stopping..." and every job
    // queued behind it waiting for ever.
    if (worker_->isBusy())
        stuckCheck_->start();
}

void RunDocument::giveUpOnStuckWorker()
{
    // The call cannot be interrupted: its thread is left to it (its loop ends when the
    // call returns; whatever the job still delivers is stale), and everything queued
    // behind it goes to a new worker.
    const quint64 stuck = worker_->runningJob();
    worker_->jobs().start();
    disconnect(worker_, nullptr, this, nullptr);
    QThread* old = thread_;
    old->quit();
    stuckThreads_.push_back(old);
    connect(old, &QThread::finished, this, [this, old] {
        stuckThreads_.erase(std::remove(stuckThreads_.begin(), stuckThreads_.end(), old), stuckThreads_.end());
        old->deleteLater();
    });
    startWorker();
    for (const auto& [token, path] : std::map(loadPaths_))
        queueLoad(token, path);
    const QString seconds = QString::number(kStopGraceMs / 1000.0);
    if (running_ && (stopping_ || generation_ == stuck)) {
        // Stop was pressed, or the run itself is the stuck job: it ends here, as stopped.
        running_ = false;
        stopping_ = false;
        generation_ = 0;
        job_.reset();
        for (int i : runPanels_)
            if (!computed_[std::size_t(i)].store->finished())
                computed_[std::size_t(i)].ended = tr("stopped (the model did not respond)");
        runPanels_.clear();
        Q_EMIT changed();
        Q_EMIT runFinished(true);
        Q_EMIT error(tr("The model did not respond to Stop within %1 s: its call still runs, left on a thread of its "
                        "own. The steps computed before are kept and can be saved (File > Save Run); Run starts "
                        "on a new worker.")
                         .arg(seconds));
        return;
    }
    if (running_ && job_) // queued behind the stuck job: it runs on the new worker now
        generation_ = worker_->startRun(*job_, this, runNews());
    Q_EMIT error(tr("The model did not respond within %1 s when its run was cancelled: its call still runs, left "
                    "on a thread of its own; the window goes on with a new worker.")
                     .arg(seconds));
}

void RunDocument::abandon()
{
    // The panels are about to change under the run: cancel it and make whatever
    // it still reports stale at once (a Stop instead keeps what was computed).
    runWhenCardsLoaded_ = false;
    if (!running_)
        return;
    // A new generation with no job: the abandoned run is cancelled and whatever
    // it still delivers is stale (dropped by the tracker).
    worker_->jobs().start();
    generation_ = 0;
    running_ = false;
    stopping_ = false;
    job_.reset();
    runPanels_.clear();
    armStuckCheck(); // whatever is queued next must not wait for ever behind a stuck call
}

void RunDocument::onRunFinished(bool cancelled)
{
    running_ = false;
    stopping_ = false;
    job_.reset();
    for (int i : runPanels_)
        if (cancelled && !computed_[std::size_t(i)].store->finished())
            computed_[std::size_t(i)].ended = tr("stopped");
    if (!cancelled)
        unsaved_ = true; // File > Save Run keeps it; closing or opening another asks first
    runPanels_.clear();
    Q_EMIT changed();
    Q_EMIT runFinished(cancelled);
}

void RunDocument::onRunFailed(int panel, const QString& message)
{
    running_ = false;
    stopping_ = false;
    job_.reset();
    for (int i : runPanels_)
        computed_[std::size_t(i)].ended = i == panel ? tr("failed") : tr("stopped: another panel failed");
    runPanels_.clear();
    Q_EMIT changed();
    Q_EMIT runFailed(panel, message);
}

// ------------------------------------------------------------------ the window's words for the run

std::pair<int, int> RunDocument::runSteps() const
{
    int done = 0, total = 0;
    for (int i : runPanels_) {
        const auto& store = computed_[std::size_t(i)].store;
        if (!store)
            continue;
        done += store->size();
        total += store->plannedSteps();
    }
    return {done, total};
}

QString RunDocument::windowTitle() const
{
    // The share of the run done leads the title while it runs (task bars show it;
    // scripts/screenshots.sh waits on it for its mid-run shots).
    const QString name = model_ ? tr("%1 \u2014 NoiseTrail").arg(QString::fromStdString(model_->card().name))
                                : tr("NoiseTrail");
    const auto [done, total] = runSteps();
    if (!running_ || total <= 0)
        return name;
    return tr("%1% \u00b7 %2").arg(100 * done / total).arg(name);
}

QStringList RunDocument::runPanelSteps() const
{
    QStringList parts;
    for (int i : runPanels_)
        if (const auto& store = computed_[std::size_t(i)].store)
            parts << tr("Panel %1: step %2 of %3").arg(i + 1).arg(store->size()).arg(store->plannedSteps());
    return parts;
}

QString RunDocument::runStatus(double seconds, const QString& pacing) const
{
    if (isStopping())
        return tr("Stopping: the model finishes its current call...");
    const auto [done, total] = runSteps();
    if (done == 0)
        return tr("Starting: x_T is shown, the first step is being computed...");
    const auto formatSeconds = [](double s) {
        return s < 60 ? tr("%1 s").arg(s, 0, 'f', s < 10 ? 1 : 0) : tr("%1 min %2 s").arg(int(s) / 60).arg(int(s) % 60);
    };
    const double rate = done / std::max(1e-3, seconds);
    const QString eta = done > 2 ? formatSeconds((total - done) / rate) : tr("...");
    return tr("%1 \u00b7 %2 \u00b7 %3 steps/s \u00b7 %4 left")
        .arg(runPanelSteps().join(QStringLiteral(" \u00b7 ")))
        .arg(pacing.toLower())
        .arg(rate, 0, 'f', rate < 10 ? 1 : 0)
        .arg(eta);
}

// ------------------------------------------------------------------ sessions

Session RunDocument::session() const
{
    if (!model_)
        throw InputError("nothing to save: no model is open");
    std::vector<int> ran;
    for (int i = 0; i < panelCount(); ++i)
        if (computed(i) && trajectory(i)->hasStart())
            ran.push_back(i);
    if (ran.empty())
        throw InputError("nothing to save: press Run first");
    // Everything from the computed recipes: what the stores hold, not what the controls say now.
    const ModelCard& card = model_->card();
    const RunRecipe& first = *computed(ran[0]);
    Session s;
    s.recipe.model = model_->path.toStdString();
    s.recipe.seed = first.seed;
    s.recipe.batch = first.batch;
    s.recipe.pacing = recipe_.pacing;
    s.model_name = card.name;
    s.card_json = card.json_text;
    s.train_steps = model_->trainSteps();
    s.batch = first.batch;
    s.data_shape = card.data_shape;
    s.x_T = first.x_T;
    for (int i : ran) {
        const RunRecipe& r = *computed(i);
        PanelRecipe pr;
        pr.sampler = r.sampler;
        if (cardKey(r.card) != cardKey(s.recipe.model))
            pr.model = r.card;
        s.recipe.panels.push_back(pr);
        const LoadedModelPtr m = panelModel(i);
        const int T = m ? m->trainSteps() : s.train_steps;
        const ProcessKind process = m ? m->model->schedule().process() : ProcessKind::Vp;
        s.panels.push_back({r.fingerprint, noisetrail::describe(r.sampler, T, process), trajectory(i)});
    }
    return s;
}

void RunDocument::reportDamage(int panel, const QString& message)
{
    if (panel < 0 || panel >= int(computed_.size()) || !computed_[std::size_t(panel)].damage.isEmpty())
        return; // said once per store: every redraw of a damaged step finds it again
    computed_[std::size_t(panel)].damage = message;
    Q_EMIT error(tr("Panel %1 cannot show this step: %2. The saved run is damaged; its other steps still show, "
                    "and Run computes the panel again.")
                     .arg(panel + 1)
                     .arg(message));
}

QString RunDocument::damage(int panel) const
{
    return panel >= 0 && panel < int(computed_.size()) ? computed_[std::size_t(panel)].damage : QString();
}

void RunDocument::restore(const Session& s, QStringList* missing)
{
    abandon();
    const int n = std::min(int(s.panels.size()), kMaxPanels);
    const bool countChanged = n != panelCount();
    recipe_.seed = s.recipe.seed;
    recipe_.batch = s.batch;
    recipe_.pacing = s.recipe.pacing;
    recipe_.panels.assign(s.recipe.panels.begin(), s.recipe.panels.begin() + n);
    computed_.assign(std::size_t(n), {});
    std::vector<std::pair<int, fs::path>> cards;
    for (int i = 0; i < n; ++i) {
        PanelRecipe& pr = recipe_.panels[std::size_t(i)];
        Computed& c = computed_[std::size_t(i)];
        RunRecipe r;
        r.card = cardKey(pr.model.empty() ? s.recipe.model : pr.model);
        r.fingerprint = s.panels[std::size_t(i)].fingerprint;
        r.sampler = pr.sampler;
        r.seed = s.recipe.seed;
        r.batch = s.batch;
        r.x_T = s.x_T;
        c.recipe = r;
        c.store = s.panels[std::size_t(i)].trajectory;
        c.request = pr;
        c.seed = s.recipe.seed;
        c.batch = s.batch;
        c.topModel = recipe_.model;
        // Measured when any step holds metrics (a stopped run may hold a few).
        for (int k = 0; k < c.store->size() && !c.metrics; ++k)
            c.metrics = hasValues(c.store->info(k).metrics.values);
        if (!pr.model.empty()) {
            cards.emplace_back(i, pr.model);
            pr.model = cardKey(pr.model);
            c.request = pr;
            if (!models_.count(pr.model)) {
                // The card is loaded again for the next Run; until then the panel shows
                // its saved frames, labelled by what they were computed from.
                pr.model.clear();
            }
        }
    }
    unsaved_ = false;
    if (countChanged)
        Q_EMIT panelsChanged();
    for (const auto& [i, card] : cards) {
        if (models_.count(cardKey(card)) || isReplay())
            continue;
        if (!fs::is_regular_file(card)) {
            if (missing)
                *missing << tr("panel %1: %2").arg(i + 1).arg(QDir::toNativeSeparators(QString::fromStdString(card.string())));
            continue;
        }
        setPanelCard(i, QString::fromStdString(card.string()));
    }
    Q_EMIT changed();
}

} // namespace noisetrail::ui
