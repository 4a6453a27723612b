#!/usr/bin/env bash
# Issue 15 item 3: on --resume the results file is validated before anything
# in it changes. A damaged copy (one byte flipped at several offsets, or cut
# short) is refused with exit 2 and one message, and left byte for byte as
# it was; a flip that lands in sample data (not checkable) may resume (exit
# 0). Never a hang, never exit 1.
# usage: damaged_results.sh GCNN MPIEXEC NP
set -uo pipefail
gcnn=$(realpath "$1") mpiexec=$2 np=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
args=(run --model.M 256 --model.rho 16 --checkpoint.every 200 --run.progress_seconds 0
      --observables.sample_every 50 --observables.particles 5 --output o.h5)
"$mpiexec" -np "$np" "$gcnn" "${args[@]}" --run.steps 400 >out 2>err || { cat err; echo "FAIL: the reference run failed"; exit 1; }
cp o.h5 pristine.h5
cp -r o.ckpt pristine.ckpt
size=$(stat -c %s pristine.h5)
echo "results file: $size bytes"

damage() {  # damage KIND ARG: flip the byte at offset ARG, or truncate to ARG bytes
  cp pristine.h5 o.h5
  rm -rf o.ckpt && cp -r pristine.ckpt o.ckpt  # a harmless case's resume wrote checkpoints
  if [ "$1" = flip ]; then
    /usr/bin/python3 -c "
import sys
with open('o.h5', 'r+b') as f:
    f.seek($2); b = f.read(1); f.seek($2); f.write(bytes([b[0] ^ 0xff]))"
  else
    truncate -s "$2" o.h5
  fi
}

refused=0 harmless=0 failed=0
cases=()
for off in 0 9 44 200 1200 3000 $((size / 2)) $((size - 200)); do
  [ "$off" -lt "$size" ] && cases+=("flip $off")
done
for len in 0 $((size / 2)); do cases+=("cut $len"); done
for c in "${cases[@]}"; do
  damage $c
  cp o.h5 damaged.h5
  timeout 60 "$mpiexec" -np "$np" "$gcnn" "${args[@]}" --run.steps 450 --resume latest >out 2>err
  rc=$?
  msg=$(grep "gcnn: error" err | head -1 | cut -c1-150)
  case $rc in
    2)
      if ! cmp -s o.h5 damaged.h5; then echo "FAIL: $c: refused (exit 2) but the file was changed"; failed=1; fi
      if [ "$(grep -c 'gcnn: error' err)" -ne 1 ]; then echo "FAIL: $c: not exactly one message"; cat err; failed=1; fi
      refused=$((refused + 1))
      echo "$c: refused: $msg";;
    0)
      harmless=$((harmless + 1))
      echo "$c: resumed (the flip hit unchecked sample data)";;
    124)
      echo "FAIL: $c: the resume hung"; failed=1;;
    *)
      echo "FAIL: $c: exit $rc"; cat err; failed=1;;
  esac
done
echo "$refused refused, $harmless harmless, of ${#cases[@]}"
[ "$refused" -ge $(( ${#cases[@]} / 2 )) ] || { echo "FAIL: fewer than half of the damages were caught"; failed=1; }
[ $failed -eq 0 ] && echo PASS
exit $failed
