#!/usr/bin/env bash
# Golden test: every tests/golden/*.ini is run with `gcnn run` on NP ranks and
# the state digest it prints must equal the one stored in expected_digests.txt
# for this build's floating-point variant. The digest hashes the final state
# bit for bit (q, every neuron's place, the reservoir), so any change of
# results, intended or not, makes this test fail.
#
# usage: check.sh GCNN MPIEXEC NP WORKDIR VARIANT [--regenerate]
#   VARIANT  unfused: the arithmetic of every build since fm::fmadd was pinned
#            to a*b + c (docs/model-notes.md); the file format keeps the
#            column so that a future arithmetic could have its own digests.
#   --regenerate  rewrite this variant's lines of expected_digests.txt from
#            this build (after an intended change of results; record the
#            change and its reason in docs/model-notes.md).
set -euo pipefail
gcnn=$1 mpiexec=$2 np=$3 dir=$4 variant=$5 mode=${6:-check}
here=$(cd "$(dirname "$0")" && pwd)
ref="$here/expected_digests.txt"
mkdir -p "$dir"

run_case() {  # prints the digest `gcnn run` printed for case $1
  local name=$1 out="$dir/$1_np$np.h5" log="$dir/$1_np$np.log"
  "$mpiexec" --oversubscribe -n "$np" "$gcnn" run --config "$here/$name.ini" --output "$out" --overwrite \
    > "$log" 2>&1 || { echo "gcnn run failed for $name (log $log):" >&2; tail -5 "$log" >&2; return 1; }
  local printed stored
  printed=$(grep '^digest ' "$log" | awk '{print $2}')
  [ -n "$printed" ] || { echo "no digest line in $log" >&2; return 1; }
  stored=$("$gcnn" digest "$out" | awk '{print $2}')
  [ "$printed" = "$stored" ] || { echo "$name: printed $printed but the results file says $stored" >&2; return 1; }
  echo "$printed"
}

cases=()
for f in "$here"/*.ini; do cases+=("$(basename "$f" .ini)"); done

if [ "$mode" = --regenerate ]; then
  tmp="$ref.tmp"
  {
    echo "# Golden state digests of tests/golden/*.ini: variant case digest@step."
    echo "# Identical on any rank count. Regenerate after an intended change of results:"
    echo "#   bash tests/golden/check.sh build/gcnn mpiexec 1 /tmp/golden VARIANT --regenerate"
    echo "# (VARIANT unfused: every build, GCNN_NATIVE=ON or OFF)"
    echo "# and record the change in docs/model-notes.md (tests/slurm/expected_digest.txt too)."
    [ -f "$ref" ] && grep -v '^#' "$ref" | awk -v v="$variant" '$1 != v' || true
    for c in "${cases[@]}"; do echo "$variant $c $(run_case "$c")"; done
  } > "$tmp"
  mv "$tmp" "$ref"
  echo "rewrote the $variant digests in $ref:"
  grep "^$variant " "$ref"
  exit 0
fi

[ -f "$ref" ] || { echo "missing $ref" >&2; exit 1; }
fail=0
for c in "${cases[@]}"; do
  expected=$(awk -v v="$variant" -v c="$c" '$1 == v && $2 == c {print $3}' "$ref")
  if [ -z "$expected" ]; then
    echo "FAIL $c: no $variant digest in $ref"
    fail=1
    continue
  fi
  got=$(run_case "$c") || { fail=1; continue; }
  if [ "$got" = "$expected" ]; then
    echo "ok   $c $got ($np rank(s))"
  else
    echo "FAIL $c on $np rank(s):"
    echo "       expected $expected"
    echo "       got      $got"
    fail=1
  fi
done
if [ "$fail" != 0 ]; then
  cat <<EOF

A golden digest changed: the final state of a fixed configuration is no longer
bit-for-bit what it was. If the change of results is unintended, it is a bug.
If it is intended (a deliberate change of the dynamics, random streams or
arithmetic), regenerate the reference and record why in docs/model-notes.md:
  bash $here/check.sh $gcnn $mpiexec 1 $dir $variant --regenerate
EOF
  exit 1
fi
