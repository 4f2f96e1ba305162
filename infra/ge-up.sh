#!/bin/bash
# From ../shared/INFRA.md (section 2). Single-host (Son of) Grid Engine 8.1.9 from Debian 12: qmaster + execd on localhost, queue all.q (2 slots),
# parallel environments "smp" and "shm", root allowed to submit, 1 s scheduling interval.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
command -v sge_qmaster >/dev/null || [ -x /usr/lib/gridengine/sge_qmaster ] || {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends gridengine-master gridengine-exec gridengine-client >/dev/null
}
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
C=$SGE_ROOT/$SGE_CELL/common
# hostname (e.g. "vm") resolves to 127.0.0.1, which reverse-resolves to "localhost": make SGE treat them as one host
echo "localhost $(hostname)" > $C/host_aliases
echo localhost > $C/act_qmaster
pgrep -x sge_qmaster >/dev/null || /etc/init.d/gridengine-master start >/dev/null
for i in $(seq 1 60); do qconf -sh >/dev/null 2>&1 && break; sleep 0.5; done
T=$(mktemp -d)
# qconf -m*/-a* open $EDITOR on a template; these one-file editors rewrite it non-interactively.
# The 'sleep 1' matters: an edit within the same second is reported as "unchanged" and silently dropped.
cat > $T/conf.sh <<'EOF'
#!/bin/sh
sleep 1   # qconf detects edits by mtime (1 s resolution)
sed -i -e 's/^min_uid .*/min_uid 0/' -e 's/^min_gid .*/min_gid 0/' -e 's/flush_time=00:00:15/flush_time=00:00:01/' "$1"
EOF
cat > $T/sconf.sh <<'EOF'
#!/bin/sh
sleep 1   # qconf detects edits by mtime (1 s resolution)
sed -i -e 's/^schedule_interval .*/schedule_interval 0:0:1/' -e 's/^flush_submit_sec .*/flush_submit_sec 1/' \
       -e 's/^flush_finish_sec .*/flush_finish_sec 1/' -e 's/^job_load_adjustments .*/job_load_adjustments NONE/' \
       -e 's/^load_adjustment_decay_time .*/load_adjustment_decay_time 0:0:0/' "$1"
EOF
cat > $T/queue.sh <<'EOF'
#!/bin/sh
sleep 1   # qconf detects edits by mtime (1 s resolution)
sed -i -e 's/^qname .*/qname all.q/' -e 's/^hostlist .*/hostlist localhost/' -e 's/^slots .*/slots 2/' \
       -e 's/^pe_list .*/pe_list smp shm/' -e 's#^shell .*#shell /bin/bash#' -e 's/^load_thresholds .*/load_thresholds NONE/' "$1"
EOF
chmod +x $T/*.sh
cat > $T/exechost <<'EOF'
hostname              localhost
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
for pe in smp shm; do cat > $T/pe-$pe <<EOF
pe_name            $pe
slots              999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
done
EDITOR=$T/conf.sh qconf -mconf >/dev/null                       # must precede execd start (execd caches min_uid)
EDITOR=$T/sconf.sh qconf -msconf >/dev/null
qconf -sel 2>/dev/null | grep -qx localhost || qconf -Ae $T/exechost >/dev/null
qconf -ss 2>/dev/null | grep -qx localhost || qconf -as localhost >/dev/null
for pe in smp shm; do qconf -spl 2>/dev/null | grep -qx $pe || qconf -Ap $T/pe-$pe >/dev/null; done
qconf -sql 2>/dev/null | grep -qx all.q || EDITOR=$T/queue.sh qconf -aq all.q >/dev/null
rm -rf $T
pgrep -x sge_execd >/dev/null || /etc/init.d/gridengine-exec start >/dev/null
# readiness: queue instance reports a load value (i.e. execd registered) and is not in an error/alarm state
for i in $(seq 1 60); do qstat -f -q all.q@localhost 2>/dev/null | grep -qE '^all\.q@localhost +BIP +[0-9]+/[0-9]+/2 +[0-9.]+ +lx-amd64 *$' && break; sleep 0.5; done
qstat -f
