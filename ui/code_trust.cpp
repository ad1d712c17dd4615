#include "code_trust.hpp"

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

} // namespace noisetrail::ui
