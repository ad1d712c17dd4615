#include "noisetrail/threads.hpp"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace noisetrail {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kMinWindow = std::chrono::milliseconds(25);
constexpr auto kReuse = std::chrono::seconds(1);

struct CpuSample {
    Clock::time_point when;
    double idle_ticks = 0, total_ticks = 0; ///< all CPUs, from /proc/stat
    double own_seconds = 0;                  ///< this process's user + system time
};

std::optional<CpuSample> sample_cpu()
{
    std::ifstream in("/proc/stat");
    std::string cpu;
    double v[8] = {}; // user nice system idle iowait irq softirq steal
    if (!(in >> cpu) || cpu != "cpu")
        return std::nullopt;
    for (double& x : v)
        if (!(in >> x))
            return std::nullopt;
    CpuSample s;
    s.when = Clock::now();
    s.idle_ticks = v[3] + v[4];
    for (double x : v)
        s.total_ticks += x;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    s.own_seconds = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
    return s;
}

struct Probe {
    std::mutex mutex;
    std::optional<CpuSample> last;
    std::optional<double> value;
    Clock::time_point value_when;
};

Probe& probe()
{
    static Probe p;
    return p;
}

int online_cpus()
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

double from_load_average()
{
    double load = 0;
    if (getloadavg(&load, 1) != 1)
        return usable_cores();
    return std::clamp(usable_cores() - load, 0.0, static_cast<double>(usable_cores()));
}

} // namespace

int usable_cores()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        return std::max(1, CPU_COUNT(&set));
    return online_cpus();
}

double free_cores()
{
    Probe& p = probe();
    std::lock_guard lock(p.mutex);
    if (p.value && Clock::now() - p.value_when < kReuse)
        return *p.value;
    if (!p.last)
        p.last = sample_cpu();
    if (!p.last)
        return from_load_average();
    const auto waited = Clock::now() - p.last->when;
    if (waited < kMinWindow)
        std::this_thread::sleep_for(kMinWindow - waited);
    const std::optional<CpuSample> now = sample_cpu();
    if (!now)
        return from_load_average();
    const double ticks = now->total_ticks - p.last->total_ticks;
    const double wall = std::chrono::duration<double>(now->when - p.last->when).count();
    double free = 0;
    if (ticks <= 0 || wall <= 0) {
        free = from_load_average(); // the window was shorter than a clock tick
    } else {
        // Idle cores of the machine, plus the cores this process itself kept busy:
        // those are ours to use again.
        const double idle = online_cpus() * (now->idle_ticks - p.last->idle_ticks) / ticks;
        const double own = (now->own_seconds - p.last->own_seconds) / wall;
        free = std::clamp(idle + own, 0.0, static_cast<double>(usable_cores()));
    }
    p.last = now;
    p.value = free;
    p.value_when = now->when;
    return free;
}

int default_threads(const ModelCard& card, ThreadUse use)
{
    if (card.is_2d_points())
        return 1;
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
        const int n = std::atoi(env);
        if (n > 0)
            return n;
    }
    int n = static_cast<int>(std::floor(free_cores() + 0.3)); // a core is free when 70% of it is idle
    if (use == ThreadUse::Interactive)
        n -= 1;
    return std::clamp(n, 1, usable_cores());
}

void set_intra_op_threads(int n)
{
    if (n > 0 && at::get_num_threads() != n)
        at::set_num_threads(n);
}

void set_blas_threads(int n)
{
    if (n < 1 || std::getenv("OPENBLAS_NUM_THREADS")) // the user's explicit choice stands
        return;
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(n);
}

void prepare_process(int argc, char** argv, ThreadUse use)
{
    (void)argc;
    const char* tuning = std::getenv("NOISETRAIL_MALLOC_TUNING");
    if (!(tuning && std::strcmp(tuning, "0") == 0)) {
        // Blocks up to 64 MiB come from the heap, and the heap keeps up to 256 MiB
        // of free space at its top: a sampling step reuses last step's buffers.
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }
    if (use == ThreadUse::Interactive) {
        // libtorch's few BLAS calls (the UNet's time-embedding layers, the
        // classifier's dense layers) go to OpenBLAS, whose own worker threads
        // spin in sched_yield between calls: in the GUI one of them took 12% of
        // the process's CPU, on the core the GUI keeps (bench-gui's CPU split,
        // README "Performance"). One BLAS thread: its calls are tiny.
        set_blas_threads(1);
    }
    if (use == ThreadUse::Interactive && !std::getenv("OMP_WAIT_POLICY") && argv && argv[0]) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv); // returns only on failure: go on with spinning threads
    }
    std::lock_guard lock(probe().mutex);
    probe().last = sample_cpu(); // the probe window opens at start-up
}

} // namespace noisetrail
