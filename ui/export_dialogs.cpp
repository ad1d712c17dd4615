#include "export_dialogs.hpp"

#include "noisetrail/errors.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>

#include <iterator>

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

namespace {
/// The frame sizes offered; (0, 0) is the panels' natural size ("auto").
struct SizePreset {
    const char* name;
    int width, height;
};
constexpr SizePreset kSizePresets[] = {
    {QT_TRANSLATE_NOOP("AnimationExportDialog", "Projector, 1280 \u00d7 720"), 1280, 720},
    {QT_TRANSLATE_NOOP("AnimationExportDialog", "Full HD, 1920 \u00d7 1080"), 1920, 1080},
    {QT_TRANSLATE_NOOP("AnimationExportDialog", "Natural (fits the panels)"), 0, 0},
};
const QString kAnimationGroup = QStringLiteral("exportAnimation");
} // namespace

AnimationExportDialog::AnimationExportDialog(Field field, int levels, QWidget* parent, bool useSettings)
    : QDialog(parent), useSettings_(useSettings)
{
    setWindowTitle(tr("Export Animation"));
    setObjectName("animationExportDialog");
    auto* form = new QFormLayout(this);
    format_ = new QComboBox(this);
    format_->setObjectName("formatCombo");
    format_->addItem(tr("GIF (slides, web pages)"), int(AnimationFormat::Gif));
    format_->addItem(tr("MP4, H.264 (video players, long runs)"), int(AnimationFormat::Mp4));
    form->addRow(tr("Format:"), format_);
    field_ = fieldCombo(field, this);
    form->addRow(tr("Field:"), field_);
    fps_ = new QSpinBox(this);
    fps_->setObjectName("fpsSpin");
    fps_->setRange(1, 50);
    fps_->setValue(20);
    fps_->setSuffix(tr(" fps"));
    connect(format_, &QComboBox::currentIndexChanged, this, [this] {
        fps_->setMaximum(format() == AnimationFormat::Gif ? 50 : 120); // GIF delays are centiseconds
    });
    form->addRow(tr("Frame rate:"), fps_);
    sizePreset_ = new QComboBox(this);
    sizePreset_->setObjectName("sizePresetCombo");
    for (const SizePreset& p : kSizePresets)
        sizePreset_->addItem(tr(p.name));
    sizePreset_->addItem(tr("Custom"));
    form->addRow(tr("Frame size:"), sizePreset_);
    auto* size = new QHBoxLayout;
    width_ = new QSpinBox(this);
    width_->setObjectName("widthSpin");
    height_ = new QSpinBox(this);
    height_->setObjectName("heightSpin");
    for (QSpinBox* s : {width_, height_}) {
        s->setRange(0, 8192);
        s->setSpecialValueText(tr("auto"));
        size->addWidget(s);
    }
    width_->setValue(kDefaultWidth);
    height_->setValue(kDefaultHeight);
    size->insertWidget(1, new QLabel(QStringLiteral("\u00d7"), this));
    form->addRow(tr("Size (pixels):"), size);
    hold_ = new QDoubleSpinBox(this);
    hold_->setObjectName("holdSpin");
    hold_->setRange(0, 60);
    hold_->setValue(2);
    hold_->setSuffix(tr(" s"));
    form->addRow(tr("Hold on the last frame:"), hold_);
    frames_ = new QSpinBox(this);
    frames_->setObjectName("framesSpin");
    frames_->setRange(0, std::max(2, levels));
    frames_->setSpecialValueText(tr("all %1 (one per noise level)").arg(levels));
    frames_->setToolTip(tr("At most this many frames, spread evenly over the noise levels (first and final kept)"));
    form->addRow(tr("Frames:"), frames_);
    form->addRow(buttons(this, tr("Export...")));

    if (useSettings_) {
        QSettings st;
        st.beginGroup(kAnimationGroup);
        const int f = format_->findData(st.value("format", format_->currentData()).toInt());
        format_->setCurrentIndex(f >= 0 ? f : 0);
        fps_->setValue(st.value("fps", fps_->value()).toInt());
        width_->setValue(st.value("width", width_->value()).toInt());
        height_->setValue(st.value("height", height_->value()).toInt());
        hold_->setValue(st.value("hold", hold_->value()).toDouble());
        frames_->setValue(st.value("frames", frames_->value()).toInt());
    }
    showPresetOfSize();
    connect(sizePreset_, &QComboBox::activated, this, &AnimationExportDialog::choosePreset);
    for (QSpinBox* s : {width_, height_})
        connect(s, &QSpinBox::valueChanged, this, &AnimationExportDialog::showPresetOfSize);
}

