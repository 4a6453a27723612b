#!/usr/bin/env bash
# Issue 15 item 2, stale and foreign locks:
#   - a run killed with kill -9 leaves its lock files; --resume latest
#     reports the stale lock (same host, PID gone), takes it over and reaches
#     the digest of the uninterrupted run;
#   - a lock naming another host is refused (exit 2) with how to remove it,
#     and left as it was;
#   - a lock naming a live process of this host (its PID and start time)
#     is refused even though nobody holds the flock (file systems without
#     flock), and left as it was.
# usage: stale_lock.sh GCNN MPIEXEC
set -uo pipefail
gcnn=$1 mpiexec=$2
. "$(dirname "$0")/lib_run.sh"
dir=$(mktemp -d)
apid=""
cleanup() { [ -n "$apid" ] && { kill -9 "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; }; rm -rf "$dir"; }
trap cleanup EXIT
cd "$dir" || exit 1
write_small_ini run.ini
mpi() { "$mpiexec" --oversubscribe "$@"; }

# A singleton (no mpirun): kill -9 leaves nobody to clean up.
"$gcnn" run --config run.ini --output a.h5 > a.log 2>&1 &
apid=$!
wait_for a.log "checkpoint step" 60 || { cat a.log; fail "run A wrote no checkpoint"; }
pid=$(sed -n 's/^pid=//p' a.h5.lock)
[ "$pid" = "$apid" ] || fail "the lock names PID '$pid', run A is $apid"
kill -9 "$apid"; wait "$apid" 2>/dev/null; apid=""
[ -f a.h5.lock ] && [ -f a.ckpt/.lock ] || fail "kill -9 left no lock files (nothing to test)"

mpi -n 2 "$gcnn" run --config run.ini --output a.h5 --resume latest > b.log 2>&1
rc=$?
[ "$rc" = 0 ] || { cat b.log; fail "resume after kill -9 exited $rc"; }
grep -q "taking over the stale lock 'a.h5.lock'.*PID $pid on host .*no longer running" b.log ||
  { cat b.log; fail "the stale lock of PID $pid was not reported"; }
echo "ok   stale lock of the killed PID $pid reported and taken over: '$(grep -m1 'stale lock' b.log | cut -c1-150)'"
[ ! -e a.h5.lock ] && [ ! -e a.ckpt/.lock ] || fail "the resumed run left its lock files behind"
mpi -n 1 "$gcnn" run --config run.ini --output ref.h5 > ref.log 2>&1 || { cat ref.log; fail "reference run failed"; }
db=$(digest_of_log b.log) dr=$(digest_of_log ref.log)
[ -n "$db" ] && [ "$db" = "$dr" ] || fail "resumed digest $db differs from the uninterrupted $dr"
echo "ok   the resumed run reaches the uninterrupted digest ($db)"

# A lock of another host: this host cannot tell whether that run lives.
printf 'host=some-other-node\npid=12345\npid_start=1\nrun_id=feedfeedfeedfeed\nstarted=2026-01-01T00:00:00Z\n' > ref.h5.lock
cp ref.h5.lock foreign.copy
mpi -n 2 "$gcnn" run --config run.ini --output ref.h5 --overwrite > c.log 2>&1
expect_exit $? 2 c.log "locked by a gcnn run on another host.*delete 'ref.h5.lock'" "lock of another host"
cmp ref.h5.lock foreign.copy || fail "the foreign lock was changed"
cmp <(digest_of_log ref.log) <("$gcnn" digest ref.h5 | awk '{print $2}') || fail "the refused run changed ref.h5"
rm ref.h5.lock

# A live process of this host (this script) with no flock held.
printf 'host=%s\nboot_id=%s\npid=%s\npid_start=%s\nrun_id=0123456789abcdef\nstarted=now\n' "$(cat /proc/sys/kernel/hostname)" \
  "$(cat /proc/sys/kernel/random/boot_id)" "$$" "$(awk '{print $22}' /proc/$$/stat)" > ref.h5.lock
cp ref.h5.lock live.copy
mpi -n 1 "$gcnn" run --config run.ini --output ref.h5 --overwrite > d.log 2>&1
expect_exit $? 2 d.log "PID $$ on host .*still running" "lock of a live process without flock"
cmp ref.h5.lock live.copy || fail "the live process's lock was changed"
