#pragma once
// `gcnn bench`: the ensemble's hot loops (bench.cpp) and, with
// --bench.solver, the derived equations' solvers against an FFTW
// split-operator step (bench_solver.cpp). README "Benchmarks".
#include "gcnn/cli.hpp"

namespace gcnn {

int bench_solver(CliRequest& req, const Comm& comm);  // gcnn bench --bench.solver

}  // namespace gcnn
