#include "gcnn/learning_step.hpp"

#include <cmath>

#include "gcnn/fastmath.hpp"

namespace gcnn {

namespace {

// Sums over a network's neurons use L fixed lanes (lane l takes neurons
// b+l, b+l+L, ...) and a fixed pairwise combination. The order therefore
// depends only on the network's canonical neuron list, never on memory
// alignment or on how the compiler splits the loop (docs/model.md §7).
constexpr int L = 8;

template <int K>
inline void combine(const double (&acc)[K][L], double* g) {
  for (int k = 0; k < K; ++k)
    g[k] -= ((acc[k][0] + acc[k][1]) + (acc[k][2] + acc[k][3])) + ((acc[k][4] + acc[k][5]) + (acc[k][6] + acc[k][7]));
}

// add(j, l) for j = 0..n-1 in lane l = j mod L: whole vectors of L lanes,
// then the tail in the same lanes.
template <class Add>
inline void in_lanes(int64_t n, Add add) {
  int64_t j = 0;
  for (; j + L <= n; j += L) {
#pragma omp simd
    for (int l = 0; l < L; ++l) add(j + l, l);
  }
  for (int l = 0; j + l < n; ++l) add(j + l, l);
}

// g -= sum_j x(j) w_j over the neurons b..e-1, x(j) for the neuron at b + j.
template <int K, class X>
inline void lane_grad(const FieldView<K>& fv, int64_t b, int64_t e, X x, double* g) {
  double acc[K][L] = {};
  in_lanes(e - b, [&](int64_t j, int l) {
    const double v = x(j);
    for (int k = 0; k < K; ++k) acc[k][l] += v * static_cast<double>(fv.w[k][b + j]);
  });
  combine<K>(acc, g);
}

// The hidden spin's contribution for y = z/T: its mean (mean mode), or a
// sample x = +1 iff u (1 + e^{-2y}) < 1 for the uniform u of the neuron
// (sampled mode).
inline double spin_mean(double y) { return fm::tanh(y); }
inline double spin_sample(const CounterRng& rng, uint64_t step, int64_t id, double y) {
  const double u = CounterRng::u01_32(rng.draw(Purpose::HiddenSample, step, static_cast<uint64_t>(id)).v[0]);
  return u * (1.0 + fm::exp(-2.0 * y)) < 1.0 ? 1.0 : -1.0;
}

// g -= sum_i tanh(z_i/T) w_i
template <int K>
inline void mean_grad(const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double invT, double* g) {
  const FieldView<K> fv(nb);
  lane_grad<K>(fv, b, e, [&](int64_t j) { return spin_mean(fv.field(b + j, q) * invT); }, g);
}

// g -= sum_i x_i w_i with the sampled spins x_i
template <int K>
inline void sampled_grad(const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double invT, double* g,
                         const CounterRng& rng, uint64_t step) {
  const FieldView<K> fv(nb);
  const int64_t* id = nb.id.data();
  lane_grad<K>(fv, b, e, [&](int64_t j) { return spin_sample(rng, step, id[b + j], fv.field(b + j, q) * invT); }, g);
}

// q <- q - drift g + kick xi, then wrapped into the box if periodic.
template <int K>
inline void euler_maruyama(Ensemble& e, int64_t la, const double* g, const double* xi, double drift, double kick) {
  double* q = e.q(la);
  for (int k = 0; k < K; ++k) q[k] = q[k] - drift * g[k] + kick * xi[k];
  e.wrap(q);
}

// The Euler-Maruyama coefficients, fixed when a style is built: drift
// eta*gamma, kick sqrt(2 eta gamma T_q), and 1/T of the hidden spins.
struct Langevin {
  double drift, kick, invT;
  Langevin(const LearningParams& l, const ModelParams& m)
      : drift(l.eta * l.gamma), kick(std::sqrt(2.0 * l.eta * l.gamma * l.Tq)), invT(1.0 / m.T) {}
};

// One learning step of every local network, in chunks of whole networks
// holding about kChunk neurons. A network holds only tens of neurons, and
// vectorising per network leaves a scalar loop tail per network, where the
// exp/tanh and Philox work is several times dearer than in vector lanes. So,
// per chunk: (1) the fields y_j = z_j/T, network by network (cheap
// arithmetic); (2) one flat vectorised loop x_j = act(j, y_j) over the whole
// chunk; (3) per network, g -= sum_j x_j w_j in the fixed lanes of
// combine(), then the Euler-Maruyama move. Elementwise work is bitwise the
// same in a vector lane and in a scalar tail (fastmath.hpp), and the sums
// keep their fixed order, so the result does not depend on the chunking.
// The networks' noise xi is drawn in one vector loop per chunk, too.
template <int K, class Act>
void chunked_step(Ensemble& e, uint64_t step, const BoundaryLoss& loss, const Langevin& lv, Buffer<double>& chunk,
                  Act act) {
  static_assert(K >= 1 && K <= 3);
  constexpr int64_t kChunk = 2048;
  const double drift = lv.drift, kick = lv.kick, invT = lv.invT;
  const NeuronBlock& nb = e.active();
  const FieldView<K> fv(nb);
  const int64_t n = e.n_local();
  for (int64_t la0 = 0; la0 < n;) {
    int64_t la1 = la0 + 1;
    while (la1 < n && e.end(la1) - e.begin(la0) <= kChunk) ++la1;
    const int64_t s = e.begin(la0), len = e.end(la1 - 1) - s;
    const int64_t nn = la1 - la0;
    // fields, then the noise of the nn networks (grows only for a network > kChunk)
    if (chunk.size() < static_cast<size_t>(len + 3 * nn)) chunk.resize(static_cast<size_t>(len + 3 * nn));
    double* x = chunk.data();
    for (int64_t la = la0; la < la1; ++la) {
      const double* q = e.q(la);
      const int64_t b = e.begin(la), en = e.end(la);
#pragma omp simd
      for (int64_t j = b; j < en; ++j) x[j - s] = fv.field(j, q) * invT;
    }
    act(s, len, x);
    double* xs = x + len;  // xs[k nn + i]: component k of network la0 + i
    const CounterRng& rng = e.rng();
    const uint64_t a0 = static_cast<uint64_t>(e.a_lo() + la0);
#pragma omp simd
    for (int64_t i = 0; i < nn; ++i) {  // the values of rng.normals<K>
      double n0, n1;
      rng.normal_pair(Purpose::LearningNoise, step, a0 + static_cast<uint64_t>(i), 0, n0, n1);
      xs[i] = n0;
      if constexpr (K >= 2) xs[nn + i] = n1;
      if constexpr (K >= 3) {
        rng.normal_pair(Purpose::LearningNoise, step, a0 + static_cast<uint64_t>(i), 1, n0, n1);
        xs[2 * nn + i] = n0;
      }
    }
    for (int64_t la = la0; la < la1; ++la) {
      const int64_t b = e.begin(la), en = e.end(la);
      const double* xb = x + (b - s);
      double g[3] = {0, 0, 0};
      loss.add_gradient(e.q(la), g);
      lane_grad<K>(fv, b, en, [xb](int64_t j) { return xb[j]; }, g);
      double xi[3];
      for (int k = 0; k < K; ++k) xi[k] = xs[k * nn + (la - la0)];
      euler_maruyama<K>(e, la, g, xi, drift, kick);
    }
    la0 = la1;
  }
}

class MeanStep final : public LearningStep {
 public:
  MeanStep(const LearningParams& l, const ModelParams& m, const BoundaryLoss& loss) : loss_(loss), lv_(l, m) {}
  void advance(Ensemble& e, uint64_t step) override {
    switch (e.config().K) {
      case 1: run<1>(e, step); break;
      case 2: run<2>(e, step); break;
      default: run<3>(e, step); break;
    }
  }

