#!/usr/bin/env bash
# Bad input: one clear message naming the problem, exit code 2 on every
# rank count, and nothing written (an existing output is never replaced).
# `expect` runs gcnn as a singleton (no launcher: how a user meets most
# refusals, and a third of the processor time of mpirun -np 2); `expect2` on
# 2 ranks, for the refusals that come from a collective step or from the
# file system (one rank finds the problem, every rank must exit 2).
# usage: cli_bad_input.sh GCNN MPIEXEC WORKDIR
set -uo pipefail
gcnn=$1 mpiexec=$2 dir=$3
rm -rf "$dir"; mkdir -p "$dir"
fail=0
# expect "needle" args...: runs in the background (up to 3 at a time: most of
# each is MPI start-up waiting, not CPU), in its own directory: the output
# path "$dir/out.h5" in the arguments becomes that directory's. expect_all
# waits for them and prints their lines in order.
n_expect=0
expect() { expect_np 1 "$@"; }
expect2() { expect_np 2 "$@"; }
expect_np() {
  n_expect=$((n_expect + 1))
  while [ "$(jobs -rp | wc -l)" -ge 3 ]; do wait -n; done
  expect_one "$n_expect" "$@" > "$dir/expect.$n_expect.log" 2>&1 &
}
expect_one() {
  local d="$dir/e$1" np=$2 needle=$3 a args=() launch=("$gcnn")
  shift 3
  mkdir -p "$d"
  for a in "$@"; do [ "$a" = "$dir/out.h5" ] && a=$d/out.h5; args+=("$a"); done
  [ "$np" = 1 ] || launch=("$mpiexec" --oversubscribe -n "$np" "$gcnn")
  "${launch[@]}" "${args[@]}" > "$d/stdout" 2> "$d/stderr"
  local rc=$?
  if [ $rc -ne 2 ]; then echo "FAIL ($*, $np rank(s)): exit $rc, want 2"; cat "$d/stderr"; return; fi
  if ! grep -qF -- "$needle" "$d/stderr"; then echo "FAIL ($*): message lacks '$needle':"; cat "$d/stderr"; return; fi
  if [ "$(grep -c 'gcnn: error' "$d/stderr")" -ne 1 ]; then echo "FAIL ($*): want exactly one message"; cat "$d/stderr"; return; fi
  if [ -e "$d/out.h5" ] || [ -e "$d/out.gcnn.log" ]; then echo "FAIL ($*): wrote $d/out.h5 or its log"; return; fi
  echo "ok ($np): $* -> $(head -1 "$d/stderr")"
}
expect_all() {
  wait
  local i
  for i in $(seq 1 "$n_expect"); do
    cat "$dir/expect.$i.log"
    grep -q '^FAIL' "$dir/expect.$i.log" && fail=1
  done
}
o="--output $dir/out.h5"
expect2 "model.T = '-1' is out of range" run --model.T -1 $o
expect "model.T = '0' is out of range" run --model.T 0 $o
expect "model.K = '4' is out of range" run --model.K 4 $o
expect "model.M = '0' is out of range" run --model.M 0 $o
expect "model.mu = 'abc' is not a number" run --model.mu abc $o
expect "grid.lo must be below grid.hi" run --grid.lo 3 --grid.hi 1 $o
expect "must have 1 or 2 values" run --model.K 2 --grid.n 4,4,4 $o
expect "unrecognised option" run --model.bogus 1 $o
printf '[model]\nM = 10\nchemical_potential = 3\n' > "$dir/typo.ini"
expect2 "unknown key 'model.chemical_potential'" run --config "$dir/typo.ini" $o
expect2 "cannot read config file" run --config "$dir/missing.ini" $o
expect "is not a regular file (it is a directory)" run --config "$dir" $o
expect "is not a regular file" run --config /dev/zero $o
mkfifo "$dir/fifo.ini"
expect "is not a regular file" run --config "$dir/fifo.ini" $o
expect "output.file is empty" run --output ''
expect2 "exists and is not a regular file" run --output /dev/null --overwrite
mkdir -p "$dir/c.ckpt"
expect2 "lies in the checkpoint directory" run --output "$dir/c.ckpt/r.h5" --checkpoint.dir "$dir/c.ckpt"
# Styles come from their registries (a static library would drop a
# self-registering style nobody references; the binary must know them all).
expect "model.loss = 'quartic' is not a valid choice; allowed: one of {harmonic, double_well, none}" run --model.loss quartic $o
expect "learning.mode = 'adam' is not a valid choice; allowed: one of {mean, sampled, mala, frozen}" run --learning.mode adam $o
expect "solver.potential = 'morse' is not a valid choice; allowed: one of {learning_equilibrium, harmonic, double_well, free}" solve --solver.potential morse $o
for style in "--model.loss harmonic" "--model.loss double_well" "--model.loss none --model.periodic true" \
             "--learning.mode mean" "--learning.mode sampled" "--learning.mode mala" "--learning.mode frozen"; do
  if "$gcnn" run $style --model.M 8 --model.rho 4 --run.steps 2 \
       --run.progress_seconds 0 --checkpoint.at_end false --output "$dir/style.h5" --overwrite > "$dir/stdout" 2> "$dir/stderr"; then
    echo "ok: run $style"
  else
    echo "FAIL: run $style"; cat "$dir/stderr"; fail=1
  fi
