#include "startup.hpp"

#include "main_window.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QStringList>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace noisetrail::ui {

QString unusableSettingsFile()
{
    // QSettings' native format on Unix: <config>/<Org>/<App>.conf, then <config>/<Org>.conf,
    // for the user's config folder and each system one (XDG_CONFIG_DIRS).
    const QString org = QCoreApplication::organizationName(), app = QCoreApplication::applicationName();
    for (const QString& dir : QStandardPaths::standardLocations(QStandardPaths::GenericConfigLocation)) {
        for (const QString& name : {org + "/" + app + ".conf", org + ".conf"}) {
            const QFileInfo f(QDir(dir).filePath(name));
            // exists() and isFile() follow a symlink; neither opens the file.
            if (f.exists() && !f.isFile())
                return QCoreApplication::translate("Startup",
                                                   "the settings file %1 is not a regular file: running without settings")
                    .arg(QDir::toNativeSeparators(f.filePath()));
        }
    }
    return {};
}

QString guardSettings(const QString& folder)
{
    const QString problem = unusableSettingsFile();
    if (problem.isEmpty())
        return {};
    // Every QSettings() of the program now reads and writes an empty folder of its own.
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, folder);
    QSettings::setPath(QSettings::IniFormat, QSettings::SystemScope, folder);
    return problem;
}

void openRunAtStartup(MainWindow& window, const QString& file)
{
    if (window.hasModel()) {
        window.openRun(file);
        return;
    }
    QObject::connect(&window, &MainWindow::modelReady, &window, [&window, file] { window.openRun(file); },
                     Qt::SingleShotConnection);
}

void endIfTeardownHangs(int code, std::chrono::milliseconds limit)
{
    std::thread([code, limit] {
        std::this_thread::sleep_for(limit);
        std::fprintf(stderr, "noisetrail: the model did not respond within %lld ms of quitting; ending without it\n",
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(code);
    }).detach(); // a teardown that ends in time ends the process, and this thread with it
}

} // namespace noisetrail::ui
