// Writing sessions (layout in noisetrail/session.hpp; the reader is
// session_format.cpp), and what the GUI and CLI derive from a read one.
#include "session_format.hpp"

#include "json_file.hpp"
#include "run_recipe_json.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/version.hpp"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <ctime>

namespace noisetrail {

using detail::ByteWriter;
using detail::session_error;

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string utc_now()
{
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

// ------------------------------------------------------------------ trajectories

void TrajectoryCodec::write(ByteWriter& w, const Trajectory& t)
{
    const int n = t.size();
    w.put<std::uint64_t>(std::uint64_t(n));
    for (int k = 0; k < n; ++k) {
        const auto& i = t.info_[std::size_t(k)];
        w.put<std::int32_t>(i.step);
        w.put<std::int32_t>(i.plan.t);
        w.put<std::int32_t>(i.plan.t_prev);
        for (double v : {i.plan.alpha_bar, i.plan.alpha_bar_prev, i.plan.sigma})
            w.put(v);
        for (double v : step_stat_values(i.stats))
            w.put(v);
        const auto& m = i.metrics.values;
        for (double v : {m.pairwise_distance, m.coordinate_std, m.vendi, m.components_covered,
                         m.occupancy_entropy, m.class_entropy, m.classes_covered})
            w.put(v);
        w.put(i.metrics.seconds);
        // Version 2 added the per-sample assignments (decision time) after the counts.
        for (const auto* counts : {&i.metrics.componentCounts, &i.metrics.componentNear, &i.metrics.assignment}) {
            w.put<std::uint64_t>(counts->size());
            w.bytes(counts->data(), counts->size() * sizeof(int));
        }
    }
    const std::uint64_t xt_blocks = t.hasStart() ? std::uint64_t(n) + 1 : 0;
    w.put(xt_blocks);
    for (std::uint64_t k = 0; k < xt_blocks; ++k)
        block(w, t.xt_[k]);
    for (int k = 0; k < n; ++k) {
        block(w, t.x0_[std::size_t(k)]);
        block(w, t.eps_[std::size_t(k)]);
    }
    // Version 3: a guided step's x0_cond and x0_uncond, each after a u8 saying it is there.
    for (int k = 0; k < n; ++k) {
        const auto& i = t.info_[std::size_t(k)];
        w.put<std::uint8_t>(std::uint8_t((i.hasCond ? 1 : 0) | (i.hasUncond ? 2 : 0)));
        if (i.hasCond)
            block(w, t.x0Cond_[std::size_t(k)]);
        if (i.hasUncond)
            block(w, t.x0Uncond_[std::size_t(k)]);
    }
}

// A block as stored: u8 coding (the Trajectory's: raw, deflated, delta to the
// previous block of its chain), f32 lo, f32 scale, u64 size, the bytes.
void TrajectoryCodec::block(ByteWriter& w, const Trajectory::Block& b)
{
    w.put(static_cast<std::uint8_t>(b.coding));
    w.put(b.lo);
    w.put(b.scale);
    w.put<std::uint64_t>(b.data.size());
    w.bytes(b.data.data(), b.data.size());
}

// ------------------------------------------------------------------ write

ModelCard session_card(const Session& session, const fs::path& file)
{
    if (session.card_json.empty())
        throw InputError(session_error(file, "the session holds no copy of its model card"));
    // Parsed from memory under the limits a card file has (json_file.hpp); it is
    // named, and anchors its relative paths, as the recipe's card.
    if (session.card_json.size() > detail::kMaxJsonFileBytes)
        throw InputError(session_error(file, "its copy of the model card is larger than " +
                                                 std::to_string(detail::kMaxJsonFileBytes >> 20) + " MiB"));
    try {
        return parse_model_card(session.card_json, session.recipe.model);
    } catch (const InputError& e) {
        throw InputError(session_error(file, std::string("its copy of the model card: ") + e.what()));
    }
}

Trajectory::Precision stored_precision(const ModelCard& card)
{
    return card.is_2d_points() ? Trajectory::Precision::Half : Trajectory::Precision::UInt8;
}

std::vector<RenderPanel> render_panels(const Session& session)
{
    std::vector<RenderPanel> panels;
    for (std::size_t p = 0; p < session.panels.size(); ++p)
        panels.push_back({session.panels[p].trajectory.get(), session.panels[p].caption, int(p)});
    return panels;
}

namespace {

/// The payload of noisetrail/session.hpp's layout, into `w` (or only counted).
void put_payload(ByteWriter& w, const fs::path& path, const Session& s)
{
    if (s.panels.size() != s.recipe.panels.size() || s.panels.empty())
        throw std::invalid_argument("write_session: one trajectory per recipe panel");
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    json panels = json::array();
    for (const auto& p : s.panels) {
        if (!p.trajectory)
            throw std::invalid_argument("write_session: a panel without a trajectory");
        const Trajectory& t = *p.trajectory;
        panels.push_back({{"caption", p.caption},
                          {"fingerprint", p.fingerprint},
                          {"shape", t.shape()},
                          {"timesteps", t.timesteps()},
                          {"stored_steps", t.size()},
                          {"precision", t.precision() == Trajectory::Precision::Half ? "half" : "uint8"}});
    }
    const json meta = {{"format", session_format_name()},
                       {"recipe", detail::recipe_to_json(s.recipe, folder)},
                       {"model_name", s.model_name},
                       {"card", s.card_json},
                       {"train_steps", s.train_steps},
                       {"batch", s.batch},
                       {"data_shape", s.data_shape},
                       {"panels", panels},
                       {"created", s.created.empty() ? utc_now() : s.created},
                       {"noisetrail_version", s.version.empty() ? std::string(NOISETRAIL_VERSION) : s.version}};
    const std::string text = meta.dump();
    w.put<std::uint64_t>(text.size());
    w.bytes(text.data(), text.size());
    w.put<std::uint64_t>(s.x_T.size());
    w.bytes(s.x_T.data(), s.x_T.size() * sizeof(float));
    for (const auto& p : s.panels)
        TrajectoryCodec::write(w, *p.trajectory);
}

} // namespace

std::string session_reopen_problem(const fs::path& path, const Session& s)
{
    ByteWriter counted(/*count_only=*/true);
    put_payload(counted, path, s);
    try {
        detail::check_payload_budget(path, counted.size());
        for (std::size_t p = 0; p < s.panels.size(); ++p)
            detail::check_step_budget(path, p, s.panels[p].trajectory->valuesPerStep());
    } catch (const InputError& e) {
        return e.what();
    }
    return {};
}

void write_session(const fs::path& path, const Session& s)
{
    ByteWriter w;
    put_payload(w, path, s);

    // Stored as it is (kSessionPayloadStored): the trajectories' blocks are deflated already.
    const std::string& payload = w.str();
    ByteWriter header;
    header.bytes(detail::kSessionMagic, sizeof detail::kSessionMagic);
    header.put<std::uint32_t>(kSessionVersion);
    header.put<std::uint32_t>(detail::kSessionPayloadStored);
    header.put<std::uint64_t>(payload.size());
    header.put<std::uint64_t>(payload.size());
    header.put<std::uint32_t>(std::uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size())));
    header.put<std::uint32_t>(0);

    AtomicFile out(path);
    out.write({reinterpret_cast<const std::uint8_t*>(header.str().data()), header.str().size()});
    out.write({reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
    out.commit();
}

} // namespace noisetrail