 private:
  template <int K>
  void run(Ensemble& e, uint64_t step) {
    chunked_step<K>(e, step, loss_, lv_, chunk_, [](int64_t, int64_t len, double* x) {
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) x[j] = spin_mean(x[j]);
    });
  }
  const BoundaryLoss& loss_;
  Langevin lv_;
  Buffer<double> chunk_ = Buffer<double>(4096);
};

class SampledStep final : public LearningStep {
 public:
  SampledStep(const LearningParams& l, const ModelParams& m, const BoundaryLoss& loss) : loss_(loss), lv_(l, m) {}
  void advance(Ensemble& e, uint64_t step) override {
    switch (e.config().K) {
      case 1: run<1>(e, step); break;
      case 2: run<2>(e, step); break;
      default: run<3>(e, step); break;
    }
  }

 private:
  template <int K>
  void run(Ensemble& e, uint64_t step) {
    const int64_t* id = e.active().id.data();
    const CounterRng& rng = e.rng();
    chunked_step<K>(e, step, loss_, lv_, chunk_, [id, &rng, step](int64_t s, int64_t len, double* x) {
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) x[j] = spin_sample(rng, step, id[s + j], x[j]);
    });
  }
  const BoundaryLoss& loss_;
  Langevin lv_;
  Buffer<double> chunk_ = Buffer<double>(4096);
};

