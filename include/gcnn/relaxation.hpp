#pragma once
// The relaxation rate of the slowest mode after a quench (docs/model.md §6 item
// 4), measured one way for the ensemble (`gcnn verify` T1.4a) and for the
// predictions (linear or nonlinear Fokker-Planck), so both are fitted by the
// same rule.
//
// Amplitude: psi_1/psi_0 is the slowest left eigenvector of the linear
// Fokker-Planck generator (H's eigenvectors with psi_0 = sqrt(p_eq)), so
//   c_1(t) = sum_g P_g(t) psi_1(g)/psi_0(g)
// decays as e^{-lambda_1 t} for the linear equation once faster modes have
// died. Nodes with |psi_0| < 1e-6 max|psi_0| are skipped (the ratio is noise
// there). Its standard error for n independent networks drawn from P is
//   sigma = sqrt((sum P r^2 - c_1^2) / n),   r = psi_1/psi_0.
// Fit: generalised least squares (correlated samples, see relaxation.cpp) of ln|c_1| against t over the samples with
// t >= 1/lambda_2 (the next mode has decayed by e) and |c_1| > 3 sigma
// (ln|c_1| is not noise), errors sigma/|c_1|; rate = -slope.
// A deterministic prediction passes the ensemble's n (the number of
// networks M) so that it selects the points and weights them as the
// measurement would.
#include <cmath>
#include <cstddef>
#include <vector>

namespace gcnn::relaxation {

class SlowestMode {
 public:
  // psi0, psi1: the two lowest eigenvectors of H on the grid (any common
  // normalisation; the sign of psi1 only flips c_1).
  SlowestMode(const std::vector<double>& psi0, const std::vector<double>& psi1);
  struct Amplitude {
    double c1 = 0, sigma = 0;
  };
  // P: cell probabilities (sum 1) on the same grid; n_networks > 0.
  Amplitude amplitude(const std::vector<double>& P, double n_networks) const;
  const std::vector<double>& ratio() const { return ratio_; }  // psi1/psi0 per cell, 0 where skipped

 private:
  std::vector<double> ratio_;  // psi1/psi0, 0 where skipped
  std::vector<char> used_;
};

struct RateFit {
  double rate = 0, error = 0;  // -slope of ln|c_1| and its error; NaN when fewer than 3 points qualify
  double error_if_independent = NAN;  // the error if the samples were independent (for comparison)
  std::vector<double> t, c1, sigma;  // every sample, in the order given
  std::vector<char> used;            // 1 where the sample entered the fit
  size_t n_used = 0;
  bool valid() const { return n_used >= 3; }
};

// t[j]: time since the quench of sample j; P[j]: its cell probabilities.
RateFit fit_rate(const std::vector<double>& t, const std::vector<std::vector<double>>& P, const SlowestMode& mode,
                 double lambda2, double n_networks);

// Backward Euler (I - dt L) damps a mode of rate r by 1/(1 + r dt) per step,
// so a fitted per-time rate r_dt = ln(1 + r dt)/dt; this inverts it:
// r = (e^{r_dt dt} - 1)/dt. Exact for one mode of a linear(ised) implicit
// scheme; for comparing a solver's fit with continuum rates.
double continuous_rate(double rate_dt, double dt);

}  // namespace gcnn::relaxation
