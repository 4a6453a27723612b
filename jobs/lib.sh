# Shared by the batch scripts (sourced, not run). One link of a run chain:
# resume from the newest checkpoint if there is one, forward SLURM's warning
# signal to gcnn, and on gcnn's "checkpointed, resubmit me" exit code (75)
# continue the chain; stop it when the run is complete or on an error.
#
# Continuing (GCNN_CHAIN):
#   resubmit (default for runs): submit the next link with
#            --dependency=afterany:<this job> and the same sbatch options
#            (GCNN_SBATCH_ARGS), and move the report job's afterok onto it
#            (GCNN_REPORT_JOB). The next link starts as soon as this one ends.
#   requeue  (sweeps): scontrol requeue this job; same job id, so array
#            dependencies hold, but SLURM delays a requeued job by ~2 minutes.
#
# Environment (jobs/submit sets it): GCNN_ROOT (checkout), GCNN_BIN
# (default $GCNN_ROOT/build/gcnn), GCNN_MPIRUN (default mpirun),
# GCNN_MPIRUN_FLAGS (extra launcher flags).

: "${GCNN_ROOT:?GCNN_ROOT is not set: submit with jobs/submit or export GCNN_ROOT=/path/to/gcnn}"
GCNN_BIN=${GCNN_BIN:-$GCNN_ROOT/build/gcnn}
GCNN_MPIRUN=${GCNN_MPIRUN:-mpirun}
GCNN_MPIRUN_FLAGS=${GCNN_MPIRUN_FLAGS:-}
GCNN_EXIT_CHECKPOINTED=75

log() { echo "[gcnn-job $(date '+%F %T')] job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}): $*"; }

# The newest checkpoint of the run in the current directory ("" if none).
newest_checkpoint() { compgen -G "results.ckpt/ckpt.*.h5" | sort | tail -1; }

# gcnn_start_args: how to start gcnn run in the current directory; sets the
# array GCNN_START_ARGS. Resume from the newest checkpoint if there is one.
gcnn_start_args() {
  if [ -n "$(newest_checkpoint)" ]; then
    GCNN_START_ARGS=(--resume latest)
  else
    # No checkpoint yet: whatever an earlier attempt wrote cannot be continued.
    GCNN_START_ARGS=(--overwrite)
  fi
}

# A chain that stops unfinished cancels its report job (GCNN_REPORT_JOB),
# whose afterok dependency could never be met: SLURM would keep it pending.
cancel_report_job() {
  [ -n "${GCNN_REPORT_JOB:-}" ] || return 0
  if scancel "$GCNN_REPORT_JOB" 2> /dev/null; then
    log "report job $GCNN_REPORT_JOB cancelled: the run did not complete"
  fi
}

# chain_progress CHECKPOINT_BEFORE: a link that ends for a continuation
# without a new checkpoint made no progress; after 3 such links in a row
# (GCNN_IDLE_LINKS, passed on to the next link through sbatch's default
# --export=ALL) the chain stops instead of resubmitting itself for ever.
chain_progress() {
  if [ "$(newest_checkpoint)" != "$1" ]; then
    export GCNN_IDLE_LINKS=0
    return 0
  fi
  export GCNN_IDLE_LINKS=$((${GCNN_IDLE_LINKS:-0} + 1))
  log "no new checkpoint in this link ($GCNN_IDLE_LINKS in a row)"
  if [ "$GCNN_IDLE_LINKS" -ge 3 ]; then
    log "3 links in a row without progress: stopping the chain (is the time limit shorter than the signal lead plus the setup?)"
    cancel_report_job
    exit 1
  fi
}

# ini_value INI SECTION KEY: the value of KEY in [SECTION] of an INI text ("" if absent).
ini_value() {
  awk -v s="$2" -v k="$3" '/^\[/ { sec = substr($0, 2, length($0) - 2); next }
    sec == s && $1 == k { sub(/^[^=]*=[ ]?/, ""); print; exit }' <<< "$1"
}

