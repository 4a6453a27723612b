// `gcnn solve`: eigenpairs, Crank-Nicolson and Fokker-Planck runs of the
// derived equations (docs/model.md §4), printed and written to the
// /schrodinger group. `Solve::run()` is the pipeline of named stages.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "gcnn/cli.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/h5md.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/solve_setup.hpp"
#include "gcnn/xdmf.hpp"

namespace gcnn {

namespace {

// The layout of a solve file's /schrodinger (README "HDF5 schema").
constexpr int64_t kSolveSchemaVersion = 1;

std::vector<hsize_t> grid_dims(const Grid& g, int extra_front = -1, int extra_back = -1) {
  std::vector<hsize_t> d;
  if (extra_front >= 0) d.push_back(static_cast<hsize_t>(extra_front));
  for (int k = 0; k < g.K(); ++k) d.push_back(static_cast<hsize_t>(g.n(k)));
  if (extra_back >= 0) d.push_back(static_cast<hsize_t>(extra_back));
  return d;
}
std::vector<double> flat(const std::vector<std::vector<double>>& v) {
  std::vector<double> out;
  for (auto& x : v) out.insert(out.end(), x.begin(), x.end());
  return out;
}

// Where /schrodinger goes: a new file, or an existing HDF5 file (a results
// file) with or without that group, or a non-HDF5 file in the way.
enum class OutputState { New, WithoutGroup, WithGroup, NotHdf5 };

class Solve {
 public:
  Solve(const Config& c, const Comm& comm, bool overwrite) : c_(c), comm_(comm), overwrite_(overwrite) {}

  int run(const std::string& petsc_options) {
    check_output();
    PetscSession petsc(petsc_options);
    set_up();
    eigenpairs();
    if (c_.solver_tdse_steps > 0) schrodinger_evolution();
    if (c_.solver_fp_steps > 0) fokker_planck();
    write();
    return kExitOk;
  }

 private:
  // The output must be writable before any work is done.
  void check_output() {
    int state = 0;
    const std::string err = on_root(comm_, [&] {
      if (h5::is_hdf5(c_.output)) {
        h5::Handle f = h5::open_file(c_.output, false, MPI_COMM_SELF);
        state = static_cast<int>(h5::exists(f, "schrodinger") ? OutputState::WithGroup : OutputState::WithoutGroup);
      } else if (file_exists(c_.output)) {
        state = static_cast<int>(OutputState::NotHdf5);
      }
    });
    if (!err.empty()) throw ConfigError("output file '" + c_.output + "': " + err);
    comm_.bcast(&state, 1);
    state_ = static_cast<OutputState>(state);
    if (state_ == OutputState::NotHdf5 && !overwrite_)
      throw ConfigError("output file '" + c_.output + "' exists and is not HDF5; pass --overwrite or choose --output");
    if (state_ == OutputState::WithGroup && !overwrite_)
      throw ConfigError("'" + c_.output + "' already has a /schrodinger group; pass --overwrite to replace it");
  }

  // hbar, m, V on the grid (with the a-priori resolution check) and the solver.
  void set_up() {
    setup_ = make_solve_setup(c_, comm_);
    if (c_.solver_n_eig >= setup_.grid.size())
      throw ConfigError("solver.n_eig = " + std::to_string(c_.solver_n_eig) + " needs more than the grid's " +
                        std::to_string(setup_.grid.size()) + " nodes");
    solver_ = std::make_unique<SchrodingerSolver>(setup_.grid, c_.solver_bc == SolverBC::Periodic, setup_.hbar,
                                                  setup_.mass, setup_.V, comm_.raw());
  }

  // The lowest eigenpairs, checked a posteriori: with the learning-equilibrium
  // V, E_0 = 0 exactly in the continuum; a grid that cannot resolve
  // psi_0 = sqrt(p_eq) shows it here.
  void eigenpairs() {
    const double t0 = MPI_Wtime();
    eig_ = solver_->eigenpairs(static_cast<int>(c_.solver_n_eig));
    const auto& E = eig_.values;
    if (setup_.zero_ground_energy && E.size() > 1 && std::fabs(E[0]) > 0.1 * (E[1] - E[0]))
      throw ConfigError("grid too coarse for the potential: E_0 = " + std::to_string(E[0]) +
                        " should vanish but exceeds 10% of the gap E_1 - E_0 = " + std::to_string(E[1] - E[0]) +
                        "; raise grid.n");
    if (comm_.root()) print_eigenvalues(MPI_Wtime() - t0);
  }

