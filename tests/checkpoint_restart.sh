#!/usr/bin/env bash
# Checkpoint/restart end to end (README "Restart").
# usage: checkpoint_restart.sh GCNN MPIEXEC MODE WORKDIR
#   chain    S steps uninterrupted on 2 ranks vs interrupted at S/3 and 2S/3,
#            resumed on 2 -> 3 -> 1 ranks: same digest, same observables
#   kill9    kill -9 while the 2S/3 checkpoint is being written: resume uses
#            the S/3 one, truncates the results file and reaches the same digest
#   corrupt  flipped bytes and truncation are detected (exit 2, file named);
#            --resume latest falls back to the older checkpoint and says so
#   signal   SIGUSR1 through mpirun and SIGTERM to a singleton: checkpoint and
#            exit 75; the continuation equals an uninterrupted run
#   refuse   physics changes and a foreign results file are refused (exit 2)
#   crafted  intact files holding impossible states (sample count, counters,
#            theta(id), a duplicated neuron) are refused before the results
#            file is touched; a schema-2 checkpoint still resumes exactly
set -uo pipefail
gcnn=$1 mpiexec=$2 mode=$3 dir=$4/$3
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
cat > run.ini <<'INI'
[model]
M = 300
rho = 16
K = 2
mu = -1
[learning]
mode = sampled
eta = 0.004
[exchange]
every = 2
[run]
steps = 600
seed = 4242
progress_seconds = 0
[grid]
n = 12
check = false
[observables]
sample_every = 40
particles = 7
[checkpoint]
every = 200
INI
fail() { echo "FAIL: $*"; exit 1; }
run() {  # run NP ARGS...: gcnn run on NP ranks, log to run.log, return its exit code
  local np=$1; shift
  "$mpiexec" --oversubscribe -n "$np" "$gcnn" run --config run.ini "$@" >> run.log 2>&1
}
digest_of() { "$gcnn" digest "$1" | awk '{print $2}'; }
expect_rc() {  # expect_rc CODE PATTERN CMD...: exit code and a message matching PATTERN
  local want=$1 pat=$2; shift 2
  "$@" > out.txt 2>&1; local rc=$?
  cat out.txt
  [ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $*"
  grep -Eq "$pat" out.txt || fail "message does not match /$pat/"
}

reference() {  # uninterrupted run on 2 ranks
  run 2 --output full.h5 || fail "reference run"
  digest_of full.h5
}

case $mode in
chain)
  ref=$(reference)
  run 2 --output part.h5 --run.steps 200 || fail "segment 1"
  run 3 --output part.h5 --run.steps 400 --resume latest || fail "segment 2 (3 ranks)"
  run 1 --output part.h5 --resume latest || fail "segment 3 (1 rank)"
  got=$(digest_of part.h5)
  echo "uninterrupted $ref, resumed 2->3->1 ranks $got"
  # Both resumes took the grand-potential tables from the checkpoint.
  skipped=$(grep -c 'analytic Omega: .*loaded from the checkpoint, setup skipped' run.log)
  [ "$skipped" = 2 ] || fail "expected 2 resumes that skip the setup, saw $skipped"
  [ "$got" = "$ref" ] || fail "digests differ"
  $py "$here/compare_results.py" full.h5 part.h5 || fail "observables differ"
  # The checkpoint holds the same digest as the run printed at its step.
  [ "$(digest_of part.ckpt/ckpt.000000000600.h5)" = "$ref" ] || fail "final checkpoint digest"
  ;;
kill9)
  ref=$(reference)
  GCNN_TEST_CHECKPOINT_PAUSE=400:60 "$mpiexec" --oversubscribe -n 2 "$gcnn" run --config run.ini \
    --output crash.h5 > crash.log 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do [ -e crash.ckpt/ckpt.000000000400.h5.tmp ] && break; sleep 0.1; done
  [ -e crash.ckpt/ckpt.000000000400.h5.tmp ] || fail "the paused write never started"
  sleep 0.5
  pkill -9 -f "gcnn run --config run.ini --output crash.h5"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  ls crash.ckpt
  [ -e crash.ckpt/ckpt.000000000200.h5 ] || fail "the older checkpoint is gone"
  [ ! -e crash.ckpt/ckpt.000000000400.h5 ] || fail "an incomplete checkpoint has the final name"
  run 2 --output crash.h5 --resume latest || fail "resume after kill -9"
  grep -q "resuming from crash.ckpt/ckpt.000000000200.h5" run.log || fail "did not resume from step 200"
  got=$(digest_of crash.h5)
  echo "uninterrupted $ref, after kill -9 and resume $got"
  [ "$got" = "$ref" ] || fail "digests differ"
  $py "$here/compare_results.py" full.h5 crash.h5 || fail "observables differ (truncation of the results file)"
  ;;
