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
    c.sampler = "euler";
    QVERIFY_THROWS_EXCEPTION(InputError, make_plan(s, c));
}

QTEST_GUILESS_MAIN(TestSamplingPlan)
#include "tst_sampling_plan.moc"