  void print_eigenvalues(double seconds) const {
    const auto& E = eig_.values;
    std::printf("gcnn solve: K = %d, grid %lld nodes, %s boundaries, potential %s, hbar = %.6g, m = %.6g\n", c_.K,
                static_cast<long long>(setup_.grid.size()), c_.value("solver.bc").c_str(),
                c_.solver_potential.c_str(), setup_.hbar, setup_.mass);
    std::printf("lowest %zu eigenvalues of H (%d SLEPc iterations, %.2f s):\n", E.size(), eig_.iterations, seconds);
    for (size_t i = 0; i < E.size(); ++i)
      std::printf("  E_%zu = %.10f%s\n", i, E[i], i ? ("   E_n - E_0 = " + std::to_string(E[i] - E[0])).c_str() : "");
    if (setup_.zero_ground_energy && E.size() > 1)
      std::printf("  FP relaxation rate lambda_1 = (2 m D / hbar^2)(E_1 - E_0) = %.8f (D = gamma T_q)\n",
                  relaxation_rate(E[1] - E[0], c_.gamma * c_.Tq, setup_.mass, setup_.hbar));
  }

  // psi(0): a Gaussian packet (centre, width, momentum), an eigenstate, or a
  // superposition of eigenstates with complex coefficients; normalised.
  std::vector<double> initial_psi() const {
    const size_t N = static_cast<size_t>(setup_.grid.size());
    std::vector<double> psi0(2 * N, 0.0);
    if (c_.solver_init == TdseInit::Gaussian) {
      const auto pts = setup_.grid.centres();
      double norm = 0;
      for (size_t g = 0; g < N; ++g) {
        double r2 = 0, ph = 0;
        for (int k = 0; k < c_.K; ++k) {
          const double d = pts[g * c_.K + k] - c_.solver_packet_center[k];
          r2 += d * d;
          ph += c_.solver_packet_momentum[k] * pts[g * c_.K + k] / setup_.hbar;
        }
        const double a = std::exp(-r2 / (4 * c_.solver_packet_width * c_.solver_packet_width));
        psi0[2 * g] = a * std::cos(ph);
        psi0[2 * g + 1] = a * std::sin(ph);
        norm += a * a;
      }
      for (double& x : psi0) x /= std::sqrt(norm * setup_.grid.cell_volume());
      return psi0;
    }
    const std::vector<double> coeff =
        c_.solver_init == TdseInit::Eigen ? std::vector<double>{1, 0} : c_.solver_init_coeffs;
    double cn = 0;
    for (size_t j = 0; j < c_.solver_init_states.size(); ++j) {
      const auto& v = eig_.vectors[static_cast<size_t>(c_.solver_init_states[j])];
      const double re = coeff[2 * j], im = coeff[2 * j + 1];
      cn += re * re + im * im;
      for (size_t g = 0; g < N; ++g) { psi0[2 * g] += re * v[g]; psi0[2 * g + 1] += im * v[g]; }
      if (c_.solver_init == TdseInit::Eigen) break;
    }
    for (double& x : psi0) x /= std::sqrt(cn);
    return psi0;
  }

  void schrodinger_evolution() {
    td_ = solver_->tdse(initial_psi(), c_.solver_dt, c_.solver_tdse_steps, c_.solver_snapshots);
    double drift = 0;
    for (double x : td_.norm) drift = std::max(drift, std::fabs(x - td_.norm[0]));
    if (comm_.root())
      std::printf("TDSE: %lld Crank-Nicolson steps, dt = %g: |norm - 1| max %.3e, energy drift %.3e\n",
                  static_cast<long long>(c_.solver_tdse_steps), c_.solver_dt, drift,
                  td_.energy.back() - td_.energy.front());
  }

