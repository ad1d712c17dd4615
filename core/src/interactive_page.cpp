#include "noisetrail/interactive_page.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/metrics.hpp"
#include "noisetrail/render.hpp"
#include "noisetrail/version.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>

namespace noisetrail {

namespace {

using nlohmann::json;

std::string base64(std::string_view bytes)
{
    static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::uint32_t a = std::uint8_t(bytes[i]);
        const std::uint32_t b = i + 1 < bytes.size() ? std::uint8_t(bytes[i + 1]) : 0;
        const std::uint32_t c = i + 2 < bytes.size() ? std::uint8_t(bytes[i + 2]) : 0;
        const std::uint32_t v = (a << 16) | (b << 8) | c;
        out.push_back(kDigits[(v >> 18) & 63]);
        out.push_back(kDigits[(v >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? kDigits[(v >> 6) & 63] : '=');
        out.push_back(i + 2 < bytes.size() ? kDigits[v & 63] : '=');
    }
    return out;
}

/// A plotted value at 4 significant digits (what a 300-pixel plot can show), NaN as null.
json plot_value(double v)
{
    if (!std::isfinite(v))
        return nullptr;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return std::stod(buf);
}

std::string hex_colour(const std::array<std::uint8_t, 3>& c)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
    return buf;
}

bool is_points(const std::vector<std::int64_t>& data_shape) { return data_shape.size() == 1 && data_shape[0] == 2; }

/// x0_hat and eps_hat exist per computed step; the final position shows the last one's.
int field_step(const Trajectory& traj, int step, Field field)
{
    return field == Field::Xt ? step : std::min(step, traj.size() - 1);
}

/// 2-D points as 16-bit codes over a square of twice the extent's half-width around
/// its centre (points beyond it sit on its edge, far outside the canvas), base64.
std::string point_codes(std::span<const float> xy, const Extent& e)
{
    std::string bytes;
    bytes.reserve(xy.size() * 2);
    const double lo[2] = {e.cx - 2 * e.half, e.cy - 2 * e.half}, span = 4 * e.half;
    for (std::size_t i = 0; i < xy.size(); ++i) {
        const double u = std::isfinite(xy[i]) ? (xy[i] - lo[i % 2]) / span : 0.0;
        const auto q = static_cast<std::uint16_t>(std::lround(std::clamp(u, 0.0, 1.0) * 65535.0));
        bytes.push_back(char(q & 0xff)); // little-endian: the page reads a Uint16Array
        bytes.push_back(char(q >> 8));
    }
    return base64(bytes);
}

/// JSON for a <script> element: no "</script>", no "<!--", whatever the session's strings hold.
std::string script_safe(const json& j)
{
    const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        else
            out.push_back(c);
    }
    return out;
}

extern const char* const kPageStyle;
extern const char* const kPageScript;

} // namespace

std::string html_escape(const std::string& text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out.push_back(c);
        }
    }
    return out;
}

std::vector<int> page_levels(const Session& session, int max_frames)
{
    std::vector<std::vector<int>> plans;
    for (const auto& p : session.panels)
        if (p.trajectory)
            plans.push_back(p.trajectory->timesteps());
    const auto levels = animation_levels(plans);
    return max_frames > 0 ? filmstrip_levels(levels, max_frames) : levels;
}

