// A progress bar on stderr, only when stderr is a terminal.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace noisetrail::cli {

class Progress {
public:
    explicit Progress(int total, const char* label = "sampling")
        : total_(total), label_(label), enabled_(isatty(STDERR_FILENO) != 0), start_(Clock::now()), last_(start_)
    {
    }

    void update(int done, int t)
    {
        if (!enabled_)
            return;
        const auto now = Clock::now();
        if (done < total_ && now - last_ < std::chrono::milliseconds(100))
            return;
        last_ = now;
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? done / elapsed : 0.0;
        const double left = rate > 0 ? (total_ - done) / rate : 0.0;
        const int width = 30, filled = total_ > 0 ? width * done / total_ : width;
        char bar[width + 1];
        for (int i = 0; i < width; ++i)
            bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        std::fprintf(stderr, "\r%s [%s] %d/%d  t=%-4d %7.1f steps/s  %5.1f s left ", label_, bar, done, total_, t,
                     rate, left);
        std::fflush(stderr);
    }

    void finish()
    {
        if (enabled_)
            std::fprintf(stderr, "\n");
    }

private:
    using Clock = std::chrono::steady_clock;
    int total_;
    const char* label_;
    bool enabled_;
    Clock::time_point start_, last_;
};

} // namespace noisetrail::cli
