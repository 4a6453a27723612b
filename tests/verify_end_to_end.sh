#!/usr/bin/env bash
# gcnn verify end to end, in three independent parts (one CTest test each, so
# CTest can run them side by side):
#   equilibrium  an equilibrium run (T_q = T, MALA) passes every Tier-1 row
#                (exit 0); an ensemble sampled at T_q = 1.3 T checked against
#                the learning-equilibrium prediction at T_q = T fails the
#                density identity (exit 3); Widom and N|q fail for a wrong mu
#                and T; a file that is not HDF5 exits 2.
#   tagged       a tagged-minority quench passes T1.4a/b and fails T1.4a for
#                the wrong mobility.
#   experiment   a K = 2 superposition + quench gets its dynamics rows; the
#                report draws every figure; gcnn-inspect reads the files.
# The simulations run on 1 rank (results do not depend on the rank count, and
# one rank is the cheapest way through a 2-core machine); the first verify
# runs on 2 ranks, the parallel path of verify.
# usage: verify_end_to_end.sh GCNN MPIEXEC WORKDIR SOURCE_DIR PART
set -uo pipefail
gcnn=$1 mpiexec=$2 dir=$3 src=$4 part=$5
dir=$dir/$part
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
run1() { "$mpiexec" --oversubscribe -n 1 "$gcnn" run --run.progress_seconds 0 "$@"; }
verify1() { "$mpiexec" --oversubscribe -n 1 "$gcnn" verify "$@"; }