// ---- MALA in chunks (issue 16 item 6) ----
// MALA needs F_a and grad F_a at q and at the proposal q', i.e. tanh and
// ln 2cosh of y_j = z_j/T for every neuron at two points. Like chunked_step:
// per chunk of whole networks, the fields network by network, then one flat
// vector loop for tanh over the whole chunk, then the sums per network in the
// fixed lanes of combine(). grad F_a is bitwise hidden_gradient()'s; F_a is
// set_free_energy()'s to rounding (network_free_energy_and_gradient). Nothing depends on
// the chunking (tests/test_mala_chunks.cpp).

// y_j = z_j(q_a)/T for the networks [la0, la1), neuron j of the chunk
// starting at neuron s at y[j - s]; `point(la)` is the network's q or q'.
template <int K, class Point>
inline void chunk_fields(const Ensemble& e, const FieldView<K>& fv, int64_t la0, int64_t la1, int64_t s,
                         double invT, Point point, double* y) {
  for (int64_t la = la0; la < la1; ++la) {
    const double* q = point(la);
    const int64_t b = e.begin(la), en = e.end(la);
#pragma omp simd
    for (int64_t j = b; j < en; ++j) y[j - s] = fv.field(j, q) * invT;
  }
}

// In place y_j -> tanh(y_j) (the spin's mean), and a_j = |y_j|: one vector
// loop over the chunk.
inline void spin_means_and_magnitudes(int64_t len, double* y, double* a) {
#pragma omp simd
  for (int64_t j = 0; j < len; ++j) {
    const double v = y[j];
    a[j] = std::fabs(v);
    y[j] = spin_mean(v);
  }
}

// A lane's product of factors in [1, 2] is folded into its log every kFold
// vectors, before it could overflow (2^1000 < DBL_MAX).
constexpr int64_t kFold = 1000;

// lnp_l += ln prod_l, prod_l = 1: one vector log over the L lanes.
inline void fold_products(double (&prod)[L], double (&lnp)[L]) {
#pragma omp simd
  for (int l = 0; l < L; ++l) {
    lnp[l] += fm::log(prod[l]);
    prod[l] = 1.0;
  }
}

inline double pairwise(const double (&v)[L]) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

