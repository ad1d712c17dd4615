#include "sample_dialog.hpp"

#include "noisetrail/trajectory.hpp"
#include "noise_axis.hpp"
#include "render.hpp"
#include "timeline_bar.hpp"
#include "timeline_mapping.hpp"

#include <QAction>
#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QKeyEvent>
#include <QScreen>
#include <QLabel>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace noisetrail::ui {

namespace {
struct Film {
    QString title;
    QImage big, bigX0;
    QString bigCaption;
    std::vector<QImage> xt, x0;
    std::vector<QString> captions;
};

/// The film of one sample of a trajectory with `step` large (clamped to what is stored).
Film makeFilm(const Trajectory& traj, int sample, int step, const QString& title)
{
    const auto level = [&](int k) { return levelText(traj.info(k).plan); }; // "t = 500" (VP), "s = 0.500" (flow)
    Film film;
    film.title = title;
    if (!traj.hasStart() || sample >= traj.batch())
        return film;
    const auto& shape = traj.shape();
    const std::vector<std::int64_t> ds(shape.begin() + 1, shape.end());
    std::vector<float> v;
    const int last = traj.finished() ? traj.size() : std::max(0, traj.size() - 1);
    step = std::clamp(step, 0, last);
    traj.decode(step, Field::Xt, v);
    film.big = sampleImage(v, ds, sample, Field::Xt, {-1, 1});
    if (traj.size() > 0) {
        traj.decode(std::min(step, traj.size() - 1), Field::X0Hat, v);
        film.bigX0 = sampleImage(v, ds, sample, Field::X0Hat, {-1, 1});
    }
    film.bigCaption = step >= traj.size() ? (traj.finished() ? SampleDialog::tr("final") : SampleDialog::tr("x_T"))
                                          : level(step);
    if (traj.size() == 0)
        return film;
    // A dozen levels evenly spread over the stored steps, the final samples last.
    const int n = std::min(SampleDialog::kFilmFrames, std::max(1, last + 1));
    for (int i = 0; i < n; ++i) {
        const int k = n == 1 ? last : int(std::lround(double(i) * last / (n - 1)));
        traj.decode(k, Field::Xt, v);
        film.xt.push_back(sampleImage(v, ds, sample, Field::Xt, {-1, 1}));
        traj.decode(std::min(k, traj.size() - 1), Field::X0Hat, v);
        film.x0.push_back(sampleImage(v, ds, sample, Field::X0Hat, {-1, 1}));
        film.captions.push_back(k >= traj.size() ? SampleDialog::tr("x_0") : level(k).remove(QLatin1Char(' ')));
    }
    return film;
}
} // namespace

class FilmWidget : public QWidget {
public:
    FilmWidget() { setMinimumSize(600, 260); } // fits above the timeline of a 768 px screen
    void setFilms(std::vector<Film> films)
    {
        films_ = std::move(films);
        update();
    }
    const std::vector<Film>& films() const { return films_; }

protected:
    void paintEvent(QPaintEvent*) override
    {
        // One band per panel: its title, x_t and x0_hat large at the cursor, then
        // the filmstrip (x_t over x0_hat) at a dozen noise levels.
        QPainter p(this);
        p.fillRect(rect(), palette().window());
        p.setRenderHint(QPainter::SmoothPixmapTransform, false);
        p.setPen(palette().color(QPalette::WindowText));
        const int rows = std::max(1, int(films_.size()));
        const int bandH = height() / rows;
        const int line = fontMetrics().height();
        for (int r = 0; r < int(films_.size()); ++r) {
            const Film& f = films_[std::size_t(r)];
            const int y0 = r * bandH;
            p.drawText(QRect(0, y0, width(), line), Qt::AlignLeft, f.title);
            const int bigSide = std::max(16, std::min(bandH - 2 * line - 8, width() / 5));
            const int yImg = y0 + line + 2;
            p.drawText(QRect(0, yImg, bigSide, line), Qt::AlignLeft, tr("x_t, %1").arg(f.bigCaption));
            p.drawImage(QRect(0, yImg + line, bigSide, bigSide), f.big);
            p.drawText(QRect(bigSide + 6, yImg, bigSide, line), Qt::AlignLeft, tr("x0_hat"));
            if (!f.bigX0.isNull())
                p.drawImage(QRect(bigSide + 6, yImg + line, bigSide, bigSide), f.bigX0);
            const int x0 = 2 * bigSide + 20;
            const int n = int(f.xt.size());
            if (n == 0)
                continue;
            const int side = std::max(8, std::min((width() - x0) / n - 4, (bandH - 2 * line - 12) / 2 - 2));
            for (int i = 0; i < n; ++i) {
                const int x = x0 + i * (side + 4);
                p.drawText(QRect(x, yImg, side + 4, line), Qt::AlignLeft, f.captions[std::size_t(i)]);
                p.drawImage(QRect(x, yImg + line, side, side), f.xt[std::size_t(i)]);
                p.drawImage(QRect(x, yImg + line + side + 2, side, side), f.x0[std::size_t(i)]);
            }
        }
    }

private:
    std::vector<Film> films_;
};

SampleDialog::SampleDialog(const Trajectory& traj, int sample, int step, const QString& title, QWidget* parent)
    : QDialog(parent), sample_(sample)
{
    setWindowTitle(tr("Sample %1 \u2014 %2").arg(sample + 1).arg(title));
    init();
    film_->setFilms({makeFilm(traj, sample, step, title)});
    resize(900, 520);
}

