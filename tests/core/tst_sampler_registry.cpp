// Every registered sampler end to end (one data row each, from the registry, so a
// new sampler is tested with no edit here): its plan, a run on the exact
// single-Gaussian card, the terms of each step adding up to the x_prev the run
// produced, a recipe and a session round trip. Then Euler ancestral against
// known properties (Karras et al. 2022; k-diffusion's sample_euler_ancestral).
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/fingerprint.hpp"
#include "noisetrail/model.hpp"
#include "noisetrail/run.hpp"
#include "noisetrail/run_recipe.hpp"
#include "noisetrail/run_set.hpp"
#include "noisetrail/session.hpp"
#include "noisetrail/step_terms.hpp"

#include <QtTest>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

using namespace noisetrail;
namespace fs = std::filesystem;

namespace {

// models/gaussian-2d.json: N((1, -0.5), 0.5^2 I), linear betas 1e-4..0.02, T = 1000.
const double kMu[2] = {1.0, -0.5};
constexpr double kStd = 0.5;

/// The exact noise prediction of the single Gaussian at (x, alpha_bar) (contract section 2:
/// eps* = -sqrt(1 - ab) grad log p_t with p_t = N(sqrt(ab) mu, (ab s^2 + 1 - ab) I)).
double exact_eps(double x, int dim, double ab)
{
    return std::sqrt(1.0 - ab) * (x - std::sqrt(ab) * kMu[dim]) / (ab * kStd * kStd + 1.0 - ab);
}

/// Values of the stored quantities of one step, per coordinate.
struct StepValues {
    const std::vector<float>* x_t = nullptr;
    const std::vector<float>* x0_hat = nullptr;
    const std::vector<float>* eps_hat = nullptr;
    const std::vector<float>* x0_last = nullptr; ///< null on the first step
};

double stored(Quantity q, const StepValues& v, std::size_t i)
{
    switch (q) {
    case Quantity::Xt: return (*v.x_t)[i];
    case Quantity::X0Hat: return (*v.x0_hat)[i];
    case Quantity::EpsHat: return (*v.eps_hat)[i];
    case Quantity::X0HatLast:
        if (!v.x0_last)
            throw std::logic_error("x0_hat of the step before on a first step");
        return (*v.x0_last)[i];
    default: throw std::logic_error("not a stored quantity");
    }
}

/// x_prev minus every term but the noise, from the stored values; eps_hat at the
/// predictor (Heun's d') comes from the closed form, not from the run.
std::vector<double> residual(const StepTerms& terms, const PlanStep& s, const StepValues& v,
                             const std::vector<float>& x_prev)
{
    std::vector<double> r(x_prev.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
        double sum = 0.0;
        for (const Term& t : terms.terms) {
            if (t.coefficient == 0.0 || t.quantity == Quantity::Noise)
                continue;
            if (t.quantity == Quantity::EpsHatPredictor) {
                double x_pred = 0.0;
                for (const Term& p : terms.predictor.value().terms)
                    x_pred += p.coefficient * stored(p.quantity, v, i);
                sum += t.coefficient * exact_eps(x_pred, int(i % 2), s.alpha_bar_prev);
            } else {
                sum += t.coefficient * stored(t.quantity, v, i);
            }
        }
        r[i] = x_prev[i] - sum;
    }
    return r;
}

/// The residual is the noise term: 0 where the step adds none, else sigma z with z ~ N(0, I).
void check_residual(const std::vector<double>& r, double sigma, double tol, const QString& where)
{
    if (sigma == 0.0) {
        for (double e : r)
            QVERIFY2(std::abs(e) <= tol, qPrintable(where + QString(": residual %1").arg(e)));
        return;
    }
    double mean = 0.0, sq = 0.0;
    for (double e : r)
        mean += e / sigma;
    mean /= double(r.size());
    for (double e : r)
        sq += (e / sigma - mean) * (e / sigma - mean);
    const double sd = std::sqrt(sq / double(r.size()));
    // 5 standard errors: 1/sqrt(n) for the mean, 1/sqrt(2n) for the std.
    const double n = double(r.size());
    QVERIFY2(std::abs(mean) < 5.0 / std::sqrt(n), qPrintable(where + QString(": noise mean %1").arg(mean)));
    QVERIFY2(std::abs(sd - 1.0) < 5.0 / std::sqrt(2.0 * n) + tol / sigma,
             qPrintable(where + QString(": noise std %1").arg(sd)));
}

std::string read_text(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

const std::string kCard = noisetrail::test::source_path("models/gaussian-2d.json");

} // namespace

class TestSamplerRegistry : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void every_sampler_end_to_end_data();
    void every_sampler_end_to_end();
    void terms_are_what_the_step_computes_data();
    void terms_are_what_the_step_computes();
    void recipe_with_every_sampler_runs();
    void euler_a_is_ddim_eta1();
    void euler_a_moves_to_sigma_down_then_adds_sigma_up();
    void euler_a_marginal_matches_the_data();
};