corrupt)
  run 2 --output c.h5 || fail "run"
  good=c.ckpt/ckpt.000000000600.h5
  size=$(stat -c %s $good)
  for frac in 20 40 60 80; do
    cp $good flip.h5
    off=$((size * frac / 100))
    printf '\xff\x00\xa5' | dd of=flip.h5 bs=1 seek=$off conv=notrunc status=none
    expect_rc 2 "flip.h5" "$mpiexec" --oversubscribe -n 2 "$gcnn" run --config run.ini --output c2.h5 \
      --resume flip.h5
  done
  # One flipped byte inside each bulk array (unfiltered storage) is caught by
  # its positional checksum, on a different rank count than the writer's.
  for ds in neuron_id neuron_c neuron_w; do
    off=$("$py" -c "import h5py,sys; d=h5py.File(sys.argv[1],'r')['state/'+sys.argv[2]]; print(d.id.get_offset() + d.id.get_storage_size()//3)" $good $ds)
    cp $good flip.h5
    printf '\x5a' | dd of=flip.h5 bs=1 seek=$off conv=notrunc status=none
    cmp -s $good flip.h5 && printf '\xa5' | dd of=flip.h5 bs=1 seek=$off conv=notrunc status=none
    expect_rc 2 "flip.h5.*checksum of /state/$ds does not match" "$mpiexec" --oversubscribe -n 3 "$gcnn" run \
      --config run.ini --output c2.h5 --resume flip.h5
  done
  cp $good trunc.h5; truncate -s $((size / 2)) trunc.h5
  expect_rc 2 "trunc.h5" "$gcnn" run --config run.ini --output c2.h5 --resume trunc.h5
  expect_rc 2 "missing.h5" "$gcnn" run --config run.ini --output c2.h5 --resume missing.h5
  # Damage the newest: latest falls back to the older one, says so, and finishes.
  printf '\xff\xff\xff\xff' | dd of=$good bs=1 seek=$((size / 2)) conv=notrunc status=none
  expect_rc 0 "falling back to the older checkpoint c.ckpt/ckpt.000000000400.h5" \
    "$mpiexec" --oversubscribe -n 2 "$gcnn" run --config run.ini --output c.h5 --resume latest
  ;;
