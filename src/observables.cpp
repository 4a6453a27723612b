#include "gcnn/observables.hpp"

#include "gcnn/h5md.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace gcnn {

namespace {
constexpr int kExtraHbar = 4;    // hbar_mu / n, n = 1..4, appended to the scan
constexpr int kDFBins = 100;     // Delta F histogram over mu +- 10 T, plus under/overflow
// int64 layout after the q histogram: outside, N hist, dF hist, counters
// (kDFCount: networks with a sector free energy, the Widom count; kCurrentNets:
// networks whose displacement entered the current), then the n_given_q histogram
enum Counter {
  kReservoir, kJoinProp, kJoinAcc, kLeaveProp, kLeaveAcc, kMalaProp, kMalaAcc, kDFCount, kCurrentNets, kNCounters
};
// double layout: these sums, then Z sector / Z set [G, NH, 2] each, phase field
// [G, 3] and current [G, K, 2]
enum DSum { kNets, kU, kU2, kF, kF2, kOm, kOm2, kN, kN2, kDF, kDF2, kSecNets, kW, kW2, kNDSum };

std::vector<hsize_t> grid_shape(const Grid& g) {
  std::vector<hsize_t> s;
  for (int k = 0; k < g.K(); ++k) s.push_back(static_cast<hsize_t>(g.n(k)));
  return s;
}
double spread(double s, double s2, double n) {
  if (n < 2) return 0.0;
  const double m = s / n;
  return std::sqrt(std::max(0.0, s2 / n - m * m) * n / (n - 1));
}
}  // namespace

Observables::Observables(const Params& c, const GrandPotential& gp, const BoundaryLoss& loss)
    : cfg_(c), grid_(c, c.periodic), loss_(loss), omega_(gp.omega()), log_eN_(gp.log_eN()), NT_(gp.n_max() + 2) {
  for (int64_t j = 0; j < c.hbar_n; ++j)
    hbar_.push_back(c.hbar_min * std::pow(c.hbar_max / c.hbar_min, static_cast<double>(j) / (c.hbar_n - 1)));
  hbar_mu_ = c.hbar_scale * std::fabs(c.mu) / (2.0 * std::numbers::pi);
  ihbar_mu_ = static_cast<int>(hbar_.size());
  for (int n = 1; n <= kExtraHbar; ++n) hbar_.push_back(hbar_mu_ > 0 ? hbar_mu_ / n : c.hbar_max);
  for (int b = 0; b <= kDFBins; ++b) dF_edges_.push_back(c.mu - 10.0 * c.T + 20.0 * c.T * b / kDFBins);
  // n_given_q pooling: along axis k the n fine cells form m = min(nq_cells, n)
  // contiguous blocks, fine cell i in block floor(i m / n); so block j holds
  // cells [ceil(j n/m), ceil((j+1) n/m)), floor(n/m) or ceil(n/m) of them,
  // the longer blocks spread evenly over the axis.
  for (int k = 0; k < c.K; ++k) {
    const int64_t n = grid_.n(k), m = std::min<int64_t>(c.nq_cells, n);
    std::vector<int64_t> map(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) map[static_cast<size_t>(i)] = static_cast<int64_t>((static_cast<__int128>(i) * m) / n);
    pool_.push_back(std::move(map));
    pooled_n_.push_back(m);
    pooled_size_ *= m;
  }
  const size_t G = static_cast<size_t>(grid_.size());
  const size_t nN = static_cast<size_t>(c.n_max + 2);
  ihist_.assign(G + 1 + nN + (kDFBins + 2) + kNCounters + static_cast<size_t>(pooled_size_) * nN, 0);
  dsum_.assign(kNDSum + 4 * G * hbar_.size() + 3 * G + 2 * G * static_cast<size_t>(c.K), 0.0);
}

int64_t Observables::pooled_cell(int64_t fine) const {
  int64_t idx = 0, stride = 1;
  for (int k = cfg_.K - 1; k >= 0; --k) {
    const int64_t n = grid_.n(k);
    idx += pool_[static_cast<size_t>(k)][static_cast<size_t>(fine % n)] * stride;
    fine /= n;
    stride *= pooled_n_[static_cast<size_t>(k)];
  }
  return idx;
}

