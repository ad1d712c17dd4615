// Runs as steppable objects and run sets: pacing orders (contract section 4),
// merged denoiser calls, and a panel of a set equal to the same run alone.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run_set.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

using namespace noisetrail;

namespace {

SamplerConfig config(const std::string& sampler, int steps, double eta = 0.0)
{
    SamplerConfig c;
    c.sampler = sampler;
    c.steps = steps;
    c.eta = eta;
    return c;
}

std::shared_ptr<Run> make_run(const std::shared_ptr<const Model>& model, const SamplerConfig& c, int batch,
                              std::uint64_t seed = 5)
{
    RunOptions o;
    o.sampler = c;
    o.batch = batch;
    o.seed = seed;
    return std::make_shared<Run>(model, o);
}

RunSet make_set(const std::shared_ptr<const Model>& model, const std::vector<SamplerConfig>& configs, int batch,
                Pacing pacing, MergePolicy merge = MergePolicy::Auto)
{
    std::vector<std::shared_ptr<Run>> runs;
    for (const auto& c : configs)
        runs.push_back(make_run(model, c, batch));
    return RunSet(std::move(runs), pacing, merge);
}

/// One (tick, panel, step, t) row per computed step, as schedule.csv lists them.
struct Row {
    int tick, panel, step, t;
};

/// Step a set to the end, checking that each tick computes exactly next_panels().
std::vector<Row> drive(RunSet& set, std::vector<std::vector<std::shared_ptr<const StepFrame>>>* frames = nullptr)
{
    std::vector<Row> rows;
    if (frames)
        frames->assign(set.size(), {});
    while (!set.done()) {
        const int tick = set.ticks();
        const std::vector<int> due = set.next_panels();
        const std::vector<TickFrame> got = set.tick();
        std::vector<int> panels;
        for (const auto& f : got) {
            panels.push_back(f.panel);
            rows.push_back({tick, f.panel, f.frame->step, f.frame->plan.t});
            if (frames)
                (*frames)[f.panel].push_back(f.frame);
        }
        if (panels != due)
            qFatal("tick %d computed other panels than next_panels() announced", tick);
    }
    return rows;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b)
{
    double m = a.size() == b.size() ? 0.0 : INFINITY;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
    return m;
}

/// Statistics equal, NaN (x0_change of step 0) equal to NaN.
bool same_stats(const StepStats& a, const StepStats& b)
{
    const auto va = step_stat_values(a), vb = step_stat_values(b);
    for (std::size_t i = 0; i < va.size(); ++i)
        if (!(va[i] == vb[i] || (std::isnan(va[i]) && std::isnan(vb[i]))))
            return false;
    return true;
}

} // namespace

class TestRunSet : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void run_steps_like_run_sampler();
    void run_reports_its_state();
    void lockstep_order();
    void realtime_order();
    void sequential_order();
    void pacing_names();
    void merged_equals_separate_data();
    void merged_equals_separate();
    void merged_native_network_within_tolerance();
    void auto_merges_where_measured();
    void panel_equals_run_alone();
    void bad_sets_are_input_errors();
};

void TestRunSet::run_steps_like_run_sampler()
{
    // run_sampler is a loop over Run::step: the same frames, bit for bit.
    const auto model = Model::load(test::source_path("models/ring8.json"));
    for (const auto& c : {config("ddpm", 40), config("ddim", 15, 0.3), config("heun", 8), config("dpmpp2m", 8)}) {
        RunOptions o;
        o.sampler = c;
        o.batch = 32;
        o.seed = 11;
        std::vector<std::shared_ptr<const StepFrame>> a;
        const RunResult r = run_sampler(*model, o, [&](std::shared_ptr<const StepFrame> f) { a.push_back(f); });
        Run run(model, o);
        QVERIFY(same_bits(run.x_T(), r.x_T));
        for (int k = 0; !run.done(); ++k) {
            const auto f = run.step();
            QVERIFY2(same_bits(f->x_t, a[k]->x_t) && same_bits(f->x_prev, a[k]->x_prev) &&
                         same_bits(f->x0_hat, a[k]->x0_hat) && same_bits(f->eps_hat, a[k]->eps_hat),
                     qPrintable(QString::fromStdString(c.sampler) + " step " + QString::number(k)));
            QVERIFY(same_stats(f->stats, a[k]->stats));
            QCOMPARE(f->model_calls, a[k]->model_calls);
        }
        QVERIFY(same_bits(run.samples(), r.samples));
    }
}

