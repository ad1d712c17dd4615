#include "run_toolbar.hpp"

#include "key_guard.hpp"
#include "run_document.hpp"
#include "window_actions.hpp"

#include <QAction>
#include <QActionGroup>
#include <QComboBox>
#include <QFileInfo>
#include <QLabel>
#include <QRandomGenerator>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStyle>
#include <QToolButton>

namespace noisetrail::ui {

namespace {
/// A button for a window action that the bar can hide without hiding the action
/// (its menu entry and its shortcut stay).
QToolButton* button(QAction* a, Qt::ToolButtonStyle style = Qt::ToolButtonTextBesideIcon)
{
    auto* b = new QToolButton;
    b->setDefaultAction(a);
    b->setToolButtonStyle(style);
    b->setAutoRaise(true);
    b->setFocusPolicy(Qt::NoFocus);
    return b;
}
} // namespace

RunToolBar::RunToolBar(RunDocument* doc, WindowActions* a, QWidget* parent)
    : QToolBar(tr("Main"), parent), doc_(doc), pacingGroup_(a->pacingGroup)
{
    setObjectName("mainToolBar");
    setMovable(false);
    setToolButtonStyle(Qt::ToolButtonTextBesideIcon);

    const auto setup = [this](QAction* a) {
        setupOnly_ << a;
        return a;
    };
    setup(addWidget(new QLabel(tr(" Model "))));
    model_ = new QComboBox;
    model_->setObjectName("modelCombo");
    model_->setMinimumContentsLength(33); // "MNIST digits (UNet, trained here)" whole
    model_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    model_->setToolTip(tr("The model to sample from: the bundled cards, or any card opened"));
    connect(model_, &QComboBox::activated, this, [this](int i) {
        const QString p = model_->itemData(i).toString();
        const auto& m = doc_->model();
        if (!p.isEmpty() && (!m || QFileInfo(p).absoluteFilePath() != m->path))
            Q_EMIT modelChosen(p);
        sync(); // the box shows the document's model until the new one has loaded
    });
    setup(addWidget(model_));
    setup(addWidget(button(a->open)));
    setup(addSeparator());

    setup(addWidget(new QLabel(tr(" Seed "))));
    seed_ = new QSpinBox;
    seed_->setObjectName("seed");
    seed_->setRange(0, 2147483647);
    seed_->setValue(1);
    seed_->setToolTip(tr("Seed of the starting noise x_T, shared by every panel: a fair comparison"));
    connect(seed_, &QSpinBox::valueChanged, doc_, [this](int v) { doc_->setSeed(quint64(v)); });
    setup(addWidget(seed_));
    connect(a->reroll, &QAction::triggered, this,
            [this] { doc_->setSeed(quint64(QRandomGenerator::global()->bounded(1, 1000000))); });
    setup(addWidget(button(a->reroll, Qt::ToolButtonIconOnly)));
    setup(addWidget(new QLabel(tr(" Batch "))));
    batch_ = new QSpinBox;
    batch_->setObjectName("batch");
    batch_->setRange(1, 4096);
    batch_->setValue(16);
    batch_->setToolTip(tr("Samples per panel (16 images; 512 points for 2-D models)"));
    connect(batch_, &QSpinBox::valueChanged, doc_, &RunDocument::setBatch);
    setup(addWidget(batch_));
    setup(addSeparator());
    for (QAction* f : a->fields)
        addAction(f);
    addSeparator();

    addWidget(new QLabel(tr(" Pacing ")));
    pacing_ = new QComboBox;
    pacing_->setObjectName("pacingCombo");
    for (QAction* p : pacingGroup_->actions()) {
        pacing_->addItem(p->text().remove('&'), p->data());
        pacing_->setItemData(pacing_->count() - 1, p->toolTip(), Qt::ToolTipRole);
        connect(p, &QAction::triggered, doc_,
                [this, p] { doc_->setPacing(parse_pacing(p->data().toString().toStdString())); });
    }
    pacing_->setToolTip(tr("How the panels advance together (applies to the next run)"));
    connect(pacing_, &QComboBox::activated, this, [this](int i) {
        doc_->setPacing(parse_pacing(pacing_->itemData(i).toString().toStdString()));
    });
    addWidget(pacing_);
    addSeparator();
    addActions({a->run, a->stop});
    setup(addWidget(button(a->addPanel)));
    if (auto* w = widgetForAction(a->run))
        w->setObjectName("runButton");
    if (auto* w = widgetForAction(a->stop))
        w->setObjectName("stopButton");
    for (QAction* act : actions()) // buttons never hold the focus: the timeline keeps the keys
        if (auto* w = widgetForAction(act); w && qobject_cast<QToolButton*>(w))
            w->setFocusPolicy(Qt::NoFocus);
    guardControls(this);
}

void RunToolBar::setCardChoices(const std::vector<CardChoice>& choices)
{
    const QSignalBlocker b(model_);
    model_->clear();
    for (const CardChoice& c : choices) {
        model_->addItem(c.name, c.path);
        model_->setItemData(model_->count() - 1, c.tip.isEmpty() ? c.path : c.tip, Qt::ToolTipRole);
    }
    sync();
}

void RunToolBar::sync()
{
    const QSignalBlocker b0(model_), b1(seed_), b2(batch_), b3(pacing_);
    if (const auto& m = doc_->model()) {
        int i = model_->findData(m->path);
        if (i < 0) {
            model_->insertItem(0, QString::fromStdString(m->card().name), m->path);
            model_->setItemData(0, m->path, Qt::ToolTipRole);
            i = 0;
        }
        model_->setCurrentIndex(i);
    }
    seed_->setValue(int(doc_->seed()));
    batch_->setValue(doc_->batch());
    const QString name = QString::fromStdString(to_string(doc_->pacing()));
    pacing_->setCurrentIndex(pacing_->findData(name));
    for (QAction* p : pacingGroup_->actions())
        p->setChecked(p->data().toString() == name);
}

QString RunToolBar::pacingText() const { return pacing_->currentText(); }

void RunToolBar::setPresentation(bool on, double scale)
{
    // The actions stay enabled (their keys work); only their buttons go.
    for (QAction* a : setupOnly_) // widget actions and separators of this bar only
        a->setVisible(!on);
    const int icon = style()->pixelMetric(QStyle::PM_ToolBarIconSize);
    setIconSize(QSize(icon, icon) * (on ? scale : 1.0));
}

} // namespace noisetrail::ui
