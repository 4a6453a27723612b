#include "gcnn/grand_potential.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <stdexcept>

#include "gcnn/fastmath.hpp"
#include "gcnn/mean_field_group.hpp"

namespace gcnn {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
inline double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
// Points [n, K] (C order) transposed to one unit-stride array per axis, so
// the loops over points with one neuron's parameters fixed vectorise; axes
// beyond K alias axis 0 (their weights are zero).
struct PointsByAxis {
  std::vector<double> qk;
  const double *q0, *q1, *q2;
  PointsByAxis(const std::vector<double>& pts, int K) : qk(pts.size()) {
    const size_t n = pts.size() / static_cast<size_t>(K);
    for (size_t g = 0; g < n; ++g)
      for (int k = 0; k < K; ++k) qk[k * n + g] = pts[g * K + k];
    q0 = qk.data();
    q1 = K > 1 ? qk.data() + n : q0;
    q2 = K > 2 ? qk.data() + 2 * n : q0;
  }
};
// Anderson acceleration (type II, Walker & Ni 2011) of a fixed point
// x = F(x) in R^n: from the last m steps' input differences dX_j and
// residual differences dR_j (r = F(x) - x), the next input is
//   x' = F(x) - (dX + dR) gamma,  gamma = argmin |r - dR gamma|_2,
// the secant step that is exact for a linear map once m >= its rank. The
// least squares is solved by modified Gram-Schmidt on dR with the columns
// kept in a fixed order, so the step is a deterministic function of the
// vectors (every rank holds the same ones). A step whose residual did not
// fall below `kRestart` of the previous one drops the history (the secant
// model was poor) and takes the plain step F(x).
class AndersonMixing {
 public:
  static constexpr double kRestart = 0.9;
  AndersonMixing(size_t n, int depth) : n_(n), depth_(depth) {}
  // Given the input x and its image F(x) (both length n), the next input.
  std::vector<double> next(const std::vector<double>& x, const std::vector<double>& fx) {
    std::vector<double> r(n_);
    double rn = 0;
    for (size_t g = 0; g < n_; ++g) {
      r[g] = fx[g] - x[g];
      rn += r[g] * r[g];
    }
    rn = std::sqrt(rn);
    if (!x_prev_.empty() && !(rn < kRestart * r_norm_prev_)) {  // poor secant model: start again
      dX_.clear();
      dR_.clear();
    } else if (!x_prev_.empty()) {
      std::vector<double> dx(n_), dr(n_);
      for (size_t g = 0; g < n_; ++g) {
        dx[g] = x[g] - x_prev_[g];
        dr[g] = r[g] - r_prev_[g];
      }
      dX_.push_back(std::move(dx));
      dR_.push_back(std::move(dr));
      if (static_cast<int>(dX_.size()) > depth_) {
        dX_.erase(dX_.begin());
        dR_.erase(dR_.begin());
      }
    }
    x_prev_ = x;
    r_prev_ = r;
    r_norm_prev_ = rn;
    std::vector<double> out = fx;
    const std::vector<double> gamma = least_squares(r);
    for (size_t j = 0; j < gamma.size(); ++j)
      for (size_t g = 0; g < n_; ++g) out[g] -= gamma[j] * (dX_[j][g] + dR_[j][g]);
    return out;
  }

 private:
  // gamma = argmin |r - dR gamma|: dR = Q U by modified Gram-Schmidt, then
  // U gamma = Q^T r. Columns nearly dependent on the earlier ones (|q_j| <
  // 1e-10 |dR_j|) get gamma_j = 0.
  std::vector<double> least_squares(const std::vector<double>& r) const {
    const size_t m = dR_.size();
    std::vector<std::vector<double>> Q = dR_;
    std::vector<double> U(m * m, 0.0), b(m, 0.0), gamma(m, 0.0);
    std::vector<bool> used(m, false);
    for (size_t j = 0; j < m; ++j) {
      double n0 = 0;
      for (double v : Q[j]) n0 += v * v;
      for (size_t i = 0; i < j; ++i) {
        if (!used[i]) continue;
        double d = 0;
        for (size_t g = 0; g < n_; ++g) d += Q[i][g] * Q[j][g];
        U[i * m + j] = d;
        for (size_t g = 0; g < n_; ++g) Q[j][g] -= d * Q[i][g];
      }
      double nj = 0;
      for (double v : Q[j]) nj += v * v;
      if (!(nj > 1e-20 * n0) || nj == 0) continue;
      used[j] = true;
      nj = std::sqrt(nj);
      U[j * m + j] = nj;
      for (double& v : Q[j]) v /= nj;
      double d = 0;
      for (size_t g = 0; g < n_; ++g) d += Q[j][g] * r[g];
      b[j] = d;
    }
    for (size_t jj = m; jj-- > 0;) {
      if (!used[jj]) continue;
      double v = b[jj];
      for (size_t k = jj + 1; k < m; ++k)
        if (used[k]) v -= U[jj * m + k] * gamma[k];
      gamma[jj] = v / U[jj * m + jj];
    }
    return gamma;
  }