void Observables::remember_q_before_step(const Ensemble& e) {
  const size_t n = static_cast<size_t>(e.n_local()) * static_cast<size_t>(cfg_.K);
  if (q_before_.size() != n) q_before_.resize(n);  // allocated once
  if (n > 0) std::copy(e.q(0), e.q(0) + n, q_before_.begin());
  q_before_step_ = e.step();
}

// Probability current from one learning step (docs/model.md §5, Madelung fields):
// network a moved by dq (minimum image if periodic) from q(s) to q(s+1); the
// velocity dq/eta is booked at the midpoint cell (Stratonovich rule), so
// sum_cell (dq/eta) / (M cell volume) estimates the cell mean of j = p v,
// diffusive part -D grad p included (a prepoint rule would miss it). Bias
// O(eta) for one Euler-Maruyama or MALA step.
void Observables::add_current(const Ensemble& e, double* cur, int64_t& counted) const {
  if (q_before_step_ + 1 != e.step() || q_before_.size() != static_cast<size_t>(e.n_local() * cfg_.K)) return;
  const int K = cfg_.K;
  const double inv_eta = 1.0 / cfg_.eta;
  double dq[3], mid[3];
  for (int64_t la = 0; la < e.n_local(); ++la) {
    const double* q0 = &q_before_[static_cast<size_t>(la * K)];
    const double* q1 = e.q(la);
    for (int k = 0; k < K; ++k) {
      double d = q1[k] - q0[k];
      if (cfg_.periodic) {
        const double L = cfg_.grid_hi[k] - cfg_.grid_lo[k];
        d -= L * std::round(d / L);
      }
      dq[k] = d;
      mid[k] = q0[k] + 0.5 * d;
    }
    e.wrap(mid);
    const int64_t g = grid_.cell(mid);
    if (g < 0) continue;
    ++counted;
    double* c = cur + 2 * static_cast<size_t>(g) * static_cast<size_t>(K);
    for (int k = 0; k < K; ++k) {
      const double v = dq[k] * inv_eta;
      c[2 * k] += v;
      c[2 * k + 1] += v * v;
    }
  }
}