done
expect "unknown command 'rnu'" rnu
echo "not hdf5" > "$dir/junk.h5"
expect "cannot open" digest "$dir/junk.h5"
expect2 "grid too coarse for the potential: E_0" solve --grid.n 10 $o
expect "needs more than the grid" solve --solver.potential harmonic --grid.n 4 $o
expect "grid too coarse for the potential: cell size" solve --solver.potential harmonic --solver.hbar 0.01 --grid.n 20 $o
expect2 "cannot open" verify --results "$dir/junk.h5"
# A grid too coarse for the learning equilibrium verify compares with is
# refused by run and config before anything is written (24 cells resolve the
# demo's double well, 12 do not), and runs with grid.check = false.
expect2 "raise grid.n" run --grid.n 12 $o
expect2 "grid too coarse for the potential" config --grid.n 12
if "$mpiexec" --oversubscribe -n 2 "$gcnn" config --grid.n 24 > /dev/null 2> "$dir/stderr"; then echo "ok: config --grid.n 24"
else echo "FAIL: config --grid.n 24 refused"; cat "$dir/stderr"; fail=1; fi
if "$mpiexec" --oversubscribe -n 2 "$gcnn" run --grid.n 12 --grid.check false --model.M 8 --model.rho 4 --run.steps 2 \
     --run.progress_seconds 0 --checkpoint.at_end false --output "$dir/coarse.h5" > /dev/null 2> "$dir/stderr"; then
  echo "ok: run --grid.n 12 --grid.check false"
else
  echo "FAIL: run --grid.n 12 --grid.check false"; cat "$dir/stderr"; fail=1
fi

# Per-command help: exit 0; each command lists only the keys it reads;
# gcnn config --help lists exactly the keys gcnn config prints, and each of
# them is read by some command.
keys() { grep -E '^  [a-z]+\.[A-Za-z0-9_]+$' | sed 's/^  //' | sort; }
for c in run solve verify digest config bench; do
  "$gcnn" $c --help > "$dir/help_$c" 2> "$dir/stderr" ||
    { echo "FAIL: gcnn $c --help exited $?"; cat "$dir/stderr"; fail=1; }
  keys < "$dir/help_$c" > "$dir/keys_$c"
done
"$gcnn" --help > "$dir/help_top" || { echo "FAIL: gcnn --help exited $?"; fail=1; }
for c in run solve verify digest config bench; do
  grep -q "^  gcnn $c " "$dir/help_top" || { echo "FAIL: gcnn --help does not list $c"; fail=1; }
done
help_has() {  # help_has COMMAND yes|no KEY...
  local c=$1 want=$2; shift 2
  for k in "$@"; do
    if grep -qx -- "$k" "$dir/keys_$c"; then got=yes; else got=no; fi
    [ "$got" = "$want" ] || { echo "FAIL: gcnn $c --help lists $k: $got, want $want"; fail=1; }
  done
}
help_has run yes model.M learning.eta quench.step run.max_hours grid.n grid.check checkpoint.every output.file
help_has run no solver.dt solver.potential verify.burn_in
help_has solve yes solver.dt solver.potential model.mu learning.Tq grid.n output.file
help_has solve no checkpoint.every quench.step verify.burn_in run.max_hours
help_has verify yes verify.burn_in solver.petsc
help_has verify no model.M checkpoint.every
[ -s "$dir/keys_digest" ] && { echo "FAIL: gcnn digest --help lists keys"; fail=1; }
grep -q "usage: gcnn digest FILE" "$dir/help_digest" || { echo "FAIL: gcnn digest --help"; fail=1; }
"$gcnn" config --grid.check false | awk '/^\[/ { sec = substr($0, 2, length($0) - 2); next } /=/ { print sec "." $1 }' | sort > "$dir/keys_all"
cmp -s "$dir/keys_all" "$dir/keys_config" || { echo "FAIL: config --help keys differ from gcnn config's"; diff "$dir/keys_all" "$dir/keys_config"; fail=1; }
cat "$dir"/keys_run "$dir"/keys_solve "$dir"/keys_verify "$dir"/keys_bench | sort -u | cmp -s - "$dir/keys_all" ||
  { echo "FAIL: keys no command reads"; fail=1; }
echo "ok: per-command help ($(wc -l < "$dir/keys_run") keys for run, $(wc -l < "$dir/keys_solve") for solve, $(wc -l < "$dir/keys_verify") for verify, $(wc -l < "$dir/keys_all") in all)"
# An existing output file survives a run without --overwrite.
echo "precious" > "$dir/keep.h5"
"$mpiexec" --oversubscribe -n 2 "$gcnn" run --run.steps 1 --output "$dir/keep.h5" > /dev/null 2> "$dir/stderr"
rc=$?
if [ $rc -ne 2 ] || [ "$(cat "$dir/keep.h5")" != "precious" ] || ! grep -q "exists; pass --overwrite" "$dir/stderr"; then
  echo "FAIL: existing output: exit $rc"; cat "$dir/stderr"; fail=1
else
  echo "ok: existing output kept"
fi
expect_all
exit $fail
