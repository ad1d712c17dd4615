// Errors that cross the core boundary. Plain C++ so the UI can catch them.
#pragma once
#include <stdexcept>
#include <string>

namespace noisetrail {

/// Bad input: a flag, a model card, a weights or data file. The message names
/// the offending thing and what is wrong with it (CLI exit code 2).
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A run that failed while sampling, e.g. a non-finite value (CLI exit code 3).
class RunError : public std::runtime_error {
public:
    RunError(const std::string& what, int step, int t)
        : std::runtime_error(what), step_(step), t_(t) {}
    int step() const { return step_; }
    int t() const { return t_; }

private:
    int step_;
    int t_;
};

} // namespace noisetrail