  // p(0): the first q histogram of a results file, or a Gaussian; normalised.
  std::vector<double> initial_density() const {
    const size_t N = static_cast<size_t>(setup_.grid.size());
    std::vector<double> p0(N, 0.0);
    if (c_.solver_fp_init == FpInit::Results) {
      h5::Handle f = h5::open_file(c_.solver_fp_results, false, MPI_COMM_SELF);
      std::vector<hsize_t> d;
      const auto h = h5::read_dataset<int64_t>(f, "observables/q_histogram/value", &d);
      if (h.size() < N) throw ConfigError("'" + c_.solver_fp_results + "' has a q histogram on a different grid");
      for (size_t g = 0; g < N; ++g) p0[g] = static_cast<double>(h[g]);
    } else {
      const auto pts = setup_.grid.centres();
      for (size_t g = 0; g < N; ++g) {
        double r2 = 0;
        for (int k = 0; k < c_.K; ++k) r2 += std::pow(pts[g * c_.K + k] - c_.solver_packet_center[k], 2);
        p0[g] = std::exp(-r2 / (2 * c_.solver_packet_width * c_.solver_packet_width));
      }
    }
    double m = 0;
    for (double x : p0) m += x;
    for (double& x : p0) x /= m * setup_.grid.cell_volume();
    return p0;
  }

  void fokker_planck() {
    if (setup_.omega_Tq.empty())
      throw ConfigError("solver.fp_steps > 0 needs solver.potential = learning_equilibrium (the drift is -gamma grad Omega)");
    fp_ = solver_->fokker_planck(setup_.omega_Tq, c_.gamma * c_.Tq, initial_density(), c_.solver_fp_dt,
                                 c_.solver_fp_steps, c_.solver_snapshots);
    if (comm_.root())
      std::printf("Fokker-Planck: %lld implicit steps, dt = %g: probability %.15f -> %.15f\n",
                  static_cast<long long>(c_.solver_fp_steps), c_.solver_fp_dt, fp_.norm.front(), fp_.norm.back());
  }

  // Rank 0 writes /schrodinger; a failure there (a full disk) is agreed, so
  // no rank is left waiting.
  void write() {
    const std::string err = on_root(comm_, [&] { write_group(); });
    if (!err.empty()) throw AgreedError("writing /schrodinger to '" + c_.output + "': " + err);
    if (comm_.root()) std::printf("wrote /schrodinger to %s\n", c_.output.c_str());
    if (!comm_.root()) return;
    try {  // the sidecar is a convenience: its failure is reported, not fatal
      write_xdmf(c_.output);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[gcnn] warning: no XDMF sidecar for '%s': %s\n", c_.output.c_str(), e.what());
    }
  }

