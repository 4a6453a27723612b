#!/usr/bin/env bash
# Issue 15 item 2, one writer per run. While a run A (2 ranks) is alive:
#   - a second fresh run with --overwrite of A's output,
#   - --resume latest of A's output,
#   - a run with another output sharing A's checkpoint.dir (with --overwrite)
# each exit 2 with one message, and touch nothing of A (A is paused with
# SIGSTOP while they run, so its files can be compared byte for byte). A then
# finishes with exit 0 and the digest of the same run made alone.
# usage: concurrent_writer.sh GCNN MPIEXEC
set -uo pipefail
gcnn=$1 mpiexec=$2
. "$(dirname "$0")/lib_run.sh"
dir=$(mktemp -d)
apid=""
cleanup() {
  [ -n "$apid" ] && { for p in $(ps -o pid= --ppid "$apid" 2>/dev/null); do kill -CONT "$p" 2>/dev/null; done; kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; }
  rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir" || exit 1
write_small_ini run.ini
mpi() { "$mpiexec" --oversubscribe "$@"; }

"$mpiexec" --oversubscribe -n 2 "$gcnn" run --config run.ini --output a.h5 > a.log 2>&1 &
apid=$!  # mpirun itself: its children are the ranks
wait_for a.log "checkpoint step" 60 || { cat a.log; fail "run A wrote no checkpoint"; }
ranks=$(ps -o pid= --ppid "$apid" | tr -d ' ')
[ -n "$ranks" ] || fail "no rank processes of run A found"
for p in $ranks; do kill -STOP "$p"; done
grep -q "$(sed -n 's/^pid=//p' a.h5.lock)" <<< "$ranks" || fail "the lock's PID is not a rank of run A ($ranks)"
grep -q "^---- summary" a.log && fail "run A ended before it was paused (machine too slow?)"
[ -f a.h5.lock ] && [ -f a.ckpt/.lock ] || fail "run A holds no lock files"
grep -q "^pid=" a.h5.lock || fail "the lock file names no PID"
mkdir snap && cp -a a.h5 a.h5.lock a.ckpt snap/ || fail "cannot snapshot run A"

mpi -n 2 "$gcnn" run --config run.ini --output a.h5 --overwrite > b1.log 2>&1
expect_exit $? 2 b1.log "is in use by another gcnn run" "--overwrite of a live run's output"
mpi -n 2 "$gcnn" run --config run.ini --output a.h5 --resume latest > b2.log 2>&1
expect_exit $? 2 b2.log "is in use by another gcnn run" "--resume latest of a live run"
mpi -n 1 "$gcnn" run --config run.ini --output c.h5 --checkpoint.dir a.ckpt --overwrite > b3.log 2>&1
expect_exit $? 2 b3.log "checkpoint directory 'a.ckpt' is in use" "a second run sharing checkpoint.dir"
[ ! -e c.h5 ] || fail "the refused run created its results file c.h5"

for f in a.h5 a.h5.lock; do cmp "$f" "snap/$f" || fail "$f of the live run was changed"; done
diff -r a.ckpt snap/a.ckpt || fail "the live run's checkpoint directory was changed"
echo "ok   the live run's results file, lock and checkpoints are byte-identical"

for p in $ranks; do kill -CONT "$p"; done
wait "$apid"
rc=$?
apid=""
[ "$rc" = 0 ] || { cat a.log; fail "run A exited $rc"; }
[ ! -e a.h5.lock ] && [ ! -e a.ckpt/.lock ] || fail "run A left its lock files behind"
mpi -n 1 "$gcnn" run --config run.ini --output ref.h5 > ref.log 2>&1 || { cat ref.log; fail "reference run failed"; }
da=$(digest_of_log a.log) dr=$(digest_of_log ref.log)
[ -n "$da" ] && [ "$da" = "$dr" ] || fail "run A's digest $da differs from the run alone $dr"
echo "ok   run A finished with the digest of the run alone ($da)"
