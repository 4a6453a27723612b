#!/usr/bin/env bash
# `cmake --install` gives a working tree: the installed gcnn reports the
# project's version, runs a small ensemble, and the installed gcnn-inspect
# reads the results file it wrote (same digest as the run printed); the
# documentation and examples are under share/gcnn and an installed example
# validates with the installed binary; the installed Python module reads the
# file and the installed report refuses a truncated one (exit 2, one line).
# usage: install_tree.sh BUILD_DIR MPIEXEC VERSION WORKDIR
set -euo pipefail
build=$1 mpiexec=$2 version=$3 dir=$4
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$dir" && mkdir -p "$dir"
prefix="$dir/prefix"
cmake --install "$build" --prefix "$prefix" > "$dir/install.log" || fail "cmake --install (see $dir/install.log)"

for f in bin/gcnn bin/gcnn-report bin/gcnn-inspect; do
  [ -x "$prefix/$f" ] || fail "$f not installed as an executable"
done
for f in share/gcnn/README.md share/gcnn/LICENSE share/gcnn/CITATION.cff share/gcnn/CHANGELOG.md \
         share/gcnn/docs/model-notes.md share/gcnn/docs/model.md share/gcnn/examples/quench.ini; do
  [ -s "$prefix/$f" ] || fail "$f not installed"
done

# The installed binary (its own RPATH, not the build tree's) reports the version.
v=$("$prefix/bin/gcnn" --version) || fail "installed gcnn --version exits $?"
[[ "$v" == "gcnn $version (git "* ]] || fail "installed gcnn --version printed '$v', expected 'gcnn $version (git ...)'"
[[ "$v" == *"arithmetic: unfused"*"libraries: MPI: "*"HDF5 "*"PETSc "*"SLEPc "* ]] || fail "gcnn --version does not name the arithmetic and the libraries: '$v'"
echo "installed: $v"

"$prefix/bin/gcnn" config --config "$prefix/share/gcnn/examples/quench.ini" > "$dir/quench_full.ini" \
  || fail "installed example quench.ini does not validate"

# A small run with the installed binary, then the installed inspector on it.
cd "$dir"
"$mpiexec" --oversubscribe -n 1 "$prefix/bin/gcnn" run --model.M 16 --model.rho 6 --run.steps 20 \
  --observables.sample_every 10 --grid.n 16 --run.progress_seconds 0 --checkpoint.at_end false \
  --output small.h5 > run.log || fail "installed gcnn run exits $?"
grep -q '^please cite: .*doi:10.1007/s10701-021-00503-3' run.log || fail "no citation notice in the run log"
digest=$(grep '^digest ' run.log | awk '{print $2}')
[ -n "$digest" ] || fail "installed gcnn run printed no digest"
"$prefix/bin/gcnn-inspect" small.h5 > inspect.txt || fail "installed gcnn-inspect exits $?"
cat inspect.txt
grep -q '^small.h5: gcnn results file' inspect.txt || fail "gcnn-inspect did not recognise the results file"
grep -q "gcnn $version git" inspect.txt || fail "gcnn-inspect shows no version $version"
grep -q "  digest $digest\$" inspect.txt || fail "gcnn-inspect's digest differs from the run's $digest"
grep -q '3 samples, steps 0..20' inspect.txt || fail "gcnn-inspect shows the wrong samples"

# The Python module from the install (not the source tree): it reads the same
# file, with the run's digest and exact counts (M networks per sample).
modpath="$prefix/share/gcnn/python"
[ -s "$modpath/gcnn/__init__.py" ] || fail "the gcnn Python module is not installed in $modpath"
(cd / && PYTHONPATH="$modpath" /usr/bin/python3 - "$dir/small.h5" "$digest" "$modpath" <<'PY'
import sys
import gcnn
path, digest, modpath = sys.argv[1:]
assert gcnn.__file__.startswith(modpath), f"imported {gcnn.__file__}, not the installed module"
with gcnn.open(path) as r:
    assert r.digest == digest, (r.digest, digest)
    h, out = r.series("q_histogram").value, r.series("q_outside").value
    assert (h.sum(axis=1) + out == r.M).all() and r.M == 16
print(f"installed module {gcnn.__file__}: digest and counts ok")
PY
) || fail "the installed gcnn module does not read the run's file"
# The installed report refuses a damaged file with one line and exit 2.
head -c 1000 small.h5 > truncated.h5
set +e
"$prefix/bin/gcnn-report" truncated.h5 -o report > report.out 2> report.err
rc=$?
set -e
[ "$rc" = 2 ] && [ "$(wc -l < report.err)" = 1 ] && grep -q '^gcnn-report: truncated.h5: ' report.err ||
  fail "installed gcnn-report on a truncated file: exit $rc, stderr '$(cat report.err)'"
# The solver side is a module (solver_module.hpp): the installed gcnn does
# not link PETSc, finds the installed module for `verify`, and without it
# says where it looked and exits 1.
! ldd "$prefix/bin/gcnn" | grep -qE 'libpetsc|libslepc' || fail "the installed gcnn links PETSc/SLEPc itself"
cp small.h5 verify.h5
set +e
"$prefix/bin/gcnn" verify --results verify.h5 > verify.out 2>&1
rc=$?
set -e
# 3 samples: verify runs (exit 0 or 3, a verdict line), whatever it concludes.
{ [ "$rc" = 0 ] || [ "$rc" = 3 ]; } && grep -q '^verdict: ' verify.out ||
  fail "installed gcnn verify: exit $rc, $(tail -3 verify.out)"
mkdir -p lonely/bin && cp "$prefix/bin/gcnn" lonely/bin/
set +e
lonely/bin/gcnn verify --results verify.h5 > lonely.out 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "^gcnn: error: the solver module (PETSc/SLEPc side) is not at .*lonely/bin/gcnn_solver.so or .*lonely/lib[^ ]*/gcnn/gcnn_solver.so" lonely.out &&
  ! grep -q MPI_ABORT lonely.out || fail "gcnn verify without its module: exit $rc, '$(cat lonely.out)'"
echo "ok   the installed module serves verify; without it, verify exits 1 naming where it looked"
echo "install tree ok: $prefix"