  void write_group() const {
    const bool fresh = state_ == OutputState::New || state_ == OutputState::NotHdf5;
    h5::Handle f = fresh ? h5::create_file(c_.output, true, MPI_COMM_SELF) : h5::open_file(c_.output, true, MPI_COMM_SELF);
    if (state_ == OutputState::WithGroup) h5::check(H5Ldelete(f, "schrodinger", H5P_DEFAULT), "H5Ldelete /schrodinger");
    // A file of its own is an H5MD file of kind "solve"; written onto a
    // results file, /schrodinger joins that file's header and kind.
    if (!h5::exists(f, "h5md")) h5md::write_header(f);
    if (h5::file_kind(f).empty()) {
      h5::attr(f, "gcnn_file_kind", std::string("solve"));
      h5::attr(f, "gcnn_schema_version", kSolveSchemaVersion);
    }
    h5::Handle g = h5::create_group(f, "schrodinger");
    const Grid& gr = setup_.grid;
    const hsize_t N = static_cast<hsize_t>(gr.size());
    h5::attr(g, "hbar", setup_.hbar);
    h5::attr(g, "mass", setup_.mass);
    h5::attr(g, "boundary", c_.value("solver.bc"));
    h5::attr(g, "potential", c_.solver_potential);
    h5::attr(g, "grid_lo", c_.grid_lo);
    h5::attr(g, "grid_hi", c_.grid_hi);
    h5::attr(g, "grid_n", c_.grid_n);
    h5::attr(g, "config", config_echo(c_));
    h5::write_dataset<double>(g, "cell_centres", gr.centres(), {N, static_cast<hsize_t>(c_.K)}, true, "q");
    const std::vector<h5::Handle> axes = h5md::write_grid_scales(g, gr, true);
    h5::write_dataset<double>(g, "V", setup_.V, grid_dims(gr), true, "energy");
    h5md::attach_grid(h5::open_dataset(g, "V"), axes, 0);
    h5::write_dataset<double>(g, "eigenvalues", eig_.values, {eig_.values.size()}, true, "energy");
    h5::write_dataset<double>(g, "eigenvectors", flat(eig_.vectors),
                              grid_dims(gr, static_cast<int>(eig_.values.size())), true, h5md::amplitude_unit(c_.K));
    h5md::attach_grid(h5::open_dataset(g, "eigenvectors"), axes, 1);
    if (!td_.t.empty())
      write_evolution(g, "tdse", td_, c_.solver_dt, "psi", 2, h5md::amplitude_unit(c_.K), "norm", axes);
    if (!fp_.t.empty())
      write_evolution(g, "fokker_planck", fp_, c_.solver_fp_dt, "density", -1, h5md::density_unit(c_.K),
                      "probability", axes);
  }

  // One evolution's series and snapshots (`extra` = 2 for (Re, Im) per node).
  void write_evolution(hid_t parent, const char* name, const SchrodingerSolver::Evolution& ev, double dt,
                       const char* field, int extra, const std::string& unit, const char* norm_name,
                       const std::vector<h5::Handle>& axes) const {
    h5::Handle t = h5::create_group(parent, name);
    h5::attr(t, "dt", dt);
    if (extra < 0) h5::attr(t, "D", c_.gamma * c_.Tq);
    h5::write_dataset<double>(t, "time", ev.t, {ev.t.size()}, true, "time");
    h5::write_dataset<double>(t, norm_name, ev.norm, {ev.norm.size()}, true, "1");
    if (extra > 0) h5::write_dataset<double>(t, "energy", ev.energy, {ev.energy.size()}, true, "energy");
    h5::write_dataset<double>(t, "snapshot_time", ev.snap_t, {ev.snap_t.size()}, true, "time");
    h5::write_dataset<double>(t, field, flat(ev.snapshots),
                              grid_dims(setup_.grid, static_cast<int>(ev.snapshots.size()), extra), true, unit);
    // Dimension scales: the time axes, then the grid axes of the snapshots.
    h5::Handle time = h5::open_dataset(t, "time"), snap_time = h5::open_dataset(t, "snapshot_time");
    h5::make_scale(time, "time");
    h5::make_scale(snap_time, "snapshot_time");
    for (const char* series : {norm_name, extra > 0 ? "energy" : nullptr})
      if (series) h5::attach_scale(h5::open_dataset(t, series), time, 0);
    h5::Handle snaps = h5::open_dataset(t, field);
    h5::attach_scale(snaps, snap_time, 0);
    h5md::attach_grid(snaps, axes, 1);
    if (extra > 0) h5::attr(snaps, "columns", std::vector<std::string>{"Re", "Im"});
  }

  const Config& c_;
  const Comm& comm_;
  const bool overwrite_;
  OutputState state_ = OutputState::New;
  SolveSetup setup_;
  std::unique_ptr<SchrodingerSolver> solver_;
  SchrodingerSolver::Eigen eig_;
  SchrodingerSolver::Evolution td_, fp_;
};

}  // namespace

int cmd_solve(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv, {"petsc"});
  if (req.help) {
    if (comm.root()) std::cout << help_text("solve");
    return kExitOk;
  }
  const Config c = load_config(req, comm);
  return Solve(c, comm, req.overwrite).run(c.solver_petsc + " " + req.extra_value("petsc"));
}

}  // namespace gcnn
