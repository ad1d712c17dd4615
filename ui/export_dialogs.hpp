// The option dialogs of Export > Animation, Filmstrip and Interactive Page. They only
// collect settings (core's AnimationExport / FilmstripOptions); the window
// renders and writes through core, the same code as `noisetrail-cli session`.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/interactive_page.hpp"
#include "noisetrail/render.hpp"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace noisetrail::ui {

/// Export > Animation. Its frame size starts at a projector's 1280 x 720 (presets:
/// 1920 x 1080, the panels' natural size, custom). With `useSettings` (the window's
/// MainWindowOptions::useSettings, through RunFiles) an accepted dialog's format,
/// frame rate, size, hold and frame count are kept in QSettings
/// ("exportAnimation/...") and the next opening, in this session or a later one,
/// starts from them; the field always starts at the window's.
class AnimationExportDialog : public QDialog {
    Q_OBJECT
public:
    AnimationExportDialog(Field field, int levels, QWidget* parent = nullptr, bool useSettings = false);
    AnimationFormat format() const;
    AnimationExport options() const;
    void accept() override;

    static constexpr int kDefaultWidth = 1280, kDefaultHeight = 720;

private:
    void choosePreset();
    void showPresetOfSize();
    bool useSettings_ = false;
    QComboBox* sizePreset_ = nullptr;
    QComboBox* format_ = nullptr;
    QComboBox* field_ = nullptr;
    QSpinBox* fps_ = nullptr;
    QSpinBox* width_ = nullptr;
    QSpinBox* height_ = nullptr;
    QDoubleSpinBox* hold_ = nullptr;
    QSpinBox* frames_ = nullptr;
};

class FilmstripDialog : public QDialog {
    Q_OBJECT
public:
    FilmstripDialog(Field field, int batch, QWidget* parent = nullptr);
    /// InputError naming the samples field for a bad list.
    FilmstripOptions options() const;

private:
    QComboBox* field_ = nullptr;
    QSpinBox* levels_ = nullptr;
    QSpinBox* cell_ = nullptr;
    QLineEdit* samples_ = nullptr;
    int batch_ = 0;
};

/// Export > Interactive Page: how many slider positions and which fields the
/// page carries (core's PageOptions; its defaults are the dialog's).
class PageExportDialog : public QDialog {
    Q_OBJECT
public:
    PageExportDialog(int levels, QWidget* parent = nullptr);
    PageOptions options() const;

private:
    QSpinBox* frames_ = nullptr;
    std::vector<std::pair<Field, QCheckBox*>> fields_;
};

} // namespace noisetrail::ui
