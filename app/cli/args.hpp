// Strict command-line parsing for noisetrail-cli: unknown flags and bad values are errors.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace noisetrail::cli {

class Args {
public:
    /// `valued`: flags that take a value; `switches`: flags that do not.
    /// Throws InputError for an unknown flag, a missing value or a stray argument.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
         const std::set<std::string>& switches);

    bool has(const std::string& flag) const;
    std::optional<std::string> text(const std::string& flag) const;
    std::optional<long long> integer(const std::string& flag, long long lo, long long hi) const;
    std::optional<double> number(const std::string& flag) const;
    /// The flag's value as a finite number; InputError "FLAG: expected <expected>, got 'v'" otherwise.
    double number_or_error(const std::string& flag, const std::string& expected) const;

private:
    std::map<std::string, std::string> values_;
    std::set<std::string> switches_on_;
};

} // namespace noisetrail::cli
