// `gcnn bench --bench.solver 1`: the PETSc solver on the standard grids.
//
// What it measures, per grid (1-D 4096; 2-D 512^2, 1024^2; 3-D 64^3, 128^3),
// on the ranks of the communicator:
//  - Crank-Nicolson: wall time per step of i hbar psi_t = H psi (harmonic V,
//    hbar = m = 1, box [-8, 8]^K, Dirichlet), exactly as in production:
//    matrix-free operator, BiCGStab(2), node-diagonal preconditioner only
//    where a d > 2 (here the 3-D grids), rtol 1e-12, norm and energy every
//    step; steps 2..S timed (solver set-up in step 1 is paid once per run);
//  - Fokker-Planck: the same for one backward-Euler Scharfetter-Gummel step;
//  - grid points per second for both;
//  - with FFTW (benchmark-only comparator, Debian's libfftw3): one Strang
//    split-operator step e^{-iV dt/2} F^-1 e^{-i k^2 dt/2} F e^{-iV dt/2} on
//    rank 0, serial FFTW_MEASURE plans, and the ratio CN / split-operator
//    (CN on all ranks of the run against one FFTW thread: run the bench on
//    one rank for the per-core ratio);
//  - the 10 lowest eigenpairs on 512^2 (SLEPc Krylov-Schur, defaults).
// dt = h^2 (the step at which CN's phase error on the grid's highest modes is
// O(1); larger steps are not accurate with either method).
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#ifdef GCNN_HAVE_FFTW
#include <fftw3.h>
#endif

#include "gcnn/bench.hpp"
#include "gcnn/cli.hpp"
#include "gcnn/petsc_env.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/solve_setup.hpp"

namespace gcnn {

namespace {

struct GridCase {
  int K;
  int64_t n;
};

Config bench_config(const GridCase& g) {
  CliRequest r;
  r.raw = {{"model.K", std::to_string(g.K)},        {"grid.n", std::to_string(g.n)},
           {"grid.lo", "-8"},                        {"grid.hi", "8"},
           {"solver.potential", "harmonic"},         {"solver.hbar", "1"},
           {"model.loss", "harmonic"},               {"observables.hbar_n", "2"}};
  return make_config(r.raw);
}

#ifdef GCNN_HAVE_FFTW
// Seconds per Strang split-operator step on the same grid (serial).
double split_operator_step(const Grid& grid, const std::vector<double>& V, double dt, int steps) {
  const int K = static_cast<int>(grid.K());
  const size_t N = static_cast<size_t>(grid.size());
  std::vector<int> dims(static_cast<size_t>(K));
  for (int k = 0; k < K; ++k) dims[k] = static_cast<int>(grid.n(k));
  fftw_complex* psi = fftw_alloc_complex(N);
  fftw_plan fwd = fftw_plan_dft(K, dims.data(), psi, psi, FFTW_FORWARD, FFTW_MEASURE);
  fftw_plan bwd = fftw_plan_dft(K, dims.data(), psi, psi, FFTW_BACKWARD, FFTW_MEASURE);
  std::vector<std::complex<double>> half_v(N), kin(N);
  for (size_t i = 0; i < N; ++i) half_v[i] = std::polar(1.0, -0.5 * V[i] * dt);
  for (size_t i = 0; i < N; ++i) {
    double k2 = 0;
    size_t rest = i;
    for (int k = K - 1; k >= 0; --k) {
      const int64_t nk = grid.n(k), j = static_cast<int64_t>(rest % static_cast<size_t>(nk));
      rest /= static_cast<size_t>(nk);
      const double L = grid.h(k) * static_cast<double>(nk);
      const double kk = 2 * M_PI * static_cast<double>(j <= nk / 2 ? j : j - nk) / L;
      k2 += kk * kk;
    }
    kin[i] = std::polar(1.0 / static_cast<double>(N), -0.5 * k2 * dt);  // 1/N: FFTW is unnormalised
  }
  for (size_t i = 0; i < N; ++i) { psi[i][0] = std::exp(-0.5 * static_cast<double>(i % 97) / 97.0); psi[i][1] = 0; }
  auto* z = reinterpret_cast<std::complex<double>*>(psi);
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i < N; ++i) z[i] *= half_v[i];
    fftw_execute(fwd);
    for (size_t i = 0; i < N; ++i) z[i] *= kin[i];
    fftw_execute(bwd);
    for (size_t i = 0; i < N; ++i) z[i] *= half_v[i];
  }
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fftw_destroy_plan(fwd);
  fftw_destroy_plan(bwd);
  fftw_free(psi);
  return t / steps;
}
#endif

}  // namespace