// F_a and grad F_a of the network of neurons [b, b + n) at q, from the tanh
// t_j and |y_j| = a_j of its neurons (t, a indexed from the network's first
// neuron): F_a = U(q) - T sum_j ln 2cosh y_j, g = grad U(q) - sum_j t_j w_j.
// g is summed exactly as lane_grad() does. For F_a,
//   ln 2cosh y = |y| + ln(1 + e^{-2|y|}) = |y| + ln 2 - ln(1 + |tanh y|)
// (1 + |tanh y| = 2/(1 + e^{-2|y|})), so
//   sum_j ln 2cosh y_j = sum_j |y_j| + n ln 2 - sum_l ln prod_{j in lane l} (1 + |t_j|),
// one vector log per network instead of an exp, a log and two divisions per
// neuron. |t_j| carries an absolute error below 4.4e-16, so each factor is
// exact to 5.5e-16 relative and the sum to n * 6e-16 absolute: the same
// order as summing log_two_cosh (MALA uses only F_a(q') - F_a(q)).
template <int K>
inline double network_free_energy_and_gradient(const FieldView<K>& fv, int64_t b, int64_t n, const double* t,
                                               const double* a, const double* q, double T,
                                               const BoundaryLoss& loss, double* g) {
  double acc[K][L] = {}, mag[L] = {}, lnp[L] = {}, prod[L];
  for (int l = 0; l < L; ++l) prod[l] = 1.0;
  auto add = [&](int64_t j, int l) {
    const double v = t[j];
    for (int k = 0; k < K; ++k) acc[k][l] += v * static_cast<double>(fv.w[k][b + j]);
    mag[l] += a[j];
    prod[l] *= 1.0 + std::fabs(v);
  };
  int64_t j = 0, vectors = 0;
  for (; j + L <= n; j += L) {
#pragma omp simd
    for (int l = 0; l < L; ++l) add(j + l, l);
    if (++vectors == kFold) { fold_products(prod, lnp); vectors = 0; }
  }
  for (int l = 0; j + l < n; ++l) add(j + l, l);
  fold_products(prod, lnp);
  g[0] = g[1] = g[2] = 0;
  loss.add_gradient(q, g);
  combine<K>(acc, g);
  constexpr double kLn2 = 0x1.62e42fefa39efp-1;
  const double S = (pairwise(mag) + static_cast<double>(n) * kLn2) - pairwise(lnp);
  return loss.value(q) - T * S;
}

// ln alpha of the Metropolis test: the change of F_a/T_q plus the log ratio
// log q(q|q') - log q(q'|q) of the Langevin proposal density.
template <int K>
inline double mala_log_alpha(const Ensemble& e, double Tq, double h, const double* q, const double* qp,
                             const double* g, const double* gp, double F, double Fp) {
  double fwd = 0, bwd = 0;
  for (int k = 0; k < K; ++k) {
    const double d = e.displacement(k, qp[k], q[k]);
    fwd += (d + h * g[k]) * (d + h * g[k]);
    bwd += (-d + h * gp[k]) * (-d + h * gp[k]);
  }
  return -(Fp - F) / Tq - (bwd - fwd) / (4.0 * h * Tq);
}

