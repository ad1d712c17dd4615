// The TorchScript modules the user trusted in this process (contract section 2):
// one list every Model::load of the GUI passes to core as CodeTrust::fingerprints.
// The window fills it from its settings and adds the cards the user answers
// "Trust and Open" for; workers read it, so it is guarded by a mutex.
#pragma once
#include "noisetrail/model.hpp"

#include <QString>

#include <string>
#include <vector>

class QWidget;

namespace noisetrail::ui {

/// What Model::load gets in the GUI: the fingerprints trusted so far.
CodeTrust trustedCode();
/// Remember one more card content as trusted (a no-op if it is already).
void trustCode(const std::string& fingerprint);
/// The list as it stands (the window persists it) and a replacement (read from settings).
std::vector<std::string> trustedFingerprints();
void setTrustedFingerprints(std::vector<std::string> fingerprints);

/// The GUI's question before a TorchScript module runs (contract section 2): a
/// warning naming the card and the module; Cancel is the default. True for "Trust and Open".
bool askToTrustCode(QWidget* parent, const QString& cardPath, const QString& modulePath);

/// True if the card's content is trusted: already (two panels with one card are
/// asked once), or now by the user's answer, which is then remembered (in the
/// settings too when `persist`).
bool confirmTrust(QWidget* parent, const QString& cardPath, const QString& modulePath, const QString& fingerprint,
                  bool persist);
/// The fingerprints trusted in earlier sessions, from the settings (before the first card loads).
void readTrustedFromSettings();

} // namespace noisetrail::ui