void AnimationExportDialog::choosePreset()
{
    const int i = sizePreset_->currentIndex();
    if (i < 0 || i >= int(std::size(kSizePresets)))
        return; // Custom: the spin boxes say
    const QSignalBlocker bw(width_), bh(height_);
    width_->setValue(kSizePresets[i].width);
    height_->setValue(kSizePresets[i].height);
}

void AnimationExportDialog::showPresetOfSize()
{
    // One of the two "auto" means the natural size (options() needs both).
    const bool natural = width_->value() == 0 || height_->value() == 0;
    int i = int(std::size(kSizePresets)); // Custom
    for (int k = 0; k < int(std::size(kSizePresets)); ++k)
        if (natural ? kSizePresets[k].width == 0
                    : kSizePresets[k].width == width_->value() && kSizePresets[k].height == height_->value())
            i = k;
    sizePreset_->setCurrentIndex(i);
}

void AnimationExportDialog::accept()
{
    if (useSettings_) {
        QSettings st;
        st.beginGroup(kAnimationGroup);
        st.setValue("format", format_->currentData().toInt());
        st.setValue("fps", fps_->value());
        st.setValue("width", width_->value());
        st.setValue("height", height_->value());
        st.setValue("hold", hold_->value());
        st.setValue("frames", frames_->value());
    }
    QDialog::accept();
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

PageExportDialog::PageExportDialog(int levels, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Export Interactive Page"));
    setObjectName("pageExportDialog");
    auto* form = new QFormLayout(this);
    form->addRow(new QLabel(tr("One HTML file that opens in any browser, without NoiseTrail:\n"
                               "the panels, a slider on t, play, the field switch and the statistics."),
                            this));
    const PageOptions defaults;
    frames_ = new QSpinBox(this);
    frames_->setObjectName("pageFramesSpin");
    frames_->setRange(0, std::max(2, levels));
    frames_->setSpecialValueText(tr("all %1 (one per noise level)").arg(levels));
    frames_->setValue(std::min(defaults.max_frames, levels));
    frames_->setToolTip(tr("Slider positions, spread evenly over the noise levels (first and final kept); "
                           "fewer make a smaller file"));
    form->addRow(tr("Slider positions:"), frames_);
    auto* row = new QHBoxLayout;
    for (Field f : {Field::Xt, Field::X0Hat, Field::EpsHat}) {
        auto* box = new QCheckBox(QString::fromStdString(to_string(f)), this);
        box->setChecked(std::find(defaults.fields.begin(), defaults.fields.end(), f) != defaults.fields.end());
        row->addWidget(box);
        fields_.emplace_back(f, box);
    }
    form->addRow(tr("Fields:"), row);
    auto* ok = buttons(this, tr("Export..."));
    form->addRow(ok);
    auto enable = [this, ok] {
        bool any = false;
        for (const auto& [f, box] : fields_)
            any = any || box->isChecked();
        ok->button(QDialogButtonBox::Ok)->setEnabled(any);
    };
    for (const auto& [f, box] : fields_)
        connect(box, &QCheckBox::toggled, this, enable);
}

PageOptions PageExportDialog::options() const
{
    PageOptions o;
    o.max_frames = frames_->value() >= 2 ? frames_->value() : 0;
    o.fields.clear();
    for (const auto& [f, box] : fields_)
        if (box->isChecked())
            o.fields.push_back(f);
    return o;
}

} // namespace noisetrail::ui