void Observables::declare(ResultsFile& out) const {
  const auto gs = grid_shape(grid_);
  const hsize_t nh = static_cast<hsize_t>(cfg_.hbar_n);
  out.declare("q_histogram", gs, true, "networks", "count of networks per grid cell (C order, last q axis fastest)");
  out.declare("q_outside", {}, true, "networks", "networks outside the grid");
  out.declare("n_histogram", {static_cast<hsize_t>(cfg_.n_max + 2)}, true, "networks",
              "count of networks with N_a = 0..n_max; last bin N_a > n_max");
  out.declare("reservoir", {}, true, "neurons", "neurons in the reservoir");
  out.declare("occupied_fraction", {}, false, "1", "fraction of neurons in some network, 1 - N_res/R");
  out.declare("join_acceptance", {}, false, "1", "accepted / proposed joins since the previous sample");
  out.declare("leave_acceptance", {}, false, "1", "accepted / proposed leaves since the previous sample");
  out.declare("mala_acceptance", {}, false, "1", "MALA acceptance since the previous sample (0 if not mala)");
  out.declare("N", {2}, false, "neurons", "mean and standard deviation of N_a");
  out.declare("loss", {2}, false, "energy", "mean and standard deviation of U(q_a)");
  out.declare("F_set", {2}, false, "energy", "mean and standard deviation of F_a(q_a) = U + sum_{i in A_a} f_i");
  out.declare("omega", {2}, false, "energy", "mean and standard deviation of Omega(q_a) (analytic, interpolated)");
  out.declare("delta_F", {2}, false, "energy", "mean and standard deviation of F_{N+1}(q_a) - F_{N_a}(q_a)");
  out.declare("delta_F_histogram", {kDFBins + 2}, true, "networks",
              "histogram of Delta F over the bin edges attribute; first/last bins: under/overflow");
  out.declare("coherence_sector", {nh}, false, "1", "C(hbar) with the sector free energy F_{N_a}; hbar attribute");
  out.declare("coherence_set", {nh}, false, "1", "C(hbar) with the set free energy F_a; hbar attribute");
  out.declare("coherence_hbar_mu_over_n", {kExtraHbar, 2}, false, "1",
              "C at hbar = hbar_mu/n, n = 1..4; columns: sector, set");
  out.series_attr("coherence_hbar_mu_over_n", "columns", std::vector<std::string>{"sector", "set"});
  std::vector<hsize_t> ps = gs;
  ps.push_back(2);
  out.declare("psi_ensemble", ps, false, h5md::amplitude_unit(cfg_.K),
              "sqrt(p) Z/|Z| at hbar_mu with the sector free energy; last axis: Re, Im");
  out.declare("widom", {2}, false, "1",
              "mean and standard deviation over networks (those in delta_F) of e^{-(Delta F - mu)/T}, Delta F = "
              "F_{N_a+1}(q_a) - F_{N_a}(q_a); Widom: -T ln(mean) + mu estimates mu - mu = 0 (mean = 1 - P(N_a = 0) "
              "exactly for the model's N|q)");
  out.declare("widom_count", {}, true, "networks", "networks that entered widom (and delta_F)");
  std::vector<hsize_t> nq(pooled_n_.begin(), pooled_n_.end());
  nq.push_back(static_cast<hsize_t>(cfg_.n_max + 2));
  out.declare("n_given_q", nq, true, "networks",
              "joint histogram of (pooled q cell, N_a): N_a = 0..n_max, last bin N_a > n_max; networks outside "
              "the grid not counted. Pooling: along axis k the grid.n fine cells form m = min(nq_cells, grid.n) "
              "contiguous blocks, fine cell i in block floor(i m / grid.n) (attribute pool: that map for every "
              "fine cell, axis 0 first; pooled_n: m per axis)",
              true);
  std::vector<hsize_t> phs = gs;
  phs.push_back(3);
  out.declare("phase_field", phs, false, "",
              "per fine cell: SUMS over the networks in the cell (with a sector free energy) of S_a = F_{N_a}(q_a) "
              "= U - T ln e_{N_a} (interpolated table), of S_a^2, and their count; sums, not means, so cells and "
              "samples pool exactly (mean S = [0]/[2])");
  std::vector<hsize_t> cus = gs;
  cus.push_back(static_cast<hsize_t>(cfg_.K));
  cus.push_back(2);
  out.declare("current", cus, false, "",
              "probability current from the last learning step before this sample: per fine cell and axis k, sum "
              "over networks whose midpoint (q(s)+q(s+1))/2 lies in the cell of dq_k/eta and of (dq_k/eta)^2, dq "
              "= q(s+1) - q(s) (minimum image and wrapped midpoint if periodic). [..,0]/(M cell volume) estimates "
              "the cell mean of j = p v (Stratonovich midpoint rule, includes -D grad p; bias O(eta)); error of "
              "[..,0] ~ sqrt([..,1]). All zero at a sample with no preceding step (step 0; current_samples = 0)");
  out.declare("current_samples", {}, true, "networks",
              "networks counted in current (midpoint inside the grid); 0 when there was no step before the sample");
  // Columns named by attributes (columns, and column_units where they differ).
  for (const char* name : {"N", "loss", "F_set", "omega", "delta_F", "widom"})
    out.series_attr(name, "columns", std::vector<std::string>{"mean", "std"});
  out.series_attr("psi_ensemble", "columns", std::vector<std::string>{"Re", "Im"});
  out.series_attr("phase_field", "columns", std::vector<std::string>{"sum S", "sum S^2", "count"});
  out.series_attr("phase_field", "column_units", std::vector<std::string>{"energy", "energy2", "networks"});
  out.series_attr("current", "columns", std::vector<std::string>{"sum dq/eta", "sum (dq/eta)^2"});
  out.series_attr("current", "column_units", std::vector<std::string>{"q time-1", "q2 time-2"});
  for (const char* name : {"q_histogram", "psi_ensemble", "phase_field", "current"}) out.attach_grid(name);
  const std::vector<double> scan(hbar_.begin(), hbar_.begin() + cfg_.hbar_n);
  out.series_attr("coherence_sector", "hbar", scan);
  out.series_attr("coherence_set", "hbar", scan);
  out.series_attr("delta_F_histogram", "edges", dF_edges_);
  out.series_attr("coherence_hbar_mu_over_n", "hbar", std::vector<double>(hbar_.begin() + ihbar_mu_, hbar_.end()));
  std::vector<int64_t> flat_pool;
  for (const auto& m : pool_) flat_pool.insert(flat_pool.end(), m.begin(), m.end());
  out.series_attr("n_given_q", "pool", flat_pool);
  out.series_attr("n_given_q", "pooled_n", pooled_n_);
}

