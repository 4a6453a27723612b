#!/usr/bin/env bash
# Issue 15 item 5: sizes inside the documented ranges that cannot fit are
# refused before any allocation (exit 2, one message, nothing written),
# not killed by std::bad_alloc:
#   --model.M 1e15 (any machine), --observables.n_max 1e7 on 2 ranks (its
#   Omega/log e_N tables alone are ~16 GiB per rank), and a normal run under
#   GCNN_MEMORY_LIMIT_MB=50, while the same run without it prints its
#   estimate and starts.
# usage: memory_refusal.sh GCNN MPIEXEC
set -uo pipefail
gcnn=$1 mpiexec=$2
. "$(dirname "$0")/lib_run.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
write_small_ini run.ini
mpi() { "$mpiexec" --oversubscribe "$@"; }
nothing_written() { [ -z "$(ls -A out 2>/dev/null)" ] || { ls -la out; fail "$1: files were written"; }; }
mkdir out

mpi -n 2 "$gcnn" run --config run.ini --output out/m.h5 --model.M 1e15 > m.log 2>&1
expect_exit $? 2 m.log "the run needs about .* per rank but a rank may use" "model.M = 1e15"
nothing_written "model.M = 1e15"

avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "$avail_kb" -lt $((2 * 16 * 1024 * 1024)) ]; then
  mpi -n 2 "$gcnn" run --config run.ini --output out/n.h5 --observables.n_max 1e7 --grid.n 100 > n.log 2>&1
  expect_exit $? 2 n.log "the run needs about .* per rank but a rank may use" "observables.n_max = 1e7"
  nothing_written "observables.n_max = 1e7"
else
  echo "skip observables.n_max = 1e7: this machine has $((avail_kb / 1024 / 1024)) GiB available, enough for it"
fi

GCNN_MEMORY_LIMIT_MB=50 mpi -n 1 "$gcnn" run --config run.ini --output out/l.h5 --run.steps 10 > l.log 2>&1
expect_exit $? 2 l.log "may use 50.0 MiB (GCNN_MEMORY_LIMIT_MB)" "a normal run under a 50 MiB limit"
nothing_written "50 MiB limit"

mpi -n 1 "$gcnn" run --config run.ini --output out/ok.h5 --run.steps 10 > ok.log 2>&1 || { cat ok.log; fail "the run without a limit failed"; }
grep -q "^memory estimate: .* per rank (state .*observables .*setup peak" ok.log || { cat ok.log; fail "no memory estimate printed"; }
echo "ok   a run that fits prints '$(grep -m1 '^memory estimate' ok.log)'"
