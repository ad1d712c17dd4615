#include "experiment_menu.hpp"

#include "experiment_dialog.hpp"

#include <QAction>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>

namespace noisetrail::ui {

QMenu* addExperimentsMenu(QMainWindow* window, std::function<QString()> modelPath, std::function<quint64()> seed)
{
    QMenu* menu = window->menuBar()->addMenu(QObject::tr("Ex&periments"));
    menu->setObjectName("experimentsMenu");
    const QString tips[4] = {
        QObject::tr("Invert real examples to x_T with DDIM and reconstruct them; the error against S (DDIM paper, Table 2)"),
        QObject::tr("Slerp between two starting noises, decoded by DDIM and DDPM (DDIM paper sec. 5.3)"),
        QObject::tr("One x_T at S = 10 .. 1000: DDIM keeps the sample, DDPM does not; early stop against fewer steps"),
        QObject::tr("When each sample decides its class or mixture component: DDPM against DDIM on the same x_T")};
    for (int k = 0; k < 4; ++k) {
        QAction* a = menu->addAction(experimentTitle(ExperimentKind(k)) + QStringLiteral("..."));
        a->setObjectName(QStringLiteral("experimentAction%1").arg(k));
        a->setToolTip(tips[k]);
        QObject::connect(a, &QAction::triggered, window, [window, modelPath, seed, k] {
            const QString path = modelPath();
            if (path.isEmpty())
                return;
            ExperimentDialog* d = experimentDialog(window);
            if (d && d->modelPath() != path) { // another model: a fresh view
                d->setObjectName("closingExperimentDialog");
                d->close();
                d->deleteLater();
                d = nullptr;
            }
            if (!d) {
                d = new ExperimentDialog(path, seed(), window); // objectName "experimentDialog"
                d->setAttribute(Qt::WA_DeleteOnClose);
            } else {
                d->setSeed(seed());
            }
            d->showExperiment(ExperimentKind(k));
            d->show();
            d->raise();
            d->activateWindow();
        });
    }
    QObject::connect(menu, &QMenu::aboutToShow, menu, [menu, modelPath] {
        const bool on = !modelPath().isEmpty();
        for (QAction* a : menu->actions())
            a->setEnabled(on);
    });
    return menu;
}

ExperimentDialog* experimentDialog(QMainWindow* window)
{
    return window->findChild<ExperimentDialog*>("experimentDialog", Qt::FindDirectChildrenOnly);
}

} // namespace noisetrail::ui
