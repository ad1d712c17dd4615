// How a NoiseTrail process uses the machine: its memory allocator and its
// intra-op threads. One policy for the CLI, the GUI and every run in core.
#pragma once
#include "noisetrail/model_card.hpp"

namespace noisetrail {

/// Who the threads of a run are for.
enum class ThreadUse {
    Batch,       ///< a headless run (CLI, compare): every free core
    Interactive, ///< the GUI animates while it samples: one core stays with the GUI thread
};

/// Call first thing in main() of every executable, with main's arguments.
///
/// Memory: keeps freed tensor buffers inside the process (mallopt: mmap
/// threshold 64 MiB, trim threshold 256 MiB). With glibc's defaults every
/// large buffer (a UNet activation at batch 16 is 0.2-1.6 MB) goes back to the
/// kernel when freed and page-faults again on its next use, a few thousand
/// faults per sampling step; measured figures are in README "Performance".
/// NOISETRAIL_MALLOC_TUNING=0 keeps glibc's defaults (for comparisons).
///
/// Threads: starts the CPU probe window that default_threads() reads. With
/// ThreadUse::Interactive (the GUI) and OMP_WAIT_POLICY unset, the process
/// re-executes itself once with OMP_WAIT_POLICY=passive: libgomp reads the
/// policy only when it is loaded, and its spin-waiting threads make a run
/// several times slower as soon as another program wants a core (measured:
/// DDIM 20 steps at batch 16 on two threads, 2.3 s passive against 5.5-19 s
/// spinning, while other jobs ran). The CLI does not pay the second start-up
/// (0.3 s of CPU): on a busy machine its policy runs one thread, which never waits.
/// With ThreadUse::Interactive and OPENBLAS_NUM_THREADS unset, OpenBLAS (when it is
/// libtorch's BLAS) gets one thread: its own pool spins in sched_yield between calls.
void prepare_process(int argc, char** argv, ThreadUse use);

/// Cores this process can use now: the idle share of the machine's cores plus
/// the cores this process keeps busy itself, from /proc/stat and the process's
/// own CPU time over the window since the previous measurement (at least
/// 25 ms: a short probe when calls come closer; a value under 1 s old is
/// reused), or from the load average where /proc/stat cannot be read. At most
/// the cores the process may run on.
double free_cores();

/// The cores the process may run on (its CPU affinity).
int usable_cores();

/// Intra-op threads for sampling from `card`:
/// - 1 for 2-D point models: a step is a few thousand values, and OpenMP's
///   wake-ups cost more than a second core saves;
/// - OMP_NUM_THREADS when set (the user's explicit choice);
/// - else the free cores (a core counts when 70% of it is idle), one fewer
///   for ThreadUse::Interactive, at least 1.
/// Runs whose RunOptions::threads is 0 use this with ThreadUse::Batch.
int default_threads(const ModelCard& card, ThreadUse use = ThreadUse::Batch);

/// Threads of OpenBLAS, when it is libtorch's BLAS (process-wide; nothing
/// otherwise, or when OPENBLAS_NUM_THREADS is set). Its idle workers spin in
/// sched_yield: where the BLAS calls are small (the recorder's 64x64 Vendi
/// eigensolve, the UNet's time embedding) one thread is faster, several
/// times so on a busy machine.
void set_blas_threads(int n);

/// Intra-op threads of model calls made on the calling thread (a per-thread
/// setting of libtorch; a new thread starts with one per core).
void set_intra_op_threads(int n);

} // namespace noisetrail
