#include "gcnn/boundary_loss.hpp"

namespace gcnn {

double HarmonicLoss::value(const double* q) const {
  double s = 0;
  for (int k = 0; k < K_; ++k) s += (q[k] - q0_[k]) * (q[k] - q0_[k]);
  return 0.5 * kappa_ * s;
}
void HarmonicLoss::add_gradient(const double* q, double* g) const {
  for (int k = 0; k < K_; ++k) g[k] += kappa_ * (q[k] - q0_[k]);
}
double HarmonicLoss::laplacian(const double*) const { return kappa_ * K_; }

double DoubleWellLoss::value(const double* q) const {
  double s = 0;
  for (int k = 0; k < K_; ++k) {
    const double x = q[k] - q0_[k];
    const double d = x * x - s2_;
    s += d * d;
  }
  return kappa_ * s;
}
void DoubleWellLoss::add_gradient(const double* q, double* g) const {
  for (int k = 0; k < K_; ++k) {
    const double x = q[k] - q0_[k];
    g[k] += 4.0 * kappa_ * x * (x * x - s2_);
  }
}
double DoubleWellLoss::laplacian(const double* q) const {
  double s = 0;
  for (int k = 0; k < K_; ++k) {
    const double x = q[k] - q0_[k];
    s += 4.0 * kappa_ * (3.0 * x * x - s2_);
  }
  return s;
}

// The registry: one line per style (its class lives in its own file pair,
// or here for the three built-in ones).
const BoundaryLossRegistry& boundary_losses() {
  using S = const ModelParams&;
  static const BoundaryLossRegistry registry(
      "model.loss",
      {
          {"harmonic", "0.5*kappa*|q-q0|^2", make_style<BoundaryLoss, HarmonicLoss, S>},
          {"double_well", "kappa*sum_k ((q_k-q0_k)^2-s^2)^2", make_style<BoundaryLoss, DoubleWellLoss, S>},
          {"none", "U = 0 (needs model.periodic)", make_style<BoundaryLoss, NoLoss, S>},
      });
  return registry;
}

std::unique_ptr<BoundaryLoss> make_boundary_loss(const ModelParams& m) { return boundary_losses().make(m.loss, m); }

}  // namespace gcnn
