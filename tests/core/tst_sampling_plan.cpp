// Sampling plans against the contract's spacing definitions (section 1).
#include "noisetrail/errors.hpp"
#include "noisetrail/sampling_plan.hpp"

#include <QtTest>

#include <cmath>
#include <set>

using namespace noisetrail;

Q_DECLARE_METATYPE(noisetrail::Spacing)

class TestSamplingPlan : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void descending_unique_in_range_data();
    void descending_unique_in_range();
    void leading_full_is_T_minus_1_to_0();
    void trailing_starts_at_T_minus_1();
    void known_small_cases();
    void quadratic_drops_repeats_with_warning();
    void plan_links_and_alpha_bars();
    void sigma_matches_contract_formulas();
    void steps_out_of_range_is_input_error();
    void logsnr_is_uniform_in_lambda_data();
    void logsnr_is_uniform_in_lambda();
    void spacing_unset_is_the_samplers_default();
    void unstable_first_step_warns_data();
    void unstable_first_step_warns();
};

void TestSamplingPlan::descending_unique_in_range_data()
{
    QTest::addColumn<Spacing>("spacing");
    QTest::addColumn<int>("S");
    QTest::addColumn<int>("T");
    const std::pair<Spacing, const char*> spacings[] = {{Spacing::Leading, "leading"},
                                                        {Spacing::Trailing, "trailing"},
                                                        {Spacing::Linspace, "linspace"},
                                                        {Spacing::Quadratic, "quadratic"}};
    for (auto [sp, name] : spacings)
        for (int T : {10, 1000})
            for (int S : {1, 3, 7, 10, 50, 333, 999, 1000})
                if (S <= T)
                    QTest::newRow(qPrintable(QString("%1 S=%2 T=%3").arg(name).arg(S).arg(T))) << sp << S << T;
}

void TestSamplingPlan::descending_unique_in_range()
{
    QFETCH(Spacing, spacing);
    QFETCH(int, S);
    QFETCH(int, T);
    int dropped = -1;
    const auto ts = make_timesteps(spacing, S, T, &dropped);
    QCOMPARE(static_cast<int>(ts.size()) + dropped, S);
    if (spacing != Spacing::Quadratic)
        QCOMPARE(dropped, 0);
    for (std::size_t i = 0; i < ts.size(); ++i) {
        QVERIFY(ts[i] >= 0 && ts[i] < T);
        if (i > 0)
            QVERIFY2(ts[i] < ts[i - 1], "timesteps must be strictly descending (hence unique)");
    }
}

void TestSamplingPlan::leading_full_is_T_minus_1_to_0()
{
    const auto ts = make_timesteps(Spacing::Leading, 1000, 1000);
    for (int i = 0; i < 1000; ++i)
        QCOMPARE(ts[i], 999 - i);
}

void TestSamplingPlan::trailing_starts_at_T_minus_1()
{
    for (int S : {1, 7, 50, 1000})
        QCOMPARE(make_timesteps(Spacing::Trailing, S, 1000).front(), 999);
}

void TestSamplingPlan::known_small_cases()
{
    // Worked by hand from the contract's definitions.
    QCOMPARE(make_timesteps(Spacing::Leading, 10, 1000), (std::vector<int>{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}));
    QCOMPARE(make_timesteps(Spacing::Leading, 3, 10), (std::vector<int>{6, 3, 0}));
    // trailing: ratio 10/3; round(10 - i*3.33) - 1 = 9, round(6.67)-1 = 6, round(3.33)-1 = 2
    QCOMPARE(make_timesteps(Spacing::Trailing, 3, 10), (std::vector<int>{9, 6, 2}));
    // linspace(0, 9, 4) = 0, 3, 6, 9
    QCOMPARE(make_timesteps(Spacing::Linspace, 4, 10), (std::vector<int>{9, 6, 3, 0}));
    // linspace(0, 9, 3) = 0, 4.5, 9: numpy rounds half to even -> 4
    QCOMPARE(make_timesteps(Spacing::Linspace, 3, 10), (std::vector<int>{9, 4, 0}));
    // quadratic: linspace(0, sqrt(800), 5)^2 = 0, 50, 200, 450, 800
    QCOMPARE(make_timesteps(Spacing::Quadratic, 5, 1000), (std::vector<int>{800, 450, 200, 50, 0}));
}

void TestSamplingPlan::quadratic_drops_repeats_with_warning()
{
    SamplerConfig c;
    c.sampler = "ddim";
    c.steps = 500;
    c.spacing = Spacing::Quadratic;
    const NoiseSchedule s({"linear", 1e-4, 0.02, 1000});
    const SamplingPlan plan = make_plan(s, c);
    QVERIFY(plan.size() < 500);
    QCOMPARE(plan.warnings.size(), std::size_t{1});
    QVERIFY(QString::fromStdString(plan.warnings[0]).contains(QString::number(plan.size())));
    std::set<int> seen;
    for (const auto& st : plan.steps)
        QVERIFY(seen.insert(st.t).second);
}

