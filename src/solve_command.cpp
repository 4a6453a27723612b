#include <algorithm>
// `gcnn solve`: eigenpairs, Crank-Nicolson and Fokker-Planck runs of the
// derived equations, printed and written to the /schrodinger group.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numbers>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/cli.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/solve_setup.hpp"
#include "gcnn/solver_potential.hpp"

namespace gcnn {

double resolve_hbar(const Config& c) {
  switch (c.solver_hbar.rule) {
    case HbarChoice::Rule::Nelson: return 2.0 * c.Tq;
    case HbarChoice::Rule::Mu:
      if (c.mu == 0) throw ConfigError("solver.hbar = mu needs model.mu != 0 (hbar_mu = hbar_scale |mu| / 2 pi)");
      return c.hbar_scale * std::fabs(c.mu) / (2.0 * std::numbers::pi);
    case HbarChoice::Rule::Value: break;
  }
  return c.solver_hbar.value;
}

SolveSetup make_solve_setup(const Config& c, const Comm& comm) {
  SolveSetup s;
  s.grid = Grid(c);
  s.hbar = resolve_hbar(c);
  s.mass = 1.0 / c.gamma;
  const int K = c.K;
  s.V.assign(static_cast<size_t>(s.grid.size()), 0.0);
  const auto potential = solver_potentials().make(c.solver_potential);
  potential->fill(s, c, comm);
  // Harmonic-like potentials: the ground-state width must span at least one cell.
  const double omega_eff = potential->well_frequency(c, s.mass);
  if (omega_eff > 0) {
    const double width = std::sqrt(s.hbar / (s.mass * omega_eff));
    for (int k = 0; k < K; ++k)
      if (s.grid.h(k) > width)
        throw ConfigError("grid too coarse for the potential: cell size " + std::to_string(s.grid.h(k)) +
                          " exceeds the ground-state width sqrt(hbar/(m omega)) = " + std::to_string(width) +
                          "; raise grid.n or shrink [grid.lo, grid.hi]");
  }
  return s;
}

namespace {

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

}  // namespace

int cmd_solve(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv, {"petsc"});
  if (req.help) {
    if (comm.root()) std::cout << help_text("solve");
    return kExitOk;
  }
  const Config c = load_config(req, comm);
  const std::string opts = c.solver_petsc + " " + req.extra_value("petsc");
  // The output must be writable before any work is done.
  int state = 0;  // 0 new file, 1 existing without /schrodinger, 2 existing with, 3 not HDF5
  const std::string err = on_root(comm, [&] {
    if (h5::is_hdf5(c.output)) {
      h5::Handle f = h5::open_file(c.output, false, MPI_COMM_SELF);
      state = h5::exists(f, "schrodinger") ? 2 : 1;
    } else if (file_exists(c.output)) {
      state = 3;
    }
  });
  if (!err.empty()) throw ConfigError("output file '" + c.output + "': " + err);
  comm.bcast(&state, 1);
  if (state == 3 && !req.overwrite)
    throw ConfigError("output file '" + c.output + "' exists and is not HDF5; pass --overwrite or choose --output");
  if (state == 2 && !req.overwrite)
    throw ConfigError("'" + c.output + "' already has a /schrodinger group; pass --overwrite to replace it");