void Observables::write_static(ResultsFile& out, const GrandPotential& gp) const {
  h5::Handle g = h5::open_group(out.file(), "grand_potential");  // holds the grid axes q1..qK
  const bool root = out.comm().root();
  const auto gs = grid_shape(grid_);
  const hsize_t G = static_cast<hsize_t>(grid_.size());
  h5::write_dataset<double>(g, "cell_centres", grid_.centres(), {G, static_cast<hsize_t>(cfg_.K)}, root, "q");
  h5::write_dataset<double>(g, "omega", gp.omega(), gs, root, "energy");
  h5::write_dataset<double>(g, "p_eq", gp.p_eq(), gs, root, h5md::density_unit(cfg_.K));
  h5::write_dataset<double>(g, "log_lambda", gp.log_lambda(), gs, root, "1");
  std::vector<hsize_t> es = gs;
  es.push_back(static_cast<hsize_t>(NT_));
  h5::write_dataset<double>(g, "log_eN", gp.log_eN(), es, root, "1");
  for (const char* name : {"omega", "p_eq", "log_lambda", "log_eN"})
    h5md::attach_grid(h5::open_dataset(g, name), out.grid_scales(), 0);
  h5::attr(g, "sector_method", gp.sector_method());
  h5::attr(g, "mean_field_iterations", static_cast<int64_t>(gp.iterations()));
  h5::attr(g, "mean_field_residual", gp.residual());
  h5::attr(g, "predicted_occupied_fraction", gp.predicted_occupancy());
  h5::attr(g, "hbar_mu", hbar_mu_);
  h5::attr(g, "hbar_E", 2.0 * cfg_.Tq);
  h5::attr(g, "mass", 1.0 / cfg_.gamma);
  h5::attr(g, "grid_lo", cfg_.grid_lo);
  h5::attr(g, "grid_hi", cfg_.grid_hi);
  h5::attr(g, "grid_n", cfg_.grid_n);
  h5::attr(g, "description", std::string("analytic Omega(q) = U - T sum_i ln(1 + b'_i) on the cell centres, "
                                         "p_eq = e^{-Omega/T_q}/Z, Lambda = sum_i b_i and ln e_N(b) tables"));
}

// The reduction buffers of one sample as named parts (layout above).
struct Observables::Tally {
  int64_t *qh, *outside, *nh, *dfh, *cnt, *nq;
  double *ds, *zsec, *zset, *phase, *cur;
};

Observables::Tally Observables::tally() {
  const size_t G = static_cast<size_t>(grid_.size()), NH = hbar_.size(), nN = static_cast<size_t>(cfg_.n_max + 2);
  Tally t;
  t.qh = ihist_.data();
  t.outside = t.qh + G;
  t.nh = t.outside + 1;
  t.dfh = t.nh + nN;
  t.cnt = t.dfh + kDFBins + 2;
  t.nq = t.cnt + kNCounters;
  t.ds = dsum_.data();
  t.zsec = t.ds + kNDSum;
  t.zset = t.zsec + 2 * G * NH;
  t.phase = t.zset + 2 * G * NH;
  t.cur = t.phase + 3 * G;
  return t;
}

// Collective: measures, reduces to rank 0 and appends one sample, in stages.
SampleSummary Observables::sample(const Ensemble& e, const ExchangeCounters& ex, const LearningStep& ls,
                                  ResultsFile& out) {
  std::fill(ihist_.begin(), ihist_.end(), 0);
  std::fill(dsum_.begin(), dsum_.end(), 0.0);
  const Tally t = tally();
  for (int64_t la = 0; la < e.n_local(); ++la) tally_network(e, la, t);
  add_current(e, t.cur, t.cnt[kCurrentNets]);
  t.cnt[kReservoir] = static_cast<int64_t>(e.reservoir().size());
  tally_acceptance(ex, ls, t.cnt);
  reduce_to_root(e.comm());
  SampleSummary sum;
  sum.step = static_cast<int64_t>(e.step());
  if (e.comm().root()) {
    write_occupation(t, out, sum);
    write_free_energies(t, out, sum);
    write_coherence(t, out, sum);
  }
  out.write_sample(sum.step, static_cast<double>(e.step()) * cfg_.eta);
  return sum;
}