void TestRunSet::run_reports_its_state()
{
    const auto model = Model::load(test::source_path("models/gaussian-2d.json"));
    RunOptions o;
    o.sampler = config("heun", 5);
    o.batch = 3;
    o.seed = 2;
    Run run(model, o);
    QCOMPARE(run.steps(), 5);
    QCOMPARE(run.steps_done(), 0);
    QVERIFY(!run.done());
    QCOMPARE(run.next_t(), run.plan().steps[0].t);
    QCOMPARE(run.shape(), (std::vector<std::int64_t>{3, 2}));
    QVERIFY(same_bits(run.samples(), run.x_T())); // before the first step, x is x_T
    QVERIFY(same_bits(run.x_T(), initial_noise({2}, 3, 2)));
    QCOMPARE(run.recipe().sampler.steps, 5);
    QCOMPARE(run.recipe().batch, 3);
    QVERIFY(run.recipe().fingerprint.rfind("sha256:", 0) == 0);
    for (int k = 0; k < 5; ++k) {
        QCOMPARE(run.next_t(), run.plan().steps[k].t);
        const auto f = run.step();
        QCOMPARE(f->step, k);
        // Heun: a second evaluation on every step but the last (Karras et al. Alg. 1).
        QCOMPARE(f->model_calls, k < 4 ? 2 : 1);
    }
    QVERIFY(run.done());
    QCOMPARE(run.next_t(), -1);
    QCOMPARE(run.model_calls(), 9);
    QVERIFY_THROWS_EXCEPTION(std::logic_error, run.step());
}

void TestRunSet::lockstep_order()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunSet set = make_set(model, {config("ddpm", 1000), config("ddim", 50), config("ddim", 10)}, 4, Pacing::Lockstep);
    std::map<int, int> last_tick;
    std::vector<int> steps_seen(3, 0);
    while (!set.done()) {
        // Pending next timesteps of the unfinished panels before this tick.
        std::vector<int> pending;
        for (int i = 0; i < set.size(); ++i)
            if (!set.run(i).done())
                pending.push_back(set.run(i).next_t());
        const int tick = set.ticks();
        for (const TickFrame& f : set.tick()) {
            // Contract section 4: no unfinished panel has a pending step with a larger t.
            for (int t : pending)
                QVERIFY2(f.frame->plan.t >= t, qPrintable(QString("tick %1 panel %2 computes t = %3 while t = %4 is "
                                                                  "pending")
                                                              .arg(tick)
                                                              .arg(f.panel)
                                                              .arg(f.frame->plan.t)
                                                              .arg(t)));
            QCOMPARE(f.frame->step, steps_seen[f.panel]++);
            last_tick[f.panel] = tick;
        }
    }
    QCOMPARE(steps_seen, (std::vector<int>{1000, 50, 10}));
    // A 1000-step and a 50-step panel reach t = 0 together: all end in the same tick.
    QCOMPARE(last_tick[0], last_tick[1]);
    QCOMPARE(last_tick[0], last_tick[2]);
    QCOMPARE(set.ticks(), 1000); // the DDIM timesteps are a subset of DDPM's
}

void TestRunSet::realtime_order()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunSet set = make_set(model, {config("ddpm", 100), config("ddim", 50), config("ddim", 10)}, 4, Pacing::Realtime);
    const std::vector<Row> rows = drive(set);
    // Every unfinished run advances one step per tick: step k of every panel is computed in tick k.
    for (const Row& r : rows)
        QCOMPARE(r.tick, r.step);
    QCOMPARE(set.ticks(), 100);
    QCOMPARE(static_cast<int>(rows.size()), 160);
    int in_tick_9 = 0, in_tick_10 = 0;
    for (const Row& r : rows) {
        in_tick_9 += r.tick == 9;
        in_tick_10 += r.tick == 10;
    }
    QCOMPARE(in_tick_9, 3);  // the 10-step panel's last step
    QCOMPARE(in_tick_10, 2); // then only two panels remain
}

void TestRunSet::sequential_order()
{
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunSet set = make_set(model, {config("ddim", 7), config("ddpm", 12), config("ddim", 3)}, 4, Pacing::Sequential);
    const std::vector<Row> rows = drive(set);
    QCOMPARE(static_cast<int>(rows.size()), 22);
    QCOMPARE(set.ticks(), 22);
    // Run 0 to its end, then run 1, then run 2, one step per tick.
    for (int i = 0; i < 22; ++i) {
        const int panel = i < 7 ? 0 : i < 19 ? 1 : 2;
        const int step = i < 7 ? i : i < 19 ? i - 7 : i - 19;
        QCOMPARE(rows[i].tick, i);
        QCOMPARE(rows[i].panel, panel);
        QCOMPARE(rows[i].step, step);
    }
}

