// libFuzzer target: the .ntsession reader (header, inflate, CRC, description
// JSON, the embedded recipe, trajectory blocks) on arbitrary bytes. Bad input
// must end in InputError; a session that parsed must be consistent, and each
// of its frames decodes or is one InputError (a damaged block, found when shown).
//
// Two kinds of input, so that mutations reach every layer: bytes that start
// with the session magic are a whole file (header, deflate and CRC checks);
// anything else is taken as an uncompressed payload and wrapped into a valid
// header, deflate stream and CRC first (a mutated payload inside a real file
// would nearly always just fail the CRC). The seeds hold both kinds.
#include "session_format.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

/// The format version the payload's description names ("noisetrail-session/N",
/// N a digit; else this build's): the header must agree with it, and the seeds
/// hold payloads of format 1 and 2 and a whole format-3 file
/// with a guided panel (guided-v3.ntsession: x0_cond and x0_uncond blocks).
std::uint32_t payload_version(std::string_view payload)
{
    constexpr std::string_view name = "noisetrail-session/";
    const std::size_t at = payload.substr(0, 4096).find(name);
    if (at != std::string_view::npos && at + name.size() < payload.size()) {
        const char d = payload[at + name.size()];
        if (d >= '1' && d <= '9')
            return std::uint32_t(d - '0');
    }
    return noisetrail::kSessionVersion;
}

/// `payload` as a whole session file: the header of noisetrail/session.hpp and the payload deflated.
std::string wrap(std::string_view payload)
{
    uLongf packed_len = compressBound(uLong(payload.size()));
    std::string packed(packed_len, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_len,
                  reinterpret_cast<const Bytef*>(payload.data()), uLong(payload.size()), 1) != Z_OK)
        std::abort();
    packed.resize(packed_len);
    std::string file(noisetrail::detail::kSessionMagic, sizeof noisetrail::detail::kSessionMagic);
    const auto put = [&](auto v) { file.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(payload_version(payload));
    put(std::uint32_t(0));
    put(std::uint64_t(payload.size()));
    put(std::uint64_t(packed.size()));
    put(std::uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size())));
    put(std::uint32_t(0));
    return file + packed;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace noisetrail;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const bool whole_file = size >= sizeof detail::kSessionMagic &&
                            std::memcmp(data, detail::kSessionMagic, sizeof detail::kSessionMagic) == 0;
    const std::string file = whole_file ? std::string(bytes) : wrap(bytes);
    Session s;
    try {
        s = detail::parse_session(file, "/fuzz/dir/s.ntsession");
    } catch (const InputError&) {
        return 0;
    }
    if (s.panels.empty() || s.panels.size() != s.recipe.panels.size() || s.batch < 1 || s.data_shape.empty())
        std::abort();
    std::vector<float> out;
    for (const SessionPanel& p : s.panels) {
        const Trajectory& t = *p.trajectory;
        if (t.size() < 0 || t.size() > t.plannedSteps())
            std::abort();
        // Every stored frame decodes or says it is damaged (blocks are inflated when
        // shown, not when read: issue 27): x_t of steps 0..size() once there is a
        // start, the predictions of the stored steps. Nothing else may be thrown.
        const auto decode = [&](int k, Field f) {
            try {
                t.decode(k, f, out);
            } catch (const InputError&) {
                return;
            }
            if (out.size() != t.valuesPerStep())
                std::abort();
        };
        for (int k = 0; k <= t.size(); ++k) {
            if (t.hasStart())
                decode(k, Field::Xt);
            if (k < t.size()) {
                decode(k, Field::X0Hat);
                decode(k, Field::EpsHat);
            }
        }
    }
    return 0;
}
