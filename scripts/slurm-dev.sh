#!/usr/bin/env bash
# A single-node Slurm for development and CI: `scripts/slurm-dev.sh up|down|status|env`.
#
#   up      installs Debian's slurm-wlm and munge if missing (apt-get, as root), writes a
#           single-node configuration under $STUDIO_SLURM_DIR (default /tmp/studio-slurm),
#           starts munged, slurmctld and slurmd without systemd, and waits until the
#           node is idle. Running it again while the cluster answers does nothing.
#   down    stops the three daemons (by the pids in their pid files) and removes the folder.
#   status  exits 0 when the cluster answers and its node is idle or in use.
#   env     prints `export SLURM_CONF=...`: Slurm's commands (sbatch, squeue, ...) and
#           `studio worker` on a slurm target need it, e.g. `eval "$(scripts/slurm-dev.sh env)"`.
#
# Munge auth, ProctrackType=proctrack/cgroup when cgroup v2 can be used here, else
# proctrack/linuxproc; KillWait=5; no accounting daemon (sacct is not available).
# The node offers STUDIO_SLURM_CPUS CPUs (default 16, more than the machine has, so
# that a few jobs of tests run side by side on a 2-core box).
set -euo pipefail

DIR="${STUDIO_SLURM_DIR:-/tmp/studio-slurm}"
CPUS="${STUDIO_SLURM_CPUS:-16}"
CONF="$DIR/slurm.conf"
NODE="$(hostname -s)"
export SLURM_CONF="$CONF"

log() { echo "slurm-dev: $*" >&2; }

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "slurm-wlm and munge are missing and installing them needs root"; exit 1
  fi
  log "installing slurm-wlm and munge from Debian"
  # Keep the packages' init scripts from starting daemons with the system's config.
  local policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; added=1; fi
  (apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1) \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null)
  [ "$added" -eq 1 ] && rm -f "$policy"
  return 0
}

answers() {
  [ -f "$CONF" ] || return 1
  local state
  state="$(timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1)" || return 1
  case "$state" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

proctrack() {
  # cgroup v2 mounted and writable, with the cpu controller: Slurm's cgroup plugins work.
  if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup/cgroup.subtree_control ] \
    && grep -qw cpu /sys/fs/cgroup/cgroup.controllers \
    && [ -f /usr/lib/x86_64-linux-gnu/slurm-wlm/proctrack_cgroup.so ] \
    && [ "${STUDIO_SLURM_CGROUP:-0}" = 1 ]; then
    echo cgroup
  else
    echo linuxproc
  fi
}

write_config() {
  mkdir -p "$DIR"/{state,spool,log,munge}
  chmod 700 "$DIR/munge"
  if [ ! -f "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  local track; track="$(proctrack)"
  cat >"$CONF" <<CONF
# Written by scripts/slurm-dev.sh: a one-node cluster for development and tests.
ClusterName=studio-dev
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${STUDIO_SLURM_PORT:-6817}
SlurmdPort=$(( ${STUDIO_SLURM_PORT:-6817} + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/$track
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmdTimeout=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$NODE CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
  if [ "$track" = cgroup ]; then
    printf 'CgroupPlugin=cgroup/v2\nConstrainCores=no\n' >"$DIR/cgroup.conf"
  fi
}

start() {
  if [ ! -S "$DIR/munge/munge.socket" ] || ! munge -n -S "$DIR/munge/munge.socket" >/dev/null 2>&1; then
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
      --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
      --seed-file="$DIR/munge/munged.seed"
  fi
  for _ in $(seq 1 50); do munge -n -S "$DIR/munge/munge.socket" >/dev/null 2>&1 && break; sleep 0.1; done
  slurmctld -f "$CONF"
  slurmd -f "$CONF"
  for _ in $(seq 1 300); do
    if answers; then log "node $NODE idle (SLURM_CONF=$CONF)"; return 0; fi
    sleep 0.1
  done
  log "the node did not become idle in 30 s; logs in $DIR/log"
  tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  exit 1
}

stop_pidfile() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

case "${1:-}" in
  up)
    install
    if answers; then log "already up (SLURM_CONF=$CONF)"; exit 0; fi
    # Leftovers of an earlier cluster in this folder (a reboot, a killed CI): stop them first.
    stop_pidfile "$DIR/slurmd.pid"; stop_pidfile "$DIR/slurmctld.pid"
    write_config
    start
    ;;
  down)
    stop_pidfile "$DIR/slurmd.pid"
    stop_pidfile "$DIR/slurmctld.pid"
    stop_pidfile "$DIR/munge/munged.pid"
    rm -rf "$DIR"
    log "stopped"
    ;;
  status)
    answers
    ;;
  env)
    echo "export SLURM_CONF=$CONF"
    ;;
  *)
    echo "usage: $0 up|down|status|env" >&2; exit 2
    ;;
esac
