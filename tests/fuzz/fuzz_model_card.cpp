// libFuzzer target: the model-card parser (common fields, JSON with named
// errors) on arbitrary text. Bad input must end in InputError.
#include "noisetrail/errors.hpp"
#include "noisetrail/model_card.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        const noisetrail::ModelCard card =
            noisetrail::parse_model_card(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
        // A card that parsed has a bounded, non-empty data shape and a usable schedule.
        if (card.data_shape.empty() || card.data_dim() < 1 || card.data_dim() > (1 << 24) ||
            card.schedule.train_steps < 1)
            std::abort();
        // Nor a control character in a name the card gives (a NUL was once accepted).
        if (card.name != "fuzz")
            for (const unsigned char c : card.name)
                if (c < 0x20 || c == 0x7f)
                    std::abort();
        (void)card.default_clip();
        (void)card.is_image();
    } catch (const noisetrail::InputError&) {
    }
    return 0;
}