SampleDialog::SampleDialog(std::vector<Source> panels, int sample, int cursorT, QWidget* parent)
    : QDialog(parent), panels_(std::move(panels)), sample_(sample), cursorT_(cursorT)
{
    setWindowTitle(tr("Sample %1 in every panel (the same x_T) \u2014 follows the timeline").arg(sample + 1));
    init();
    resize(1000, std::min(900, 260 * std::max<int>(1, int(panels_.size())) + 60));
    rebuild();
}

void SampleDialog::init()
{
    setObjectName("sampleDialog");
    auto* col = new QVBoxLayout(this);
    film_ = new FilmWidget;
    col->addWidget(film_, 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    // No focus inside: a focused button would take Space (click) and the arrows
    // (focus moves), which belong to the timeline (keyPressEvent). Esc still closes.
    for (QWidget* w : buttons->findChildren<QWidget*>())
        w->setFocusPolicy(Qt::NoFocus);
    col->addWidget(buttons);
}

namespace {
bool isTimelineKey(int key)
{
    switch (key) {
    case Qt::Key_Left:
    case Qt::Key_Right:
    case Qt::Key_PageUp:
    case Qt::Key_PageDown:
    case Qt::Key_Home:
    case Qt::Key_End:
    case Qt::Key_Space:
        return true;
    default:
        return false;
    }
}
} // namespace

void SampleDialog::keyPressEvent(QKeyEvent* e)
{
    QWidget* window = parentWidget() ? parentWidget()->window() : nullptr;
    if (!window || !isTimelineKey(e->key())) {
        QDialog::keyPressEvent(e);
        return;
    }
    // The window's own action for this key (its shortcuts are window-wide, so they
    // do not reach a dialog); else the key itself, to the window.
    const QKeySequence key(e->keyCombination());
    for (QAction* a : window->findChildren<QAction*>())
        if (a->isEnabled() && a->shortcuts().contains(key)) {
            a->trigger();
            e->accept();
            return;
        }
    QKeyEvent copy(e->type(), e->key(), e->modifiers(), e->text(), e->isAutoRepeat(), ushort(e->count()));
    QCoreApplication::sendEvent(window, &copy);
    e->accept();
}

void SampleDialog::showEvent(QShowEvent* e)
{
    QDialog::showEvent(e);
    if (placed_)
        return;
    placed_ = true;
    // Open above the window's timeline (the cursor stays visible and clickable),
    // as tall as the room there allows; the user may move it anywhere afterwards.
    QWidget* window = parentWidget() ? parentWidget()->window() : nullptr;
    const auto* timeline = window ? window->findChild<TimelineBar*>() : nullptr;
    const QScreen* screen = window ? window->screen() : this->screen();
    if (!timeline || !timeline->isVisible() || !screen)
        return;
    const QRect avail = screen->availableGeometry();
    const int limit = timeline->mapToGlobal(QPoint(0, 0)).y() - 4; // the frame's bottom stays above this
    // The frame is known once shown; before that, allow for a title bar.
    const int top = frameGeometry().height() > height() ? geometry().top() - frameGeometry().top() : 32;
    const int bottom = frameGeometry().height() > height() ? frameGeometry().bottom() - geometry().bottom() : 4;
    const int h = std::min(height(), limit - avail.top() - top - bottom);
    if (h < minimumHeight())
        return; // no room above it (a tiny window): leave the placement to the window manager
    const int w = std::min(width(), avail.width() - 8);
    const int x = std::clamp(geometry().x(), avail.left() + 4, std::max(avail.left() + 4, avail.right() - w - 4));
    setGeometry(x, std::max(avail.top() + top, limit - bottom - h), w, h);
}

void SampleDialog::showAt(int cursorT)
{
    cursorT_ = cursorT;
    rebuild();
}

void SampleDialog::setPanels(std::vector<Source> panels) { panels_ = std::move(panels); }

int SampleDialog::rowCount() const { return int(film_->films().size()); }

QString SampleDialog::rowCaption(int i) const { return film_->films().at(std::size_t(i)).bigCaption; }

void SampleDialog::rebuild()
{
    // Redrawn only when something it shows changed (refreshes come ~30 times a second).
    std::vector<std::intptr_t> key{cursorT_};
    for (const Source& s : panels_)
        key.insert(key.end(), {std::intptr_t(s.trajectory.get()), s.trajectory ? s.trajectory->size() : 0,
                               s.trajectory && s.trajectory->finished(), s.step});
    if (key == shownKey_)
        return;
    shownKey_ = std::move(key);
    std::vector<Film> films;
    for (const Source& s : panels_) {
        if (!s.trajectory)
            continue;
        const Trajectory& tr = *s.trajectory;
        int step = s.step >= 0 ? s.step
                               : TimelineMapping::stepAt(s.axisTimesteps.empty() ? tr.timesteps() : s.axisTimesteps,
                                                         cursorT_, tr.size(), tr.finished());
        if (step < 0)
            step = 0;
        try {
            films.push_back(makeFilm(tr, sample_, step, s.title));
        } catch (const InputError& e) {
            // A damaged frame of an opened session: the row says so (the panel's view, at
            // the same step, puts it in the window's banner).
            Film damaged;
            damaged.title = s.title + QStringLiteral(": ") + QString::fromUtf8(e.what());
            films.push_back(std::move(damaged));
        }
    }
    film_->setFilms(std::move(films));
}

} // namespace noisetrail::ui
