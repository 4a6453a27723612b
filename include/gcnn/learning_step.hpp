#pragma once
// Learning dynamics (docs/model.md §3) as interchangeable styles:
//   q <- q - eta*gamma*g + sqrt(2*eta*gamma*T_q) xi
// mean:    g = grad F_a(q) = grad U - sum_i tanh(z_i/T) w_i   (exact)
// sampled: g = grad U - sum_i x_i w_i, x_i = +-1 ~ P(+1) = 1/(1+e^{-2 z_i/T})
// mala:    the mean-mode move as a proposal, Metropolis-adjusted on F_a/T_q
// frozen:  q never moves (for exchange-only experiments and tests)
#include <memory>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/restart_state.hpp"
#include "gcnn/style_registry.hpp"

namespace gcnn {

class LearningStep : public RestartComponent {
 public:
  // Advances every local network by one step, keyed by `step` (no allocation).
  virtual void advance(Ensemble& e, uint64_t step) = 0;
  // Metropolis proposals and acceptances (MALA; zero for the other styles).
  int64_t proposals() const { return proposed_; }
  int64_t accepted() const { return accepted_; }
  // Restart state "learning": the two counters.
  std::string restart_name() const override { return "learning"; }
  RestartRecord write_restart() const override;
  void read_restart(const RestartRecord& r) override;
  static std::string check_restart(const RestartState& all);
  // Whether the style accepts or rejects its moves (proposals() and
  // accepted() count them), so that an acceptance rate means something.
  virtual bool metropolis() const { return false; }

 protected:
  int64_t proposed_ = 0, accepted_ = 0;
};

// The learning styles by name (learning.mode). A style is built from the
// [learning] and [model] sections and the loss in force: eta, gamma, T_q and
// T are fixed at construction (a quench builds the style again).
using LearningModeRegistry =
    StyleRegistry<LearningStep, const LearningParams&, const ModelParams&, const BoundaryLoss&>;
const LearningModeRegistry& learning_modes();
std::unique_ptr<LearningStep> make_learning_step(const LearningParams& l, const ModelParams& m,
                                                 const BoundaryLoss& loss);
inline std::unique_ptr<LearningStep> make_learning_step(const Config& c, const BoundaryLoss& loss) {
  return make_learning_step(c, c, loss);
}

// grad F_a and F_a of one network's neuron group [b, e) at q (used by the
// styles, the observables and the tests). Sums run in a fixed order.
void hidden_gradient(int K, const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double T, double* g);
// g -= sum_i x_i w_i with the x_i of `sampled` mode at `step` (one draw of SGD's noise).
void sampled_hidden_gradient(int K, const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double T, double* g,
                             const CounterRng& rng, uint64_t step);
// One MALA step of every local network (the `mala` style's advance), in chunks
// of whole networks of about `chunk_neurons` neurons; returns the number of
// accepted moves. The result is bitwise independent of chunk_neurons.
constexpr int64_t kMalaChunk = 2048;
int64_t mala_step(Ensemble& e, uint64_t step, const BoundaryLoss& loss, const LearningParams& lp,
                  const ModelParams& mp, int64_t chunk_neurons, Buffer<double>& scratch);
double set_free_energy(int K, const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double T,
                       const BoundaryLoss& loss);

}  // namespace gcnn
