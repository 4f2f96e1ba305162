#!/bin/bash
# Single-host Slurm 22.05 (Debian 12) with accounting (sacct) via slurmdbd+MariaDB.
# Usage: bash slurm-up.sh [NUM_NODES]   (default 1; 2 simulates two nodes node1,node2 on 127.0.0.1)
# From ../shared/INFRA.md (section 1), plus: memory limits enforced by sampling each job's memory every
# second (OverMemoryKill: a job over its --mem ends OUT_OF_MEMORY, as on clusters with cgroups).
# Stop it with infra/slurm-down.sh.
set -euo pipefail
NODES=${1:-1}
export DEBIAN_FRONTEND=noninteractive
command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null || {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm slurmdbd munge mariadb-server >/dev/null
}
# --- munge (auth) ---
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
[ -s /etc/munge/munge.key ] || { mungekey -c -f -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
# liveness is checked functionally, not with pgrep: a stopped daemon can linger as a zombie that pgrep still matches
munge -n </dev/null >/dev/null 2>&1 || su -s /bin/sh munge -c /usr/sbin/munged
for i in $(seq 1 40); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.25; done
# --- MariaDB + slurmdbd (only needed for sacct) ---
mysqladmin ping >/dev/null 2>&1 || service mariadb start >/dev/null
mysql -u root -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpass';
                  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurmdbd.conf <<'EOF'
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmpass
StorageLoc=slurm_acct_db
EOF
chmod 600 /etc/slurm/slurmdbd.conf
(exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null || slurmdbd
for i in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null && break; sleep 0.5; done
# --- slurm.conf ---
CONF=/etc/slurm/slurm.conf.new
cat > $CONF <<'EOF'
ClusterName=toiltest
SlurmctldHost=localhost
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd/%n
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=256
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=300
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
EOF
for n in $(seq 1 "$NODES"); do
  echo "NodeName=node$n NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((6818 + 10*(n-1))) CPUs=2 RealMemory=4096 State=UNKNOWN" >> $CONF
done
# dynamic nodes (slurmd -Z): the autoscaling tests' stand-in machines join under their instances' names
# (those with the feature 'cloud' form the partition 'cloud'; a FUTURE node, never started, lets that partition
# take jobs before the autoscaler has started any; the default partition names its own nodes, so neither joins it)
echo "MaxNodeCount=64" >> $CONF
echo "NodeName=cloud-reserve CPUs=8 RealMemory=32768 Feature=cloud State=FUTURE" >> $CONF
echo "NodeSet=cloudnodes Feature=cloud" >> $CONF
echo "PartitionName=debug Nodes=node[1-$NODES] Default=YES MaxTime=INFINITE State=UP" >> $CONF
echo "PartitionName=cloud Nodes=cloudnodes MaxTime=INFINITE State=UP" >> $CONF
# a controller left running with another configuration (say, another node count) is stopped first
if ! cmp -s $CONF /etc/slurm/slurm.conf && pgrep -x slurmctld >/dev/null; then
  bash "$(dirname "$0")/slurm-down.sh" --keep-dbd
  for i in $(seq 1 150); do pgrep -x slurmctld >/dev/null || pgrep -f "^slurmd -N" >/dev/null || break; sleep 0.2; done
fi
mv $CONF /etc/slurm/slurm.conf
# a slurmctld that was just told to shut down may still be saving state: wait for it to exit
if ! timeout 5 scontrol ping 2>/dev/null | grep -q UP; then
  while pgrep -f '^slurmctld' >/dev/null; do sleep 0.2; done
  slurmctld
fi
# start slurmd only once the controller answers (a slurmd that starts first backs off for minutes between registration tries)
end=$((SECONDS + 60))
until timeout 5 scontrol ping 2>/dev/null | grep -q UP; do
  [ $SECONDS -ge $end ] && { echo "slurmctld not up; see /var/log/slurm/slurmctld.log" >&2; exit 1; }; sleep 0.5
done
for n in $(seq 1 "$NODES"); do pgrep -f "slurmd -N node$n\$" >/dev/null || { mkdir -p /var/spool/slurmd/node$n; slurmd -N node$n; }; done
# readiness: all nodes idle. Bound each sinfo: with no reachable slurmctld, one sinfo call retries for about 10 s.
end=$((SECONDS + 60))
until [ "$(timeout 5 sinfo -h -N -t idle -o %N 2>/dev/null | wc -l)" -ge "$NODES" ]; do
  [ $SECONDS -ge $end ] && { echo "slurm not ready; see /var/log/slurm/*.log" >&2; exit 1; }; sleep 0.5
done
sinfo -N
