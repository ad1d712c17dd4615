// The registered samplers in menu order: X(name) is the factory name##_sampler()
// that core/src/samplers/<name>.cpp defines. Adding a sampler adds one line here.
// Torch-free, so that the lean fuzz build (tests/fuzz/sampler_info.cpp) knows the
// same names without linking the samplers.
#pragma once

#define NOISETRAIL_SAMPLERS(X) \
    X(ddpm)                    \
    X(ddim)                    \
    X(heun)                    \
    X(dpmpp2m)                 \
    X(euler_a)                 \
    X(euler)
