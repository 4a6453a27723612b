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

std::unique_ptr<BoundaryLoss> make_boundary_loss(const Config& c) {
  switch (c.loss) {
    case LossKind::Harmonic: return std::make_unique<HarmonicLoss>(c.K, c.kappa, c.q0);
    case LossKind::DoubleWell: return std::make_unique<DoubleWellLoss>(c.K, c.kappa, c.s, c.q0);
    case LossKind::None: break;
  }
  return std::make_unique<NoLoss>(c.K);
}

}  // namespace gcnn
