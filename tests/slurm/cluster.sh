#!/usr/bin/env bash
# A single-node SLURM cluster on localhost for the job tests.
# usage: cluster.sh start STATE_DIR | stop STATE_DIR | install
#   install  apt-get installs slurm-wlm and munge if missing (root only)
#   start    munged as the munge user, then slurmctld and slurmd from a
#            generated slurm.conf (one node, 2 CPUs, cons_tres, linuxproc,
#            task/none); waits until the node is idle
#   stop     stops the daemons started by `start`
set -euo pipefail
cmd=$1 dir=${2:-}
case $cmd in
install)
  if command -v slurmctld > /dev/null && command -v munged > /dev/null; then exit 0; fi
  [ "$(id -u)" -eq 0 ] || { echo "slurm-wlm/munge missing and not root: cannot install"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -q slurm-wlm munge || { apt-get update -q && apt-get install -y -q slurm-wlm munge; }) \
    > /tmp/gcnn-slurm-install.log 2>&1 || { echo "apt-get install slurm-wlm munge failed"; exit 1; }
  ;;
start)
  mkdir -p "$dir"/{state,spool,log}
  dir=$(cd "$dir" && pwd)
  host=$(hostname -s)
  cat > "$dir/slurm.conf" <<CONF
ClusterName=gcnntest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
InactiveLimit=0
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  # munged as the munge user
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  if ! pgrep -x munged > /dev/null; then
    runuser -u munge -- /usr/sbin/munged --force
  fi
  export SLURM_CONF=$dir/slurm.conf
  # The daemons' own start-up output goes to the log directory, not into the
  # output of the CTest test that started them.
  slurmctld -f "$dir/slurm.conf" < /dev/null >> "$dir/log/start.out" 2>&1
  slurmd -f "$dir/slurm.conf" < /dev/null >> "$dir/log/start.out" 2>&1
  for _ in $(seq 1 240); do
    if sinfo -h -o '%T' 2> /dev/null | grep -q idle; then
      # ... and it is ours: another cluster's slurmctld on the same port
      # would answer sinfo while ours died of "Address already in use".
      for p in slurmctld slurmd; do
        kill -0 "$(cat "$dir/$p.pid" 2> /dev/null)" 2> /dev/null ||
          { echo "$p did not start (another SLURM on ports 6917/6918?); logs in $dir/log"; tail -3 "$dir/log/$p.log"; exit 1; }
      done
      echo "slurm up: $(sinfo -h)"
      exit 0
    fi
    sleep 0.25
  done
  echo "slurm did not come up; logs in $dir/log"; tail -5 "$dir/log/"*.log; exit 1
  ;;
stop)
  # Jobs first (a check that failed early leaves some running), then the daemons.
  # Only while slurmctld lives: with it gone (a previous suite's stopped
  # cluster) scancel retries its connection until the timeout, 10 s for nothing.
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2> /dev/null; then
    SLURM_CONF=$dir/slurm.conf timeout 10 scancel --user "$(id -un)" 2> /dev/null || true
  fi
  pids=""
  for p in slurmd slurmctld; do
    [ -f "$dir/$p.pid" ] && pids="$pids $(cat "$dir/$p.pid")"
  done
  for pid in $pids; do kill "$pid" 2> /dev/null || true; done
  # Wait until they are gone (up to 10 s): a cluster started while the old
  # daemons were still shutting down took 14-17 s to come up, 1-4 s otherwise.
  for _ in $(seq 1 40); do
    alive=0
    for pid in $pids; do kill -0 "$pid" 2> /dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.25
  done
  ;;
*) echo "usage: cluster.sh install|start DIR|stop DIR"; exit 2 ;;
esac
