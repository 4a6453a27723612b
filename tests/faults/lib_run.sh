# Shared by the fault-injection tests of the one-writer lock and the memory
# estimate: a small run and helpers. Sourced; expects $gcnn and $mpiexec.

# A run of ~2-5 s on this machine: long enough to be caught alive.
write_small_ini() {
  cat > "$1" <<'INI'
[model]
M = 256
rho = 16
K = 1
mu = -1
[learning]
mode = sampled
eta = 0.004
[exchange]
every = 2
[run]
steps = 8000
seed = 777
progress_seconds = 0.2
[grid]
n = 12
check = false
[observables]
sample_every = 500
[checkpoint]
every = 1000
keep = 2
INI
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for FILE PATTERN SECONDS: until a line of FILE matches
wait_for() {
  local t=0
  until grep -q "$2" "$1" 2>/dev/null; do
    sleep 0.05
    t=$((t + 1))
    [ "$t" -lt $(($3 * 20)) ] || return 1
  done
}

# expect_refusal CODE_WANTED LOG PATTERN: the last command's exit code and message
expect_exit() {
  local got=$1 want=$2 log=$3 pat=$4 what=$5
  [ "$got" = "$want" ] || { cat "$log" >&2; fail "$what: exit $got, expected $want"; }
  grep -q -- "$pat" "$log" || { cat "$log" >&2; fail "$what: no message matching '$pat'"; }
  local n
  n=$(grep -c "gcnn: error" "$log" || true)
  [ "$n" -le 1 ] || { cat "$log" >&2; fail "$what: $n error messages (one expected, from rank 0)"; }
  echo "ok   $what: exit $got, '$(grep -m1 -- "$pat" "$log" | cut -c1-160)'"
}

digest_of_log() { grep '^digest ' "$1" | awk '{print $2}'; }
