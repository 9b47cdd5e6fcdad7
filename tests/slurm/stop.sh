#!/usr/bin/env bash
# Stop the one-node cluster tests/slurm/start.sh brought up: cancel every job, stop slurmd and
# slurmctld, remove the config it wrote and its state folder. munged keeps running (other
# programs may use it). Idempotent: nothing running is not an error.
set -euo pipefail

STATE=${ROGA_SLURM_DIR:-/tmp/roga_slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by roga_bench tests/slurm/start.sh"

if ! grep -qxF "$MARK" "$CONF" 2>/dev/null; then
    echo "slurm: no cluster of tests/slurm/start.sh here ($CONF not ours); nothing to stop"
    exit 0
fi
scancel --full --quiet --user=root 2>/dev/null || true
for daemon in slurmd slurmctld; do
    pidfile="$STATE/$daemon.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        pid=$(cat "$pidfile")
        kill "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    fi
done
rm -f "$CONF"
rm -rf "$STATE"
echo "slurm: stopped"
