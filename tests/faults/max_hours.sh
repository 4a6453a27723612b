#!/usr/bin/env bash
# Issue 17 item 7: the wall-time limit and the log file.
#   - run.max_hours far below what the run needs: the run checkpoints and
#     exits 75 before the limit, with a message naming run.max_hours; a
#     resume (with the limit lifted) completes with the digest of an
#     uninterrupted run;
#   - the log file beside the results file (out.h5 -> out.gcnn.log) holds what
#     rank 0 printed: the configuration, progress lines, the stop message and
#     the timing table; the resume appends after a second header line with
#     the summary; a fresh run with --overwrite replaces it.
# usage: max_hours.sh GCNN MPIEXEC
set -uo pipefail
gcnn=$1 mpiexec=$2
. "$(dirname "$0")/lib_run.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
write_small_ini run.ini
# 8 x the small run's networks: ~6 s of stepping on 2 quiet cores (the small
# run itself takes under 1 s there and would finish inside the limit).
sed -i 's/^M = 256$/M = 2048/' run.ini
grep -qx 'M = 2048' run.ini || fail "run.ini has no 'M = 256' line to enlarge"
mpi() { "$mpiexec" --oversubscribe -n 2 "$@"; }
# 0.0007 h = 2.52 s: well below the ~6 s (quiet) to ~30 s (busy) the run takes here, above MPI
# start-up and the setup (about 1 s), so some steps are taken.
limit_h=0.0007 limit_s=2.52

t0=$(date +%s.%N)
mpi "$gcnn" run --config run.ini --output a.h5 --run.max_hours $limit_h --checkpoint.every 0 > a.out 2> a.err
rc=$?
t1=$(date +%s.%N)
cat a.out a.err > a.all
expect_exit "$rc" 75 a.all "run.max_hours = $limit_h (2.5 s) reached" "run over its time budget"
ls a.ckpt/ckpt.*.h5 > /dev/null 2>&1 || fail "no checkpoint after the time-limit stop"
step=$(sed -n 's/.*reached.*checkpointed at step \([0-9]*\);.*/\1/p' a.out)
[ -n "$step" ] && [ "$step" -gt 0 ] && [ "$step" -lt 8000 ] || fail "stopped at step '$step', want 0 < step < 8000"
# rank 0 decided before the limit, counted from its process's start (mpirun's
# own start-up, seconds on a busy machine, is not part of it).
elapsed=$(sed -n 's/.*reached: \([0-9.]*\) s elapsed.*/\1/p' a.out)
# On a machine so busy that the setup alone outlasts the limit, the only
# right decision is to stop after the first step.
awk -v e="$elapsed" -v l="$limit_s" 'BEGIN { exit !(e > 0 && e < l) }' || [ "$step" = 1 ] ||
  fail "decided at '$elapsed' s (step $step), limit $limit_s s"
echo "ok   stopped at step $step, decided $elapsed s into the process (mpirun: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"

[ -f a.gcnn.log ] || fail "no log file a.gcnn.log beside a.h5"
for pat in "^==== gcnn .* fresh run" "^\[model\]" "^\[gcnn\] step " "run.max_hours = $limit_h" "^---- timing" \
           "^learning "; do
  grep -q -- "$pat" a.gcnn.log || { cat a.gcnn.log >&2; fail "a.gcnn.log lacks '$pat'"; }
done
missing=$(grep -vxF -f a.gcnn.log a.out)
[ -z "$missing" ] || fail "lines printed on stdout but not in a.gcnn.log: $missing"
echo "ok   a.gcnn.log has the header, configuration, progress lines, the stop message and the timing table"

# The limit is stored with the run's configuration and a resumed process gets
# its own; lifted here (run.max_hours may change on resume) to finish at once.
mpi "$gcnn" run --config run.ini --output a.h5 --resume latest --run.max_hours 0 > b.out 2>&1 ||
  { cat b.out >&2; fail "resume failed"; }
mpi "$gcnn" run --config run.ini --output ref.h5 > ref.out 2>&1 || { cat ref.out >&2; fail "reference run failed"; }
da=$(digest_of_log b.out) dr=$(digest_of_log ref.out)
[ -n "$dr" ] && [ "$da" = "$dr" ] || fail "resumed digest '$da' != uninterrupted '$dr'"
echo "ok   resumed after the time limit: digest $da = uninterrupted"

[ "$(grep -c '^==== gcnn' a.gcnn.log)" = 2 ] && grep -q "^==== gcnn .* resumed from .* at step $step" a.gcnn.log &&
  grep -q "^digest $da" a.gcnn.log && grep -q "^\[gcnn\] step " a.gcnn.log || { cat a.gcnn.log >&2; fail "a.gcnn.log after resume"; }
echo "ok   the resume appended to a.gcnn.log after a second header, with the summary"

mpi "$gcnn" run --config run.ini --output a.h5 --overwrite --run.steps 10 --checkpoint.every 0 > c.out 2>&1 ||
  { cat c.out >&2; fail "overwrite run failed"; }
[ "$(grep -c '^==== gcnn' a.gcnn.log)" = 1 ] && ! grep -q "max_hours = $limit_h (" a.gcnn.log || fail "--overwrite kept the old log"
echo "ok   --overwrite replaced a.gcnn.log"