int bench_solver(CliRequest& req, const Comm& comm) {
  PetscSession petsc("");
  const std::vector<GridCase> cases = {{1, 4096}, {2, 512}, {2, 1024}, {3, 64}, {3, 128}};
  if (comm.root()) {
    std::printf("gcnn bench solver: %d rank(s), harmonic V, hbar = m = 1, box [-8,8]^K, dt = h^2, rtol 1e-12\n",
                comm.size());
    std::printf("  %-10s %10s %12s %6s %12s %14s %12s %12s %9s\n", "grid", "points", "CN ms/step", "its",
                "FP ms/step", "CN points/s", "FP points/s", "split ms", "CN/split");
  }
  for (const GridCase& g : cases) {
    const Config c = bench_config(g);
    const SolveSetup st = make_solve_setup(c, comm);
    const SchrodingerSolver solver(st.grid, false, st.hbar, st.mass, st.V, comm.raw());
    const size_t N = static_cast<size_t>(st.grid.size());
    const double h = st.grid.h(0), dt = h * h;
    std::vector<double> psi0(2 * N), p0(N), om(N);
    const auto pts = st.grid.centres();
    double nrm = 0;
    for (size_t i = 0; i < N; ++i) {
      double r2 = 0;
      for (int k = 0; k < g.K; ++k) r2 += std::pow(pts[i * g.K + k] - (k == 0 ? 1.0 : 0.0), 2);
      psi0[2 * i] = std::exp(-0.5 * r2);
      p0[i] = psi0[2 * i] * psi0[2 * i];
      om[i] = 0.5 * r2;
      nrm += p0[i];
    }
    for (double& x : psi0) x /= std::sqrt(nrm * st.grid.cell_volume());
    for (double& x : p0) x /= nrm * st.grid.cell_volume();
    const int S = N > 1000000 ? 5 : 10;
    // Steps 2..S only: matrix assembly and the preconditioner build of step 1
    // are set-up costs paid once per run.
    const auto td = solver.tdse(psi0, dt, S, 0);
    const auto fpe = solver.fokker_planck(om, 1.0, p0, dt, S, 1);
    const int its = td.max_ksp_iterations;
    const double cn = comm.max(td.loop_seconds) / (S - 1), fp = comm.max(fpe.loop_seconds) / (S - 1);
    double split = NAN;
#ifdef GCNN_HAVE_FFTW
    if (comm.root()) split = split_operator_step(st.grid, st.V, dt, S);
#endif
    if (comm.root()) {
      char name[32];
      std::snprintf(name, sizeof(name), g.K == 1 ? "%lld" : g.K == 2 ? "%lld^2" : "%lld^3",
                    static_cast<long long>(g.n));
      std::printf("  %-10s %10zu %12.2f %6d %12.2f %14.3e %12.3e %12.2f %9.2f\n", name, N, 1e3 * cn, its, 1e3 * fp,
                  static_cast<double>(N) / cn, static_cast<double>(N) / fp, 1e3 * split, cn / split);
      std::fflush(stdout);
    }
  }
  if (req.extra_value("bench.solver") != "noeig") {
    const Config c = bench_config({2, 512});
    const SolveSetup st = make_solve_setup(c, comm);
    const SchrodingerSolver solver(st.grid, false, st.hbar, st.mass, st.V, comm.raw());
    int iters = 0;
    comm.barrier();
    const double t0 = MPI_Wtime();
    const auto e = solver.eigenpairs(10);
    iters = e.iterations;
    const double t = MPI_Wtime() - t0;
    if (comm.root())
      std::printf("  10 lowest eigenpairs on 512^2: %.1f s (%d Krylov-Schur iterations, E_9 = %.6f, exact 4)\n", t,
                  iters, e.values.back());
  }
#ifndef GCNN_HAVE_FFTW
  if (comm.root()) std::printf("  (built without FFTW: no split-operator comparison; apt-get install libfftw3-dev)\n");
#endif
  return kExitOk;
}

}  // namespace gcnn