void TestSamplingPlan::plan_links_and_alpha_bars()
{
    const NoiseSchedule s({"cosine", 1e-4, 0.02, 1000});
    SamplerConfig c;
    c.sampler = "ddim";
    c.steps = 20;
    c.spacing = Spacing::Trailing;
    const SamplingPlan plan = make_plan(s, c);
    QCOMPARE(plan.size(), 20);
    for (int i = 0; i < plan.size(); ++i) {
        const PlanStep& p = plan.steps[i];
        QCOMPARE(p.alpha_bar, s.alpha_bar(p.t));
        if (i + 1 < plan.size()) {
            QCOMPARE(p.t_prev, plan.steps[i + 1].t);
            QCOMPARE(p.alpha_bar_prev, s.alpha_bar(p.t_prev));
        } else {
            QCOMPARE(p.t_prev, -1);
            QCOMPARE(p.alpha_bar_prev, 1.0);
            QCOMPARE(p.sigma, 0.0); // no noise on the last step
        }
    }
}

void TestSamplingPlan::sigma_matches_contract_formulas()
{
    const NoiseSchedule s({"linear", 1e-4, 0.02, 1000});
    for (double eta : {0.0, 0.3, 1.0}) {
        SamplerConfig c;
        c.sampler = "ddim";
        c.eta = eta;
        c.steps = 37;
        for (const auto& p : make_plan(s, c).steps) {
            if (p.t_prev < 0)
                continue;
            const double ab = p.alpha_bar, abp = p.alpha_bar_prev;
            const double want = eta * std::sqrt((1 - abp) / (1 - ab)) * std::sqrt(1 - ab / abp);
            QVERIFY(std::abs(p.sigma - want) <= 1e-15);
        }
    }
    for (Variance v : {Variance::FixedSmall, Variance::FixedLarge}) {
        SamplerConfig c;
        c.sampler = "ddpm";
        c.variance = v;
        c.steps = 100;
        for (const auto& p : make_plan(s, c).steps) {
            if (p.t_prev < 0)
                continue;
            const double beta = 1 - p.alpha_bar / p.alpha_bar_prev;
            const double var = v == Variance::FixedLarge ? beta : beta * (1 - p.alpha_bar_prev) / (1 - p.alpha_bar);
            QVERIFY(std::abs(p.sigma - std::sqrt(var)) <= 1e-15);
        }
    }
}

void TestSamplingPlan::steps_out_of_range_is_input_error()
{
    const NoiseSchedule s({"linear", 1e-4, 0.02, 100});
    SamplerConfig c;
    c.steps = 101;
    QVERIFY_THROWS_EXCEPTION(InputError, make_plan(s, c));
    c.steps = -1;
    QVERIFY_THROWS_EXCEPTION(InputError, make_plan(s, c));
    QVERIFY_THROWS_EXCEPTION(InputError, make_timesteps(Spacing::Leading, 0, 100));
    c.steps = 10;
    c.eta = -0.1;
    c.sampler = "ddim";
    QVERIFY_THROWS_EXCEPTION(InputError, make_plan(s, c));
    c.eta = 0;
    c.sampler = "lms";
    QVERIFY_THROWS_EXCEPTION(InputError, make_plan(s, c));
}

namespace {

double lambda_of(double ab)
{
    return 0.5 * std::log(ab / (1.0 - ab)); // log(alpha / sigma)
}

} // namespace

void TestSamplingPlan::logsnr_is_uniform_in_lambda_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("steps");
    for (const char* kind : {"linear", "cosine", "scaled_linear"})
        for (int S : {2, 10, 50})
            QTest::newRow(qPrintable(QString("%1 S=%2").arg(kind).arg(S))) << QString(kind) << S;
}