  PetscSession petsc(opts);
  const SolveSetup setup = make_solve_setup(c, comm);
  if (c.solver_n_eig >= setup.grid.size())
    throw ConfigError("solver.n_eig = " + std::to_string(c.solver_n_eig) + " needs more than the grid's " +
                      std::to_string(setup.grid.size()) + " nodes");
  SchrodingerSolver solver(setup.grid, c.solver_bc == SolverBC::Periodic, setup.hbar, setup.mass, setup.V, comm.raw());
  const double t0 = MPI_Wtime();
  const auto eig = solver.eigenpairs(static_cast<int>(c.solver_n_eig));
  // A posteriori: with the learning-equilibrium V, E_0 = 0 exactly in the
  // continuum; a grid that cannot resolve psi_0 = sqrt(p_eq) shows it here.
  const bool zero_E0 = solver_potentials().make(c.solver_potential)->zero_ground_energy();
  if (zero_E0 && eig.values.size() > 1 &&
      std::fabs(eig.values[0]) > 0.1 * (eig.values[1] - eig.values[0]))
    throw ConfigError("grid too coarse for the potential: E_0 = " + std::to_string(eig.values[0]) +
                      " should vanish but exceeds 10% of the gap E_1 - E_0 = " +
                      std::to_string(eig.values[1] - eig.values[0]) + "; raise grid.n");
  if (comm.root()) {
    std::printf("gcnn solve: K = %d, grid %lld nodes, %s boundaries, potential %s, hbar = %.6g, m = %.6g\n", c.K,
                static_cast<long long>(setup.grid.size()), c.value("solver.bc").c_str(), c.solver_potential.c_str(), setup.hbar,
                setup.mass);
    std::printf("lowest %zu eigenvalues of H (%d SLEPc iterations, %.2f s):\n", eig.values.size(), eig.iterations,
                MPI_Wtime() - t0);
    for (size_t i = 0; i < eig.values.size(); ++i)
      std::printf("  E_%zu = %.10f%s\n", i, eig.values[i],
                  i ? ("   E_n - E_0 = " + std::to_string(eig.values[i] - eig.values[0])).c_str() : "");
    if (zero_E0 && eig.values.size() > 1)
      std::printf("  FP relaxation rate lambda_1 = (2 m D / hbar^2)(E_1 - E_0) = %.8f (D = gamma T_q)\n",
                  2.0 * setup.mass * c.gamma * c.Tq / (setup.hbar * setup.hbar) * (eig.values[1] - eig.values[0]));
  }
  SchrodingerSolver::Evolution td, fp;
  const size_t N = static_cast<size_t>(setup.grid.size());
  if (c.solver_tdse_steps > 0) {
    std::vector<double> psi0(2 * N, 0.0);
    if (c.solver_init == TdseInit::Gaussian) {
      const auto pts = setup.grid.centres();
      double norm = 0;
      for (size_t g = 0; g < N; ++g) {
        double r2 = 0, ph = 0;
        for (int k = 0; k < c.K; ++k) {
          const double d = pts[g * c.K + k] - c.solver_packet_center[k];
          r2 += d * d;
          ph += c.solver_packet_momentum[k] * pts[g * c.K + k] / setup.hbar;
        }
        const double a = std::exp(-r2 / (4 * c.solver_packet_width * c.solver_packet_width));
        psi0[2 * g] = a * std::cos(ph);
        psi0[2 * g + 1] = a * std::sin(ph);
        norm += a * a;
      }
      for (double& x : psi0) x /= std::sqrt(norm * setup.grid.cell_volume());
    } else {
      std::vector<double> coeff = c.solver_init == TdseInit::Eigen ? std::vector<double>{1, 0} : c.solver_init_coeffs;
      double cn = 0;
      for (size_t j = 0; j < c.solver_init_states.size(); ++j) {
        const auto& v = eig.vectors[static_cast<size_t>(c.solver_init_states[j])];
        const double re = coeff[2 * j], im = coeff[2 * j + 1];
        cn += re * re + im * im;
        for (size_t g = 0; g < N; ++g) { psi0[2 * g] += re * v[g]; psi0[2 * g + 1] += im * v[g]; }
        if (c.solver_init == TdseInit::Eigen) break;
      }
      for (double& x : psi0) x /= std::sqrt(cn);
    }
    td = solver.tdse(psi0, c.solver_dt, c.solver_tdse_steps, c.solver_snapshots);
    if (comm.root())
      std::printf("TDSE: %lld Crank-Nicolson steps, dt = %g: |norm - 1| max %.3e, energy drift %.3e\n",
                  static_cast<long long>(c.solver_tdse_steps), c.solver_dt,
                  [&] { double m = 0; for (double x : td.norm) m = std::max(m, std::fabs(x - td.norm[0])); return m; }(),
                  td.energy.back() - td.energy.front());
  }
  if (c.solver_fp_steps > 0) {
    if (setup.omega_Tq.empty())
      throw ConfigError("solver.fp_steps > 0 needs solver.potential = learning_equilibrium (the drift is -gamma grad Omega)");
    std::vector<double> p0(N, 0.0);
    const auto pts = setup.grid.centres();
    if (c.solver_fp_init == FpInit::Results) {
      h5::Handle f = h5::open_file(c.solver_fp_results, false, MPI_COMM_SELF);
      std::vector<hsize_t> d;
      const auto h = h5::read_dataset<int64_t>(f, "observables/q_histogram/value", &d);
      if (h.size() < N) throw ConfigError("'" + c.solver_fp_results + "' has a q histogram on a different grid");
      for (size_t g = 0; g < N; ++g) p0[g] = static_cast<double>(h[g]);
    } else {
      for (size_t g = 0; g < N; ++g) {
        double r2 = 0;
        for (int k = 0; k < c.K; ++k) r2 += std::pow(pts[g * c.K + k] - c.solver_packet_center[k], 2);
        p0[g] = std::exp(-r2 / (2 * c.solver_packet_width * c.solver_packet_width));
      }
    }
    double m = 0;
    for (double x : p0) m += x;
    for (double& x : p0) x /= m * setup.grid.cell_volume();
    fp = solver.fokker_planck(setup.omega_Tq, c.gamma * c.Tq, p0, c.solver_fp_dt, c.solver_fp_steps,
                              c.solver_snapshots);
    if (comm.root())
      std::printf("Fokker-Planck: %lld implicit steps, dt = %g: probability %.15f -> %.15f\n",
                  static_cast<long long>(c.solver_fp_steps), c.solver_fp_dt, fp.norm.front(), fp.norm.back());
  }
  if (comm.root()) {
    h5::Handle f = state == 0 || state == 3 ? h5::create_file(c.output, true, MPI_COMM_SELF)
                                            : h5::open_file(c.output, true, MPI_COMM_SELF);
    if (state == 2) h5::check(H5Ldelete(f, "schrodinger", H5P_DEFAULT), "H5Ldelete /schrodinger");
    h5::Handle g = h5::create_group(f, "schrodinger");
    const Grid& gr = setup.grid;
    h5::attr(g, "hbar", setup.hbar);
    h5::attr(g, "mass", setup.mass);
    h5::attr(g, "boundary", c.value("solver.bc"));
    h5::attr(g, "potential", c.solver_potential);
    h5::attr(g, "grid_lo", c.grid_lo);
    h5::attr(g, "grid_hi", c.grid_hi);
    h5::attr(g, "grid_n", c.grid_n);
    h5::attr(g, "config", config_echo(c));
    h5::write_dataset<double>(g, "cell_centres", gr.centres(), {N, static_cast<hsize_t>(c.K)}, true, "q");
    h5::write_dataset<double>(g, "V", setup.V, grid_dims(gr), true, "energy");
    h5::write_dataset<double>(g, "eigenvalues", eig.values, {eig.values.size()}, true, "energy");
    h5::write_dataset<double>(g, "eigenvectors", flat(eig.vectors), grid_dims(gr, static_cast<int>(eig.values.size())),
                              true, "q^(-K/2)");
    if (!td.t.empty()) {
      h5::Handle t = h5::create_group(g, "tdse");
      h5::attr(t, "dt", c.solver_dt);
      h5::write_dataset<double>(t, "time", td.t, {td.t.size()}, true, "time");
      h5::write_dataset<double>(t, "norm", td.norm, {td.norm.size()}, true, "1");
      h5::write_dataset<double>(t, "energy", td.energy, {td.energy.size()}, true, "energy");
      h5::write_dataset<double>(t, "snapshot_time", td.snap_t, {td.snap_t.size()}, true, "time");
      h5::write_dataset<double>(t, "psi", flat(td.snapshots), grid_dims(gr, static_cast<int>(td.snapshots.size()), 2),
                                true, "q^(-K/2)");
    }
    if (!fp.t.empty()) {
      h5::Handle t = h5::create_group(g, "fokker_planck");
      h5::attr(t, "dt", c.solver_fp_dt);
      h5::attr(t, "D", c.gamma * c.Tq);
      h5::write_dataset<double>(t, "time", fp.t, {fp.t.size()}, true, "time");
      h5::write_dataset<double>(t, "probability", fp.norm, {fp.norm.size()}, true, "1");
      h5::write_dataset<double>(t, "snapshot_time", fp.snap_t, {fp.snap_t.size()}, true, "time");
      h5::write_dataset<double>(t, "density", flat(fp.snapshots), grid_dims(gr, static_cast<int>(fp.snapshots.size())),
                                true, "q^-K");
    }
    std::printf("wrote /schrodinger to %s\n", c.output.c_str());
  }
  comm.barrier();
  return kExitOk;
}

}  // namespace gcnn