// One MALA step of every local network; returns the number of accepted moves.
template <int K>
int64_t mala_chunked(Ensemble& e, uint64_t step, const BoundaryLoss& loss, const LearningParams& lp,
                     const ModelParams& mp, int64_t chunk_neurons, Buffer<double>& buf) {
  static_assert(K >= 1 && K <= 3);
  const double T = mp.T, Tq = lp.Tq;
  const Langevin lv(lp, mp);  // the proposal is the mean-mode Euler-Maruyama move
  const double h = lv.drift, kick = lv.kick, invT = lv.invT;
  const NeuronBlock& nb = e.active();
  const FieldView<K> fv(nb);
  const CounterRng& rng = e.rng();
  const int64_t n = e.n_local();
  int64_t accepted = 0;
  for (int64_t la0 = 0; la0 < n;) {
    int64_t la1 = la0 + 1;
    while (la1 < n && e.end(la1) - e.begin(la0) <= chunk_neurons) ++la1;
    const int64_t s = e.begin(la0), len = e.end(la1 - 1) - s, nn = la1 - la0;
    // per neuron: tanh, |y|; per network: xi, g, q' (3 each), F
    const size_t need = static_cast<size_t>(2 * len + 10 * nn);
    if (buf.size() < need) buf.resize(need);
    double* t = buf.data();
    double* mag = t + len;
    double* xi = mag + len;  // xi[3 i + k], g and qp likewise, for network la0 + i
    double* g = xi + 3 * nn;
    double* qp = g + 3 * nn;
    double* F = qp + 3 * nn;
    // the noise of the nn networks, in one vector loop (the values of rng.normals<K>)
#pragma omp simd
    for (int64_t i = 0; i < nn; ++i) {
      double n0, n1;
      const uint64_t a = static_cast<uint64_t>(e.a_lo() + la0 + i);
      rng.normal_pair(Purpose::LearningNoise, step, a, 0, n0, n1);
      xi[3 * i] = n0;
      if constexpr (K >= 2) xi[3 * i + 1] = n1;
      if constexpr (K >= 3) {
        rng.normal_pair(Purpose::LearningNoise, step, a, 1, n0, n1);
        xi[3 * i + 2] = n0;
      }
    }
    // at q: F_a, grad F_a, then the Langevin proposal q'
    chunk_fields<K>(e, fv, la0, la1, s, invT, [&e](int64_t la) { return e.q(la); }, t);
    spin_means_and_magnitudes(len, t, mag);
    for (int64_t la = la0; la < la1; ++la) {
      const int64_t i = la - la0, b = e.begin(la), en = e.end(la);
      const double* q = e.q(la);
      double* gi = g + 3 * i;
      double* qpi = qp + 3 * i;
      F[i] = network_free_energy_and_gradient<K>(fv, b, en - b, t + (b - s), mag + (b - s), q, T, loss, gi);
      for (int k = 0; k < K; ++k) qpi[k] = q[k] - h * gi[k] + kick * xi[3 * i + k];
      e.wrap(qpi);
    }
    // at q': F_a, grad F_a, then the Metropolis test
    chunk_fields<K>(e, fv, la0, la1, s, invT, [qp, la0](int64_t la) { return qp + 3 * (la - la0); }, t);
    spin_means_and_magnitudes(len, t, mag);
    for (int64_t la = la0; la < la1; ++la) {
      const int64_t i = la - la0, b = e.begin(la), en = e.end(la);
      const double* qpi = qp + 3 * i;
      double gp[3];
      const double Fp =
          network_free_energy_and_gradient<K>(fv, b, en - b, t + (b - s), mag + (b - s), qpi, T, loss, gp);
      double* q = e.q(la);
      const double log_alpha = mala_log_alpha<K>(e, Tq, h, q, qpi, g + 3 * i, gp, F[i], Fp);
      const auto r = rng.draw(Purpose::MalaAccept, step, static_cast<uint64_t>(e.a_lo() + la));
      if (std::log(CounterRng::u01_64(r.v[0], r.v[1])) < log_alpha) {
        for (int k = 0; k < K; ++k) q[k] = qpi[k];
        ++accepted;
      }
    }
    la0 = la1;
  }
  return accepted;
}

// Metropolis-adjusted Langevin on F_a at temperature T_q: no step-size bias.
class MalaStep final : public LearningStep {
 public:
  MalaStep(const LearningParams& l, const ModelParams& m, const BoundaryLoss& loss) : loss_(loss), lp_(l), mp_(m) {}
  bool metropolis() const override { return true; }
  void advance(Ensemble& e, uint64_t step) override {
    accepted_ += mala_step(e, step, loss_, lp_, mp_, kMalaChunk, chunk_);
    proposed_ += e.n_local();
  }

 private:
  const BoundaryLoss& loss_;
  LearningParams lp_;
  ModelParams mp_;
  Buffer<double> chunk_ = Buffer<double>(4096);
};

class FrozenStep final : public LearningStep {
 public:
  FrozenStep(const LearningParams&, const ModelParams&, const BoundaryLoss&) {}
  void advance(Ensemble&, uint64_t) override {}
};

}  // namespace