void TestSamplingPlan::logsnr_is_uniform_in_lambda()
{
    // Contract section 1: lambda_i uniform between lambda(T-1) and lambda(0), each
    // rounded to the nearest timestep. Checked by bisection on lambda(t), linear
    // between train steps: the real t* of each lambda_i is within 1/2 of t_i.
    QFETCH(QString, kind);
    QFETCH(int, steps);
    const NoiseSchedule s({kind.toStdString(), 1e-4, 0.02, 1000});
    const int T = s.train_steps();
    const auto lam = [&](double t) {
        const int lo = std::min(int(std::floor(t)), T - 2);
        const double f = t - lo;
        return (1 - f) * lambda_of(s.alpha_bar(lo)) + f * lambda_of(s.alpha_bar(lo + 1));
    };
    int dropped = -1;
    const std::vector<int> ts = make_timesteps(s, Spacing::Logsnr, steps, &dropped);
    const double l0 = lambda_of(s.alpha_bar(T - 1)), l1 = lambda_of(s.alpha_bar(0));
    std::vector<int> want;
    for (int i = 0; i < steps; ++i) {
        const double target = l0 + (l1 - l0) * i / (steps - 1);
        double a = 0, b = T - 1; // lam(a) >= target >= lam(b)
        for (int k = 0; k < 60; ++k) {
            const double m = 0.5 * (a + b);
            (lam(m) >= target ? a : b) = m;
        }
        const int t = int(std::lround(a));
        QVERIFY(std::abs(t - a) != 0.5); // no ties at these S (half-even would matter)
        if (want.empty() || want.back() != t)
            want.push_back(t);
    }
    QCOMPARE(ts, want);
    QCOMPARE(dropped, steps - int(want.size()));
    QCOMPARE(ts.front(), T - 1);
    QCOMPARE(ts.back(), 0);
    // The form without the schedule cannot make it.
    QVERIFY_THROWS_EXCEPTION(InputError, make_timesteps(Spacing::Logsnr, steps, T));
    QCOMPARE(parse_spacing("logsnr"), Spacing::Logsnr);
}

void TestSamplingPlan::spacing_unset_is_the_samplers_default()
{
    const NoiseSchedule s({"linear", 1e-4, 0.02, 1000});
    for (const SamplerInfo& info : samplers()) {
        SamplerConfig unset, set;
        unset.sampler = set.sampler = info.name;
        unset.steps = set.steps = 10;
        set.spacing = info.default_spacing;
        QCOMPARE(resolved_spacing(unset), info.default_spacing);
        const SamplingPlan a = make_plan(s, unset), b = make_plan(s, set);
        QCOMPARE(a.size(), b.size());
        for (int i = 0; i < a.size(); ++i)
            QCOMPARE(a.steps[i].t, b.steps[i].t);
    }
    // The contract's bit-identical run --dump / sample rests on DDPM and DDIM plans: leading.
    QCOMPARE(sampler_info("ddpm").default_spacing, Spacing::Leading);
    QCOMPARE(sampler_info("ddim").default_spacing, Spacing::Leading);
}

void TestSamplingPlan::unstable_first_step_warns_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("sampler");
    QTest::addColumn<int>("spacing");
    QTest::addColumn<int>("steps");
    QTest::addColumn<bool>("warns");
    // Heun from t = 999 on cosine: alpha_bar = 2.4e-9, s = sigma/alpha = 2e4, next s ~ 6.
    QTest::newRow("heun cosine trailing 10") << "cosine" << "heun" << int(Spacing::Trailing) << 10 << true;
    QTest::newRow("heun cosine linspace 10") << "cosine" << "heun" << int(Spacing::Linspace) << 10 << true;
    QTest::newRow("heun cosine leading 10") << "cosine" << "heun" << int(Spacing::Leading) << 10 << false;
    QTest::newRow("heun linear trailing 10") << "linear" << "heun" << int(Spacing::Trailing) << 10 << false;
    QTest::newRow("ddim cosine trailing 10") << "cosine" << "ddim" << int(Spacing::Trailing) << 10 << false;
    QTest::newRow("dpmpp2m cosine trailing 10") << "cosine" << "dpmpp2m" << int(Spacing::Trailing) << 10 << false;
    QTest::newRow("heun cosine trailing 1") << "cosine" << "heun" << int(Spacing::Trailing) << 1 << false;
}

void TestSamplingPlan::unstable_first_step_warns()
{
    QFETCH(QString, kind);
    QFETCH(QString, sampler);
    QFETCH(int, spacing);
    QFETCH(int, steps);
    QFETCH(bool, warns);
    const NoiseSchedule s({kind.toStdString(), 1e-4, 0.02, 1000});
    SamplerConfig c;
    c.sampler = sampler.toStdString();
    c.steps = steps;
    c.spacing = Spacing(spacing);
    const SamplingPlan plan = make_plan(s, c);
    const std::vector<std::string> w = plan_warnings(c, plan);
    QCOMPARE(!w.empty(), warns);
    QCOMPARE(plan.warnings, w); // make_plan carries them (the CLI prints plan.warnings)
    if (warns) {
        const QString text = QString::fromStdString(w[0]);
        QVERIFY2(text.contains("Heun") && text.contains("t = 999"), qPrintable(text));
        // The independent truth: the first step's s / s' is far past anything Heun's
        // corrector averages over (2e4 / ~6 here).
        const auto sv = [](double ab) { return std::sqrt((1 - ab) / ab); };
        QVERIFY(sv(plan.steps[0].alpha_bar) / sv(plan.steps[0].alpha_bar_prev) > 1000);
    }
}

QTEST_GUILESS_MAIN(TestSamplingPlan)
#include "tst_sampling_plan.moc"