signal)
  # SIGUSR1 to mpirun (what SLURM's --signal sends): forwarded, checkpoint, exit 75.
  "$mpiexec" --oversubscribe -n 2 "$gcnn" run --config run.ini --output sig.h5 --run.steps 100000000 \
    --run.progress_seconds 0.2 > sig.log 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q '^\[gcnn\] step' sig.log && break; sleep 0.1; done
  kill -USR1 $pid; wait $pid; rc=$?
  cat sig.log | grep -v '^\[gcnn\] step' | tail -3
  [ "$rc" = 75 ] || fail "SIGUSR1: exit $rc, expected 75"
  ck=$(ls sig.ckpt | tail -1); k=$((10#$(echo "$ck" | sed 's/ckpt\.\([0-9]*\)\.h5/\1/')))
  echo "checkpointed at step $k"
  # Continue 100 steps beyond it on 1 rank; compare with an uninterrupted run to k+100 on 2 ranks.
  run 1 --output sig.h5 --resume latest --run.steps $((k + 100)) || fail "resume after SIGUSR1"
  run 2 --output plain.h5 --run.steps $((k + 100)) || fail "uninterrupted run"
  [ "$(digest_of sig.h5)" = "$(digest_of plain.h5)" ] || fail "continuation after SIGUSR1 differs"
  # SIGTERM to a singleton process.
  "$gcnn" run --config run.ini --output term.h5 --run.steps 100000000 --run.progress_seconds 0.2 > term.log 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q '^\[gcnn\] step' term.log && break; sleep 0.1; done
  kill -TERM $pid; wait $pid; rc=$?
  grep -v '^\[gcnn\] step' term.log | tail -2
  [ "$rc" = 75 ] || fail "SIGTERM: exit $rc, expected 75"
  grep -q "signal 15" term.log || fail "SIGTERM not reported"
  ls term.ckpt/ckpt.*.h5 > /dev/null || fail "no checkpoint after SIGTERM"
  # SIGTERM during setup (the ~5 s mean-field Omega of a million neurons):
  # exit 75 before any step, no checkpoint, nothing to resume from.
  "$gcnn" run --model.M 16384 --run.steps 10 --output setup.h5 --run.progress_seconds 0 > setup.log 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q '^gcnn run: M' setup.log && break; sleep 0.05; done
  kill -TERM $pid; wait $pid; rc=$?
  tail -1 setup.log
  [ "$rc" = 75 ] || fail "SIGTERM during setup: exit $rc, expected 75"
  grep -q "during setup" setup.log || fail "SIGTERM during setup not reported"
  ! ls setup.ckpt/ckpt.*.h5 > /dev/null 2>&1 || fail "a checkpoint after a signal during setup"
  # SIGUSR1 before MPI_Init (SLURM may send its warning as the job starts;
  # test hook GCNN_TEST_SIGNAL_AT_START): caught, exit 75, no checkpoint.
  GCNN_TEST_SIGNAL_AT_START=1 "$mpiexec" --oversubscribe -n 2 "$gcnn" run --run.steps 10 --output early.h5 \
    --run.progress_seconds 0 > early.log 2>&1; rc=$?
  tail -1 early.log
  [ "$rc" = 75 ] || fail "SIGUSR1 before MPI_Init: exit $rc, expected 75"
  grep -q "signal 10 .*during setup" early.log || fail "SIGUSR1 before MPI_Init not reported"
  ! ls early.ckpt/ckpt.*.h5 > /dev/null 2>&1 || fail "a checkpoint after a signal before MPI_Init"
  ;;
refuse)
  run 2 --output r.h5 || fail "run"
  expect_rc 2 "model.mu: checkpoint -1, now -0.5" "$gcnn" run --config run.ini --output r.h5 --resume latest \
    --model.mu -0.5
  expect_rc 2 "run.seed" "$gcnn" run --config run.ini --output r.h5 --resume latest --run.seed 1
  expect_rc 2 "model.M" "$gcnn" run --config run.ini --output r.h5 --resume latest --model.M 301
  # A results file of another run is refused by its run id; nothing is written to it.
  run 1 --output other.h5 --run.steps 40 --checkpoint.dir other.ckpt || fail "other run"
  before=$(md5sum < other.h5)
  expect_rc 2 "belongs to run" "$gcnn" run --config run.ini --output other.h5 --resume r.ckpt/ckpt.000000000400.h5
  [ "$(md5sum < other.h5)" = "$before" ] || fail "the foreign results file was modified"
  # Safe keys may change: a longer run continues from the final checkpoint.
  run 2 --output r.h5 --resume latest --run.steps 700 || fail "extending run.steps was refused"
  expect_rc 2 "no checkpoint in" "$gcnn" run --config run.ini --output none.h5 --resume latest
  ;;
crafted)
  ref=$(reference)
  run 2 --output k.h5 --run.steps 400 || fail "run"
  good=k.ckpt/ckpt.000000000400.h5
  before=$(md5sum < k.h5)
  refused() {  # refused PATTERN CRAFT-ARGS...: the crafted file is refused, k.h5 untouched
    local pat=$1; shift
    "$py" "$here/craft_checkpoint.py" $good bad.h5 "$@" || fail "craft $*"
    expect_rc 2 "bad.h5.*$pat" "$gcnn" run --config run.ini --output k.h5 --resume bad.h5
    [ "$(md5sum < k.h5)" = "$before" ] || fail "the results file was modified by a refused resume ($*)"
  }
  refused "n_samples -3 is impossible" n_samples -3
  refused "n_samples 0 is impossible" n_samples 0
  refused "n_samples 999 is impossible at step 400" n_samples 999
  refused "'join_accepted' is negative" counter exchange join_accepted -1
  refused "'leave_accepted' = 99999999999 exceeds 'leave_proposed'" counter exchange leave_accepted 99999999999
  refused "'accepted' = 5 exceeds 'proposed' = 0" counter learning accepted 5
  refused "'join_proposed_at_sample' = 99999999999 exceeds 'join_proposed'" \
    counter observables join_proposed_at_sample 99999999999
  refused "differ from theta\(id\)" theta
  refused "not each of 0 .. R-1 exactly once" dup_id
  refused "grand_potential/omega holds a non-finite value" gp_nan
  # The older schema (one anonymous counters array) still resumes exactly:
  # same digest and same acceptance rates as an uninterrupted run.
  "$py" "$here/craft_checkpoint.py" $good old.h5 schema2 || fail "craft schema2"
  : > run.log
  run 3 --output k.h5 --resume old.h5 || fail "resume from a schema-2 checkpoint"
  grep -q 'checkpoint has no grand-potential tables.*solving the setup again' run.log ||
    fail "a checkpoint without tables should say that the setup is solved again"
  [ "$(digest_of k.h5)" = "$ref" ] || fail "schema-2 resume: digest differs"
  $py "$here/compare_results.py" full.h5 k.h5 || fail "schema-2 resume: observables differ"
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "PASS: $mode"
