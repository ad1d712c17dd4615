// The TorchScript modules the user trusted in this process (contract section 2):
// one list every Model::load of the GUI passes to core as CodeTrust::fingerprints.
// The window fills it from its settings and adds the cards the user answers
// "Trust and Open" for; workers read it, so it is guarded by a mutex.
#pragma once
#include "noisetrail/model.hpp"

#include <string>
#include <vector>

namespace noisetrail::ui {

/// What Model::load gets in the GUI: the fingerprints trusted so far.
CodeTrust trustedCode();
/// Remember one more card content as trusted (a no-op if it is already).
void trustCode(const std::string& fingerprint);
/// The list as it stands (the window persists it) and a replacement (read from settings).
std::vector<std::string> trustedFingerprints();
void setTrustedFingerprints(std::vector<std::string> fingerprints);

} // namespace noisetrail::ui
