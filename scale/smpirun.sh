#!/bin/bash
# Runs the SMPI scale driver on P simulated ranks of the documented cluster
# (scale/platforms/make_platform.py) with the harness's SimGrid settings:
#   bash scale/smpirun.sh P BYTE_SCALE DRIVER [driver args...]
# Settings, and why:
#   smpi/simulate-computation:no  host CPU time is not timed (a shared VM);
#                                 the driver injects compute from measured rates
#   smpi/alltoallv:pair           the all-to-all as P - 1 pairwise rounds (the
#                                 shim maps MPI_Ialltoallv to it: P^2 flows at once stall SMPI)
#   smpi/allgather:bruck          log2(P) rounds. SMPI's default allgather posts
#                                 P Isend + P Irecv per rank and completes them
#                                 with waitany, which scans each rank's list of
#                                 activities: O(P^2) per rank, O(P^3) in all
#                                 (the node-aware exchange's one allgather of
#                                 node leaders: 14 CPU-s of setup at 128 ranks,
#                                 0.4 s with bruck, hours at 1024)
#   smpi/test:0                   MPI_Test/Testall cost no simulated time. SMPI's
#                                 default sleeps nsleeps x 1e-4 s in every test,
#                                 nsleeps one static counter for all ranks that
#                                 grows with every failed test anywhere: the
#                                 node-aware exchange's polls from the leave-test
#                                 loop (Testall on its cross-node Isend/Irecv)
#                                 were charged ~0.1 ms and more each. The compute
#                                 is injected outside the sweep (scale_driver.cpp),
#                                 so the polls overlap nothing anyway; they loop
#                                 a bounded number of chunks and the stages finish
#                                 in MPI_Waitall, so no spin can stall the clock.
#   smpi/bw-factor, lat-factor 1  no message-size corrections: SMPI's defaults
#                                 are calibrated for TCP over Ethernet; the
#                                 platform's links are taken at face value
#   network/crosstraffic:0        no TCP acknowledgement traffic (RDMA fabric)
# GCNN_SMPI_RANKS_PER_NODE (default 64) sets both the platform's nodes and the
# shim's shared-memory communicators.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
P=$1 S=$2 driver=$3
shift 3
rpn=${GCNN_SMPI_RANKS_PER_NODE:-64}
export GCNN_SMPI_RANKS_PER_NODE=$rpn
# The byte scale, for scale/smpi_shim.hpp: the count exchange travels at its true size.
export GCNN_SMPI_BYTE_SCALE=$S
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/platforms/make_platform.py" "$P" --rpn "$rpn" --byte-scale "$S" \
  --platform "$tmp/platform.xml" --hostfile "$tmp/hostfile"
smpirun -np "$P" -platform "$tmp/platform.xml" -hostfile "$tmp/hostfile" \
  --cfg=smpi/simulate-computation:no --cfg=smpi/alltoallv:pair --cfg=smpi/alltoall:bruck --cfg=smpi/allgather:bruck --cfg=smpi/test:0 \
  --cfg=smpi/bw-factor:0:1 --cfg=smpi/lat-factor:0:1 --cfg=network/crosstraffic:0 \
  --cfg=smpi/tmpdir:"$tmp" --log=root.thres:warning \
  "$driver" "$@"
