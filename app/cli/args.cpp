#include "args.hpp"

#include "noisetrail/errors.hpp"

#include <charconv>
#include <cmath>

namespace noisetrail::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& switches)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        std::string flag = argv[i];
        std::optional<std::string> inline_value;
        if (flag.rfind("--", 0) != 0)
            throw InputError("unexpected argument '" + flag + "' (see --help)");
        if (const auto eq = flag.find('='); eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        }
        if (switches.count(flag)) {
            if (inline_value)
                throw InputError(flag + " takes no value");
            switches_on_.insert(flag);
        } else if (valued.count(flag)) {
            if (values_.count(flag))
                throw InputError(flag + " is given twice");
            if (inline_value) {
                values_[flag] = *inline_value;
            } else {
                if (i + 1 >= argv.size())
                    throw InputError(flag + " needs a value");
                values_[flag] = argv[++i];
            }
        } else {
            throw InputError("unknown option '" + flag + "' (see --help)");
        }
    }
}

bool Args::has(const std::string& flag) const
{
    return switches_on_.count(flag) || values_.count(flag);
}

std::optional<std::string> Args::text(const std::string& flag) const
{
    const auto it = values_.find(flag);
    if (it == values_.end())
        return std::nullopt;
    return it->second;
}

std::optional<long long> Args::integer(const std::string& flag, long long lo, long long hi) const
{
    const auto s = text(flag);
    if (!s)
        return std::nullopt;
    long long v = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || end != s->data() + s->size())
        throw InputError(flag + ": expected an integer, got '" + *s + "'");
    if (v < lo || v > hi)
        throw InputError(flag + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + *s);
    return v;
}

std::optional<double> Args::number(const std::string& flag) const
{
    if (!text(flag))
        return std::nullopt;
    return number_or_error(flag, "a finite number");
}

double Args::number_or_error(const std::string& flag, const std::string& expected) const
{
    const std::string s = text(flag).value_or("");
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
        throw InputError(flag + ": expected " + expected + ", got '" + s + "'");
    return v;
}

} // namespace noisetrail::cli