  size_t n_;
  int depth_;
  std::vector<double> x_prev_, r_prev_;
  double r_norm_prev_ = 0;
  std::vector<std::vector<double>> dX_, dR_;
};
// Groups of at most kOmegaGroup neurons whose product of (1 + e^{l_i}) stays
// finite: ln(1 + e^{l_i}) <= softplus(base + ln 2 + ymax_i) (s_i >= 0), and
// the bounds of a group add up to at most 600 < ln DBL_MAX, so the running
// product's mantissa (< 2) times a group's factors stays finite too (a single
// neuron above the bound makes a group of its own). Returns each group's end
// index.
std::vector<size_t> omega_groups(const std::vector<NeuronParams>& params, const MeanFieldGroup& two_cosh,
                                 double base, double invT) {
  constexpr size_t kOmegaGroup = MeanFieldGroup::kMaxGroup;
  std::vector<size_t> group_end;
  double bound = 0;
  size_t start = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const double h = softplus(base + std::log(2.0) + two_cosh.max_exponent(params[i], invT));
    if (i > start && (i - start >= kOmegaGroup || bound + h > 600.0)) {
      group_end.push_back(i);
      start = i;
      bound = 0;
    }
    bound += h;
  }
  if (!params.empty()) group_end.push_back(params.size());
  return group_end;
}

inline double logaddexp(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  return a > b ? a + std::log1p(std::exp(b - a)) : b + std::log1p(std::exp(a - b));
}
}  // namespace

GrandPotential::GrandPotential(const Params& c, const Comm& comm)
    : cfg_(c), comm_(comm), grid_(c, c.periodic), loss_(make_boundary_loss(c)), n_max_(c.n_max) {
  const Blocks ids{c.R(), comm.size()};
  const int64_t lo = ids.lo(comm.rank()), hi = ids.hi(comm.rank());
  const CounterRng rng(c.seed);
  params_.resize(static_cast<size_t>(hi - lo));
  for (int64_t i = lo; i < hi; ++i)
    params_[static_cast<size_t>(i - lo)] = draw_neuron_params(rng, static_cast<uint64_t>(i), c.sigma_w, c.sigma_c);
  log1p_s_.assign(params_.size(), 0.0);
  const double t0 = MPI_Wtime();
  solve_mean_field();
  build_sector_tables();
  setup_seconds_ = MPI_Wtime() - t0;
}

GrandPotential::GrandPotential(const Params& c, const Comm& comm, GrandPotentialTables t)
    : cfg_(c), comm_(comm), grid_(c, c.periodic), loss_(make_boundary_loss(c)), n_max_(c.n_max), restored_(true) {
  const size_t G = static_cast<size_t>(grid_.size()), NT = static_cast<size_t>(n_max_) + 2;
  if (t.physics != physics_key(c) || t.n_max != n_max_ || t.omega.size() != G || t.log_lambda.size() != G ||
      t.log_eN.size() != G * NT)
    throw std::invalid_argument("grand-potential tables of other parameters or of the wrong shape");
  omega_ = std::move(t.omega);
  log_lambda_ = std::move(t.log_lambda);
  log_eN_ = std::move(t.log_eN);
  sector_method_ = std::move(t.sector_method);
  iterations_ = static_cast<int>(t.iterations);
  residual_ = t.residual;
  occupancy_ = t.occupancy;
}