// One network's contributions: its cell, N, the loss and free energies, the
// sector's Delta F (Widom factor, histogram) and the phase sums.
void Observables::tally_network(const Ensemble& e, int64_t la, const Tally& t) const {
  const double T = cfg_.T;
  const size_t NH = hbar_.size();
  const size_t nN = static_cast<size_t>(cfg_.n_max + 2);
  const double* q = e.q(la);
  const int64_t N = e.N(la);
  const int64_t g = grid_.cell(q);
  const int64_t nbin = std::min<int64_t>(N, cfg_.n_max + 1);
  if (g >= 0) {
    ++t.qh[g];
    ++t.nq[pooled_cell(g) * static_cast<int64_t>(nN) + nbin];
  } else {
    ++*t.outside;
  }
  ++t.nh[nbin];
  double* ds = t.ds;
  const double U = loss_.value(q);
  const double Fset = set_free_energy(cfg_.K, e.active(), e.begin(la), e.end(la), q, T, loss_);
  const double Om = grid_.interpolate(omega_, 1, 0, q);
  ds[kNets] += 1; ds[kU] += U; ds[kU2] += U * U; ds[kF] += Fset; ds[kF2] += Fset * Fset;
  ds[kOm] += Om; ds[kOm2] += Om * Om; ds[kN] += static_cast<double>(N); ds[kN2] += static_cast<double>(N * N);
  const bool have_sector = N + 1 < NT_;
  double Fsec = 0;
  if (have_sector) {
    const double l0 = grid_.interpolate(log_eN_, static_cast<int>(NT_), static_cast<int>(N), q);
    const double l1 = grid_.interpolate(log_eN_, static_cast<int>(NT_), static_cast<int>(N + 1), q);
    Fsec = U - T * l0;
    const double dF = -T * (l1 - l0);
    ds[kDF] += dF; ds[kDF2] += dF * dF; ds[kSecNets] += 1;
    const double w = std::exp(-(dF - cfg_.mu) / T);  // Widom insertion factor
    ds[kW] += w; ds[kW2] += w * w;
    if (g >= 0) {
      double* ph = t.phase + 3 * static_cast<size_t>(g);
      ph[0] += Fsec; ph[1] += Fsec * Fsec; ph[2] += 1;
    }
    const double x = (dF - dF_edges_.front()) / (dF_edges_.back() - dF_edges_.front()) * kDFBins;
    const int64_t b = x < 0 ? 0 : x >= kDFBins ? kDFBins + 1 : static_cast<int64_t>(x) + 1;
    ++t.dfh[b];
    ++t.cnt[kDFCount];
  }
  if (g < 0) return;
  double* zs = t.zsec + 2 * (static_cast<size_t>(g) * NH);
  double* zf = t.zset + 2 * (static_cast<size_t>(g) * NH);
  for (size_t j = 0; j < NH; ++j) {
    if (have_sector) { zs[2 * j] += std::cos(Fsec / hbar_[j]); zs[2 * j + 1] += std::sin(Fsec / hbar_[j]); }
    zf[2 * j] += std::cos(Fset / hbar_[j]);
    zf[2 * j + 1] += std::sin(Fset / hbar_[j]);
  }
}

// Proposals and acceptances since the previous sample.
void Observables::tally_acceptance(const ExchangeCounters& ex, const LearningStep& ls, int64_t* cnt) {
  cnt[kJoinProp] = ex.join_proposed - last_ex_.join_proposed;
  cnt[kJoinAcc] = ex.join_accepted - last_ex_.join_accepted;
  cnt[kLeaveProp] = ex.leave_proposed - last_ex_.leave_proposed;
  cnt[kLeaveAcc] = ex.leave_accepted - last_ex_.leave_accepted;
  cnt[kMalaProp] = ls.proposals() - last_prop_;
  cnt[kMalaAcc] = ls.accepted() - last_acc_;
  last_ex_ = ex;
  last_prop_ = ls.proposals();
  last_acc_ = ls.accepted();
}

