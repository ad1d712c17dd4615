#include "code_trust.hpp"

#include <QDir>
#include <QMessageBox>
#include <QSettings>
#include <QPushButton>

#include <algorithm>
#include <mutex>

namespace noisetrail::ui {
namespace {

std::mutex& trustMutex()
{
    static std::mutex m;
    return m;
}

std::vector<std::string>& trusted()
{
    static std::vector<std::string> list;
    return list;
}

} // namespace

CodeTrust trustedCode()
{
    const std::lock_guard lock(trustMutex());
    CodeTrust t;
    t.fingerprints = trusted();
    return t;
}

void trustCode(const std::string& fingerprint)
{
    const std::lock_guard lock(trustMutex());
    auto& list = trusted();
    if (!fingerprint.empty() && std::find(list.begin(), list.end(), fingerprint) == list.end())
        list.push_back(fingerprint);
}

std::vector<std::string> trustedFingerprints()
{
    const std::lock_guard lock(trustMutex());
    return trusted();
}

void setTrustedFingerprints(std::vector<std::string> fingerprints)
{
    const std::lock_guard lock(trustMutex());
    trusted() = std::move(fingerprints);
}

namespace {
constexpr const char* kTrustedKey = "trustedCode/fingerprints";
}

void readTrustedFromSettings()
{
    std::vector<std::string> list;
    for (const QString& f : QSettings().value(kTrustedKey).toStringList())
        list.push_back(f.toStdString());
    setTrustedFingerprints(std::move(list));
}

bool confirmTrust(QWidget* parent, const QString& path, const QString& module, const QString& fingerprint,
                  bool persist)
{
    const std::vector<std::string> trusted = trustedFingerprints();
    if (std::find(trusted.begin(), trusted.end(), fingerprint.toStdString()) != trusted.end())
        return true;
    if (!askToTrustCode(parent, path, module))
        return false;
    trustCode(fingerprint.toStdString());
    if (persist) {
        QStringList list;
        for (const std::string& f : trustedFingerprints())
            list << QString::fromStdString(f);
        QSettings().setValue(kTrustedKey, list);
    }
    return true;
}

bool askToTrustCode(QWidget* parent, const QString& path, const QString& module)
{
    QMessageBox box(QMessageBox::Warning, QMessageBox::tr("Run code from this model?"),
                    QMessageBox::tr("%1 names a TorchScript module, %2.\n\nA model file of this kind is a program: it "
                                    "runs with your permissions and can read and write your files. Run it only if you "
                                    "trust its source.")
                        .arg(QDir::toNativeSeparators(path), QDir::toNativeSeparators(module)),
                    QMessageBox::Cancel, parent);
    box.setObjectName("trustCodeQuestion");
    box.setInformativeText(QMessageBox::tr("Models in the bundled models folder run without asking. Your answer is "
                                           "remembered for this content of the card and its files; if they change, "
                                           "you are asked again."));
    QPushButton* trust = box.addButton(QMessageBox::tr("Trust and Open"), QMessageBox::AcceptRole);
    trust->setObjectName("trustAndOpen");
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    return box.clickedButton() == trust;
}

} // namespace noisetrail::ui