std::string GrandPotential::physics_key(const Params& c) {
  std::string k;
  auto put = [&](const char* name, double v) {
    char b[64];
    std::snprintf(b, sizeof(b), "%s=%.17g\n", name, v);
    k += b;
  };
  auto put_list = [&](const char* name, const auto& v) {
    for (size_t i = 0; i < v.size(); ++i) put((std::string(name) + "[" + std::to_string(i) + "]").c_str(), static_cast<double>(v[i]));
  };
  put("M", static_cast<double>(c.M));
  put("K", c.K);
  put("rho", static_cast<double>(c.rho));
  put("sigma_w", c.sigma_w);
  put("sigma_c", c.sigma_c);
  put("T", c.T);
  put("mu", c.mu);
  k += "loss=" + c.loss + "\n";
  put("kappa", c.kappa);
  put("s", c.s);
  put_list("q0", c.q0);
  put("periodic", c.periodic ? 1 : 0);
  put("Tq", c.Tq);
  put_list("grid_lo", c.grid_lo);
  put_list("grid_hi", c.grid_hi);
  put_list("grid_n", c.grid_n);
  put("n_max", static_cast<double>(c.n_max));
  put("sector_exact_max", static_cast<double>(c.sector_exact_max));
  k += "seed=" + std::to_string(c.seed) + "\n";
  return k;
}

GrandPotentialTables GrandPotential::tables() const {
  GrandPotentialTables t;
  t.physics = physics_key(cfg_);
  t.omega = omega_;
  t.log_lambda = log_lambda_;
  t.log_eN = log_eN_;
  t.sector_method = sector_method_;
  t.n_max = n_max_;
  t.iterations = iterations_;
  t.residual = residual_;
  t.occupancy = occupancy_;
  return t;
}

// Omega = U - T sum_i softplus(l_i), l_i = mu/T + ln 2cosh(y_i) - ln M - ln(1+s_i)
// grad:  - sum_i sigma(l_i) tanh(y_i) w_i
// lap:   - sum_i (|w_i|^2/T) sigma(l_i) [(1 - sigma(l_i)) tanh^2(y_i) + sech^2(y_i)]
// Inner loops run over the points with one neuron's parameters fixed, in
// linear space with the vectorisable fm:: functions: with x = e^{l} =
// e^{l0} 2cosh(y), softplus(l) = ln(1 + x) and sigma(l) = x / (1 + x).
// (|y| <= 709 is assumed: |c + w.q|/T beyond that is far outside any grid.)
void GrandPotential::evaluate(const std::vector<double>& points, double* omega, double* grad, double* lap) const {
  if (restored_) throw std::logic_error("GrandPotential::evaluate needs the neurons (tables restored from a checkpoint)");
  const int K = cfg_.K;
  const size_t n = points.size() / K;
  const double T = cfg_.T, invT = 1.0 / T, base = cfg_.mu / T - std::log(static_cast<double>(cfg_.M));
  std::vector<double> om(n, 0.0), gr(grad ? n * K : 0, 0.0), lp(lap ? n : 0, 0.0);
  const PointsByAxis ax(points, K);
  const double *q0 = ax.q0, *q1 = ax.q1, *q2 = ax.q2;
  double* omp = om.data();
  for (size_t i = 0; i < params_.size(); ++i) {
    const NeuronParams& p = params_[i];
    const double w0 = p.w[0], w1 = K > 1 ? p.w[1] : 0.0, w2 = K > 2 ? p.w[2] : 0.0, c = p.c;
    const double w2sum = w0 * w0 + w1 * w1 + w2 * w2;
    const double el0 = std::exp(base - log1p_s_[i]);
#pragma omp simd
    for (size_t g = 0; g < n; ++g) {
      const double y = (c + w0 * q0[g] + w1 * q1[g] + w2 * q2[g]) * invT;
      omp[g] -= T * fm::log1p(el0 * fm::two_cosh(y));
    }
    if (!grad && !lap) continue;
    for (size_t g = 0; g < n; ++g) {
      const double y = (c + w0 * q0[g] + w1 * q1[g] + w2 * q2[g]) * invT;
      const double x = el0 * fm::two_cosh(y);
      const double sg = x / (1.0 + x), th = fm::tanh(y);
      if (grad) {
        gr[g * K] -= sg * th * w0;
        if (K > 1) gr[g * K + 1] -= sg * th * w1;
        if (K > 2) gr[g * K + 2] -= sg * th * w2;
      }
      if (lap) lp[g] -= (w2sum * invT) * sg * ((1.0 - sg) * th * th + (1.0 - th * th));
    }
  }
  comm_.sum(om.data(), om.size());
  comm_.sum(gr.data(), gr.size());
  comm_.sum(lp.data(), lp.size());
  for (size_t g = 0; g < n; ++g) {
    const double* q = &points[g * K];
    omega[g] = om[g] + loss_->value(q);
    if (grad) {
      for (int k = 0; k < K; ++k) grad[g * K + k] = gr[g * K + k];
      loss_->add_gradient(q, &grad[g * K]);
    }
    if (lap) lap[g] = lp[g] + loss_->laplacian(q);
  }
}

