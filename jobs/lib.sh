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

# gcnn_start_args: how to start gcnn run in the current directory; sets the
# array GCNN_START_ARGS. Resume from the newest checkpoint if there is one.
gcnn_start_args() {
  if compgen -G "results.ckpt/ckpt.*.h5" > /dev/null; then
    GCNN_START_ARGS=(--resume latest)
  else
    # No checkpoint yet: whatever an earlier attempt wrote cannot be continued.
    GCNN_START_ARGS=(--overwrite)
  fi
}

# gcnn_link SCRIPT WORKDIR [gcnn run options...]   (SCRIPT: the batch script, for resubmission)
gcnn_link() {
  local script=$1 work=$2
  shift 2
  local given=("$@")
  mkdir -p "$work" && cd "$work" || { log "cannot enter $work"; exit 1; }
  local args=(run --output results.h5 "$@")
  gcnn_start_args
  args+=("${GCNN_START_ARGS[@]}")
  log "$GCNN_MPIRUN -np ${SLURM_NTASKS:-1} gcnn ${args[*]}"
  # shellcheck disable=SC2086
  $GCNN_MPIRUN -np "${SLURM_NTASKS:-1}" $GCNN_MPIRUN_FLAGS "$GCNN_BIN" "${args[@]}" &
  local pid=$! rc
  # SLURM signals the batch shell only (--signal=B:USR1@LEAD); mpirun
  # forwards USR1 to every rank, which checkpoints at the next step. Open
  # MPI's mpirun does not forward SIGTERM or SIGINT: it kills the job (the
  # ranks still checkpoint) and exits 1, which would end the chain as failed.
  # So a SIGTERM (scancel) reaches mpirun as SIGUSR1, and mpirun returns 75.
  trap 'log "SIGUSR1: time limit near, asking gcnn to checkpoint"; kill -USR1 $pid 2> /dev/null' USR1
  trap 'log "SIGTERM: asking gcnn to checkpoint (sent as SIGUSR1, which mpirun forwards)"; kill -USR1 $pid 2> /dev/null' TERM
  while :; do
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2> /dev/null || break  # wait returned for a trapped signal: gcnn still runs
  done
  trap - USR1 TERM
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
