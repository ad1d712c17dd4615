// libFuzzer target: the training config reader (noisetrail-cli train --config,
// docs/CLI.md) on arbitrary text. Bad input must end in InputError; a config that
// parsed must hold what the reader promises (ranges checked before narrowing), and
// with_defaults must either fill in a valid config or refuse it with InputError.
#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/training.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace noisetrail;
    const std::filesystem::path file = "/fuzz/dir/t.train.json";
    TrainConfig c;
    try {
        c = parse_train_config(std::string(reinterpret_cast<const char*>(data), size), file);
    } catch (const InputError&) {
        return 0;
    }
    if (c.steps < 0 || c.batch < 0 || c.threads < 0 || c.threads > max_threads() || c.sample_count < 0 ||
        c.schedule.train_steps < 1 || c.schedule.train_steps > 1000000 ||
        (c.label_dropout != -1.0 && !(c.label_dropout >= 0 && c.label_dropout < 1)))
        std::abort();
    // Relative paths are anchored at the config's folder.
    for (const auto* p : {&c.data, &c.labels, &c.out, &c.noise, &c.init})
        if (!p->empty() && !p->is_absolute())
            std::abort();
    TrainConfig d;
    try {
        d = with_defaults(c);
    } catch (const InputError&) {
        return 0;
    }
    if (d.steps < 1 || d.batch < 1 || !(d.lr > 0) || d.ema_decay < 0 || d.ema_decay >= 1 || d.warmup_steps < 0 ||
        (d.lr_schedule != "constant" && d.lr_schedule != "cosine"))
        std::abort();
    // What to_json writes (the card's record of how it was trained) the reader takes back, the same.
    try {
        const TrainConfig back = with_defaults(parse_train_config(to_json(d), file));
        if (back.steps != d.steps || back.batch != d.batch || back.lr != d.lr || back.kind != d.kind ||
            back.schedule.train_steps != d.schedule.train_steps || back.label_dropout != d.label_dropout)
            std::abort();
    } catch (const InputError&) {
        std::abort();
    }
    return 0;
}