void GrandPotential::occupancy_moments(const std::vector<double>& points, double* m0, double* m1, double* m2) const {
  if (restored_) throw std::logic_error("GrandPotential::occupancy_moments needs the neurons (tables restored)");
  const int K = cfg_.K;
  const size_t n = points.size() / K;
  const double T = cfg_.T, invT = 1.0 / T, base = cfg_.mu / T - std::log(static_cast<double>(cfg_.M));
  std::vector<double> acc(3 * n, 0.0);
  const PointsByAxis ax(points, K);
  for (size_t i = 0; i < params_.size(); ++i) {
    const NeuronParams& p = params_[i];
    const double w0 = p.w[0], w1 = K > 1 ? p.w[1] : 0.0, w2 = K > 2 ? p.w[2] : 0.0, c = p.c;
    const double el0 = std::exp(base - log1p_s_[i]);
    for (size_t g = 0; g < n; ++g) {
      const double y = (c + w0 * ax.q0[g] + w1 * ax.q1[g] + w2 * ax.q2[g]) * invT;
      const double tc = fm::two_cosh(y), f = -T * std::log(tc), beta = el0 * tc;
      acc[g] += beta;
      acc[n + g] += beta * f;
      acc[2 * n + g] += beta * f * f;
    }
  }
  comm_.sum(acc.data(), acc.size());
  std::copy(acc.begin(), acc.begin() + static_cast<int64_t>(n), m0);
  std::copy(acc.begin() + static_cast<int64_t>(n), acc.begin() + static_cast<int64_t>(2 * n), m1);
  std::copy(acc.begin() + static_cast<int64_t>(2 * n), acc.end(), m2);
}

std::vector<double> GrandPotential::p_eq() const {
  std::vector<double> p(omega_.size());
  const double om_min = *std::min_element(omega_.begin(), omega_.end());
  double z = 0;
  for (size_t g = 0; g < p.size(); ++g) z += (p[g] = std::exp(-(omega_[g] - om_min) / cfg_.Tq));
  const double dv = grid_.cell_volume();
  for (double& x : p) x /= z * dv;
  return p;
}