std::string interactive_page(const Session& s, const PageOptions& options, PageResult* result,
                             const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel)
{
    PageResult r;
    const auto panels = render_panels(s);
    if (panels.empty())
        throw InputError("interactive page: the session has no panels");
    for (const auto& p : panels)
        if (!p.trajectory || !p.trajectory->hasStart())
            throw InputError("interactive page: a panel holds no frames");
    const bool points = is_points(s.data_shape);
    const std::vector<int> levels = page_levels(s, options.max_frames);
    r.positions = int(levels.size());

    // The fields every panel can show: x_t from x_T on; x0_hat, eps_hat once a step is stored.
    std::vector<Field> fields;
    for (Field f : options.fields) {
        bool ok = true;
        for (const auto& p : panels)
            ok = ok && (f == Field::Xt || p.trajectory->size() > 0);
        if (ok && std::find(fields.begin(), fields.end(), f) == fields.end())
            fields.push_back(f);
    }
    if (fields.empty())
        throw InputError("interactive page: none of the chosen fields is stored in the session");

    json data;
    data["model"] = s.model_name;
    data["seed"] = s.recipe.seed;
    data["batch"] = s.batch;
    data["train_steps"] = s.train_steps;
    data["pacing"] = to_string(s.recipe.pacing);
    data["kind"] = points ? "points" : "images";
    data["levels"] = levels;
    data["fields"] = json::array();
    for (Field f : fields)
        data["fields"].push_back(to_string(f));

    // Per panel: caption, colour, plan, the step it shows at each level (the GUI's
    // timeline rule, step_at), and its per-step statistics for the plot.
    json jpanels = json::array();
    std::vector<std::string> names = step_stat_names();
    for (const auto& n : metrics::step_metric_names())
        names.push_back(n);
    for (const auto& p : panels) {
        const Trajectory& traj = *p.trajectory;
        json jp;
        jp["caption"] = p.caption;
        jp["colour"] = hex_colour(panel_colour(p.index));
        jp["steps"] = traj.plannedSteps();
        jp["stored"] = traj.size();
        jp["finished"] = traj.finished();
        json at = json::array();
        for (int t : levels)
            at.push_back(step_at(traj.timesteps(), t, traj.size(), traj.finished()));
        jp["at"] = at;
        json ts = json::array();
        std::map<std::string, json> series;
        for (int k = 0; k < traj.size(); ++k) {
            const auto& info = traj.info(k);
            ts.push_back(info.plan.t);
            auto values = step_stat_values(info.stats);
            for (double v : metrics::step_metric_values(info.metrics.values))
                values.push_back(v);
            for (std::size_t i = 0; i < names.size(); ++i)
                series[names[i]].push_back(plot_value(values[i]));
        }
        jp["t"] = ts;
        json stats = json::object();
        for (const auto& n : names) // in the fixed order; what no step measured is left out
            if (series.count(n) && std::any_of(series[n].begin(), series[n].end(), [](const json& v) { return !v.is_null(); }))
                stats[n] = series[n];
        jp["stats"] = stats;
        jpanels.push_back(jp);
    }

    // The pictures, deduplicated per (panel, field, step): a 50-step panel shows
    // the same step at several levels of a 1000-step one.
    json images = json::array();
    const int total = int(fields.size() * levels.size());
    int done = 0;
    std::vector<float> values;
    for (Field f : fields) {
        const std::string fname = to_string(f);
        std::vector<std::map<int, int>> seen(panels.size());
        std::vector<json> per_panel(panels.size(), json::array());
        RenderOptions ro;
        ro.field = f;
        std::optional<FrameRenderer> renderer;
        Extent extent;
        if (points) {
            extent = fixed_extent(panels, f);
        } else {
            renderer.emplace(panels, ro);
        }
        for (std::size_t l = 0; l < levels.size(); ++l) {
            if (cancel && cancel->load()) {
                r.cancelled = true;
                if (result)
                    *result = r;
                return {};
            }
            std::optional<RgbImage> frame;
            for (std::size_t p = 0; p < panels.size(); ++p) {
                const Trajectory& traj = *panels[p].trajectory;
                const int step = jpanels[p]["at"][l].get<int>();
                if (step < 0) {
                    per_panel[p].push_back(nullptr);
                    continue;
                }
                const int fs = field_step(traj, step, f);
                auto [it, fresh] = seen[p].try_emplace(fs, int(images.size()));
                if (fresh) {
                    if (points) {
                        traj.decode(fs, f, values);
                        images.push_back(point_codes(values, extent));
                    } else {
                        if (!frame)
                            frame = renderer->render(levels[l]);
                        const auto rect = renderer->content_rect(int(p));
                        RgbImage crop(rect.width, rect.height);
                        for (int y = 0; y < rect.height; ++y)
                            std::copy_n(frame->pixel(rect.x, rect.y + y), std::size_t(rect.width) * 3, crop.pixel(0, y));
                        images.push_back("data:image/png;base64," + base64(encode_png(crop)));
                    }
                }
                per_panel[p].push_back(it->second);
            }
            if (progress)
                progress(++done, total);
        }
        for (std::size_t p = 0; p < panels.size(); ++p)
            jpanels[p]["frames"][fname] = per_panel[p];
        if (points)
            data["extent"][fname] = {extent.cx, extent.cy, extent.half};
        else if (!data.contains("size"))
            data["size"] = {renderer->content_rect(0).width, renderer->content_rect(0).height};
    }
    r.images = int(images.size());
    data["images"] = images;

    if (points) {
        // Paths of the first few samples through every stored x_t, on the x_t extent.
        const Extent e = fixed_extent(panels, Field::Xt);
        for (std::size_t p = 0; p < panels.size(); ++p) {
            const Trajectory& traj = *panels[p].trajectory;
            const int n = std::min(traj.batch(), std::max(0, options.paths));
            json paths = json::array();
            for (int i = 0; i < n; ++i) {
                std::vector<float> xy;
                for (int k = 0; k <= traj.size(); ++k) {
                    xy.push_back(traj.xtValue(k, 2 * std::size_t(i)));
                    xy.push_back(traj.xtValue(k, 2 * std::size_t(i) + 1));
                }
                paths.push_back(point_codes(xy, e));
            }
            jpanels[p]["paths"] = paths;
        }
        data["canvas"] = 320; // the renderer's natural scatter size
    }
    // The plot's choices in the fixed order of step_stat_names() then step_metric_names()
    // (a JSON object's keys come back sorted).
    json stat_names = json::array();
    for (const auto& n : names)
        if (std::any_of(jpanels.begin(), jpanels.end(), [&](const json& p) { return p["stats"].contains(n); }))
            stat_names.push_back(n);
    data["stat_names"] = stat_names;
    data["panels"] = jpanels;

    const std::string title = "NoiseTrail: " + s.model_name;
    std::string page;
    page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // No network: the page may load nothing but what it carries (data: images).
    page += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n";
    page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    page += "<meta name=\"generator\" content=\"NoiseTrail " + html_escape(NOISETRAIL_VERSION) + "\">\n";
    page += "<title>" + html_escape(title) + "</title>\n<style>" + std::string(kPageStyle) + "</style>\n</head>\n<body>\n";
    page += "<h1>" + html_escape(title) + "</h1>\n";
    page += "<p class=\"sub\">seed " + std::to_string(s.recipe.seed) + ", batch " + std::to_string(s.batch) + ", " +
            html_escape(to_string(s.recipe.pacing)) + " pacing, T = " + std::to_string(s.train_steps) +
            ". Drag the slider (or use the arrow keys), press Play, switch the field.</p>\n";
    page += "<div id=\"controls\"><button id=\"play\" type=\"button\">Play</button>"
            "<input id=\"slider\" type=\"range\" min=\"0\" value=\"0\" aria-label=\"noise level\">"
            "<span id=\"where\"></span><label>field <select id=\"field\"></select></label></div>\n";
    page += "<div id=\"panels\"></div>\n";
    page += "<div id=\"plot\"><label>statistic <select id=\"metric\"></select></label>"
            "<svg id=\"chart\" width=\"720\" height=\"220\" role=\"img\" aria-label=\"statistic per step\"></svg></div>\n";
    page += "<p class=\"foot\">Made with NoiseTrail " + html_escape(NOISETRAIL_VERSION) +
            " (<code>noisetrail-cli session html</code>). Frames are those of <code>session export</code>.</p>\n";
    page += "<script id=\"data\" type=\"application/json\">" + script_safe(data) + "</script>\n";
    page += "<script>" + std::string(kPageScript) + "</script>\n</body>\n</html>\n";
    r.bytes = page.size();
    if (result)
        *result = r;
    return page;
}