void TestSamplerRegistry::every_sampler_end_to_end_data()
{
    QTest::addColumn<QString>("name");
    for (const std::string& name : sampler_names())
        QTest::newRow(name.c_str()) << QString::fromStdString(name);
}

void TestSamplerRegistry::every_sampler_end_to_end()
{
    QFETCH(QString, name);
    const SamplerInfo& info = sampler_info(name.toStdString());
    QCOMPARE(info.name, name.toStdString());
    QVERIFY(!info.title.empty() && !info.summary.empty() && !info.equation.empty() && !info.reference.empty());
    const auto model = Model::load(kCard);
    const int T = model->schedule().train_steps();

    // The plan: S steps descending, landing on x0_hat, sigma 0 where the sampler adds no noise.
    RunOptions opt;
    opt.sampler.sampler = info.name;
    opt.sampler.steps = 20;
    opt.seed = 11;
    opt.batch = 1000;
    const SamplingPlan plan = make_plan(model->schedule(), opt.sampler);
    QCOMPARE(plan.size(), 20);
    for (int k = 0; k < plan.size(); ++k) {
        const PlanStep& s = plan.steps[std::size_t(k)];
        QVERIFY(s.t >= 0 && s.t < T);
        if (k + 1 < plan.size())
            QCOMPARE(s.t_prev, plan.steps[std::size_t(k + 1)].t);
        QVERIFY(s.sigma >= 0.0);
        if (info.deterministic)
            QCOMPARE(s.sigma, 0.0);
        // The noise the terms add is the plan's sigma.
        const StepTerms terms = step_terms(opt.sampler, plan, k);
        QCOMPARE(terms.coefficient(Quantity::Noise), s.sigma);
        QCOMPARE(terms.predictor.has_value(), terms.coefficient(Quantity::EpsHatPredictor) != 0.0);
        for (const Term& t : terms.terms)
            QVERIFY(t.quantity != Quantity::Defined);
    }
    QCOMPARE(plan.steps.back().t_prev, -1);
    QCOMPARE(plan.steps.back().alpha_bar_prev, 1.0);
    QCOMPARE(plan.steps.back().sigma, 0.0);
    // With the default steps the plan has the registry's default_steps (T when 0).
    SamplerConfig defaults;
    defaults.sampler = info.name;
    // Fewer only where the default plan repeats timesteps, which are dropped with a warning
    // (logsnr at S = 50 on a linear schedule keeps 49: docs/CLI.md, "Default plans").
    const SamplingPlan default_plan = make_plan(model->schedule(), defaults);
    const int want_steps = info.default_steps == 0 ? T : info.default_steps;
    QVERIFY2(default_plan.size() == want_steps ||
                 (default_plan.size() >= want_steps - 2 && !default_plan.warnings.empty()),
             qPrintable(QString("%1 steps of %2").arg(default_plan.size()).arg(want_steps)));

    // A run: every step's terms add up to the x_prev it produced.
    Run run(model, opt);
    std::vector<std::shared_ptr<const StepFrame>> frames;
    while (!run.done())
        frames.push_back(run.step());
    QCOMPARE(int(frames.size()), plan.size());
    for (int k = 0; k < plan.size(); ++k) {
        const StepFrame& f = *frames[std::size_t(k)];
        QVERIFY(f.model_calls >= 1 && f.model_calls <= info.max_model_calls_per_step);
        const StepTerms terms = step_terms(opt.sampler, run.plan(), k);
        const StepValues v{&f.x_t, &f.x0_hat, &f.eps_hat, k > 0 ? &frames[std::size_t(k - 1)]->x0_hat : nullptr};
        check_residual(residual(terms, f.plan, v, f.x_prev), f.plan.sigma, 1e-4,
                       QString("%1 step %2 (run)").arg(name).arg(k));
    }
    // The last step lands on x0_hat.
    double land = 0.0;
    for (std::size_t i = 0; i < frames.back()->x_prev.size(); ++i)
        land = std::max(land, double(std::abs(frames.back()->x_prev[i] - frames.back()->x0_hat[i])));
    QVERIFY2(land < 1e-5, qPrintable(QString::number(land)));

    // A session of the run, written and read back: the recipe names the sampler, and
    // the stored (half precision) trajectory still adds up term by term.
    const ModelCard& card = model->card();
    auto traj = std::make_shared<Trajectory>(run.shape(), [&] {
        std::vector<int> ts;
        for (const PlanStep& s : run.plan().steps)
            ts.push_back(s.t);
        return ts;
    }(), stored_precision(card), run.x_T());
    for (const auto& f : frames)
        traj->append(*f);
    Session session;
    session.recipe.model = run.recipe().card;
    session.recipe.seed = opt.seed;
    session.recipe.batch = opt.batch;
    session.recipe.panels = {PanelRecipe{{}, run.recipe().sampler}};
    session.model_name = card.name;
    session.card_json = read_text(kCard);
    session.train_steps = T;
    session.batch = opt.batch;
    session.data_shape = card.data_shape;
    session.x_T = run.x_T();
    session.panels = {SessionPanel{content_fingerprint(card), describe(opt.sampler, T), traj}};
    QTemporaryDir dir;
    const fs::path file = fs::path(dir.path().toStdString()) / (info.name + ".ntsession");
    write_session(file, session);
    const Session back = read_session(file);
    QCOMPARE(back.recipe.panels.size(), std::size_t(1));
    QCOMPARE(back.recipe.panels[0].sampler, run.recipe().sampler);
    QCOMPARE(back.recipe.panels[0].sampler.sampler, info.name);
    const Trajectory& tb = *back.panels[0].trajectory;
    QCOMPARE(tb.size(), plan.size());
    QVERIFY(tb.finished());
    std::vector<float> xt, x0, eps, x0_last, x_prev;
    for (int k = 0; k < tb.size(); ++k) {
        tb.decode(k, Field::Xt, xt);
        tb.decode(k, Field::X0Hat, x0);
        tb.decode(k, Field::EpsHat, eps);
        tb.decode(k + 1, Field::Xt, x_prev);
        if (k > 0)
            tb.decode(k - 1, Field::X0Hat, x0_last);
        const PlanStep& s = tb.info(k).plan;
        const StepTerms terms = step_terms(back.recipe.panels[0].sampler, s, k > 0 ? &tb.info(k - 1).plan : nullptr);
        QCOMPARE(terms, step_terms(opt.sampler, run.plan(), k));
        const StepValues v{&xt, &x0, &eps, k > 0 ? &x0_last : nullptr};
        // Half floats: about 1e-3 relative per value.
        check_residual(residual(terms, s, v, x_prev), s.sigma, 2e-2,
                       QString("%1 step %2 (session)").arg(name).arg(k));
    }
}

