// The option dialogs of Export > Animation and Export > Filmstrip. They only
// collect settings (core's AnimationExport / FilmstripOptions); the window
// renders and writes through core, the same code as `noisetrail-cli session`.
#pragma once
#include "noisetrail/animation.hpp"
#include "noisetrail/render.hpp"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace noisetrail::ui {

class AnimationExportDialog : public QDialog {
    Q_OBJECT
public:
    AnimationExportDialog(Field field, int levels, QWidget* parent = nullptr);
    AnimationFormat format() const;
    AnimationExport options() const;

private:
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

} // namespace noisetrail::ui