// The self-consistent s_i and Omega on the grid. Each iteration costs
// O(R_rank * cells): one pass over the neurons, group by group
// (MeanFieldGroup, docs/model-notes.md §35: 2cosh(y_i) from per-axis
// factors, never stored), gets the group's s_i from p by one blocked product
// and multiplies its factors prod_i (1 + e^{l_i}) of the new Omega into a
// running product per cell (mantissa and binary exponent), whose logarithm is
// taken once per cell and pass. Omega agrees with evaluate() (one log1p per
// neuron and cell) to rounding: tests/test_grand_potential_setup.cpp.
void GrandPotential::solve_mean_field() {
  constexpr int kAndersonDepth = 5;  // secant history (more gained nothing in the measured cases)
  const auto pts = grid_.centres();
  const size_t G = static_cast<size_t>(grid_.size());
  const int K = cfg_.K;
  const double T = cfg_.T, invT = 1.0 / T, M = static_cast<double>(cfg_.M), emu = std::exp(cfg_.mu / T);
  const double base = cfg_.mu / T - std::log(M);  // l_i = base + ln 2cosh(y_i) - ln(1 + s_i)
  MeanFieldGroup group(grid_);
  std::vector<double> pg(G), om(G), U(G);
  for (size_t g = 0; g < G; ++g) U[g] = loss_->value(&pts[g * K]);
  const std::vector<size_t> group_end = omega_groups(params_, group, base, invT);
  omega_.assign(G, 0.0);
  // p_g = e^{-Omega_g/T_q} / Z on the grid (cell probabilities)
  auto set_density = [&](const std::vector<double>& omega) {
    const double om_min = *std::min_element(omega.begin(), omega.end());
    double z = 0;
    for (size_t g = 0; g < G; ++g) z += (pg[g] = std::exp(-(omega[g] - om_min) / cfg_.Tq));
    for (double& v : pg) v /= z;
  };
  // One pass over the neurons, group by group: (if `update_s`) s_i from the
  // current p, then the group's factor of the new Omega. The new p is made
  // only after the pass, so fusing the two steps of the fixed point changes
  // no number. Returns max |d ln(1 + s_i)|.
  auto pass = [&](bool update_s) {
    std::fill(om.begin(), om.end(), 0.0);
    double res = 0, e[MeanFieldGroup::kMaxGroup], el0[MeanFieldGroup::kMaxGroup];
    size_t begin = 0;
    group.start_product();
    for (size_t end : group_end) {
      const size_t n = end - begin;
      group.load(&params_[begin], n, invT);
      if (update_s) {  // s_i = ((M-1)/M) E_p[x_i], x_i = e^{mu/T} 2cosh(y_i)
        group.expected_two_cosh(pg.data(), e);
        for (size_t j = 0; j < n; ++j) {
          const double v = std::log1p((M - 1.0) / M * (emu * e[j]));
          res = std::max(res, std::fabs(v - log1p_s_[begin + j]));
          log1p_s_[begin + j] = v;
        }
      }
      for (size_t j = 0; j < n; ++j) el0[j] = std::exp(base - log1p_s_[begin + j]);
      group.multiply_product(el0);
      begin = end;
    }
    group.subtract_log_product(T, om.data());
    comm_.sum(om.data(), G);
    for (size_t g = 0; g < G; ++g) omega_[g] = om[g] + U[g];
    set_density(omega_);
    return res;
  };
  // A progress line on rank 0 every max(5 s, run.progress_seconds) once the
  // setup has taken 5 s (large R and grids).
  const double t0 = MPI_Wtime();
  double t_line = t0;
  auto progress = [&](int iteration) {
    if (!comm_.root() || cfg_.progress_seconds <= 0) return;
    const double now = MPI_Wtime();
    if (now - t_line < std::max(5.0, cfg_.progress_seconds)) return;
    t_line = now;
    char line[200];  // through std::cout, which the run log copies (printf would bypass it)
    std::snprintf(line, sizeof(line),
                  "[gcnn] setup: mean-field iteration %d, residual %.2e, %.0f s (%lld neurons x %zu cells per rank)\n",
                  iteration, residual_, now - t0, static_cast<long long>(params_.size()), G);
    std::cout << line << std::flush;
  };
  pass(false);  // Omega and p at s = 0
  iterations_ = 0;
  residual_ = 0;
  if (cfg_.M > 1) {
    // Fixed point s = ((M-1)/M) E_p[x], as a fixed point of the map
    // Omega_in -> p -> s -> Omega on the G cells (Omega_in enters only
    // through p), accelerated by Anderson mixing (docs/model-notes.md §30):
    // each pass takes p from the mixed Omega_in and returns Omega = F(Omega_in)
    // with its s_i. It stops, as the plain iteration did, when ln(1 + s_i)
    // moved by < 1e-12 between two passes; omega_ and s_i are then those of
    // the last pass (Omega computed from the s_i). The mixing coefficients are
    // rank 0's, broadcast, so every rank takes the same step.
    AndersonMixing mixing(G, kAndersonDepth);
    std::vector<double> omega_in = omega_;
    for (iterations_ = 1; iterations_ <= 200; ++iterations_) {
      const double res = pass(true);
      residual_ = comm_.max(res);
      progress(iterations_);
      if (residual_ < 1e-12) break;
      omega_in = mixing.next(omega_in, omega_);
      comm_.bcast(omega_in.data(), G);
      set_density(omega_in);
    }
    set_density(omega_);  // p of the final Omega (as the pass left it, unless the loop ran out)
  }
  occupancy_and_lambda(group, group_end, pg);
}

