#!/usr/bin/env bash
# gcnn verify on small runs: an equilibrium run (T_q = T, MALA) passes every
# Tier-1 row (exit 0); an ensemble sampled at T_q = 1.3 T checked against the
# learning-equilibrium prediction at T_q = T fails the density identity (exit 3).
# A quench run gets its relaxation rows evaluated; the report renders.
# usage: verify_end_to_end.sh GCNN MPIEXEC WORKDIR SOURCE_DIR
set -uo pipefail
gcnn=$1 mpiexec=$2 dir=$3 src=$4
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
common=(--model.M 1024 --model.rho 32 --run.steps 20000 --observables.sample_every 25 --run.progress_seconds 0
        --checkpoint.at_end false)
"$mpiexec" --oversubscribe -n 2 "$gcnn" run "${common[@]}" --output good.h5 > good.log 2>&1 || fail "equilibrium run"
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results good.h5 > good.txt 2>&1; rc=$?
cat good.txt
[ "$rc" = 0 ] || fail "verify of an equilibrium run exited $rc"
grep -q "^T1.2a .*PASS" good.txt || fail "density row missing"
# Wrong: the ensemble is sampled with learning noise T_q = 1.3 while the
# prediction assumes learning equilibrium at T_q = T = 1 (verify accepts
# parameter overrides: the hypothesis under test).
"$mpiexec" --oversubscribe -n 2 "$gcnn" run "${common[@]}" --learning.Tq 1.3 --output bad.h5 > bad.log 2>&1 ||
  fail "T_q != T run"
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results bad.h5 --learning.Tq 1 > bad.txt 2>&1; rc=$?
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
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results shifted.h5 --model.mu "$shifted" > shifted.txt 2>&1; rc=$?
grep -E "^T1.5" shifted.txt
[ "$rc" = 3 ] && grep -q "^T1.5a .*FAIL" shifted.txt || fail "Widom row passed for mu = $shifted (exit $rc)"
cp good.h5 hotT.h5
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results hotT.h5 --model.T 1.2 > hotT.txt 2>&1; rc=$?
grep -E "^T1.5b" hotT.txt
[ "$rc" = 3 ] && grep -q "^T1.5b .*FAIL" hotT.txt || fail "N|q row passed for T = 1.2 (exit $rc)"
# A tagged minority (examples/tagged_quench.ini: a quarter of the networks
# displaced, the bulk at equilibrium) relaxes at lambda_1 (T1.4a) and its
# p(q,t) follows Fokker-Planck (T1.4b); the same rows fail for a prediction
# built with the wrong mobility (lambda_1 scales with gamma).
"$mpiexec" --oversubscribe -n 2 "$gcnn" run --config "$src/examples/tagged_quench.ini" --output tagged.h5 \
  --run.progress_seconds 0 --checkpoint.at_end false > tagged.log 2>&1 || fail "tagged-minority run"
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results tagged.h5 > tagged.txt 2>&1; rc=$?
grep -E "^T1.4" tagged.txt
[ "$rc" = 0 ] && grep -q "^T1.4a .*tagged.*PASS" tagged.txt && grep -q "^T1.4b .*PASS" tagged.txt ||
  fail "tagged-minority relaxation (exit $rc)"
cp tagged.h5 tagged_gamma.h5
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results tagged_gamma.h5 --learning.gamma 1.5 > tagged_gamma.txt 2>&1
grep -q "^T1.4a .*FAIL" tagged_gamma.txt || fail "tagged T1.4a passed for gamma = 1.5"
# Bad input: not a results file.
"$gcnn" verify --results good.log > nf.txt 2>&1; rc=$?
[ "$rc" = 2 ] || fail "verify of a non-HDF5 file exited $rc"
# Experiments: two sub-ensembles (superposition) in K = 2, then a quench;
# verify evaluates the relaxation and dynamics rows and the report draws
# every figure, each referenced by index.html.
"$mpiexec" --oversubscribe -n 2 "$gcnn" run --model.K 2 --model.M 512 --model.rho 16 --model.loss harmonic \
  --model.kappa 4 --grid.lo -2 --grid.hi 2.5 --grid.n 18 --init.mode two_packets --init.q_center=-0.8 \
  --init.q_center2 0.8 --init.q_width 0.3 --run.steps 1200 --quench.step 800 --quench.shift 0.5 \
  --quench.dense_every 10 --quench.dense_steps 200 --observables.sample_every 20 --verify.dynamics_samples 15 \
  --run.progress_seconds 0 --output exp.h5 > exp.log 2>&1 || fail "experiment run"
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results exp.h5 > exp.txt 2>&1; rc=$?
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
/usr/bin/python3 "$src/analysis/gcnn-inspect" exp.ckpt/ckpt.000000001200.h5 > inspect_ck.txt || fail "gcnn-inspect on a checkpoint"
grep -q "step 1200" inspect_ck.txt || fail "gcnn-inspect checkpoint summary"
/usr/bin/python3 "$src/analysis/gcnn-report" exp.log -o r2 > /dev/null 2>&1; [ $? = 2 ] || fail "report on a foreign file"
/usr/bin/python3 "$src/analysis/gcnn-inspect" exp.log > /dev/null 2>&1; [ $? = 2 ] || fail "inspect on a foreign file"
echo PASS