// Two reductions per sample: the integer histograms exactly, the sums.
void Observables::reduce_to_root(const Comm& comm) {
  const bool root = comm.root();
  auto reduce = [&](auto* buf, size_t n, MPI_Datatype type) {
    mpi_check(MPI_Reduce(root ? MPI_IN_PLACE : buf, root ? buf : nullptr, static_cast<int>(n), type, MPI_SUM, 0,
                         comm.raw()), "MPI_Reduce(observables)");
  };
  reduce(ihist_.data(), ihist_.size(), MPI_INT64_T);
  reduce(dsum_.data(), dsum_.size(), MPI_DOUBLE);
}

// Rank 0: histograms, occupation and acceptance rates.
void Observables::write_occupation(const Tally& t, ResultsFile& out, SampleSummary& sum) const {
  const size_t G = static_cast<size_t>(grid_.size());
  const size_t nN = static_cast<size_t>(cfg_.n_max + 2);
  const int64_t* cnt = t.cnt;
  out.put("q_histogram", std::vector<int64_t>(t.qh, t.qh + G));
  out.put("q_outside", std::vector<int64_t>{*t.outside});
  out.put("n_histogram", std::vector<int64_t>(t.nh, t.nh + nN));
  out.put("reservoir", std::vector<int64_t>{cnt[kReservoir]});
  const double R = static_cast<double>(cfg_.R());
  out.put("occupied_fraction", std::vector<double>{1.0 - static_cast<double>(cnt[kReservoir]) / R});
  auto rate = [](int64_t a, int64_t p) { return p > 0 ? static_cast<double>(a) / static_cast<double>(p) : 0.0; };
  sum.join_acceptance = rate(cnt[kJoinAcc], cnt[kJoinProp]);
  sum.leave_acceptance = rate(cnt[kLeaveAcc], cnt[kLeaveProp]);
  sum.mala_acceptance = rate(cnt[kMalaAcc], cnt[kMalaProp]);
  out.put("join_acceptance", std::vector<double>{sum.join_acceptance});
  out.put("leave_acceptance", std::vector<double>{sum.leave_acceptance});
  out.put("mala_acceptance", std::vector<double>{sum.mala_acceptance});
  out.put("n_given_q", std::vector<int64_t>(t.nq, t.nq + pooled_size_ * static_cast<int64_t>(nN)));
  sum.mean_N = t.ds[kN] / t.ds[kNets];
  sum.reservoir_fraction = static_cast<double>(cnt[kReservoir]) / R;
  sum.q_outside = *t.outside;
}

// Rank 0: [mean, std] series, Delta F and Widom, the phase field, the current.
void Observables::write_free_energies(const Tally& t, ResultsFile& out, SampleSummary& sum) const {
  const size_t G = static_cast<size_t>(grid_.size());
  const double* ds = t.ds;
  const double nets = ds[kNets];
  out.put("N", std::vector<double>{ds[kN] / nets, spread(ds[kN], ds[kN2], nets)});
  out.put("loss", std::vector<double>{ds[kU] / nets, spread(ds[kU], ds[kU2], nets)});
  out.put("F_set", std::vector<double>{ds[kF] / nets, spread(ds[kF], ds[kF2], nets)});
  out.put("omega", std::vector<double>{ds[kOm] / nets, spread(ds[kOm], ds[kOm2], nets)});
  const double nsec = ds[kSecNets];
  sum.delta_F_mean = nsec > 0 ? ds[kDF] / nsec : 0.0;
  sum.delta_F_std = spread(ds[kDF], ds[kDF2], nsec);
  out.put("delta_F", std::vector<double>{sum.delta_F_mean, sum.delta_F_std});
  out.put("delta_F_histogram", std::vector<int64_t>(t.dfh, t.dfh + kDFBins + 2));
  out.put("widom", std::vector<double>{nsec > 0 ? ds[kW] / nsec : 0.0, spread(ds[kW], ds[kW2], nsec)});
  out.put("widom_count", std::vector<int64_t>{t.cnt[kDFCount]});
  out.put("phase_field", std::vector<double>(t.phase, t.phase + 3 * G));
  out.put("current", std::vector<double>(t.cur, t.cur + 2 * G * static_cast<size_t>(cfg_.K)));
  out.put("current_samples", std::vector<int64_t>{t.cnt[kCurrentNets]});
}