void TestRunSet::pacing_names()
{
    for (Pacing p : {Pacing::Lockstep, Pacing::Realtime, Pacing::Sequential})
        QCOMPARE(parse_pacing(to_string(p)), p);
    QCOMPARE(to_string(Pacing::Lockstep), std::string("lockstep"));
    QCOMPARE(to_string(Pacing::Realtime), std::string("realtime"));
    QCOMPARE(to_string(Pacing::Sequential), std::string("sequential"));
    try {
        parse_pacing("fast");
        QFAIL("no error");
    } catch (const InputError& e) {
        QVERIFY(QString(e.what()).contains("--pacing") && QString(e.what()).contains("fast"));
    }
}

void TestRunSet::merged_equals_separate_data()
{
    QTest::addColumn<QString>("card");
    QTest::addColumn<int>("pacing");
    QTest::newRow("ring8 lockstep") << "models/ring8.json" << int(Pacing::Lockstep);
    QTest::newRow("ring8 realtime") << "models/ring8.json" << int(Pacing::Realtime);
    QTest::newRow("two-moons exact realtime") << "models/two-moons.json" << int(Pacing::Realtime);
}

void TestRunSet::merged_equals_separate()
{
    QFETCH(QString, card);
    QFETCH(int, pacing);
    const auto model = Model::load(test::source_path(qPrintable(card)));
    const std::vector<SamplerConfig> configs{config("ddpm", 60), config("ddim", 20, 0.5), config("heun", 6),
                                             config("dpmpp2m", 12)};
    RunSet merged = make_set(model, configs, 64, Pacing(pacing), MergePolicy::Always);
    RunSet separate = make_set(model, configs, 64, Pacing(pacing), MergePolicy::Never);
    std::vector<std::vector<std::shared_ptr<const StepFrame>>> fm, fs;
    const std::vector<Row> rm = drive(merged, &fm), rs = drive(separate, &fs);
    QCOMPARE(rm.size(), rs.size());
    // The analytic denoisers work row by row: merging changes no bit.
    for (int i = 0; i < merged.size(); ++i) {
        QVERIFY2(same_bits(merged.run(i).samples(), separate.run(i).samples()), qPrintable(QString::number(i)));
        for (std::size_t k = 0; k < fm[i].size(); ++k)
            QVERIFY(same_bits(fm[i][k]->x0_hat, fs[i][k]->x0_hat));
    }
    // Never: one call per step, plus Heun's second evaluations (6 steps: 5 more).
    const int steps = 60 + 20 + 6 + 12, heun_extra = 5;
    QCOMPARE(separate.denoiser_calls(), steps + heun_extra);
    QCOMPARE(separate.merges(), 0);
    // Always: every tick makes one call for all its panels (one model), plus Heun's extra ones.
    QCOMPARE(merged.denoiser_calls(), merged.ticks() + heun_extra);
    int multi = 0;
    std::map<int, int> per_tick;
    for (const Row& r : rm)
        ++per_tick[r.tick];
    for (const auto& [tick, n] : per_tick)
        multi += n > 1;
    QCOMPARE(merged.merges(), multi);
    QVERIFY(multi > 0);
    // Each run counts its own evaluations, shared or not.
    for (int i = 0; i < merged.size(); ++i)
        QCOMPARE(merged.run(i).model_calls(), separate.run(i).model_calls());
}

void TestRunSet::merged_native_network_within_tolerance()
{
    // A float32 network: one forward at batch 2B may round differently from two at B
    // (other kernels, other summation order), so merged = separate within float32 noise.
    // Realtime pacing mixes timesteps in one call: the network embeds t per sample.
    const auto model = Model::load(test::source_path("models/two-moons-mlp.json"));
    const std::vector<SamplerConfig> configs{config("ddim", 20), config("ddim", 10), config("heun", 5)};
    RunSet merged = make_set(model, configs, 200, Pacing::Realtime, MergePolicy::Always);
    RunSet separate = make_set(model, configs, 200, Pacing::Realtime, MergePolicy::Never);
    drive(merged);
    drive(separate);
    QVERIFY(merged.merges() > 0);
    for (int i = 0; i < merged.size(); ++i) {
        const double d = max_abs_diff(merged.run(i).samples(), separate.run(i).samples());
        QVERIFY2(d <= 1e-4, qPrintable(QString("panel %1: max |merged - separate| = %2").arg(i).arg(d)));
    }
    // Auto on the CPU: a native network does not merge (measured, see run_set.cpp).
    RunSet autoset = make_set(model, configs, 200, Pacing::Realtime, MergePolicy::Auto);
    drive(autoset);
    QCOMPARE(autoset.merges(), 0);
}

