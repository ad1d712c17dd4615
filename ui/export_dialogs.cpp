#include "export_dialogs.hpp"

#include "noisetrail/errors.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>

namespace noisetrail::ui {

namespace {
QComboBox* fieldCombo(Field current, QWidget* parent)
{
    auto* c = new QComboBox(parent);
    c->setObjectName("fieldCombo");
    for (Field f : {Field::Xt, Field::X0Hat, Field::EpsHat})
        c->addItem(QString::fromStdString(to_string(f)), int(f));
    c->setCurrentIndex(int(current));
    return c;
}

QDialogButtonBox* buttons(QDialog* d, const QString& ok)
{
    auto* b = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, d);
    b->button(QDialogButtonBox::Ok)->setText(ok);
    QObject::connect(b, &QDialogButtonBox::accepted, d, &QDialog::accept);
    QObject::connect(b, &QDialogButtonBox::rejected, d, &QDialog::reject);
    return b;
}
} // namespace

AnimationExportDialog::AnimationExportDialog(Field field, int levels, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Export Animation"));
    auto* form = new QFormLayout(this);
    format_ = new QComboBox(this);
    format_->setObjectName("formatCombo");
    format_->addItem(tr("GIF (slides, web pages)"), int(AnimationFormat::Gif));
    format_->addItem(tr("MP4, H.264 (video players, long runs)"), int(AnimationFormat::Mp4));
    form->addRow(tr("Format:"), format_);
    field_ = fieldCombo(field, this);
    form->addRow(tr("Field:"), field_);
    fps_ = new QSpinBox(this);
    fps_->setRange(1, 50);
    fps_->setValue(20);
    fps_->setSuffix(tr(" fps"));
    connect(format_, &QComboBox::currentIndexChanged, this, [this] {
        fps_->setMaximum(format() == AnimationFormat::Gif ? 50 : 120); // GIF delays are centiseconds
    });
    form->addRow(tr("Frame rate:"), fps_);
    auto* size = new QHBoxLayout;
    width_ = new QSpinBox(this);
    height_ = new QSpinBox(this);
    for (QSpinBox* s : {width_, height_}) {
        s->setRange(0, 8192);
        s->setSpecialValueText(tr("auto"));
        size->addWidget(s);
    }
    size->insertWidget(1, new QLabel(QStringLiteral("\u00d7"), this));
    form->addRow(tr("Size (pixels):"), size);
    hold_ = new QDoubleSpinBox(this);
    hold_->setRange(0, 60);
    hold_->setValue(2);
    hold_->setSuffix(tr(" s"));
    form->addRow(tr("Hold on the last frame:"), hold_);
    frames_ = new QSpinBox(this);
    frames_->setRange(0, std::max(2, levels));
    frames_->setSpecialValueText(tr("all %1 (one per noise level)").arg(levels));
    frames_->setToolTip(tr("At most this many frames, spread evenly over the noise levels (first and final kept)"));
    form->addRow(tr("Frames:"), frames_);
    form->addRow(buttons(this, tr("Export...")));
}

AnimationFormat AnimationExportDialog::format() const { return AnimationFormat(format_->currentData().toInt()); }

AnimationExport AnimationExportDialog::options() const
{
    AnimationExport o;
    o.render.field = Field(field_->currentData().toInt());
    if (width_->value() > 0 && height_->value() > 0) {
        o.render.width = width_->value();
        o.render.height = height_->value();
    }
    o.fps = fps_->value();
    o.hold_seconds = hold_->value();
    o.max_frames = frames_->value() >= 2 ? frames_->value() : 0;
    return o;
}

FilmstripDialog::FilmstripDialog(Field field, int batch, QWidget* parent) : QDialog(parent), batch_(batch)
{
    setWindowTitle(tr("Export Filmstrip"));
    auto* form = new QFormLayout(this);
    form->addRow(new QLabel(tr("Samples at K noise levels, one row per panel, labelled with t\n"
                               "(the DDPM paper's Fig. 6, from your own run)."),
                            this));
    field_ = fieldCombo(field == Field::Xt ? Field::X0Hat : field, this);
    form->addRow(tr("Field:"), field_);
    levels_ = new QSpinBox(this);
    levels_->setRange(2, 64);
    levels_->setValue(8);
    form->addRow(tr("Noise levels (K):"), levels_);
    samples_ = new QLineEdit(this);
    samples_->setObjectName("samplesEdit");
    samples_->setPlaceholderText(tr("all %1 (or e.g. 0, 3, 7)").arg(batch));
    form->addRow(tr("Samples:"), samples_);
    cell_ = new QSpinBox(this);
    cell_->setRange(16, 1024);
    cell_->setValue(112);
    cell_->setSuffix(tr(" px"));
    form->addRow(tr("Cell size:"), cell_);
    form->addRow(buttons(this, tr("Export...")));
}

FilmstripOptions FilmstripDialog::options() const
{
    FilmstripOptions o;
    o.field = Field(field_->currentData().toInt());
    o.levels = levels_->value();
    o.cell = cell_->value();
    for (const QString& part : samples_->text().split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int i = part.toInt(&ok);
        if (!ok || i < 0 || i >= batch_)
            throw InputError(tr("Samples: '%1' is not a sample index 0..%2").arg(part).arg(batch_ - 1).toStdString());
        o.samples.push_back(i);
    }
    return o;
}

} // namespace noisetrail::ui
