#include "json_file.hpp"

#include "noisetrail/errors.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <vector>

namespace noisetrail::detail {

namespace fs = std::filesystem;

std::string read_regular_file(const fs::path& path, const std::string& what, std::uintmax_t limit)
{
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        throw InputError(what + ": file does not exist");
    if (fs::is_directory(st))
        throw InputError(what + ": is a directory, not a regular file");
    if (!fs::is_regular_file(st))
        throw InputError(what + ": is not a regular file (a device, FIFO or socket?)");
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec)
        throw InputError(what + ": cannot read file (" + ec.message() + ")");
    if (size > limit)
        throw InputError(what + ": file is " + std::to_string(size) + " bytes, larger than the limit of " +
                         std::to_string(limit));
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(what + ": cannot open file");
    // Read at most limit + 1 bytes: the file may have grown since file_size().
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad())
        throw InputError(what + ": read error");
    if (in.peek() != std::char_traits<char>::eof())
        throw InputError(what + ": file changed while being read");
    return text;
}

namespace {

/// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string reason(const std::exception& e)
{
    std::string msg = e.what();
    const auto cut = msg.find("] ");
    msg = cut == std::string::npos ? msg : msg.substr(cut + 2);
    return msg.substr(0, msg.find('\n'));
}

struct DepthExceeded {};

} // namespace

nlohmann::json parse_json(const std::string& text, const std::string& what)
{
    using json = nlohmann::json;
    // The parser callback tracks where we are (the current key of each open
    // object) so that an error can name its field, and bounds the nesting.
    struct Frame {
        bool is_array;
        std::string key;
    };
    std::vector<Frame> open;
    const json::parser_callback_t track = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            if (open.size() >= static_cast<std::size_t>(kMaxJsonDepth))
                throw DepthExceeded{};
            open.push_back({event == json::parse_event_t::array_start, {}});
            break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
            if (!open.empty())
                open.pop_back();
            break;
        case json::parse_event_t::key:
            if (!open.empty())
                open.back().key = parsed.is_string() ? parsed.get<std::string>() : std::string();
            break;
        case json::parse_event_t::value:
            break;
        }
        return true;
    };
    const auto field = [&] {
        std::string f;
        for (const Frame& fr : open)
            if (!fr.is_array && !fr.key.empty())
                f += (f.empty() ? "" : ".") + fr.key;
        return f;
    };
    try {
        return json::parse(text, track);
    } catch (const DepthExceeded&) {
        throw InputError(what + ": malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } catch (const json::exception& e) {
        const std::string where = field();
        throw InputError(what + ": malformed JSON" + (where.empty() ? "" : " at field '" + where + "'") + ": " +
                         reason(e));
    }
}

nlohmann::json read_json_file(const fs::path& path, const std::string& what, std::uintmax_t limit)
{
    return parse_json(read_regular_file(path, what, limit), what);
}

long long json_integer(const nlohmann::json& v, const std::string& what, const std::string& field, long long lo,
                       long long hi)
{
    const auto fail = [&]() -> long long {
        throw InputError(what + ": field '" + field + "' must be an integer in " + std::to_string(lo) + ".." +
                         std::to_string(hi));
    };
    if (v.is_number_unsigned()) {
        const auto u = v.get<unsigned long long>();
        if (u > static_cast<unsigned long long>(std::numeric_limits<long long>::max()))
            return fail();
        const auto i = static_cast<long long>(u);
        return i < lo || i > hi ? fail() : i;
    }
    if (v.is_number_integer()) {
        const auto i = v.get<long long>();
        return i < lo || i > hi ? fail() : i;
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        // Compare as doubles first: converting an out-of-range double to an integer is undefined.
        if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
            return fail();
        const auto i = static_cast<long long>(d);
        return i < lo || i > hi ? fail() : i;
    }
    return fail();
}

double json_number(const nlohmann::json& v, const std::string& what, const std::string& field)
{
    if (!v.is_number() || !std::isfinite(v.get<double>()))
        throw InputError(what + ": field '" + field + "' must be a finite number");
    return v.get<double>();
}

std::string json_string(const nlohmann::json& v, const std::string& what, const std::string& field)
{
    if (!v.is_string())
        throw InputError(what + ": field '" + field + "' must be a string");
    return v.get<std::string>();
}

} // namespace noisetrail::detail
