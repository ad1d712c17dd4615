// The reverse step, live: for one panel and the step at the timeline's cursor,
// the update that sampler applied, typeset (rich text: sub/superscripts,
// Greek) with its numbers, and for one selected sample the size of each term.
#pragma once
#include "noisetrail/sampler_config.hpp"
#include "noisetrail/sampling_plan.hpp"
#include "noisetrail/trajectory.hpp"

#include <QWidget>

#include <limits>
#include <memory>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QSpinBox;

namespace noisetrail::ui {

/// The coefficients of one reverse step, term by term (the terms a sampler does not use are 0):
///   ddpm, ddim: x_prev = c_x0 x0_hat + c_xt x_t + c_eps eps_hat + sigma z
///   heun:       x_prev = c_xt x_t + c_eps d + c_eps2 d', the corrector with d = eps_hat at
///               (x_t, t) and d' = eps_hat at the Euler point x' = c_xt x_t + c_euler d, at t_prev
///   dpmpp2m:    x_prev = c_xt x_t + c_d D = c_xt x_t + c_x0 x0_hat + c_x0_last x0_hat_last
struct StepCoefficients {
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    double c_x0 = 0.0, c_xt = 0.0, c_eps = 0.0, sigma = 0.0;
    /// heun: the weight of d' (= c_eps: the average of d and d') and the Euler predictor's weight of d.
    double c_eps2 = 0.0, c_euler = 0.0;
    /// heun: s = sqrt((1 - ab) / ab) at t and at t_prev (Karras et al.'s sigma).
    double s = kNaN, s_prev = kNaN;
    /// dpmpp2m: h = lambda_prev - lambda with lambda = log(alpha / sigma), the weight c_d =
    /// -alpha_prev (e^-h - 1) of D = (1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_last (r = h_last / h),
    /// and the weight of x0_hat_last in x_prev. r NaN: first order (D = x0_hat).
    double h = kNaN, c_d = 0.0, c_x0_last = 0.0;
    double r = kNaN;
};

/// The step's coefficients from its plan step (contract section 1):
/// ddpm: mu = sqrt(ab_prev) beta'/(1-ab) x0_hat + sqrt(a') (1-ab_prev)/(1-ab) x_t (Ho et al. eq. 6-7);
/// ddim: sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - sigma^2) eps_hat + sigma z (Song et al. eq. 12, 16);
/// heun: on x_bar = x / sqrt(ab), s = sqrt((1 - ab) / ab): Euler x' = sqrt(ab_prev) (x_bar + (s_prev - s) d)
///   (= DDIM eta 0), corrector x_prev = sqrt(ab_prev) (x_bar + (s_prev - s) (d + d') / 2) (Karras et al. Alg. 1);
/// dpmpp2m: (sigma_prev/sigma) x_t - alpha_prev (e^-h - 1) D (Lu et al. Alg. 2, eq. 9).
/// The last step adds no noise (sigma 0) and lands on x0_hat.
/// `previous`: the plan step before (dpmpp2m's second order needs its h).
StepCoefficients stepCoefficients(const SamplerConfig& config, const PlanStep& step, const PlanStep* previous);

class EquationView : public QWidget {
    Q_OBJECT
public:
    explicit EquationView(QWidget* parent = nullptr);

    /// Panels offered in the picker, by their words ("DDIM, 50 steps, eta 0").
    void setPanelNames(const QStringList& names);
    int panel() const;
    void setPanel(int panel);
    /// Show `step` of `trajectory`, run with `config` (step < 0 or not computed: the
    /// equation without numbers for this step).
    void showStep(const SamplerConfig& config, std::shared_ptr<const Trajectory> trajectory, int step);
    /// The sample whose term sizes are shown (0-based).
    int sample() const;
    void setSample(int sample);

    const std::optional<StepCoefficients>& shownCoefficients() const { return shown_; }
    QString equationText() const;
    QString termsText() const;
    /// Presentation: fonts times `factor`.
    void setScale(double factor);

Q_SIGNALS:
    void panelChosen(int panel);

private:
    void render();

    QComboBox* panelCombo_ = nullptr;
    QSpinBox* sampleSpin_ = nullptr;
    QLabel* equation_ = nullptr;
    QLabel* terms_ = nullptr;
    QLabel* forward_ = nullptr;
    SamplerConfig config_;
    std::shared_ptr<const Trajectory> traj_;
    int step_ = -1;
    std::optional<StepCoefficients> shown_;
    double scale_ = 1.0;
    QFont baseFont_;
};

} // namespace noisetrail::ui
