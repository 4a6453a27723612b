#!/bin/bash
# Issue 16 items 1 and 3: the ensemble core under SimGrid's SMPI at 64
# simulated ranks, on one node (flat route) and on 2 nodes of 32 (node-aware
# route), gives bitwise the digest Open MPI gives on 2 ranks (the digest is
# rank-count and route independent by design, docs/model.md §7), i.e. the
# simulated runs execute the real code path. Builds the SMPI driver (scale/build.sh,
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
echo "Open MPI, 2 ranks:                        ${ref:-<none>}"
[ -n "$ref" ] || { echo "FAIL: no Open MPI digest" >&2; exit 1; }
# Both routes of the proposers (src/mover_exchange.cpp) under SMPI: 64 ranks
# on one simulated node take the flat all-to-all; 64 ranks as 2 nodes of 32
# take the node-aware one with its cross-node stage (MPI_Isend/Irecv between
# node pairs, MPI_Testall/Waitall). Each must print its route and the digest.
check() {  # ranks-per-node, expected route
  local out sim route
  out=$(GCNN_SMPI_RANKS_PER_NODE=$1 bash "$root/scale/smpirun.sh" 64 1 "$smpi" "${args[@]}")
  sim=$(sed -n 's/^digest //p' <<<"$out")
  route=$(sed -n 's/^route //p' <<<"$out")
  printf 'SMPI, 64 ranks, %2d per node (%s): %s\n' "$1" "${route:-<none>}" "${sim:-<none>}"
  [ "$route" = "$2" ] || { echo "FAIL: route '$route', expected '$2'" >&2; exit 1; }
  [ "$ref" = "$sim" ] || { echo "FAIL: digests differ" >&2; exit 1; }
}
check 64 "flat"
check 32 "node-aware over 2 nodes"
echo "PASS"
