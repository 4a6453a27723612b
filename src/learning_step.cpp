#include "gcnn/learning_step.hpp"

#include <cmath>

#include "gcnn/fastmath.hpp"

namespace gcnn {

namespace {

// Sums over a network's neurons use L fixed lanes (lane l takes neurons
// b+l, b+l+L, ...) and a fixed pairwise combination. The order therefore
// depends only on the network's canonical neuron list, never on memory
// alignment or on how the compiler splits the loop (MODEL.md §7).
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

// Metropolis-adjusted Langevin on F_a at temperature T_q: no step-size bias.
class MalaStep final : public LearningStep {
 public:
  MalaStep(const LearningParams&, const ModelParams&, const BoundaryLoss& loss) : loss_(loss) {}
  bool metropolis() const override { return true; }
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
    const auto& c = e.config();
    const double h = c.eta * c.gamma, kick = std::sqrt(2.0 * h * c.Tq), invT = 1.0 / c.T;
    int64_t acc = 0;
    for (int64_t la = 0; la < e.n_local(); ++la) {
      const NeuronBlock& nb = e.active();
      const int64_t b = e.begin(la), en = e.end(la);
      double* q = e.q(la);
      double g[3] = {0, 0, 0}, gp[3] = {0, 0, 0}, qp[3], xi[3];
      loss_.add_gradient(q, g);
      mean_grad<K>(nb, b, en, q, invT, g);
      e.rng().normals<K>(Purpose::LearningNoise, step, static_cast<uint64_t>(e.a_lo() + la), xi);
      for (int k = 0; k < K; ++k) qp[k] = q[k] - h * g[k] + kick * xi[k];
      e.wrap(qp);
      loss_.add_gradient(qp, gp);
      mean_grad<K>(nb, b, en, qp, invT, gp);
      const double F = set_free_energy(K, nb, b, en, q, c.T, loss_);
      const double Fp = set_free_energy(K, nb, b, en, qp, c.T, loss_);
      // log q(x|x') - log q(x'|x) for the Langevin proposal
      double fwd = 0, bwd = 0;
      for (int k = 0; k < K; ++k) {
        const double d = displacement(e, k, qp[k], q[k]);  // q' - q (minimal image)
        fwd += (d + h * g[k]) * (d + h * g[k]);
        bwd += (-d + h * gp[k]) * (-d + h * gp[k]);
      }
      const double log_alpha = -(Fp - F) / c.Tq - (bwd - fwd) / (4.0 * h * c.Tq);
      const auto r = e.rng().draw(Purpose::MalaAccept, step, static_cast<uint64_t>(e.a_lo() + la));
      if (std::log(CounterRng::u01_64(r.v[0], r.v[1])) < log_alpha) {
        for (int k = 0; k < K; ++k) q[k] = qp[k];
        ++acc;
      }
    }
    proposed_ += e.n_local();
    accepted_ += acc;
  }
  static double displacement(const Ensemble& e, int k, double to, double from) {
    double d = to - from;
    const auto& c = e.config();
    if (c.periodic) {
      const double Lk = c.grid_hi[k] - c.grid_lo[k];
      d -= Lk * std::round(d / Lk);
    }
    return d;
  }
  const BoundaryLoss& loss_;
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

}  // namespace gcnn