PageResult write_interactive_page(const Session& session, const std::filesystem::path& path,
                                  const PageOptions& options, const std::function<void(int, int)>& progress,
                                  const std::atomic<bool>* cancel, const std::string& what)
{
    PageResult r;
    const std::string page = interactive_page(session, options, &r, progress, cancel);
    if (!r.cancelled)
        write_file_atomic(path, page, what);
    return r;
}

namespace {

const char* const kPageStyle = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}
.sub,.foot{color:#555;margin:0 0 10px}
#controls{display:flex;gap:10px;align-items:center;margin:8px 0}
#slider{width:420px}
#where{min-width:190px;font-variant-numeric:tabular-nums}
#panels{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
figure{margin:0;padding:6px;border-top:4px solid #888}
figcaption{font-weight:600;max-width:480px}
figure img,figure canvas{display:block;image-rendering:pixelated;margin:4px 0}
.at{color:#555;font-variant-numeric:tabular-nums}
#plot{margin-top:12px}
#chart{display:block;border:1px solid #ddd;margin-top:4px}
)CSS";

// The page's own script: no libraries, no network. Captions go in as textContent.
const char* const kPageScript = R"JS(
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("data").textContent);
  const slider = document.getElementById("slider"), where = document.getElementById("where");
  const fieldSel = document.getElementById("field"), metricSel = document.getElementById("metric");
  const play = document.getElementById("play"), chart = document.getElementById("chart");
  const last = D.levels.length - 1;
  slider.max = String(last);
  let field = D.fields[0], pos = 0, timer = null;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  for (const f of D.fields) fieldSel.appendChild(el("option", "", f)).value = f;
  const views = D.panels.map((p) => {
    const fig = el("figure");
    fig.style.borderTopColor = p.colour;
    fig.appendChild(el("figcaption", "", p.caption));
    let pic;
    if (D.kind === "images") {
      pic = el("img");
      pic.width = D.size[0];
      pic.height = D.size[1];
      pic.alt = p.caption;
    } else {
      pic = el("canvas");
      pic.width = pic.height = D.canvas;
    }
    fig.appendChild(pic);
    const at = el("div", "at");
    fig.appendChild(at);
    document.getElementById("panels").appendChild(fig);
    return { pic: pic, at: at };
  });
  const decode = (b64) => {
    const s = atob(b64), u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; ++i) u[i] = s.charCodeAt(i);
    return new Uint16Array(u.buffer);
  };
  const cache = new Map();
  const codes = (i) => {
    if (!cache.has(i)) cache.set(i, decode(D.images[i]));
    return cache.get(i);
  };
  function drawPoints(ctx, p, step) {
    const n = D.canvas, e = D.extent[field];
    // Codes span [c - 2h, c + 2h]; the canvas shows [c - h, c + h].
    const px = (q) => (q / 65535 * 4 - 1) * n / 2, py = (q) => n - px(q);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, n, n);
    ctx.strokeStyle = "#e4e4e4";
    ctx.lineWidth = 1;
    for (let g = Math.ceil(e[0] - e[2]); g <= e[0] + e[2]; ++g) {
      const x = Math.round((g - e[0] + e[2]) / (2 * e[2]) * n) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, n); ctx.stroke();
    }
    for (let g = Math.ceil(e[1] - e[2]); g <= e[1] + e[2]; ++g) {
      const y = n - Math.round((g - e[1] + e[2]) / (2 * e[2]) * n) - 0.5;
      ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(n, y); ctx.stroke();
    }
    if (field === "x_t" && p.paths) {
      ctx.strokeStyle = p.colour;
      ctx.globalAlpha = 0.5;
      for (let i = 0; i < p.paths.length; ++i) {
        const key = "path" + D.panels.indexOf(p) + ":" + i;
        if (!cache.has(key)) cache.set(key, decode(p.paths[i]));
        const c = cache.get(key);
        ctx.beginPath();
        for (let k = 0; k <= step && 2 * k + 1 < c.length; ++k)
          k ? ctx.lineTo(px(c[2 * k]), py(c[2 * k + 1])) : ctx.moveTo(px(c[0]), py(c[1]));
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
    }
    return (c) => {
      ctx.fillStyle = p.colour;
      for (let i = 0; i + 1 < c.length; i += 2) ctx.fillRect(px(c[i]) - 1.5, py(c[i + 1]) - 1.5, 3, 3);
    };
  }
  function levelName(t) { return t < 0 ? "final samples" : "t = " + t; }
  function show() {
    slider.value = String(pos);
    fieldSel.value = field;
    const t = D.levels[pos];
    where.textContent = levelName(t) + "  (" + (pos + 1) + "/" + D.levels.length + ")";
    D.panels.forEach((p, i) => {
      const v = views[i], step = p.at[pos], img = p.frames[field][pos];
      v.at.textContent = step < 0 ? "nothing yet" : step >= p.stored ? "final samples (" + p.stored + " steps)"
        : "step " + step + " of " + p.steps + ", t = " + p.t[step];
      if (img === null || img === undefined) return;
      if (D.kind === "images") {
        if (v.pic.getAttribute("src") !== D.images[img]) v.pic.src = D.images[img];
      } else {
        const ctx = v.pic.getContext("2d");
        drawPoints(ctx, p, step)(codes(img));
      }
    });
    drawChart();
    const hash = "#step=" + pos + "&field=" + field;
    try { // a link says where to look; some browsers refuse this on file: pages
      if (location.hash !== hash) history.replaceState(null, "", hash);
    } catch (e) { /* the page works without it */ }
  }
  // The statistic plot: each panel's value per stored step against t (T at the left),
  // the cursor at the slider's t.
  const names = D.stat_names;
  for (const n of names) metricSel.appendChild(el("option", "", n)).value = n;
  if (!names.length) document.getElementById("plot").hidden = true;
  const NS = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  function drawChart() {
    const name = metricSel.value;
    while (chart.firstChild) chart.removeChild(chart.firstChild);
    if (!name) return;
    const W = 720, H = 220, L = 60, R = 12, T = 10, B = 28, Tmax = Math.max(1, D.train_steps);
    let lo = Infinity, hi = -Infinity;
    for (const p of D.panels) for (const v of p.stats[name] || []) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!(hi >= lo)) return;
    if (hi === lo) { hi += 1; lo -= 1; }
    const X = (t) => L + (1 - Math.max(t, 0) / Tmax) * (W - L - R), Y = (v) => H - B - (v - lo) / (hi - lo) * (H - T - B);
    chart.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
    chart.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
    const fmt = (v) => Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(1) : String(+v.toPrecision(3));
    chart.appendChild(svgEl("text", { x: L - 4, y: T + 10, "text-anchor": "end", "font-size": 11 }, fmt(hi)));
    chart.appendChild(svgEl("text", { x: L - 4, y: H - B, "text-anchor": "end", "font-size": 11 }, fmt(lo)));
    chart.appendChild(svgEl("text", { x: L, y: H - 8, "font-size": 11 }, "t = " + Tmax));
    chart.appendChild(svgEl("text", { x: W - R, y: H - 8, "text-anchor": "end", "font-size": 11 }, "t = 0"));
    D.panels.forEach((p) => {
      const vs = p.stats[name];
      if (!vs) return;
      let d = "";
      vs.forEach((v, k) => { if (v !== null) d += (d ? "L" : "M") + X(p.t[k]).toFixed(1) + " " + Y(v).toFixed(1); });
      chart.appendChild(svgEl("path", { d: d, fill: "none", stroke: p.colour, "stroke-width": 1.5 }));
    });
    const t = D.levels[pos], cx = X(t < 0 ? 0 : t);
    chart.appendChild(svgEl("line", { x1: cx, y1: T, x2: cx, y2: H - B, stroke: "#c00", "stroke-dasharray": "4 3" }));
  }
  function fromHash() {
    const q = new URLSearchParams(location.hash.replace(/^#/, "") || location.search.replace(/^\?/, ""));
    const k = parseInt(q.get("step"), 10);
    if (Number.isFinite(k)) pos = Math.min(Math.max(k, 0), last);
    const f = q.get("field");
    if (f && D.fields.includes(f)) field = f;
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }
  play.addEventListener("click", () => {
    if (timer) return stop();
    if (pos >= last) pos = 0;
    play.textContent = "Pause";
    timer = setInterval(() => { if (pos >= last) return stop(); ++pos; show(); }, 100);
  });
  slider.addEventListener("input", () => { pos = parseInt(slider.value, 10); show(); });
  fieldSel.addEventListener("change", () => { field = fieldSel.value; show(); });
  metricSel.addEventListener("change", drawChart);
  window.addEventListener("hashchange", () => { fromHash(); show(); });
  fromHash();
  show();
})();
)JS";

} // namespace

} // namespace noisetrail