void TestSamplerRegistry::terms_are_what_the_step_computes_data()
{
    every_sampler_end_to_end_data();
}

void TestSamplerRegistry::terms_are_what_the_step_computes()
{
    // With a given z (sampler_step, a fresh state: the first step of a run), x_prev is
    // exactly the sum of the described terms, noise included.
    QFETCH(QString, name);
    const SamplerInfo& info = sampler_info(name.toStdString());
    if (info.max_model_calls_per_step > 1)
        QSKIP("calls the model within a step: checked through a run in every_sampler_end_to_end");
    const NoiseSchedule sched({"linear", 1e-4, 0.02, 1000});
    SamplerConfig c;
    c.sampler = info.name;
    c.steps = 10;
    c.eta = 0.7;
    const SamplingPlan plan = make_plan(sched, c);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal;
    const int n = 32;
    std::vector<double> x0(n), xt(n), eps(n), z(n);
    for (const PlanStep& s : plan.steps) {
        for (int j = 0; j < n; ++j) {
            x0[j] = normal(rng);
            eps[j] = normal(rng);
            z[j] = normal(rng);
            xt[j] = std::sqrt(s.alpha_bar) * x0[j] + std::sqrt(1 - s.alpha_bar) * eps[j];
        }
        const auto got = sampler_step(c, s, xt, x0, eps, z);
        const StepTerms terms = step_terms(c, s, nullptr);
        for (int j = 0; j < n; ++j) {
            double want = 0.0;
            for (const Term& t : terms.terms) {
                const double v = t.quantity == Quantity::Xt       ? xt[j]
                                 : t.quantity == Quantity::X0Hat  ? x0[j]
                                 : t.quantity == Quantity::EpsHat ? eps[j]
                                 : t.quantity == Quantity::Noise  ? z[j]
                                                                  : std::nan("");
                want += t.coefficient * v;
            }
            QVERIFY2(std::abs(got[j] - want) <= 1e-12 * (1 + std::abs(want)),
                     qPrintable(QString("t %1: %2 vs %3").arg(s.t).arg(got[j]).arg(want)));
        }
    }
}

