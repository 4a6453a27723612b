#!/usr/bin/env bash
# Issue 15 item 10 for scripts/sweep: Ctrl-C (SIGINT to the whole process
# group, as a terminal sends it) and SIGINT to the script alone both end the
# sweep with 75 after the running point checkpointed, and stop the sweep
# there (the next point is not started).
# usage: sweep_sigint.sh SOURCE_DIR GCNN [group|script]
set -uo pipefail
src=$1 gcnn=$2
fail() { echo "FAIL: $*"; exit 1; }
# stop_group PGID: the script and mpirun get SIGTERM first (mpirun then ends
# its ranks, which live in process groups of their own), SIGKILL if needed.
stop_group() {
  kill -TERM -- -"$1" 2> /dev/null
  for i in $(seq 1 100); do kill -0 -- -"$1" 2> /dev/null || break; sleep 0.1; done
  kill -KILL -- -"$1" 2> /dev/null
  sleep 1
}
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
export GCNN_BIN=$gcnn

# A script started with & from a non-interactive shell inherits SIGINT
# ignored, and bash cannot trap a signal ignored at entry; a terminal's
# foreground job has it at its default. So restore the default (exec through
# python) in a new session, whose process group plays the terminal's job.
default_int() {
  exec setsid /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
case ${3:-both} in both) hows="group script" ;; *) hows=$3 ;; esac
for how in $hows; do
  default_int bash "$src/scripts/sweep" --sweep model.mu=-1,-2 --workdir "sw-$how" --ntasks 1 -- \
    --model.M 256 --model.rho 16 --run.steps 100000000 --run.progress_seconds 0 --checkpoint.every 20 \
    > "$how.log" 2>&1 &
  pid=$!
  for i in $(seq 1 300); do
    compgen -G "sw-$how/model.mu=-1/results.ckpt/ckpt.*.h5" > /dev/null && break
    sleep 0.1
  done
  compgen -G "sw-$how/model.mu=-1/results.ckpt/ckpt.*.h5" > /dev/null || { stop_group "$pid"; fail "$how: no checkpoint"; }
  if [ $how = group ]; then kill -INT -- -"$pid"; else kill -INT "$pid"; fi
  for i in $(seq 1 300); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2> /dev/null && { stop_group "$pid"; fail "$how: sweep still runs 30 s after SIGINT"; }
  wait "$pid"
  rc=$?
  cat "$how.log"
  [ "$rc" = 75 ] || fail "$how: SIGINT gave sweep exit $rc, expected 75"
  grep -q 'checkpointed at step' "sw-$how/model.mu=-1/run.log" || fail "$how: the running point did not checkpoint"
  [ ! -e "sw-$how/model.mu=-2/run.log" ] || fail "$how: the sweep went on to the next point"
  echo "SIGINT ($how): sweep exit 75, point checkpointed"
done
echo "sweep sigint ok"
