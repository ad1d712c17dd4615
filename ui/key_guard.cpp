#include "key_guard.hpp"

#include <QAbstractSpinBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QFocusEvent>
#include <QKeyEvent>
#include <QLineEdit>
#include <QSlider>

namespace noisetrail::ui {

namespace {

constexpr const char* kChosen = "noisetrailChosen";
constexpr const char* kGuarded = "noisetrailGuarded";

class KeyGuard : public QObject {
public:
    using QObject::QObject;

    static KeyGuard* instance()
    {
        static KeyGuard* g = new KeyGuard(QCoreApplication::instance());
        return g;
    }

protected:
    bool eventFilter(QObject* o, QEvent* e) override
    {
        auto* w = qobject_cast<QWidget*>(o);
        if (!w)
            return false;
        // A spin box's or editable combo's line edit stands for its control.
        QWidget* control = w->property(kGuarded).toBool() ? w : w->parentWidget();
        switch (e->type()) {
        case QEvent::MouseButtonPress:
            control->setProperty(kChosen, true);
            break;
        case QEvent::FocusIn: {
            const auto reason = static_cast<QFocusEvent*>(e)->reason();
            if (reason == Qt::TabFocusReason || reason == Qt::BacktabFocusReason || reason == Qt::ShortcutFocusReason ||
                reason == Qt::MouseFocusReason)
                control->setProperty(kChosen, true);
            break;
        }
        case QEvent::FocusOut:
            if (static_cast<QFocusEvent*>(e)->reason() != Qt::PopupFocusReason)
                control->setProperty(kChosen, false);
            break;
        case QEvent::Wheel:
            if (!(control->property(kChosen).toBool() && control->hasFocus())) {
                e->ignore();
                return true; // not chosen: the wheel changes nothing
            }
            break;
        case QEvent::ShortcutOverride:
            // Not chosen: the window's shortcuts (the timeline's arrows, Home, End)
            // win over the control's own use of the key.
            if (!control->property(kChosen).toBool())
                return true;
            break;
        case QEvent::KeyPress: {
            const int key = static_cast<QKeyEvent*>(e)->key();
            if (key == Qt::Key_Tab || key == Qt::Key_Backtab)
                break;
            if (!control->property(kChosen).toBool())
                return true;
            break;
        }
        default:
            break;
        }
        return false;
    }
};

void guard(QWidget* w)
{
    if (w->property(kGuarded).toBool())
        return;
    w->setProperty(kGuarded, true);
    w->installEventFilter(KeyGuard::instance());
    // Keys and focus reach the inner line edit of spin boxes and editable combos.
    for (auto* edit : w->findChildren<QLineEdit*>(QString(), Qt::FindDirectChildrenOnly))
        edit->installEventFilter(KeyGuard::instance());
}

} // namespace

void guardControls(QWidget* root)
{
    for (auto* c : root->findChildren<QComboBox*>())
        guard(c);
    for (auto* s : root->findChildren<QAbstractSpinBox*>())
        guard(s);
    for (auto* s : root->findChildren<QSlider*>()) // not scroll bars: the wheel scrolls
        guard(s);
}

bool isChosen(const QWidget* control) { return control && control->property(kChosen).toBool(); }

} // namespace noisetrail::ui
