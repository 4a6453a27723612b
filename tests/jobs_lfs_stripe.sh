#!/usr/bin/env bash
# jobs/lib.sh's gcnn_stripe_checkpoints against a stand-in `lfs` that logs
# its calls (no Lustre here): the checkpoint directory is striped with the
# config's checkpoint.stripe_count / stripe_size_mb, jobs/submit's
# GCNN_STRIPE_COUNT / GCNN_STRIPE_SIZE_MB take precedence, and nothing is
# called without `lfs`, off Lustre (`lfs getstripe` fails) or with 0 and 0.
# usage: jobs_lfs_stripe.sh SOURCE_DIR GCNN
set -uo pipefail
src=$(realpath "$1") gcnn=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin" "$work/run"
cat > "$work/bin/lfs" <<'LFS'
#!/usr/bin/env bash
echo "lfs $*" >> "$LFS_LOG"
[ "$1" = getstripe ] && exit "${FAKE_NOT_LUSTRE:-0}"
exit 0
LFS
chmod +x "$work/bin/lfs"
export GCNN_ROOT=$src GCNN_BIN=$gcnn LFS_LOG=$work/lfs.log
fail=0
# case NAME EXPECTED [gcnn run options...]: the setstripe call (or "none").
case_() {
  local name=$1 want=$2 got
  shift 2
  : > "$LFS_LOG"
  (cd "$work/run" && source "$src/jobs/lib.sh" && gcnn_stripe_checkpoints "$@") > /dev/null
  got=$(grep setstripe "$LFS_LOG" || echo none)
  if [ "$got" = "$want" ]; then echo "ok   $name: $got"; else echo "FAIL $name: got '$got', want '$want'"; fail=1; fi
}
PATH=$work/bin:$PATH
case_ "config keys" "lfs setstripe -c 8 -S 4M results.ckpt" --checkpoint.stripe_count 8 --checkpoint.stripe_size_mb 4
case_ "count only" "lfs setstripe -c 16 results.ckpt" --checkpoint.stripe_count 16
case_ "checkpoint.dir" "lfs setstripe -S 16M ck" --checkpoint.stripe_size_mb 16 --checkpoint.dir ck
GCNN_STRIPE_COUNT=32 GCNN_STRIPE_SIZE_MB=1 case_ "submit options win" "lfs setstripe -c 32 -S 1M results.ckpt" \
  --checkpoint.stripe_count 8 --checkpoint.stripe_size_mb 4
case_ "defaults (0, 0)" none
FAKE_NOT_LUSTRE=1 case_ "not on Lustre" none --checkpoint.stripe_count 8
PATH=${PATH#"$work/bin:"} case_ "no lfs" none --checkpoint.stripe_count 8
[ -d "$work/run/results.ckpt" ] && [ -d "$work/run/ck" ] || { echo "FAIL: checkpoint directories not created"; fail=1; }
exit $fail
