// Schedules against their closed forms (contract section 1; Ho et al. 2020; Nichol & Dhariwal 2021 eq. 17).
#include "noisetrail/errors.hpp"
#include "noisetrail/noise_schedule.hpp"

#include <QtTest>

#include <cmath>
#include <numbers>

using namespace noisetrail;

class TestNoiseSchedule : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void linear_alpha_bar_is_product_of_closed_form_betas();
    void cosine_alpha_bar_matches_closed_form();
    void scaled_linear_and_sigmoid_betas();
    void all_kinds_monotone_and_in_range_data();
    void all_kinds_monotone_and_in_range();
    void bad_configs_are_input_errors();
};

void TestNoiseSchedule::linear_alpha_bar_is_product_of_closed_form_betas()
{
    const NoiseSchedule s({"linear", 1e-4, 0.02, 1000});
    // beta_t = beta_start + t (beta_end - beta_start) / (T - 1); alpha_bar_t = prod (1 - beta_s),
    // compared with exp(sum log(1 - beta_s)) in long double.
    long double log_sum = 0;
    for (int t = 0; t < 1000; ++t) {
        const long double beta = 1e-4L + t * (0.02L - 1e-4L) / 999.0L;
        QVERIFY(std::abs(s.beta(t) - static_cast<double>(beta)) < 1e-15);
        log_sum += std::log1p(-beta);
        QVERIFY(std::abs(s.alpha_bar(t) / static_cast<double>(std::exp(log_sum)) - 1.0) < 1e-12);
    }
    QCOMPARE(s.beta(0), 1e-4);
    QCOMPARE(s.beta(999), 0.02);
    // Known value: alpha_bar_{T-1} of the DDPM linear schedule is about 4.04e-5.
    QVERIFY(s.alpha_bar(999) > 4.0e-5 && s.alpha_bar(999) < 4.1e-5);
}

void TestNoiseSchedule::cosine_alpha_bar_matches_closed_form()
{
    const int T = 1000;
    const NoiseSchedule s({"cosine", 1e-4, 0.02, T});
    const auto f = [](double u) { return std::pow(std::cos((u + 0.008) / 1.008 * std::numbers::pi / 2), 2); };
    // alpha_bar_t = f((t + 1) / T) / f(0) wherever no beta was clipped at 0.999.
    for (int t = 0; t < T; ++t) {
        if (s.beta(t) >= 0.999)
            continue;
        QVERIFY2(std::abs(s.alpha_bar(t) - f((t + 1.0) / T) / f(0)) < 1e-12, qPrintable(QString::number(t)));
    }
    QCOMPARE(s.beta(T - 1), 0.999); // f(1) = 0 makes the last beta 1, clipped
}

void TestNoiseSchedule::scaled_linear_and_sigmoid_betas()
{
    const NoiseSchedule sl({"scaled_linear", 0.00085, 0.012, 1000});
    QVERIFY(std::abs(std::sqrt(sl.beta(0)) - std::sqrt(0.00085)) < 1e-15);
    QVERIFY(std::abs(std::sqrt(sl.beta(999)) - std::sqrt(0.012)) < 1e-15);
    // sqrt(beta) is linear: equal second differences of sqrt(beta) vanish.
    QVERIFY(std::abs(std::sqrt(sl.beta(500)) - 2 * std::sqrt(sl.beta(499)) + std::sqrt(sl.beta(498))) < 1e-15);

    const NoiseSchedule sg({"sigmoid", 1e-4, 0.02, 1001});
    // Middle of linspace(-6, 6, 1001) is 0: sigmoid(0) = 1/2.
    QVERIFY(std::abs(sg.beta(500) - (0.5 * (0.02 - 1e-4) + 1e-4)) < 1e-15);
    QVERIFY(std::abs(sg.beta(0) - (1 / (1 + std::exp(6.0)) * (0.02 - 1e-4) + 1e-4)) < 1e-15);
}

void TestNoiseSchedule::all_kinds_monotone_and_in_range_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("T");
    for (const char* k : {"linear", "scaled_linear", "cosine", "sigmoid"})
        for (int T : {1, 10, 1000, 4000})
            QTest::newRow(qPrintable(QString("%1 T=%2").arg(k).arg(T))) << QString(k) << T;
}

void TestNoiseSchedule::all_kinds_monotone_and_in_range()
{
    QFETCH(QString, kind);
    QFETCH(int, T);
    const NoiseSchedule s({kind.toStdString(), 1e-4, 0.02, T});
    QCOMPARE(static_cast<int>(s.alpha_bars().size()), T);
    for (int t = 0; t < T; ++t) {
        QVERIFY(s.beta(t) > 0.0 && s.beta(t) < 1.0);
        QVERIFY(s.alpha_bar(t) > 0.0 && s.alpha_bar(t) < 1.0);
        if (t > 0) {
            QVERIFY(s.alpha_bar(t) < s.alpha_bar(t - 1));
            QVERIFY(s.log_snr(t) < s.log_snr(t - 1));
        }
    }
}

void TestNoiseSchedule::bad_configs_are_input_errors()
{
    QVERIFY_THROWS_EXCEPTION(InputError, NoiseSchedule({"warp", 1e-4, 0.02, 1000}));
    QVERIFY_THROWS_EXCEPTION(InputError, NoiseSchedule({"linear", 1e-4, 0.02, 0}));
    QVERIFY_THROWS_EXCEPTION(InputError, NoiseSchedule({"linear", -1e-4, 0.02, 1000}));
    QVERIFY_THROWS_EXCEPTION(InputError, NoiseSchedule({"linear", 1e-4, 1.5, 1000}));
}

QTEST_GUILESS_MAIN(TestNoiseSchedule)
#include "tst_noise_schedule.moc"