# gcnn_stripe_checkpoints [gcnn run options...]: on Lustre, stripe the run's
# checkpoint directory before gcnn writes into it (a new file inherits its
# directory's layout; an existing file keeps its own). Count and size from
# GCNN_STRIPE_COUNT and GCNN_STRIPE_SIZE_MB (jobs/submit --stripe-count,
# --stripe-size-mb), else from checkpoint.stripe_count and
# checkpoint.stripe_size_mb of the run's config; 0: left to the file system.
# Skipped silently where there is no `lfs` or the directory is not on Lustre
# (`lfs getstripe` fails there); a failed setstripe is logged, not fatal.
gcnn_stripe_checkpoints() {
  command -v lfs > /dev/null 2>&1 || return 0
  local ini dir count size args=() quick=(--grid.check false) a
  # Keys only: --grid.check false skips the grid check, which would solve the
  # run's whole grand potential on this one process (the run checks it
  # anyway); not added when the options set it (a key may be given once).
  for a in "$@"; do case $a in --grid.check*) quick=() ;; esac; done
  ini=$("$GCNN_BIN" config --output results.h5 "$@" "${quick[@]}" 2> /dev/null) || return 0
  dir=$(ini_value "$ini" checkpoint dir)
  dir=${dir:-results.ckpt}
  count=${GCNN_STRIPE_COUNT:-$(ini_value "$ini" checkpoint stripe_count)}
  size=${GCNN_STRIPE_SIZE_MB:-$(ini_value "$ini" checkpoint stripe_size_mb)}
  [ "${count:-0}" = 0 ] || args+=(-c "$count")
  [ "${size:-0}" = 0 ] || args+=(-S "${size}M")
  [ ${#args[@]} -gt 0 ] || return 0
  mkdir -p "$dir" 2> /dev/null || return 0
  lfs getstripe -d "$dir" > /dev/null 2>&1 || return 0
  if lfs setstripe "${args[@]}" "$dir"; then
    log "lfs setstripe ${args[*]} $dir"
  else
    log "lfs setstripe ${args[*]} $dir failed: checkpoints get the file system's default layout"
  fi
}

# gcnn_link SCRIPT WORKDIR [gcnn run options...]   (SCRIPT: the batch script, for resubmission)
gcnn_link() {
  local script=$1 work=$2
  shift 2
  local given=("$@")
  # SLURM sends the warning signal at a time-limit check, which can come as
  # the link starts when the lead is close to the limit (0.4 s into a link
  # with --signal-lead 45 of a 1-minute limit, seen): the traps come first,
  # before the set-up below (which runs `gcnn config`), because a signal
  # before them kills this shell (USR1's default action) and ends the chain.
  # A signal before mpirun exists is forwarded as soon as it does.
  local signalled=0 before pid="" rc
  trap 'signalled=1; log "SIGUSR1: time limit near, asking gcnn to checkpoint"; [ -z "$pid" ] || kill -USR1 $pid 2> /dev/null' USR1
  trap 'signalled=1; log "SIGTERM: asking gcnn to checkpoint (sent as SIGUSR1, which mpirun forwards)"; [ -z "$pid" ] || kill -USR1 $pid 2> /dev/null' TERM
  mkdir -p "$work" && cd "$work" || { log "cannot enter $work"; exit 1; }
  local args=(run --output results.h5 "$@")
  gcnn_stripe_checkpoints "$@"
  gcnn_start_args
  args+=("${GCNN_START_ARGS[@]}")
  log "$GCNN_MPIRUN -np ${SLURM_NTASKS:-1} gcnn ${args[*]}"
  # SLURM signals the batch shell only (--signal=B:USR1@LEAD); mpirun
  # forwards USR1 to every rank, which checkpoints at the next step. Open
  # MPI's mpirun does not forward SIGTERM or SIGINT: it kills the job (the
  # ranks still checkpoint) and exits 1, which would end the chain as failed.
  # So a SIGTERM (scancel) reaches mpirun as SIGUSR1, and mpirun returns 75
  # (the traps at the top of this function).
  before=$(newest_checkpoint)
  # shellcheck disable=SC2086
  $GCNN_MPIRUN -np "${SLURM_NTASKS:-1}" $GCNN_MPIRUN_FLAGS "$GCNN_BIN" "${args[@]}" &
  pid=$!
  [ "$signalled" = 0 ] || kill -USR1 "$pid" 2> /dev/null
  while :; do
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2> /dev/null || break  # wait returned for a trapped signal: gcnn still runs
  done
  trap - USR1 TERM
  # SLURM may send the warning signal up to a minute early, even as the link
  # starts: gcnn catches it from its first line, but a rank still being
  # loaded dies of it (128 + 10). Nothing is lost (the checkpoints on disk
  # are intact): continue from them like after a checkpoint.
  if [ "$signalled" = 1 ] && [ "$rc" = $((128 + 10)) ]; then
    log "gcnn was stopped by the forwarded signal while starting, before it could checkpoint: continuing from the newest checkpoint"
    rc=$GCNN_EXIT_CHECKPOINTED
  fi
  [ "$rc" = "$GCNN_EXIT_CHECKPOINTED" ] && chain_progress "$before"
  case $rc in
    0)
      log "run complete"
      return 0
      ;;
    "$GCNN_EXIT_CHECKPOINTED")
      if [ "${GCNN_CHAIN:-resubmit}" = requeue ]; then
        log "checkpointed; requeueing to continue"
        scontrol requeue "$SLURM_JOB_ID" || { log "scontrol requeue failed: resubmit by hand"; exit 1; }
        sleep 60  # the requeue ends this allocation
        exit 0
      fi
      local next
      # shellcheck disable=SC2086
      next=$(sbatch --parsable ${GCNN_SBATCH_ARGS:-} --dependency=afterany:"$SLURM_JOB_ID" \
        "$GCNN_ROOT/jobs/$script" "$work" "${given[@]}") || { log "resubmission failed: resubmit by hand"; exit 1; }
      next=${next%%;*}
      if [ -n "${GCNN_REPORT_JOB:-}" ]; then
        scontrol update JobId="$GCNN_REPORT_JOB" Dependency=afterok:"$next" ||
          log "could not move report job $GCNN_REPORT_JOB onto $next"
      fi
      log "checkpointed; continuation job $next"
      exit 0
      ;;
    *)
      log "gcnn exited with $rc: stopping the chain (see the messages above)"
      cancel_report_job
      exit "$rc"
      ;;
  esac
}

# Sweeps (jobs/gcnn-sweep.sbatch, scripts/sweep; read by analysis/gcnn-sweep):
# SWEEPDIR/values.txt (one value a line), SWEEPDIR/KEY=VALUE/ per point with
# its complete config.ini, results.h5 and verify.txt.
sweep_value() {  # sweep_value VALUESFILE INDEX: the value on line INDEX+1
  sed -n "$(($2 + 1))p" "$1"
}

sweep_config() {  # sweep_config FILE KEY VALUE [gcnn options...]: the point's complete config (validated)
  local out=$1 key=$2 value=$3
  shift 3
  if "$GCNN_BIN" config "$@" "--$key" "$value" > "$out.tmp"; then
    mv "$out.tmp" "$out"
  else
    rm -f "$out.tmp"
    return 2
  fi
}
