#include "sample_dialog.hpp"

#include "render.hpp"
#include "noisetrail/trajectory.hpp"

#include <QDialogButtonBox>
#include <QLabel>
#include <QPainter>
#include <QVBoxLayout>

namespace noisetrail::ui {

namespace {
struct Film {
    QImage big, bigX0;
    QString bigCaption;
    std::vector<QImage> xt, x0;
    std::vector<QString> captions;
};

class FilmWidget : public QWidget {
public:
    explicit FilmWidget(Film film) : film_(std::move(film)) { setMinimumSize(720, 420); }

protected:
    void paintEvent(QPaintEvent*) override
    {
        QPainter p(this);
        p.fillRect(rect(), palette().window());
        p.setRenderHint(QPainter::SmoothPixmapTransform, false);
        const int n = int(film_.xt.size());
        const int bigSide = std::min(height() / 2 - 24, width() / 3);
        p.setPen(palette().color(QPalette::WindowText));
        p.drawText(QRect(0, 0, bigSide, 18), Qt::AlignLeft, tr("x_t ") + film_.bigCaption);
        p.drawImage(QRect(0, 20, bigSide, bigSide), film_.big);
        p.drawText(QRect(0, bigSide + 24, bigSide, 18), Qt::AlignLeft, tr("x0_hat"));
        p.drawImage(QRect(0, bigSide + 44, bigSide, bigSide), film_.bigX0);
        const int x0 = bigSide + 16;
        const int cols = (n + 1) / 2;
        const int side = std::max(8, std::min((width() - x0) / std::max(1, cols) - 4, (height() - 80) / 4 - 16));
        for (int i = 0; i < n; ++i) {
            const int c = i % cols, band = i / cols;
            const int x = x0 + c * (side + 4);
            const int y = band * (2 * side + 44);
            p.drawText(QRect(x, y, side + 4, 16), Qt::AlignLeft, film_.captions[i]);
            p.drawImage(QRect(x, y + 16, side, side), film_.xt[i]);
            p.drawImage(QRect(x, y + 20 + side, side, side), film_.x0[i]);
        }
        p.drawText(QRect(x0, height() - 18, width() - x0, 18), Qt::AlignLeft,
                   tr("Filmstrip: x_t (upper) and x0_hat (lower) at %1 noise levels").arg(n));
    }

private:
    Film film_;
};
} // namespace

SampleDialog::SampleDialog(const Trajectory& traj, int sample, int step, const QString& title, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Sample %1 \u2014 %2").arg(sample + 1).arg(title));
    setObjectName("sampleDialog");
    Film film;
    const auto& shape = traj.shape();
    const std::vector<std::int64_t> ds(shape.begin() + 1, shape.end());
    std::vector<float> v;
    const int last = traj.finished() ? traj.size() : traj.size() - 1;
    step = std::clamp(step, 0, std::max(0, last));
    traj.decode(step, Field::Xt, v);
    film.big = sampleImage(v, ds, sample, Field::Xt, {-1, 1});
    traj.decode(std::min(step, traj.size() - 1), Field::X0Hat, v);
    film.bigX0 = sampleImage(v, ds, sample, Field::X0Hat, {-1, 1});
    film.bigCaption = step >= traj.size() ? tr("(final)") : tr("(t = %1)").arg(traj.info(step).plan.t);
    // A dozen levels evenly spread over the stored steps, the final samples last.
    const int n = std::min(kFilmFrames, std::max(1, last + 1));
    for (int i = 0; i < n; ++i) {
        const int k = n == 1 ? last : int(std::lround(double(i) * last / (n - 1)));
        traj.decode(k, Field::Xt, v);
        film.xt.push_back(sampleImage(v, ds, sample, Field::Xt, {-1, 1}));
        traj.decode(std::min(k, traj.size() - 1), Field::X0Hat, v);
        film.x0.push_back(sampleImage(v, ds, sample, Field::X0Hat, {-1, 1}));
        film.captions.push_back(k >= traj.size() ? tr("x_0") : tr("t=%1").arg(traj.info(k).plan.t));
    }
    auto* col = new QVBoxLayout(this);
    col->addWidget(new FilmWidget(std::move(film)), 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    col->addWidget(buttons);
    resize(900, 520);
}

} // namespace noisetrail::ui
