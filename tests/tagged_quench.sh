#!/usr/bin/env bash
# Tagged-minority quench (quench.displace_fraction, docs/model.md §4 last paragraph).
# usage: tagged_quench.sh GCNN MPIEXEC MODE WORKDIR
#   displace  learning frozen, so q moves only by the quench: in /particles
#             (every network stored) exactly the n = round(f M) lowest ids moved
#             by quench.shift (wrapped into the periodic box), the others did
#             not move at all; on 3 ranks, n crossing a rank boundary
#   resume    resumed from its checkpoints before, exactly at and after
#             quench.step on 3, 1 and 3 ranks, a 2-rank run reaches its
#             uninterrupted digest and observables; the resumed segment
#             displaces iff it starts at or before quench.step
set -uo pipefail
gcnn=$1 mpiexec=$2 mode=$3 dir=$4/$3
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
digest_of() { "$gcnn" digest "$1" | awk '{print $2}'; }

case $mode in
displace)
  # check_moved FILE N SHIFT: samples before quench.step equal the first one;
  # from quench.step on, ids < N sit at wrap(q + SHIFT), ids >= N unchanged.
  check_moved() {
    "$py" - "$@" <<'PY' || fail "displacement of $1"
import sys
import h5py
import numpy as np
path, n, shift = sys.argv[1], int(sys.argv[2]), np.array([float(x) for x in sys.argv[3].split(",")])
with h5py.File(path, "r") as f:
    q = f["particles/networks/position/value"][()]       # (samples, M, K)
    ids = np.asarray(f["particles/networks/id"][()]).reshape(-1)
    step = f["observables/clock/step"][()]
assert np.array_equal(ids, np.arange(q.shape[1])), "particles must store every network in id order"
qs, periodic, lo, hi = int(sys.argv[4]), sys.argv[5] == "1", float(sys.argv[6]), float(sys.argv[7])
before, after = q[step <= qs], q[step > qs]  # the sample at quench.step precedes it
assert len(before) >= 2 and len(after) >= 2, f"samples before/after the quench: {len(before)}/{len(after)}"
assert (before == before[0]).all(), "frozen q moved before the quench"
assert (after == after[0]).all(), "frozen q moved after the quench"
expect = before[0].copy()
expect[:n] += shift
if periodic:
    L = hi - lo
    expect = lo + np.mod(expect - lo, L)
tagged_err = np.abs(after[0][:n] - expect[:n]).max()
moved = (after[0] != before[0]).any(axis=1)
print(f"{path}: {moved.sum()} of {q.shape[1]} networks moved (expected {n}), "
      f"largest error of the tagged {tagged_err:.2e}")
assert (after[0][n:] == before[0][n:]).all(), "a bulk network moved"
assert moved[:n].all(), "a tagged network did not move"
# rounding of q + shift and of the wrap only
assert tagged_err <= 1e-12, f"tagged networks not at q + shift: error {tagged_err}"
PY
  }
  common=(--model.loss harmonic --model.kappa 4 --learning.mode frozen --exchange.every 1 --run.steps 60
          --run.seed 77 --run.progress_seconds 0 --observables.sample_every 10 --quench.step 30
          --checkpoint.at_end false)
  # K = 1, periodic box [-2.5, 2.5): a shift of 1.7 wraps about a third of the tagged networks.
  # M = 40 on 3 ranks is split 14/13/13; round(0.4 * 40) = 16 crosses the first boundary.
  "$mpiexec" --oversubscribe -n 3 "$gcnn" run "${common[@]}" --model.M 40 --model.rho 8 --model.periodic true \
    --observables.particles 40 --quench.shift 1.7 --quench.displace_fraction 0.4 --output p.h5 > p.log 2>&1 \
    || { cat p.log; fail "periodic run"; }
  grep -q "quench at step 30: 16 tagged network(s) (a < 16) displaced" p.log || fail "quench line in p.log"
  check_moved p.h5 16 1.7 30 1 -2.5 2.5
  # K = 2, not periodic, a shift vector; M = 50 on 2 ranks (25/25), round(0.62 * 50) = 31.
  "$mpiexec" --oversubscribe -n 2 "$gcnn" run "${common[@]}" --model.K 2 --model.M 50 --model.rho 6 \
    --observables.particles 50 --quench.shift 0.8,-0.35 --quench.displace_fraction 0.62 --output k2.h5 \
    > k2.log 2>&1 || { cat k2.log; fail "K = 2 run"; }
  check_moved k2.h5 31 0.8,-0.35 30 0 0 0
  ;;
resume)
  args=(--model.M 300 --model.rho 16 --model.loss harmonic --model.kappa 4 --model.mu -1.5
        --learning.mode mala --exchange.every 1 --run.steps 600 --run.seed 5151 --run.progress_seconds 0
        --grid.lo -2.5 --grid.hi 3.5 --grid.n 30 --observables.sample_every 50 --observables.particles 9
        --quench.step 300 --quench.shift 0.8 --quench.displace_fraction 0.25 --quench.dense_every 10
        --quench.dense_steps 100 --checkpoint.every 100)
  run() { local np=$1; shift; "$mpiexec" --oversubscribe -n "$np" "$gcnn" run "${args[@]}" "$@" >> run.log 2>&1; }
  # The uninterrupted run keeps its checkpoints at 100, ..., 600. run.steps
  # must exceed quench.step, so the interrupted runs are resumptions of these:
  # at 200 (before), 300 (= quench.step: written before the step that
  # displaces) and 400 (after: the state carries the displacement), each on
  # another rank count, continuing a copy of the results file (truncated to
  # the checkpoint on resume) to the end.
  run 2 --output full.h5 --checkpoint.keep 10 || { tail run.log; fail "uninterrupted run"; }
  grep -q "quench at step 300: 75 tagged network(s) (a < 75) displaced" run.log || fail "quench line"
  ref=$(digest_of full.h5)
  for kn in 200:3 300:1 400:3; do
    k=${kn%:*} np=${kn#*:}
    cp full.h5 r$k.h5
    : > run.log
    run "$np" --output r$k.h5 --resume full.ckpt/ckpt.000000000$k.h5 || { tail run.log; fail "resume at $k"; }
    got=$(digest_of r$k.h5)
    n=$(grep -c "tagged network(s) (a < 75) displaced" run.log)
    want=$([ "$k" -le 300 ] && echo 1 || echo 0)
    echo "resumed at step $k on $np rank(s): digest $got (uninterrupted $ref), displaced $n time(s)"
    [ "$n" = "$want" ] || fail "resumed at $k: displaced $n times, expected $want"
    [ "$got" = "$ref" ] || fail "resumed at $k: digest differs"
    "$py" "$here/compare_results.py" full.h5 r$k.h5 || fail "resumed at $k: observables differ"
  done
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "PASS: $mode"
