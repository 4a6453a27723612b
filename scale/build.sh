#!/bin/bash
# Builds the SMPI scale driver into BUILD_DIR (default build/scale-smpi):
#   bash scale/build.sh [BUILD_DIR]
# Needs SimGrid's smpicxx (Debian: libsimgrid-dev). Incremental; ccache if present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/scale-smpi}
command -v smpicxx >/dev/null || { echo "scale/build.sh: smpicxx not found (install libsimgrid-dev)" >&2; exit 2; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR=$root
cmake -S "$root/scale" -B "$out" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=smpicxx "${launcher[@]}" >/dev/null
cmake --build "$out" -j"${GCNN_SCALE_JOBS:-2}" 2>&1 | grep -E 'error|warning|Error' || true
test -x "$out/scale_driver" || { echo "scale/build.sh: build failed" >&2; exit 1; }
echo "$out/scale_driver"
