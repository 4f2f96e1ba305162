#!/bin/bash
# Stop what infra/slurm-up.sh started (recipe from ../shared/INFRA.md, section 1). --keep-dbd leaves slurmdbd up.
scontrol shutdown 2>/dev/null
for i in $(seq 1 100); do pgrep -x slurmctld >/dev/null || break; sleep 0.2; done
for f in /run/slurmd-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
[ "${1:-}" = --keep-dbd ] || { [ -f /run/slurmdbd.pid ] && kill "$(cat /run/slurmdbd.pid)" 2>/dev/null; }
true