void hidden_gradient(int K, const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double T, double* g) {
  switch (K) {
    case 1: mean_grad<1>(nb, b, e, q, 1.0 / T, g); break;
    case 2: mean_grad<2>(nb, b, e, q, 1.0 / T, g); break;
    default: mean_grad<3>(nb, b, e, q, 1.0 / T, g); break;
  }
}

void sampled_hidden_gradient(int K, const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double T, double* g,
                             const CounterRng& rng, uint64_t step) {
  switch (K) {
    case 1: sampled_grad<1>(nb, b, e, q, 1.0 / T, g, rng, step); break;
    case 2: sampled_grad<2>(nb, b, e, q, 1.0 / T, g, rng, step); break;
    default: sampled_grad<3>(nb, b, e, q, 1.0 / T, g, rng, step); break;
  }
}

// sum_j ln 2cosh(z_j/T) in the fixed lanes of combine(), vectorised.
template <int K>
double sum_log_two_cosh(const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double invT) {
  const FieldView<K> fv(nb);
  double acc[1][L] = {};
  in_lanes(e - b, [&](int64_t j, int l) { acc[0][l] += log_two_cosh(fv.field(b + j, q) * invT); });
  double minus[1] = {0};
  combine<1>(acc, minus);
  return -minus[0];
}

double set_free_energy(int K, const NeuronBlock& nb, int64_t b, int64_t e, const double* q, double T,
                       const BoundaryLoss& loss) {
  double S = 0;
  switch (K) {
    case 1: S = sum_log_two_cosh<1>(nb, b, e, q, 1.0 / T); break;
    case 2: S = sum_log_two_cosh<2>(nb, b, e, q, 1.0 / T); break;
    default: S = sum_log_two_cosh<3>(nb, b, e, q, 1.0 / T); break;
  }
  return loss.value(q) - T * S;  // F_a = U(q) + sum_i f_i, f_i = -T ln 2cosh(z_i/T)
}

int64_t mala_step(Ensemble& e, uint64_t step, const BoundaryLoss& loss, const LearningParams& lp,
                  const ModelParams& mp, int64_t chunk_neurons, Buffer<double>& scratch) {
  switch (e.config().K) {
    case 1: return mala_chunked<1>(e, step, loss, lp, mp, chunk_neurons, scratch);
    case 2: return mala_chunked<2>(e, step, loss, lp, mp, chunk_neurons, scratch);
    default: return mala_chunked<3>(e, step, loss, lp, mp, chunk_neurons, scratch);
  }
}

// The registry: one line per learning style.
const LearningModeRegistry& learning_modes() {
  using L = const LearningParams&;
  using M = const ModelParams&;
  using U = const BoundaryLoss&;
  static const LearningModeRegistry registry(
      "learning.mode",
      {
          {"mean", "= exact grad F", make_style<LearningStep, MeanStep, L, M, U>},
          {"sampled", "= Ising-sampled", make_style<LearningStep, SampledStep, L, M, U>},
          {"mala", "= Metropolis-adjusted Langevin", make_style<LearningStep, MalaStep, L, M, U>},
          {"frozen", "= q never moves (exchange tests)", make_style<LearningStep, FrozenStep, L, M, U>},
      });
  return registry;
}

std::unique_ptr<LearningStep> make_learning_step(const LearningParams& l, const ModelParams& m,
                                                 const BoundaryLoss& loss) {
  return learning_modes().make(l.mode, l, m, loss);
}

RestartRecord LearningStep::write_restart() const {
  RestartRecord r;
  r.put("proposed", proposed_);
  r.put("accepted", accepted_);
  return r;
}

void LearningStep::read_restart(const RestartRecord& r) {
  proposed_ = r.get("proposed");
  accepted_ = r.get("accepted");
}

std::string LearningStep::check_restart(const RestartState& all) {
  std::string why;
  const RestartRecord* rp = find_record(all, "learning", &why);
  if (!rp) return why;
  const RestartRecord& r = *rp;
  why = check_counts(r, {"proposed", "accepted"});
  return why.empty() ? check_at_most(r, "accepted", r, "proposed") : why;
}

}  // namespace gcnn
