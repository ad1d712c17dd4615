// Synthetic sessions for tests: trajectories made from known frames (no model),
// so session, CLI and GUI tests know every stored value independently.
#pragma once
#include "noisetrail/session.hpp"

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace noisetrail::test {

/// A trajectory of S planned steps with `stored` of them appended: smooth images
/// (whose 8-bit blocks deflate) alternating with noise (whose blocks stay raw).
/// `guided`: every step also has x0_cond, and steps 1 and 2 (a guidance interval) x0_uncond.
inline std::shared_ptr<Trajectory> make_trajectory(std::vector<std::int64_t> shape, std::vector<int> ts, int stored,
                                            Trajectory::Precision precision, unsigned seed, bool guided = false)
{
    std::size_t n = 1;
    for (auto d : shape)
        n *= std::size_t(d);
    auto t = std::make_shared<Trajectory>(shape, ts, precision);
    std::mt19937 rng(seed);
    std::normal_distribution<float> g;
    auto values = [&](int k, bool smooth) {
        std::vector<float> v(n);
        for (std::size_t i = 0; i < n; ++i)
            v[i] = smooth ? std::sin(0.05f * float(i) + float(k)) : g(rng);
        return v;
    };
    std::vector<float> x = values(0, false);
    for (int k = 0; k < stored; ++k) {
        StepFrame f;
        f.step = k;
        f.steps = int(ts.size());
        f.plan = {ts[std::size_t(k)], k + 1 < int(ts.size()) ? ts[std::size_t(k) + 1] : -1, 0.1 * k, 0.2 * k, 0.01 * k};
        f.shape = shape;
        f.x_t = x;
        f.x0_hat = values(k, true);
        f.eps_hat = values(k, false);
        f.x_prev = values(k + 1, k % 2 == 0);
        if (guided) {
            f.x0_cond = values(k + 7, true);
            f.x0_uncond = k == 1 || k == 2 ? values(k + 3, k == 1) : std::vector<float>(n, std::nanf(""));
        }
        f.stats = {0.5 * k, 1.0, 2.0, k == 0 ? std::nan("") : 0.25, 3.0};
        FrameMetrics m;
        m.values.vendi = 1.5 + k;
        m.componentCounts = {k, 2, 3};
        m.componentNear = {1};
        for (std::int64_t b = 0; b < shape[0]; ++b) // per sample, as the GUI's worker stores them
            m.assignment.push_back(int((b + k) % 3));
        m.seconds = 0.001;
        t->append(f, &m);
        x = f.x_prev;
    }
    return t;
}

/// `guided`: panel 0 stores x0_cond and x0_uncond as a guided run does (make_trajectory).
inline Session make_session(const std::filesystem::path& card, int stored_a = 5, bool guided = false)
{
    Session s;
    s.recipe.model = card;
    s.recipe.seed = 42;
    s.recipe.batch = 3;
    s.recipe.pacing = Pacing::Lockstep;
    PanelRecipe ddpm, ddim;
    ddpm.sampler.sampler = "ddpm";
    ddpm.sampler.steps = 5;
    ddim.sampler.sampler = "ddim";
    ddim.sampler.steps = 2;
    ddim.sampler.eta = 0.5;
    ddim.sampler.spacing = Spacing::Trailing;
    ddim.sampler.clip_x0 = 1.0;
    s.recipe.panels = {ddpm, ddim};
    s.model_name = "test digits";
    std::string zeros = "0";
    for (int i = 1; i < 64; ++i)
        zeros += ", 0";
    s.card_json = R"({"format": "noisetrail-model/1", "name": "test digits", "kind": "gaussian-mixture", "data_shape": [1, 8, 8],
      "schedule": {"kind": "linear", "train_steps": 10}, "data_range": [-1, 1],
      "mixture": {"weights": [1], "means": [[)" + zeros + R"(]], "stds": [0.5]}})";
    s.train_steps = 10;
    s.batch = 3;
    s.data_shape = {1, 8, 8};
    const std::vector<std::int64_t> shape{3, 1, 8, 8};
    s.panels.push_back({"sha256:aa", "DDPM, 5 steps",
                        make_trajectory(shape, {8, 6, 4, 2, 0}, stored_a, Trajectory::Precision::UInt8, 1, guided)});
    s.panels.push_back({"sha256:bb", "DDIM, 2 steps",
                        make_trajectory(shape, {9, 4}, 2, Trajectory::Precision::UInt8, 2)});
    s.x_T.resize(3 * 64);
    for (std::size_t i = 0; i < s.x_T.size(); ++i)
        s.x_T[i] = std::sin(float(i)) * 1.7f;
    return s;
}

} // namespace noisetrail::test
