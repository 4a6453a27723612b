#!/bin/bash
# Issue 16 item 1: the ensemble core under SimGrid's SMPI at 64 simulated
# ranks gives bitwise the digest Open MPI gives on 2 ranks (the digest is
# rank-count independent by design, docs/model.md §7), i.e. the simulated
# runs execute the real code path. Builds the SMPI driver (scale/build.sh,
# incremental) into SMPI_BUILD_DIR.
#   smpi_digest.sh OMPI_DRIVER MPIEXEC SMPI_BUILD_DIR
set -euo pipefail
ompi=$1 mpiexec=$2 smpi_dir=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
smpi=$(bash "$root/scale/build.sh" "$smpi_dir" | tail -1)
# 64 networks of 16 neurons per simulated rank; the demo physics (K = 1,
# mu = -1.5, MALA): 4 x (one exchange sweep + 2 learning steps).
args=(real --model.M 4096 --model.rho 16 --scale.sweeps 4 --scale.learn 2)
ref=$("$mpiexec" --oversubscribe -n 2 "$ompi" "${args[@]}" | sed -n 's/^digest //p')
sim=$(bash "$root/scale/smpirun.sh" 64 1 "$smpi" "${args[@]}" | sed -n 's/^digest //p')
echo "Open MPI, 2 ranks:  ${ref:-<none>}"
echo "SMPI, 64 ranks:     ${sim:-<none>}"
[ -n "$ref" ] && [ "$ref" = "$sim" ] || { echo "FAIL: digests differ" >&2; exit 1; }
echo "PASS"
