#!/usr/bin/env bash
# jobs/gcnn-run.sbatch's link logic (jobs/lib.sh gcnn_link) against stand-in
# mpirun, sbatch, scontrol and scancel that log their calls (no SLURM needed):
#  - gcnn checkpoints and exits 75: the continuation is submitted, the report
#    job moved onto it, the idle-link count reset;
#  - SLURM's warning arrives during the link's set-up, before mpirun (here:
#    while `gcnn config` reads a Lustre directory's striping keys): the shell
#    survives it and the chain continues;
#  - SLURM's warning arrives while gcnn is still starting (the forwarded
#    SIGUSR1 kills the launcher, 128 + 10): the chain continues from the
#    checkpoints on disk, and counts the link as idle (no new checkpoint);
#  - the third idle link in a row stops the chain (exit 1) and cancels the
#    report job, whose afterok could never be met;
#  - a launcher killed by SIGUSR1 that the job did not forward, or any other
#    failure: the chain stops with that code and the report job is cancelled.
# usage: jobs_chain_logic.sh SOURCE_DIR
set -uo pipefail
src=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
for tool in sbatch scontrol scancel; do
  printf '#!/usr/bin/env bash\necho "%s $*" >> "$CALLS"\n[ %s = sbatch ] && echo 99\nexit 0\n' "$tool" "$tool" > "$work/bin/$tool"
done
# The launcher: FAKE=checkpoint writes a newer checkpoint and exits 75;
# FAKE=starting waits (a rank still loading: SIGUSR1's default action kills
# it); FAKE=self kills itself with SIGUSR1 (nobody forwarded one).
cat > "$work/bin/fake-mpirun" <<'MPI'
#!/usr/bin/env bash
echo "mpirun $*" >> "$CALLS"
case $FAKE in
  checkpoint) mkdir -p results.ckpt && : > "results.ckpt/ckpt.$(date +%s%N).h5"; exit 75 ;;
  starting) touch started; sleep 30; exit 0 ;;
  self) kill -USR1 $$ ;;
  fail) exit 1 ;;
esac
MPI
# The gcnn the set-up runs (`gcnn config`, where there is an `lfs`): fails,
# as /bin/false would, after sending SIGUSR1 to the batch shell when
# SIGNAL_SHELL names it. The `lfs` (in its own directory, on PATH for that
# link only) fails: not a Lustre directory.
cat > "$work/bin/fake-gcnn" <<'GCNN'
#!/usr/bin/env bash
[ -n "${SIGNAL_SHELL:-}" ] && kill -USR1 "$(cat "$SIGNAL_SHELL")"
exit 1
GCNN
mkdir -p "$work/lustre"
printf '#!/usr/bin/env bash
exit 1
' > "$work/lustre/lfs"
chmod +x "$work/bin/"* "$work/lustre/lfs"
export PATH=$work/bin:$PATH GCNN_ROOT=$src GCNN_BIN=$work/bin/fake-gcnn GCNN_MPIRUN=fake-mpirun CALLS=$work/calls
export SLURM_JOB_ID=41 GCNN_REPORT_JOB=42
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; cat "$work/out" "$CALLS"; fail=1; fi; }
# link MODE IDLE_BEFORE: one link in $work/run; sets rc, leaves its output in $work/out.
link() {
  : > "$CALLS"
  rm -f "$work/run/started"
  mkdir -p "$work/run"
  if [ "$1" = setup ]; then
    (cd "$work/run" && echo $BASHPID > "$work/shell" && PATH=$work/lustre:$PATH FAKE=checkpoint \
      SIGNAL_SHELL=$work/shell GCNN_IDLE_LINKS=$2 exec bash "$src/jobs/gcnn-run.sbatch" "$work/run" > "$work/out" 2>&1)
    rc=$?
  elif [ "$1" = starting ]; then
    (cd "$work/run" && FAKE=$1 GCNN_IDLE_LINKS=$2 exec bash "$src/jobs/gcnn-run.sbatch" "$work/run" > "$work/out" 2>&1) &
    local job=$!
    for _ in $(seq 1 100); do [ -e "$work/run/started" ] && break; sleep 0.05; done
    kill -USR1 "$job"
    wait "$job"
    rc=$?
  else
    (cd "$work/run" && FAKE=$1 GCNN_IDLE_LINKS=$2 bash "$src/jobs/gcnn-run.sbatch" "$work/run" > "$work/out" 2>&1)
    rc=$?
  fi
}
link checkpoint 2
check "checkpointed: exit 0" '[ $rc = 0 ]'
check "checkpointed: continuation submitted after this job" 'grep -q "^sbatch --parsable --dependency=afterany:41 .*gcnn-run.sbatch" "$CALLS"'
check "checkpointed: report job moved onto it" 'grep -q "^scontrol update JobId=42 Dependency=afterok:99" "$CALLS"'
check "checkpointed: progress resets the idle count" '! grep -q "no new checkpoint" "$work/out"'
link setup 0
check "signal during set-up: exit 0" '[ $rc = 0 ]'
check "signal during set-up: seen" 'grep -q "SIGUSR1: time limit near" "$work/out"'
check "signal during set-up: continuation submitted" 'grep -q "^sbatch " "$CALLS"'
link starting 0
check "signal while starting: exit 0" '[ $rc = 0 ]'
check "signal while starting: said so" 'grep -q "stopped by the forwarded signal while starting" "$work/out"'
check "signal while starting: continuation submitted" 'grep -q "^sbatch " "$CALLS"'
check "signal while starting: an idle link" 'grep -q "no new checkpoint in this link (1 in a row)" "$work/out"'
check "signal while starting: resumes the checkpoints" 'grep -q "^mpirun .*--resume latest" "$CALLS"'
link starting 2
check "third idle link: exit 1" '[ $rc = 1 ]'
check "third idle link: no continuation" '! grep -q "^sbatch " "$CALLS"'
check "third idle link: report job cancelled" 'grep -q "^scancel 42" "$CALLS"'
link self 0
check "unforwarded SIGUSR1: stops with 138" '[ $rc = 138 ]'
check "unforwarded SIGUSR1: report job cancelled, no continuation" 'grep -q "^scancel 42" "$CALLS" && ! grep -q "^sbatch " "$CALLS"'
link fail 0
check "failure: stops with its code" '[ $rc = 1 ] && grep -q "gcnn exited with 1" "$work/out"'
exit $fail
