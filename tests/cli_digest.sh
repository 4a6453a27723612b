#!/usr/bin/env bash
# End to end: `gcnn run` on NP ranks prints the same state digest as on one
# rank ("ref"), and `gcnn digest FILE` prints it again from the results file.
# usage: cli_digest.sh GCNN MPIEXEC NP|ref WORKDIR
set -euo pipefail
gcnn=$1 mpiexec=$2 np=$3 dir=$4
mkdir -p "$dir"
cat > "$dir/small.ini" <<'INI'
[model]
M = 61
rho = 9
K = 2
mu = -0.8
[learning]
mode = sampled
eta = 0.005
[exchange]
every = 3
[run]
steps = 90
seed = 777
progress_seconds = 0
[grid]
n = 10
check = false
[observables]
sample_every = 30
INI
n=$np; [ "$np" = ref ] && n=1
out="$dir/run_$np.h5"
"$mpiexec" --oversubscribe -n "$n" "$gcnn" run --config "$dir/small.ini" --output "$out" --overwrite > "$dir/log_$np.txt"
printed=$(grep '^digest ' "$dir/log_$np.txt" | awk '{print $2}')
stored=$("$gcnn" digest "$out" | awk '{print $2}')
[ -n "$printed" ] || { echo "no digest printed"; exit 1; }
[ "$printed" = "$stored" ] || { echo "printed $printed but file says $stored"; exit 1; }
if [ "$np" = ref ]; then
  echo "$printed" > "$dir/reference.txt"
  echo "reference digest $printed"
else
  ref=$(cat "$dir/reference.txt")
  [ "$printed" = "$ref" ] || { echo "digest on $np ranks $printed differs from 1 rank $ref"; exit 1; }
  echo "digest on $np ranks equals 1 rank: $printed"
fi