// Rank 0: C(hbar) = sum_bins |Z| / sum_bins n for the sector and the set,
// and the ensemble's psi at hbar_mu.
void Observables::write_coherence(const Tally& t, ResultsFile& out, SampleSummary& sum) const {
  const size_t G = static_cast<size_t>(grid_.size()), NH = hbar_.size();
  double in_grid = 0;
  for (size_t g = 0; g < G; ++g) in_grid += static_cast<double>(t.qh[g]);
  std::vector<double> cs(NH, 0.0), cf(NH, 0.0);
  for (size_t g = 0; g < G; ++g)
    for (size_t j = 0; j < NH; ++j) {
      const double* zs = t.zsec + 2 * (g * NH + j);
      const double* zf = t.zset + 2 * (g * NH + j);
      cs[j] += std::hypot(zs[0], zs[1]);
      cf[j] += std::hypot(zf[0], zf[1]);
    }
  for (size_t j = 0; j < NH; ++j) {
    cs[j] = in_grid > 0 ? cs[j] / in_grid : 0.0;
    cf[j] = in_grid > 0 ? cf[j] / in_grid : 0.0;
  }
  const size_t ns = static_cast<size_t>(cfg_.hbar_n);
  out.put("coherence_sector", std::vector<double>(cs.begin(), cs.begin() + ns));
  out.put("coherence_set", std::vector<double>(cf.begin(), cf.begin() + ns));
  std::vector<double> extra;
  for (int n = 0; n < kExtraHbar; ++n) {
    extra.push_back(cs[ns + n]);
    extra.push_back(cf[ns + n]);
  }
  out.put("coherence_hbar_mu_over_n", extra);
  sum.coherence_sector_at_hbar_mu = cs[ns];
  sum.coherence_set_at_hbar_mu = cf[ns];
  std::vector<double> psi(2 * G, 0.0);
  const double norm = static_cast<double>(cfg_.M) * grid_.cell_volume();
  for (size_t g = 0; g < G; ++g) {
    const double* zs = t.zsec + 2 * (g * NH + static_cast<size_t>(ihbar_mu_));
    const double a = std::hypot(zs[0], zs[1]);
    if (t.qh[g] == 0 || a == 0) continue;
    const double amp = std::sqrt(static_cast<double>(t.qh[g]) / norm);
    psi[2 * g] = amp * zs[0] / a;
    psi[2 * g + 1] = amp * zs[1] / a;
  }
  out.put("psi_ensemble", psi);
}

}  // namespace gcnn

namespace gcnn {

namespace {
// The observables' counter at the last sample and the live counter it copies.
struct AtSample {
  const char* name;
  const char* component;
  const char* live;
};
constexpr AtSample kAtSample[6] = {{"join_proposed_at_sample", "exchange", "join_proposed"},
                                   {"join_accepted_at_sample", "exchange", "join_accepted"},
                                   {"leave_proposed_at_sample", "exchange", "leave_proposed"},
                                   {"leave_accepted_at_sample", "exchange", "leave_accepted"},
                                   {"mala_proposed_at_sample", "learning", "proposed"},
                                   {"mala_accepted_at_sample", "learning", "accepted"}};
}  // namespace

RestartRecord Observables::write_restart() const {
  const int64_t v[6] = {last_ex_.join_proposed, last_ex_.join_accepted, last_ex_.leave_proposed,
                        last_ex_.leave_accepted, last_prop_,            last_acc_};
  RestartRecord r;
  for (int i = 0; i < 6; ++i) r.put(kAtSample[i].name, v[i]);
  return r;
}

void Observables::read_restart(const RestartRecord& r) {
  int64_t* v[6] = {&last_ex_.join_proposed, &last_ex_.join_accepted, &last_ex_.leave_proposed,
                   &last_ex_.leave_accepted, &last_prop_,            &last_acc_};
  for (int i = 0; i < 6; ++i) *v[i] = r.get(kAtSample[i].name);
}

// Counts at the last sample are counts the live counters passed through.
std::string Observables::check_restart(const RestartState& all) {
  std::string why;
  const RestartRecord* rp = find_record(all, "observables", &why);
  if (!rp) return why;
  const RestartRecord& r = *rp;
  for (const AtSample& a : kAtSample) {
    why = check_counts(r, {a.name});
    if (why.empty() && all.count(a.component)) why = check_at_most(r, a.name, all.at(a.component), a.live);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace gcnn
