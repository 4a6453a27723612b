// Measurement driver (not a registered test): the nonlinear Fokker-Planck
// prediction of the relaxation rate after a collective quench, against the
// ensemble's measured rate and lambda_1, for a results file of a quench run
// (examples/quench.ini). Build: cmake --build build --target nlfp_quench_prediction
//   mpirun -np 2 build/tests/nlfp_quench_prediction RESULTS.h5 [dt ...]   (default dt 0.04 0.02)
// Prints the rates fitted by verify's rule (relaxation::fit_rate) over the
// samples verify uses (verify.dynamics_samples) and over the whole dense
// window, and the wall time of each part.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gcnn/config.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/nonlinear_fokker_planck.hpp"
#include "gcnn/petsc_env.hpp"
#include "gcnn/relaxation.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/solve_setup.hpp"
#include "gcnn/schedule.hpp"

using namespace gcnn;

namespace {

struct Run {
  Config cfg;
  std::vector<int64_t> step, hist;
  std::vector<double> time;
  size_t cells = 0;
};

Run read_run(const std::string& path) {
  Run r;
  h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
  h5::Handle p = h5::open_group(f, "parameters");
  CliRequest merged;
  merge_config_text(merged, h5::read_attr_string(p, "config"), path);
  r.cfg = make_config(merged.raw);
  r.step = h5::read_dataset<int64_t>(f, "observables/clock/step");
  r.time = h5::read_dataset<double>(f, "observables/clock/time");
  r.hist = h5::read_dataset<int64_t>(f, "observables/q_histogram/value");
  r.cells = r.hist.size() / r.step.size();
  return r;
}

std::vector<double> cell_prob(const Run& r, size_t j) {
  std::vector<double> P(r.cells);
  double tot = 0;
  for (size_t i = 0; i < r.cells; ++i) tot += static_cast<double>(r.hist[j * r.cells + i]);
  for (size_t i = 0; i < r.cells; ++i) P[i] = static_cast<double>(r.hist[j * r.cells + i]) / tot;
  return P;
}

void report(const Comm& comm, const char* what, const relaxation::RateFit& f, double dt) {
  if (!comm.root()) return;
  std::printf("  %-44s rate %.4f +- %.4f over %zu points", what, f.rate, f.error, f.n_used);
  if (dt > 0) std::printf("  (backward-Euler corrected %.4f)", relaxation::continuous_rate(f.rate, dt));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  {
    Comm comm;
    PetscSession petsc("");
    if (argc < 2) {
      if (comm.root()) std::fprintf(stderr, "usage: nlfp_quench_prediction RESULTS.h5 [dt ...]\n");
      MPI_Finalize();
      return 2;
    }
    std::vector<double> dts;
    for (int a = 2; a < argc; ++a) dts.push_back(std::stod(argv[a]));
    if (dts.empty()) dts = {0.04, 0.02};
    const double t_all = MPI_Wtime();
    const Run run = read_run(argv[1]);
    const Config& cfg = run.cfg;
    const Config phys = physics_at(cfg, static_cast<uint64_t>(cfg.quench_step));
    // the dense window after the quench: evenly spaced samples from quench.step
    size_t j0 = 0;
    while (j0 < run.step.size() && run.step[j0] != cfg.quench_step) ++j0;
    std::vector<size_t> win{j0};
    for (size_t j = j0 + 1; j < run.step.size() && run.step[j] - run.step[j - 1] == run.step[j0 + 1] - run.step[j0]; ++j)
      win.push_back(j);
    const double Dt = run.time[win[1]] - run.time[win[0]];
    const size_t n_verify = std::min(win.size(), static_cast<size_t>(cfg.verify_dynamics_samples) + 1);

    // lambda_1, lambda_2 and the slowest mode of the post-quench H (hbar = 2 T_q)
    double t0 = MPI_Wtime();
    Config hc = phys;
    hc.solver_potential = "learning_equilibrium";
    hc.solver_hbar = HbarChoice{};  // nelson
    const SolveSetup st = make_solve_setup(hc, comm);
    const SchrodingerSolver H(st.grid, phys.solver_bc == SolverBC::Periodic, st.hbar, st.mass, st.V, comm.raw());
    const auto e = H.eigenpairs(3);
    const double pref = 2 * st.mass * phys.gamma * phys.Tq / (st.hbar * st.hbar);
    const double lambda1 = pref * (e.values[1] - e.values[0]), lambda2 = pref * (e.values[2] - e.values[0]);
    const relaxation::SlowestMode mode(e.vectors[0], e.vectors[1]);
    const double t_eig = MPI_Wtime() - t0;
    if (comm.root())
      std::printf("M = %lld, R = %lld, %zu cells, %zu dense samples (Dt = %g), verify uses %zu\n"
                  "lambda_1 = %.4f, lambda_2 = %.4f (setup + SLEPc %.2f s)\n",
                  static_cast<long long>(cfg.M), static_cast<long long>(cfg.R()), run.cells, win.size(), Dt, n_verify,
                  lambda1, lambda2, t_eig);

    // the ensemble, as verify's T1.4a
    const double M = static_cast<double>(cfg.M);
    for (size_t n : {n_verify, win.size()}) {
      std::vector<double> t;
      std::vector<std::vector<double>> P;
      for (size_t k = 0; k < n; ++k) {
        t.push_back(run.time[win[k]] - run.time[win[0]]);
        P.push_back(cell_prob(run, win[k]));
      }
      report(comm, ("ensemble, " + std::to_string(n) + " samples").c_str(), relaxation::fit_rate(t, P, mode, lambda2, M),
             0);
    }

    // the predictions from the first post-quench histogram
    std::vector<double> p0 = cell_prob(run, j0);
    for (bool frozen : {false, true}) {
      t0 = MPI_Wtime();
      NonlinearFokkerPlanck::Options o;
      o.freeze_s = frozen;
      const NonlinearFokkerPlanck nl(phys, comm, o);
      const double t_build = MPI_Wtime() - t0;
      const double dv = nl.grid().cell_volume();
      std::vector<double> d0(p0);
      for (double& x : d0) x /= dv;
      for (double dt : dts) {
        t0 = MPI_Wtime();
        const int64_t sub = std::llround(Dt / dt);
        const int64_t J = static_cast<int64_t>(win.size()) - 1;
        const auto ev = nl.evolve(d0, Dt / static_cast<double>(sub), J * sub, J);
        const double t_evolve = MPI_Wtime() - t0;
        int picard = 0;
        for (int k : ev.picard) picard += k;
        if (comm.root())
          std::printf("%s FP, dt = %g: build %.2f s, evolve %.2f s (%lld Omega evaluations, %.2f s; %.2f Picard "
                      "re-solves per step; |norm - 1| %.1e)\n",
                      frozen ? "linear (s_i frozen)" : "nonlinear", dt, t_build, t_evolve,
                      static_cast<long long>(ev.omega_evaluations), ev.omega_seconds,
                      ev.picard.empty() ? 0.0 : static_cast<double>(picard) / static_cast<double>(ev.picard.size()),
                      std::fabs(ev.norm.back() - 1));
        for (size_t n : {n_verify, win.size()}) {
          std::vector<double> t(ev.snap_t.begin(), ev.snap_t.begin() + static_cast<long>(n));
          std::vector<std::vector<double>> P(ev.snapshots.begin(), ev.snapshots.begin() + static_cast<long>(n));
          for (auto& p : P)
            for (double& x : p) x *= dv;
          report(comm, ("prediction, " + std::to_string(n) + " samples").c_str(),
                 relaxation::fit_rate(t, P, mode, lambda2, M), Dt / static_cast<double>(sub));
        }
      }
    }
    if (comm.root()) std::printf("total wall time %.2f s\n", MPI_Wtime() - t_all);
  }
  MPI_Finalize();
  return 0;
}
