#!/usr/bin/env bash
# gcnn verify on small runs: an equilibrium run (T_q = T, MALA) passes every
# Tier-1 row (exit 0); the same ensemble run with T_q = 1.3 T while the
# prediction assumes learning equilibrium fails the density identity (exit 3).
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
# Wrong: learning noise hotter than the neurons (T_q = 1.3 T); verify's
# prediction e^{-Omega/T_q} is then not what the ensemble samples.
"$mpiexec" --oversubscribe -n 2 "$gcnn" run "${common[@]}" --learning.Tq 1.3 --output bad.h5 > bad.log 2>&1 ||
  fail "T_q != T run"
"$mpiexec" --oversubscribe -n 2 "$gcnn" verify --results bad.h5 > bad.txt 2>&1; rc=$?
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
# Bad input: not a results file.
"$gcnn" verify --results good.log > nf.txt 2>&1; rc=$?
[ "$rc" = 2 ] || fail "verify of a non-HDF5 file exited $rc"
echo PASS