void GrandPotential::occupancy_and_lambda(MeanFieldGroup& group, const std::vector<size_t>& group_end,
                                          const std::vector<double>& pg) {
  const size_t G = pg.size();
  const double invT = 1.0 / cfg_.T, lnM = std::log(static_cast<double>(cfg_.M));
  const double base = cfg_.mu / cfg_.T - lnM;
  double occ = 0;
  std::vector<double> lam(G, 0.0);
  size_t begin = 0;
  for (size_t end : group_end) {
    group.load(&params_[begin], end - begin, invT);
    group.add_occupancy_and_lambda(pg.data(), &log1p_s_[begin], base, lnM, occ, lam.data());
    begin = end;
  }
  occupancy_ = comm_.sum(occ) / static_cast<double>(cfg_.R());
  comm_.sum(lam.data(), G);
  log_lambda_.assign(G, 0.0);
  for (size_t g = 0; g < G; ++g) log_lambda_[g] = std::log(lam[g]);
}

void GrandPotential::build_sector_tables() {
  const auto pts = grid_.centres();
  const size_t G = static_cast<size_t>(grid_.size());
  const int K = cfg_.K;
  const double T = cfg_.T, lnM = std::log(static_cast<double>(cfg_.M));
  const size_t NT = static_cast<size_t>(n_max_) + 2;
  auto log_b = [&](const NeuronParams& p, double l1ps, size_t g) {
    double zz = p.c;
    for (int k = 0; k < K; ++k) zz += static_cast<double>(p.w[k]) * pts[g * K + k];
    return log_two_cosh(zz / T) - lnM - l1ps;
  };
  // log_lambda_ (Lambda = sum_i b_i) comes from solve_mean_field's last pass.
  log_eN_.assign(G * NT, 0.0);
  if (cfg_.R() <= cfg_.sector_exact_max) {
    // Exact elementary symmetric polynomials, in log space. All neurons are
    // gathered (the pool is small) in id order; each grid point is computed
    // whole by one rank, so the table does not depend on the rank count.
    sector_method_ = "exact";
    const int P = comm_.size();
    std::vector<int> counts(P), displs(P);
    const int mine = static_cast<int>(params_.size());
    mpi_check(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_.raw()), "MPI_Allgather");
    int tot = 0;
    for (int r = 0; r < P; ++r) { displs[r] = tot; tot += counts[r]; }
    std::vector<NeuronParams> all(static_cast<size_t>(tot));
    std::vector<double> all_s(static_cast<size_t>(tot));
    std::vector<int> bc(P), bd(P);
    for (int r = 0; r < P; ++r) { bc[r] = counts[r] * static_cast<int>(sizeof(NeuronParams)); bd[r] = displs[r] * static_cast<int>(sizeof(NeuronParams)); }
    mpi_check(MPI_Allgatherv(params_.data(), mine * static_cast<int>(sizeof(NeuronParams)), MPI_BYTE, all.data(),
                             bc.data(), bd.data(), MPI_BYTE, comm_.raw()), "MPI_Allgatherv(params)");
    mpi_check(MPI_Allgatherv(log1p_s_.data(), mine, MPI_DOUBLE, all_s.data(), counts.data(), displs.data(),
                             MPI_DOUBLE, comm_.raw()), "MPI_Allgatherv(s)");
    std::vector<double> L(NT);
    for (size_t g = 0; g < G; ++g) {
      if (static_cast<int>(g % static_cast<size_t>(P)) != comm_.rank()) continue;
      std::fill(L.begin(), L.end(), kNegInf);
      L[0] = 0.0;
      for (size_t i = 0; i < all.size(); ++i) {
        const double lb = log_b(all[i], all_s[i], g);
        for (size_t N = std::min(i + 1, NT - 1); N >= 1; --N) L[N] = logaddexp(L[N], lb + L[N - 1]);
      }
      for (size_t N = 0; N < NT; ++N) log_eN_[g * NT + N] = L[N];
    }
    // Sum-reduce with -inf replaced by a sentinel (other ranks hold zeros).
    for (double& v : log_eN_) if (v == kNegInf) v = -1e300;
    comm_.sum(log_eN_.data(), log_eN_.size());
  } else {
    sector_method_ = "poisson";
    for (size_t g = 0; g < G; ++g)
      for (size_t N = 0; N < NT; ++N)
        log_eN_[g * NT + N] = static_cast<double>(N) * log_lambda_[g] - std::lgamma(static_cast<double>(N) + 1.0);
  }
}

