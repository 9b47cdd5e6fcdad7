#!/usr/bin/env bash
# Bring up a one-node Slurm cluster on this host for the `slurm`-marked tests (run as root).
#
# Needs Debian's `slurm-wlm` and `munge` (.ci/run installs them). Writes its state, logs and
# pid files under $ROGA_SLURM_DIR (default /tmp/roga_slurm) and the config to
# /etc/slurm/slurm.conf (the path every Slurm command reads), refusing to replace a slurm.conf
# it did not write. Idempotent: a cluster that already answers is left running. Waits until
# `sinfo` shows the node idle; exits non-zero, with the daemons' log tails, when it cannot.
#
# The node gets this host's real CPU count and memory (`slurmd -C`); the one partition `debug`
# caps jobs at 60 minutes and rejects longer ones at submission (EnforcePartLimits=ALL).
# No slurmdbd: there is no accounting, so `sacct` answers nothing (the sweep reads squeue).
set -euo pipefail

STATE=${ROGA_SLURM_DIR:-/tmp/roga_slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by roga_bench tests/slurm/start.sh"
WAIT_S=${ROGA_SLURM_WAIT_S:-60}

die() { echo "tests/slurm/start.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd and munged are started here)"
for cmd in munged slurmctld slurmd sinfo sbatch; do
    command -v "$cmd" >/dev/null || die "$cmd not found; install it: apt-get install -y slurm-wlm munge"
done

node_idle() { sinfo -h -N -o '%T' 2>/dev/null | grep -qx 'idle'; }
if node_idle && grep -qxF "$MARK" "$CONF" 2>/dev/null; then
    echo "slurm: already up ($(sinfo -h -N -o '%N %T %c CPUs %m MB'))"
    exit 0
fi

mkdir -p "$STATE/ctld" "$STATE/d" /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
if ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- munged
fi
munge -n | unmunge >/dev/null || die "munged does not answer"

if [ -e "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; not replacing it"
fi
node=$(slurmd -C | head -n 1)  # NodeName=<host> CPUs=.. ... RealMemory=..: this host, measured
host=$(hostname -s)
mkdir -p /etc/slurm
cat > "$CONF.tmp" <<CONFEOF
$MARK
ClusterName=roga
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# a requeued job waits cred_expire seconds before it may start again (default 120)
AuthInfo=cred_expire=10
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
# schedule every few seconds (default 60 s / 30 s): a requeued job starts again quickly
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
EnforcePartLimits=ALL
JobRequeue=1
# scancel: SIGTERM (which submitit ignores), then SIGKILL after KillWait seconds (default 30)
KillWait=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=60 State=UP
CONFEOF
mv "$CONF.tmp" "$CONF"

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pid_alive "$STATE/slurmctld.pid" || slurmctld -i
pid_alive "$STATE/slurmd.pid" || slurmd
scontrol reconfigure >/dev/null 2>&1 || true

for _ in $(seq "$WAIT_S"); do
    if node_idle; then
        echo "slurm: up ($(sinfo -h -N -o '%N %T %c CPUs %m MB')); state in $STATE"
        exit 0
    fi
    state=$(sinfo -h -N -o '%T' 2>/dev/null || true)
    case "$state" in down*|drain*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;; esac
    sleep 1
done
echo "tests/slurm/start.sh: node not idle after ${WAIT_S}s (sinfo: $(sinfo -h -N 2>&1))" >&2
tail -n 20 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
exit 1
