// Reading a results file for `gcnn verify`, and the small helpers every
// identity shares (windows, cell probabilities, configs for the solver).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gcnn/grand_potential.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/verification.hpp"

namespace gcnn::verify {

namespace {

template <class T> void bcast_vec(const Comm& comm, std::vector<T>& v) {
  int64_t n = static_cast<int64_t>(v.size());
  comm.bcast(&n, 1);
  v.resize(static_cast<size_t>(n));
  comm.bcast(v.data(), v.size());
}

// A time series that older files lack: empty when absent.
template <class T> std::vector<T> optional_series(hid_t f, const std::string& name) {
  const std::string p = "observables/" + name + "/value";
  return h5::exists(f, "observables/" + name) ? h5::read_dataset<T>(f, p) : std::vector<T>{};
}

}  // namespace

Series read_series(const std::string& path, const Comm& comm) {
  Series s;
  const std::string err = on_root(comm, [&] {
      h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
      if (h5::file_kind(f) != "results") throw std::runtime_error("'" + path + "' is not a gcnn results file");
      h5::Handle p = h5::open_group(f, "parameters");
      s.config_ini = h5::read_attr_string(p, "config");
      s.step = h5::read_dataset<int64_t>(f, "observables/clock/step");
      s.time = h5::read_dataset<double>(f, "observables/clock/time");
      s.hist = h5::read_dataset<int64_t>(f, "observables/q_histogram/value");
      s.outside = h5::read_dataset<int64_t>(f, "observables/q_outside/value");
      s.n_hist = h5::read_dataset<int64_t>(f, "observables/n_histogram/value");
      s.mean_N = h5::read_dataset<double>(f, "observables/N/value");
      s.delta_F = h5::read_dataset<double>(f, "observables/delta_F/value");
      s.coh_n = h5::read_dataset<double>(f, "observables/coherence_hbar_mu_over_n/value");
      s.coh_sector = h5::read_dataset<double>(f, "observables/coherence_sector/value");
      s.coh_set = h5::read_dataset<double>(f, "observables/coherence_set/value");
      {
        h5::Handle d = h5::open_dataset(f, "observables/coherence_sector/value");
        const hsize_t n = h5::dims_of(d).back();
        s.coh_hbar.resize(n);
        h5::Handle a(H5Aopen(d, "hbar", H5P_DEFAULT), "H5Aopen(hbar)");
        h5::check(H5Aread(a, H5T_NATIVE_DOUBLE, s.coh_hbar.data()), "H5Aread(hbar)");
      }
      s.psi = h5::read_dataset<double>(f, "observables/psi_ensemble/value");
      s.widom = optional_series<double>(f, "widom");
      s.n_given_q = optional_series<int64_t>(f, "n_given_q");
      if (!s.n_given_q.empty()) {
        h5::Handle d = h5::open_dataset(f, "observables/n_given_q/value");
        s.nq_pool = h5::read_attr_int_vector(d, "pool");
        s.nq_pooled_n = h5::read_attr_int_vector(d, "pooled_n");
      }
      s.phase_field = optional_series<double>(f, "phase_field");
      s.current = optional_series<double>(f, "current");
      std::vector<hsize_t> d;
      s.log_eN = h5::read_dataset<double>(f, "grand_potential/log_eN", &d);
      s.NT = static_cast<int64_t>(d.back());
      s.S = static_cast<int64_t>(s.step.size());
      if (s.S < 2) throw std::runtime_error("'" + path + "' holds fewer than 2 samples");
  });
  if (!err.empty()) throw ConfigError("verify: " + err);
  bcast_vec(comm, s.step);
  bcast_vec(comm, s.time);
  bcast_vec(comm, s.hist);
  bcast_vec(comm, s.outside);
  bcast_vec(comm, s.n_hist);
  bcast_vec(comm, s.mean_N);
  bcast_vec(comm, s.delta_F);
  bcast_vec(comm, s.coh_n);
  bcast_vec(comm, s.coh_sector);
  bcast_vec(comm, s.coh_set);
  bcast_vec(comm, s.coh_hbar);
  bcast_vec(comm, s.psi);
  bcast_vec(comm, s.widom);
  bcast_vec(comm, s.n_given_q);
  bcast_vec(comm, s.nq_pool);
  bcast_vec(comm, s.nq_pooled_n);
  bcast_vec(comm, s.phase_field);
  bcast_vec(comm, s.current);
  bcast_vec(comm, s.log_eN);
  comm.bcast(&s.NT, 1);
  comm.bcast(s.config_ini);
  s.S = static_cast<int64_t>(s.step.size());
  s.cells = static_cast<int64_t>(s.hist.size()) / s.S;
  return s;
}

std::vector<double> cell_prob(const Series& s, int64_t j) {
  std::vector<double> p(static_cast<size_t>(s.cells));
  double tot = 0;
  for (int64_t i = 0; i < s.cells; ++i) tot += static_cast<double>(s.hist[j * s.cells + i]);
  for (int64_t i = 0; i < s.cells; ++i) p[i] = tot > 0 ? static_cast<double>(s.hist[j * s.cells + i]) / tot : 0.0;
  return p;
}

std::vector<double> normalised(std::vector<double> p) {
  double z = 0;
  for (double x : p) z += x;
  for (double& x : p) x /= z;
  return p;
}

Config with(const Config& c, const std::string& potential, const std::string& hbar, int64_t n_div) {
  Config x = c;
  x.solver_potential = potential;
  x.solver_hbar = HbarChoice::parse(hbar);
  if (n_div > 1)
    for (auto& n : x.grid_n) n = std::max<int64_t>(4, n / n_div);
  return x;
}

const SolveSetup& Verification::equilibrium_setup(const Config& phys, int64_t n_div) {
  const Config x = with(phys, "learning_equilibrium", "nelson", n_div);
  char gamma[32];
  std::snprintf(gamma, sizeof(gamma), "|gamma=%.17g", x.gamma);  // the mass; the rest is in the key
  const std::string key = GrandPotential::physics_key(x) + gamma;
  auto it = setups.find(key);
  if (it == setups.end()) it = setups.emplace(key, make_solve_setup(x, comm)).first;
  return it->second;
}

std::vector<double> column(const std::vector<double>& x, int64_t stride, int64_t col, const std::vector<int64_t>& win) {
  std::vector<double> out;
  out.reserve(win.size());
  for (int64_t j : win) out.push_back(x[static_cast<size_t>(j * stride + col)]);
  return out;
}

std::vector<int64_t> uniform_window(const Series& s, int64_t j0, int64_t nmax) {
  std::vector<int64_t> w{j0};
  if (j0 + 1 >= s.S) return w;
  const int64_t d = s.step[j0 + 1] - s.step[j0];
  for (int64_t j = j0 + 1; j < s.S && static_cast<int64_t>(w.size()) <= nmax; ++j) {
    if (s.step[j] - s.step[j - 1] != d) break;
    w.push_back(j);
  }
  return w;
}

}  // namespace gcnn::verify
