#!/usr/bin/env bash
# scripts/sweep end to end on a tiny config (3 mu values, a few seconds each):
# every point is run and verified, analysis/gcnn-sweep writes one table line
# and one CSV row per mu with the right mu, <Delta F> - mu in the CSV is the
# file's own <Delta F> over verify's window minus mu, and the PNG is a PNG.
# A rerun skips the finished points; a point without /verification is skipped
# with a warning; bad arguments and unusable directories exit 2 with one line.
# usage: sweep_end_to_end.sh SOURCE_DIR GCNN MPIEXEC WORKDIR
set -uo pipefail
src=$1 dir=$4
export GCNN_BIN=$2 GCNN_MPIRUN=$3 GCNN_MPIRUN_FLAGS=--oversubscribe
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
cat > tiny.ini <<'INI'
[model]
M = 256
rho = 16
[run]
steps = 1500
progress_seconds = 0
[observables]
sample_every = 25
[grid]
n = 40
[checkpoint]
at_end = false
INI
sweep=(bash "$src/scripts/sweep" --config tiny.ini --sweep model.mu=-1,-3,-2 --workdir sw --ntasks 2)
"${sweep[@]}" > sweep.log 2>&1; rc=$?
cat sweep.log
[ "$rc" = 0 ] || fail "scripts/sweep exited $rc"
[ "$(grep -c '^\[[1-3]/3\] model.mu=.*elapsed .*ETA' sweep.log)" = 3 ] || fail "not one progress line per point"
for mu in -1 -2 -3; do
  grep -q "verdict" "sw/model.mu=$mu/verify.txt" || fail "verify did not run for mu = $mu"
done
for f in sw/hbar_sweep.md sw/hbar_sweep.csv sw/hbar_sweep.png; do [ -s "$f" ] || fail "$f missing or empty"; done
/usr/bin/python3 - sw <<'PY' || fail "table, CSV or figure"
import csv, sys
import h5py, numpy as np
d = sys.argv[1]
# Markdown: two tables, each one line per mu, sorted by mu.
lines = [l for l in open(f"{d}/hbar_sweep.md") if l.startswith("| ") and not l.startswith("| mu ")]
mus = [float(l.split("|")[1]) for l in lines]
assert mus == [-3, -2, -1] * 2, f"table mu column {mus}"
# CSV: parses, one row per mu; <Delta F> - mu read from T2.6a equals the
# file's own mean of Delta F over verify's window (steps >= burn_in * last) minus mu.
rows = list(csv.DictReader(open(f"{d}/hbar_sweep.csv")))
assert [float(r["mu"]) for r in rows] == [-3, -2, -1], [r["mu"] for r in rows]
for r in rows:
    mu = float(r["mu"])
    assert r["point"] == f"model.mu={r['mu']}", r["point"]
    with h5py.File(f"{d}/{r['point']}/results.h5", "r") as f:
        step = f["observables/clock/step"][()]
        win = step >= f["verification"].attrs["burn_in"] * step[-1]
        direct = f["observables/delta_F/value"][()][win, 0].mean() - mu
    got, err = float(r["deltaF_minus_mu"]), float(r["deltaF_minus_mu_error"])
    assert 0 < err < 0.1 and abs(got - direct) < err, (mu, got, direct, err)
    hbar_mu = abs(mu) / (2 * np.pi)  # the CSV holds 10 digits
    assert abs(float(r["hbar_mu"]) - hbar_mu) < 1e-9 * hbar_mu and float(r["hbar_E"]) == 2.0, r["hbar_mu"]
# The figure is a PNG.
assert open(f"{d}/hbar_sweep.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
PY
# A rerun finds every point done and only redoes the analysis.
"${sweep[@]}" > rerun.log 2>&1 || fail "rerun exited $?"
[ "$(grep -c 'done earlier, skipped' rerun.log)" = 3 ] || { cat rerun.log; fail "rerun did not skip the finished points"; }
# A point without /verification is skipped with a warning, not fatal.
mkdir -p "sw/model.mu=-4"
/usr/bin/python3 -c "
import h5py, shutil
shutil.copy('sw/model.mu=-1/results.h5', 'sw/model.mu=-4/results.h5')
with h5py.File('sw/model.mu=-4/results.h5', 'r+') as f: del f['verification']" || fail "copy"
/usr/bin/python3 "$src/analysis/gcnn-sweep" sw --out partial > partial.log 2>&1 || { cat partial.log; fail "partial sweep"; }
grep -q "warning: skipping .*model.mu=-4/results.h5: no /verification" partial.log || fail "no warning for the unverified point"
[ "$(grep -c '^model.mu=' partial.csv)" = 3 ] || fail "the unverified point is in the table"
# Bad input: exit 2 and one line, no traceback.
expect2() {  # expect2 WHAT COMMAND...
  local what=$1
  shift
  "$@" > bad.out 2>&1; local rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < bad.out)" = 1 ] && ! grep -q Traceback bad.out ||
    { cat bad.out; fail "$what: exit $rc, expected 2 and one line"; }
}
expect2 "missing directory" /usr/bin/python3 "$src/analysis/gcnn-sweep" nowhere
mkdir -p empty/a && echo x > empty/a/results.h5
expect2 "not a directory" /usr/bin/python3 "$src/analysis/gcnn-sweep" empty/a/results.h5
expect2 "no sweep key" bash "$src/scripts/sweep" --sweep model.mu --workdir x
expect2 "empty value" bash "$src/scripts/sweep" --sweep model.mu=-1,,-2 --workdir x
expect2 "unknown key" bash "$src/scripts/sweep" --sweep model.nu=-1 --workdir x
expect2 "bad ntasks" bash "$src/scripts/sweep" --sweep model.mu=-1 --workdir x --ntasks two
/usr/bin/python3 "$src/analysis/gcnn-sweep" empty > bad.out 2>&1; rc=$?
[ "$rc" = 2 ] && grep -q "warning: skipping" bad.out && grep -q "error: none of the 1" bad.out || { cat bad.out; fail "directory of foreign files: exit $rc"; }
echo PASS