namespace {
constexpr size_t kGroup = 16;  // neurons per logarithm in MeanFieldOmega
}  // namespace

MeanFieldOmega::MeanFieldOmega(const GrandPotential& gp)
    : T_(gp.cfg_.T), mu_(gp.cfg_.mu), M_(static_cast<double>(gp.cfg_.M)), comm_(gp.comm_) {
  if (gp.restored_) throw std::logic_error("MeanFieldOmega needs the neurons (GrandPotential restored from tables)");
  const auto pts = gp.grid_.centres();
  const int K = gp.cfg_.K;
  G_ = static_cast<size_t>(gp.grid_.size());
  const PointsByAxis ax(pts, K);  // as in GrandPotential::evaluate
  const double *q0 = ax.q0, *q1 = ax.q1, *q2 = ax.q2;
  const double invT = 1.0 / T_;
  two_cosh_.resize(gp.params_.size() * G_);
  for (size_t i = 0; i < gp.params_.size(); ++i) {
    const NeuronParams& p = gp.params_[i];
    const double w0 = p.w[0], w1 = K > 1 ? p.w[1] : 0.0, w2 = K > 2 ? p.w[2] : 0.0, c = p.c;
    double* row = &two_cosh_[i * G_];
#pragma omp simd
    for (size_t g = 0; g < G_; ++g) row[g] = fm::two_cosh((c + w0 * q0[g] + w1 * q1[g] + w2 * q2[g]) * invT);
  }
  // Product groups: ln prod_i (1 + a_i x_i) with a_i <= e^{base} (s_i >= 0)
  // stays below ln DBL_MAX = 709 if the bounds ln(1 + e^{base} x_i) add up
  // to at most 600.
  const double ebase = std::exp(gp.cfg_.mu / T_ - std::log(M_));
  double bound = 0;
  for (size_t i = 0; i < gp.params_.size(); ++i) {
    const double* row = &two_cosh_[i * G_];
    double hmax = 0;
    for (size_t g = 0; g < G_; ++g) hmax = std::max(hmax, std::log1p(ebase * row[g]));
    const size_t start = group_end_.empty() ? 0 : group_end_.back();
    if (i > start && (i - start >= kGroup || bound + hmax > 600.0)) {
      group_end_.push_back(i);
      bound = 0;
    }
    bound += hmax;
  }
  if (!gp.params_.empty()) group_end_.push_back(gp.params_.size());
  U_.resize(G_);
  for (size_t g = 0; g < G_; ++g) U_[g] = gp.loss_->value(&pts[g * K]);
  log1p_s_.assign(gp.params_.size(), 0.0);
}

void MeanFieldOmega::evaluate(const std::vector<double>& P, double* omega) const {
  if (P.size() != G_) throw std::logic_error("MeanFieldOmega: density has the wrong size");
  const double emu = std::exp(mu_ / T_), base = mu_ / T_ - std::log(M_), T = T_;
  std::vector<double> om(G_, 0.0), prod(G_);
  double* omp = om.data();
  double* pr = prod.data();
  const double* pg = P.data();
  size_t i = 0;
  for (size_t end : group_end_) {
    std::fill(prod.begin(), prod.end(), 1.0);
    for (; i < end; ++i) {
      const double* row = &two_cosh_[i * G_];
      // s_i = ((M-1)/M) E_P[x_i]: the same expression as the fixed point of
      // GrandPotential::solve_mean_field, so p_eq gives its s_i.
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (size_t g = 0; g < G_; ++g) acc += pg[g] * row[g];
      const double l1ps = M_ > 1 ? std::log1p((M_ - 1.0) / M_ * (emu * acc)) : 0.0;
      log1p_s_[i] = l1ps;
      const double el0 = std::exp(base - l1ps);
#pragma omp simd
      for (size_t g = 0; g < G_; ++g) pr[g] *= 1.0 + el0 * row[g];
    }
#pragma omp simd
    for (size_t g = 0; g < G_; ++g) omp[g] -= T * fm::log(pr[g]);
  }
  comm_.sum(om.data(), om.size());
  for (size_t g = 0; g < G_; ++g) omega[g] = om[g] + U_[g];
}

}  // namespace gcnn