void TestRunSet::auto_merges_where_measured()
{
    // The policy of run_set.cpp: analytic mixtures merge small batches (<= 2048 rows in
    // the merged call), empirical cards always, networks on the CPU never.
    const auto ring = Model::load(test::source_path("models/ring8.json"));
    const std::vector<SamplerConfig> two{config("ddim", 5), config("ddim", 5, 1.0)};
    RunSet small = make_set(ring, two, 64, Pacing::Lockstep);
    drive(small);
    QCOMPARE(small.merges(), 5);
    QCOMPARE(small.denoiser_calls(), 5);
    RunSet large = make_set(ring, two, 1500, Pacing::Lockstep);
    drive(large);
    QCOMPARE(large.merges(), 0);
    QCOMPARE(large.denoiser_calls(), 10);
    const auto moons = Model::load(test::source_path("models/two-moons.json"));
    RunSet empirical = make_set(moons, two, 1500, Pacing::Lockstep);
    drive(empirical);
    QCOMPARE(empirical.merges(), 5);
    const auto mlp = Model::load(test::source_path("models/two-moons-mlp.json"));
    RunSet net = make_set(mlp, two, 64, Pacing::Lockstep);
    drive(net);
    QCOMPARE(net.merges(), 0);
}

void TestRunSet::panel_equals_run_alone()
{
    // Panels of different models and samplers from one seed; each equals the same run alone.
    const auto ring = Model::load(test::source_path("models/ring8.json"));
    const auto gauss = Model::load(test::source_path("models/gaussian-2d.json"));
    std::vector<std::shared_ptr<Run>> runs{make_run(ring, config("ddpm", 30), 16), make_run(gauss, config("ddim", 9), 16),
                                           make_run(ring, config("dpmpp2m", 5), 16)};
    RunSet set(runs, Pacing::Lockstep, MergePolicy::Always);
    std::vector<std::vector<std::shared_ptr<const StepFrame>>> frames;
    drive(set, &frames);
    const std::vector<std::shared_ptr<const Model>> models{ring, gauss, ring};
    const std::vector<SamplerConfig> configs{config("ddpm", 30), config("ddim", 9), config("dpmpp2m", 5)};
    for (int i = 0; i < 3; ++i) {
        const auto alone = make_run(models[i], configs[i], 16);
        QVERIFY(alone->recipe() == set.run(i).recipe());
        QVERIFY(same_bits(alone->x_T(), set.run(0).x_T())); // one x_T for every panel
        for (std::size_t k = 0; k < frames[i].size(); ++k) {
            const auto f = alone->step();
            const auto& g = frames[i][k];
            QVERIFY(same_bits(f->x_t, g->x_t) && same_bits(f->x0_hat, g->x0_hat) && same_bits(f->eps_hat, g->eps_hat) &&
                    same_bits(f->x_prev, g->x_prev));
            QVERIFY(same_stats(f->stats, g->stats));
            QCOMPARE(f->plan.t, g->plan.t);
        }
        QVERIFY(alone->done());
    }
    // Recipes tell runs apart.
    QVERIFY(!(set.run(0).recipe() == set.run(2).recipe()));
    QVERIFY(!(make_run(ring, config("ddpm", 30), 16, 6)->recipe() == set.run(0).recipe()));
}

void TestRunSet::bad_sets_are_input_errors()
{
    QVERIFY_THROWS_EXCEPTION(InputError, RunSet({}, Pacing::Lockstep));
    QVERIFY_THROWS_EXCEPTION(InputError, RunSet({nullptr}, Pacing::Lockstep));
    const auto model = Model::load(test::source_path("models/ring8.json"));
    RunSet set = make_set(model, {config("ddim", 2)}, 2, Pacing::Lockstep);
    drive(set);
    QVERIFY(set.next_panels().empty());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, set.tick());
}

QTEST_GUILESS_MAIN(TestRunSet)
#include "tst_run_set.moc"