void TestSamplerRegistry::recipe_with_every_sampler_runs()
{
    // One panel per registered sampler in a recipe (text -> recipe -> run set -> done).
    std::ostringstream text;
    text << R"({"format": "noisetrail-run/1", "model": ")" << kCard << R"(", "seed": 2, "batch": 8, "panels": [)";
    const auto names = sampler_names();
    for (std::size_t i = 0; i < names.size(); ++i)
        text << (i ? ", " : "") << R"({"sampler": ")" << names[i] << R"(", "steps": 5})";
    text << "]}";
    QTemporaryDir dir;
    const fs::path file = fs::path(dir.path().toStdString()) / "every.run.json";
    const RunSetRecipe recipe = parse_run_recipe(text.str(), file);
    QCOMPARE(recipe.panels.size(), names.size());
    QCOMPARE(parse_run_recipe(run_recipe_text(recipe, file), file), recipe);
    RunSet set = make_run_set(recipe);
    while (!set.done())
        set.tick();
    for (std::size_t i = 0; i < names.size(); ++i) {
        QCOMPARE(set.run(int(i)).recipe().sampler.sampler, names[i]);
        QVERIFY(set.run(int(i)).done());
    }
}

void TestSamplerRegistry::euler_a_is_ddim_eta1()
{
    // On a VP schedule Euler ancestral with eta 1 is DDIM with eta 1 (Song et al. eq. 12, 16),
    // i.e. DDPM's posterior: with x_bar = x0 + s eps, sqrt(ab') (x0 + s_down eps) has the
    // eps weight sqrt(1 - ab' - sigma^2) and sqrt(ab') s_up = sigma. Same z, same x_prev.
    for (const char* kind : {"linear", "cosine"}) {
        const NoiseSchedule sched({kind, 1e-4, 0.02, 1000});
        SamplerConfig ea, ddim;
        ea.sampler = "euler_a";
        ea.steps = 25;
        ddim.sampler = "ddim";
        ddim.steps = 25;
        ddim.eta = 1.0;
        const SamplingPlan pa = make_plan(sched, ea), pd = make_plan(sched, ddim);
        QCOMPARE(pa.size(), pd.size());
        std::mt19937_64 rng(5);
        std::normal_distribution<double> normal;
        const int n = 64;
        std::vector<double> x0(n), xt(n), eps(n), z(n);
        for (int k = 0; k < pa.size(); ++k) {
            const PlanStep &a = pa.steps[std::size_t(k)], &d = pd.steps[std::size_t(k)];
            QCOMPARE(a.t, d.t);
            QVERIFY2(std::abs(a.sigma - d.sigma) <= 1e-12, qPrintable(QString("%1 vs %2").arg(a.sigma).arg(d.sigma)));
            for (int j = 0; j < n; ++j) {
                x0[j] = normal(rng);
                eps[j] = normal(rng);
                z[j] = normal(rng);
                xt[j] = std::sqrt(a.alpha_bar) * x0[j] + std::sqrt(1 - a.alpha_bar) * eps[j];
            }
            const auto ya = sampler_step(ea, a, xt, x0, eps, z), yd = sampler_step(ddim, d, xt, x0, eps, z);
            for (int j = 0; j < n; ++j)
                QVERIFY2(std::abs(ya[j] - yd[j]) <= 1e-9 * (1 + std::abs(yd[j])),
                         qPrintable(QString("%1 step %2: %3 vs %4").arg(kind).arg(k).arg(ya[j]).arg(yd[j])));
        }
    }
}