equilibrium() {
  local common=(--model.M 1024 --model.rho 32 --observables.sample_every 25 --checkpoint.at_end false) rc shifted
  run1 "${common[@]}" --run.steps 10000 --output good.h5 > good.log 2>&1 || fail "equilibrium run"
  "$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results good.h5 > good.txt 2>&1; rc=$?
  cat good.txt
  [ "$rc" = 0 ] || fail "verify of an equilibrium run exited $rc"
  grep -q "^T1.2a .*PASS" good.txt || fail "density row missing"
  # Wrong: the ensemble is sampled with learning noise T_q = 1.3 while the
  # prediction assumes learning equilibrium at T_q = T = 1 (verify accepts
  # parameter overrides: the hypothesis under test). After 5000 steps its L1
  # is 0.110 against a noise floor of 0.021 +- 0.003 (27 sigma); the good run
  # (10 000 steps) measures 0.018 against 0.016 +- 0.004.
  run1 "${common[@]}" --run.steps 5000 --learning.Tq 1.3 --output bad.h5 > bad.log 2>&1 || fail "T_q != T run"
  verify1 --results bad.h5 --learning.Tq 1 > bad.txt 2>&1; rc=$?
  cat bad.txt
  [ "$rc" = 3 ] || fail "verify of a T_q != T run exited $rc, expected 3"
  grep -q "^T1.2a .*FAIL" bad.txt || fail "the density identity did not fail"
  # /verification is in the file
  /usr/bin/python3 - <<'PY' || fail "/verification group"
import h5py
with h5py.File("good.h5", "r") as f:
    g = f["verification"]
    assert g.attrs["tier1_passed"] == 1
    assert "T1.2a" in g["rows"] and "ensemble" in g["density"]
PY
  # Widom (T1.5a) and N|q (T1.5b) are Tier 1 and pass on the equilibrium run;
  # each fails when its prediction is built for a mu shifted by 6 of the Widom
  # row's (3 sigma + bound), or (N|q) for T = 1.2.
  grep -q "^T1.5a .*PASS" good.txt || fail "Widom row did not pass"
  grep -q "^T1.5b .*PASS" good.txt || fail "N|q row did not pass"
  shifted=$(/usr/bin/python3 -c '
import h5py
with h5py.File("good.h5", "r") as f:
    a = f["verification/rows/T1.5a"].attrs
    print(-1.5 + 6 * (3 * a["error"] + a["bound"]))')
  cp good.h5 shifted.h5
  verify1 --results shifted.h5 --model.mu "$shifted" > shifted.txt 2>&1; rc=$?
  grep -E "^T1.5" shifted.txt
  [ "$rc" = 3 ] && grep -q "^T1.5a .*FAIL" shifted.txt || fail "Widom row passed for mu = $shifted (exit $rc)"
  cp good.h5 hotT.h5
  verify1 --results hotT.h5 --model.T 1.2 > hotT.txt 2>&1; rc=$?
  grep -E "^T1.5b" hotT.txt
  [ "$rc" = 3 ] && grep -q "^T1.5b .*FAIL" hotT.txt || fail "N|q row passed for T = 1.2 (exit $rc)"
  # Bad input: not a results file.
  "$gcnn" verify --results good.log > nf.txt 2>&1; rc=$?
  [ "$rc" = 2 ] || fail "verify of a non-HDF5 file exited $rc"
}

tagged() {
  # A tagged minority (examples/tagged_quench.ini: a quarter of the networks
  # displaced, the bulk at equilibrium) relaxes at lambda_1 (T1.4a) and its
  # p(q,t) follows Fokker-Planck (T1.4b); the same rows fail for a prediction
  # built with the wrong mobility (lambda_1 scales with gamma). Half the
  # example's networks, and the quench at step 2000 instead of 4000 (the
  # dense window is the 800 steps after it): T1.4a measures 2.31 +- 0.51
  # against 3.06 (1.5 sigma), and 2.55 +- 0.41 against 6.12 for gamma = 2
  # (8.7 sigma; gamma = 1.5 would be 5).
  local rc
  run1 --config "$src/examples/tagged_quench.ini" --model.M 4096 --quench.step 2000 --run.steps 3000 \
    --output tagged.h5 --checkpoint.at_end false > tagged.log 2>&1 || fail "tagged-minority run"
  verify1 --results tagged.h5 > tagged.txt 2>&1; rc=$?
  grep -E "^T1.4" tagged.txt
  [ "$rc" = 0 ] && grep -q "^T1.4a .*tagged.*PASS" tagged.txt && grep -q "^T1.4b .*PASS" tagged.txt ||
    { cat tagged.txt; fail "tagged-minority relaxation (exit $rc)"; }
  cp tagged.h5 tagged_gamma.h5
  verify1 --results tagged_gamma.h5 --learning.gamma 2 > tagged_gamma.txt 2>&1
  grep -E "^T1.4a" tagged_gamma.txt
  grep -q "^T1.4a .*FAIL" tagged_gamma.txt || fail "tagged T1.4a passed for gamma = 2"
}

experiment() {
  # Two sub-ensembles (superposition) in K = 2, then a quench; verify
  # evaluates the relaxation and dynamics rows and the report draws every
  # figure, each referenced by index.html.
  local rc fig
  run1 --model.K 2 --model.M 512 --model.rho 16 --model.loss harmonic \
    --model.kappa 4 --grid.lo -2 --grid.hi 2.5 --grid.n 18 --init.mode two_packets --init.q_center=-0.8 \
    --init.q_center2 0.8 --init.q_width 0.3 --run.steps 1200 --quench.step 800 --quench.shift 0.5 \
    --quench.dense_every 10 --quench.dense_steps 200 --observables.sample_every 20 --verify.dynamics_samples 15 \
    --output exp.h5 > exp.log 2>&1 || fail "experiment run"
  verify1 --results exp.h5 > exp.txt 2>&1; rc=$?
  cat exp.txt
  [ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "verify of the experiment run exited $rc"
  for row in T1.4a T1.4b T2.7a T2.8a; do grep -q "^$row " exp.txt || fail "row $row missing"; done
  /usr/bin/python3 "$src/analysis/gcnn-report" exp.h5 -o report || fail "gcnn-report"
  for fig in density relaxation n_distribution delta_f coherence dynamics_quench dynamics_superposition phase_map; do
    [ -s "report/$fig.png" ] || fail "figure $fig.png missing"
    grep -q "src='$fig.png'" report/index.html || fail "index.html does not reference $fig.png"
  done
  /usr/bin/python3 "$src/analysis/gcnn-inspect" exp.h5 > inspect.txt || fail "gcnn-inspect on results"
  grep -q "gcnn results file" inspect.txt || fail "gcnn-inspect summary"
  /usr/bin/python3 "$src/analysis/gcnn-inspect" exp.ckpt/ckpt.000000001200.h5 > inspect_ck.txt ||
    fail "gcnn-inspect on a checkpoint"
  grep -q "step 1200" inspect_ck.txt || fail "gcnn-inspect checkpoint summary"
  /usr/bin/python3 "$src/analysis/gcnn-report" exp.log -o r2 > /dev/null 2>&1; [ $? = 2 ] || fail "report on a foreign file"
  /usr/bin/python3 "$src/analysis/gcnn-inspect" exp.log > /dev/null 2>&1; [ $? = 2 ] || fail "inspect on a foreign file"
}

case $part in
  equilibrium | tagged | experiment) "$part" ;;
  *) fail "unknown part '$part'" ;;
esac
echo PASS
