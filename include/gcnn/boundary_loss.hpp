#pragma once
// Boundary (data) loss U(q) of docs/model.md §1, as interchangeable styles.
// Called once per network per step, so a virtual call costs nothing next to
// the O(N_a) neuron loop.
#include <memory>
#include <vector>

#include "gcnn/config.hpp"
#include "gcnn/style_registry.hpp"

namespace gcnn {

class BoundaryLoss {
 public:
  virtual ~BoundaryLoss() = default;
  virtual double value(const double* q) const = 0;
  virtual void add_gradient(const double* q, double* g) const = 0;  // g += grad U
  virtual double laplacian(const double* q) const = 0;               // div grad U
  // Whether U grows without bound, so that e^{-Omega/T} is normalisable on
  // an open (non-periodic) q space.
  virtual bool confines() const { return true; }
  int K() const { return K_; }

 protected:
  explicit BoundaryLoss(int K) : K_(K) {}
  int K_;
};

// 0.5*kappa*|q - q0|^2
class HarmonicLoss final : public BoundaryLoss {
 public:
  HarmonicLoss(int K, double kappa, std::vector<double> q0) : BoundaryLoss(K), kappa_(kappa), q0_(std::move(q0)) {}
  explicit HarmonicLoss(const ModelParams& m) : HarmonicLoss(m.K, m.kappa, m.q0) {}
  double value(const double* q) const override;
  void add_gradient(const double* q, double* g) const override;
  double laplacian(const double* q) const override;

 private:
  double kappa_;
  std::vector<double> q0_;
};

// kappa * sum_k ((q_k - q0_k)^2 - s^2)^2
class DoubleWellLoss final : public BoundaryLoss {
 public:
  DoubleWellLoss(int K, double kappa, double s, std::vector<double> q0)
      : BoundaryLoss(K), kappa_(kappa), s2_(s * s), q0_(std::move(q0)) {}
  explicit DoubleWellLoss(const ModelParams& m) : DoubleWellLoss(m.K, m.kappa, m.s, m.q0) {}
  double value(const double* q) const override;
  void add_gradient(const double* q, double* g) const override;
  double laplacian(const double* q) const override;

 private:
  double kappa_, s2_;
  std::vector<double> q0_;
};

class NoLoss final : public BoundaryLoss {
 public:
  explicit NoLoss(int K) : BoundaryLoss(K) {}
  explicit NoLoss(const ModelParams& m) : NoLoss(m.K) {}
  bool confines() const override { return false; }
  double value(const double*) const override { return 0; }
  void add_gradient(const double*, double*) const override {}
  double laplacian(const double*) const override { return 0; }
};

// The boundary-loss styles by name (model.loss); a style is built from the [model] section.
using BoundaryLossRegistry = StyleRegistry<BoundaryLoss, const ModelParams&>;
const BoundaryLossRegistry& boundary_losses();
// The style model.loss names.
std::unique_ptr<BoundaryLoss> make_boundary_loss(const ModelParams& m);

}  // namespace gcnn