void TestSamplerRegistry::euler_a_moves_to_sigma_down_then_adds_sigma_up()
{
    // k-diffusion's get_ancestral_step: sigma_up^2 + sigma_down^2 = sigma'^2 (the step lands on
    // the marginal noise level of t'), sigma_up = sigma' sqrt(1 - sigma'^2 / sigma^2) at eta 1.
    // Without its noise (z = 0) the step is the Euler step of the probability-flow ODE to
    // sigma_down, i.e. DDIM eta 0 to the level ab_down = 1 / (1 + sigma_down^2), read in the
    // x / sqrt(ab) scaling (Karras et al. 2022 eq. 4).
    const NoiseSchedule sched({"linear", 1e-4, 0.02, 1000});
    SamplerConfig ea, ddim0;
    ea.sampler = "euler_a";
    ea.steps = 10;
    ddim0.sampler = "ddim";
    const SamplingPlan plan = make_plan(sched, ea);
    std::mt19937_64 rng(9);
    std::normal_distribution<double> normal;
    const int n = 16;
    std::vector<double> x0(n), xt(n), eps(n), zero(n, 0.0);
    for (int k = 0; k + 1 < plan.size(); ++k) {
        const PlanStep& s = plan.steps[std::size_t(k)];
        const StepTerms terms = step_terms(ea, plan, k);
        const double sig = std::sqrt((1 - s.alpha_bar) / s.alpha_bar);
        const double sig_p = std::sqrt((1 - s.alpha_bar_prev) / s.alpha_bar_prev);
        QVERIFY(terms.scalar("\\sigma_{down}") && terms.scalar("\\sigma_{up}"));
        const double down = terms.scalar("\\sigma_{down}")->value, up = terms.scalar("\\sigma_{up}")->value;
        QVERIFY(std::abs(down * down + up * up - sig_p * sig_p) <= 1e-12 * sig_p * sig_p);
        QVERIFY(std::abs(up - sig_p * std::sqrt(1 - sig_p * sig_p / (sig * sig))) <= 1e-12 * sig_p);
        QVERIFY(std::abs(s.sigma - std::sqrt(s.alpha_bar_prev) * up) <= 1e-12);
        for (int j = 0; j < n; ++j) {
            x0[j] = normal(rng);
            eps[j] = normal(rng);
            xt[j] = std::sqrt(s.alpha_bar) * x0[j] + std::sqrt(1 - s.alpha_bar) * eps[j];
        }
        PlanStep to_down = s;
        to_down.alpha_bar_prev = 1.0 / (1.0 + down * down);
        to_down.sigma = 0.0;
        PlanStep no_noise = s;
        no_noise.sigma = 0.0; // the step's own update with z = 0
        const auto y = sampler_step(ea, no_noise, xt, x0, eps, zero);
        const auto euler = sampler_step(ddim0, to_down, xt, x0, eps, zero);
        for (int j = 0; j < n; ++j)
            QVERIFY2(std::abs(y[j] / std::sqrt(s.alpha_bar_prev) - euler[j] / std::sqrt(to_down.alpha_bar_prev)) <=
                         1e-9 * (1 + std::abs(euler[j])),
                     qPrintable(QString("step %1").arg(k)));
    }
}

void TestSamplerRegistry::euler_a_marginal_matches_the_data()
{
    // With the exact denoiser of N(mu, s^2 I), the samples after the last step follow the data
    // distribution. 1000 steps: the discretisation bias of the std of an ancestral sampler is
    // then about -0.8% (a linear-Gaussian recursion gives 0.4961 for s = 0.5); 20000 samples give
    // standard errors of 0.0035 (mean) and 0.0025 (std) per coordinate.
    const auto model = Model::load(kCard);
    RunOptions opt;
    opt.sampler.sampler = "euler_a";
    opt.sampler.steps = 1000;
    opt.seed = 21;
    opt.batch = 20000;
    const RunResult r = run_sampler(*model, opt);
    QCOMPARE(r.samples.size(), std::size_t(2 * opt.batch));
    for (int d = 0; d < 2; ++d) {
        double mean = 0.0, sq = 0.0;
        for (int i = 0; i < opt.batch; ++i)
            mean += r.samples[std::size_t(2 * i + d)];
        mean /= opt.batch;
        for (int i = 0; i < opt.batch; ++i)
            sq += std::pow(r.samples[std::size_t(2 * i + d)] - mean, 2);
        const double sd = std::sqrt(sq / (opt.batch - 1));
        QVERIFY2(std::abs(mean - kMu[d]) < 5 * 0.0035, qPrintable(QString("dim %1 mean %2").arg(d).arg(mean)));
        QVERIFY2(std::abs(sd - kStd) < 0.004 + 5 * 0.0025, qPrintable(QString("dim %1 std %2").arg(d).arg(sd)));
    }
}

QTEST_GUILESS_MAIN(TestSamplerRegistry)
#include "tst_sampler_registry.moc"
