#!/bin/bash
# A one-node Kubernetes 1.20 cluster on this machine, from ../shared/INFRA.md section 3: the server binaries
# built from Debian's source package (../shared/k8s/bin/*.xz), etcd and containerd from Debian, the node
# named "localhost" on a CNI bridge. Images come from Podman (no registry): the pause image and busybox are
# imported into containerd's k8s.io namespace here, the appliance by infra/appliance.sh.
#
# The project's pods use hostNetwork, so all their traffic stays on loopback. Idempotent: a cluster whose
# node is Ready is left as it is. Writes the kubeconfig to /opt/k8s/kubeconfig (KUBECONFIG for tests).
# Tests add and remove Toil's spot labels on the node themselves.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${TOIL_SHARED_DIR:-$(cd "$HERE/../.." && pwd)/shared}
K=/opt/k8s
export KUBECONFIG=$K/kubeconfig
kc() { kubectl --request-timeout=10s "$@"; }
ready() { # the node is Ready, under an API server started with this script's flags (privileged pods allowed)
  [ -f $KUBECONFIG ] && tr '\0' ' ' 2>/dev/null <"/proc/$(cat $K/apiserver.pid 2>/dev/null)/cmdline" \
    | grep -q -- --allow-privileged=true \
    && kc get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True
}
ready && { echo "kubernetes: node localhost is Ready (already running)"; exit 0; }
# One start at a time (tests and CI may call this together): a second caller waits, then finds the node Ready.
# The daemons are started with the lock's descriptor closed (9>&-), or they would hold it for ever.
mkdir -p $K && exec 9>$K/.up.lock && flock 9
ready && { echo "kubernetes: node localhost is Ready (started meanwhile)"; exit 0; }

command -v etcd >/dev/null && command -v containerd >/dev/null && [ -x /usr/lib/cni/bridge ] \
  && command -v kubectl >/dev/null || {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends etcd-server containerd containernetworking-plugins >/dev/null
  # kubectl: this machine has Google's 1.32; Debian's 1.20 client where there is none
  command -v kubectl >/dev/null || apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
}
mkdir -p $K/bin $K/pki $K/etcd $K/log /var/lib/kubelet /etc/containerd /etc/cni/k8s.d
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
  if [ ! -x $K/bin/$b ]; then
    xz -dc "$SHARED/k8s/bin/$b.xz" > $K/bin/$b
    (cd $K/bin && grep " $b\$" "$SHARED/k8s/bin/SHA256SUMS" | sha256sum -c --quiet -) || { rm -f $K/bin/$b; exit 1; }
    chmod 755 $K/bin/$b
  fi
done

# Whatever an earlier start left (a stopped machine keeps pid files, not processes)
for f in kubelet sched kcm apiserver etcd containerd; do
  [ -f $K/$f.pid ] && kill "$(cat $K/$f.pid)" 2>/dev/null || true
done
sleep 1

cd $K
# --- credentials: a service-account key pair and a static admin token ---
[ -f pki/sa.key ] || { openssl genrsa -out pki/sa.key 2048 2>/dev/null; openssl rsa -in pki/sa.key -pubout -out pki/sa.pub 2>/dev/null; }
echo 'toiltesttoken,admin,admin,system:masters' > pki/tokens.csv
cat > $KUBECONFIG <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: toiltesttoken}
contexts:
- name: local
  context: {cluster: local, user: admin, namespace: default}
current-context: local
EOF
mkdir -p /root/.kube && [ -e /root/.kube/config ] || ln -s $KUBECONFIG /root/.kube/config

# --- etcd ---
etcd --data-dir $K/etcd --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
     --listen-peer-urls http://127.0.0.1:2380 > log/etcd.log 2>&1 9>&- & echo $! > etcd.pid
for i in $(seq 1 40); do curl -sf http://127.0.0.1:2379/health >/dev/null && break; sleep 0.25; done
# --- kube-apiserver (secure port only: 1.20 rejects --insecure-port != 0) ---
bin/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
  --secure-port=6443 --cert-dir=$K/pki --token-auth-file=$K/pki/tokens.csv --authorization-mode=AlwaysAllow \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file=$K/pki/sa.pub \
  --service-account-signing-key-file=$K/pki/sa.key --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
  > log/apiserver.log 2>&1 9>&- & echo $! > apiserver.pid
for i in $(seq 1 240); do
  curl -skf -H 'Authorization: Bearer toiltesttoken' https://127.0.0.1:6443/readyz >/dev/null && break; sleep 0.5
done
# The ServiceAccount admission plugin stays on: a pod naming an unknown service account is refused, as on a
# real cluster (--kubernetesServiceAccount). The controller-manager makes each namespace's "default" account.
bin/kube-controller-manager --kubeconfig=$KUBECONFIG --bind-address=127.0.0.1 --secure-port=10257 \
  --service-account-private-key-file=$K/pki/sa.key --root-ca-file=$K/pki/apiserver.crt --leader-elect=false \
  --controllers='*,-nodeipam' > log/kcm.log 2>&1 9>&- & echo $! > kcm.pid
bin/kube-scheduler --kubeconfig=$KUBECONFIG --leader-elect=false --bind-address=127.0.0.1 --secure-port=10259 \
  > log/sched.log 2>&1 9>&- & echo $! > sched.pid

# --- containerd (CRI) ---
containerd config default > /etc/containerd/config.toml
sed -i -e 's#sandbox_image = ".*"#sandbox_image = "registry.k8s.io/pause:3.2"#' \
       -e 's#bin_dir = ".*"#bin_dir = "/usr/lib/cni"#' -e 's#conf_dir = ".*"#conf_dir = "/etc/cni/k8s.d"#' \
       -e 's#restrict_oom_score_adj = false#restrict_oom_score_adj = true#' /etc/containerd/config.toml
cat > /etc/cni/k8s.d/10-k8s-bridge.conflist <<'EOF'
{"cniVersion": "0.4.0", "name": "k8s-pod-network", "plugins": [
  {"type": "bridge", "bridge": "cni-k8s0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "10.244.0.0/24"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}, {"type": "loopback"}]}
EOF
ip link show cni-k8s0 >/dev/null 2>&1 || {
  ip link add cni-k8s0 type bridge; ip addr add 10.244.0.1/24 dev cni-k8s0; ip link set cni-k8s0 up
}
containerd > log/containerd.log 2>&1 9>&- & echo $! > containerd.pid
for i in $(seq 1 40); do ctr version >/dev/null 2>&1 && break; sleep 0.25; done

# --- images: the pause image (busybox that exits on TERM) and busybox, built with podman; no registry ---
command -v podman >/dev/null || bash "$HERE/podman-up.sh"
mkdir -p img
if ! podman image exists registry.k8s.io/pause:3.2; then
  podman image exists docker.io/library/busybox:latest || bash "$HERE/podman-up.sh"
  printf 'FROM docker.io/library/busybox:latest\nCMD ["/bin/sh","-c","trap \\"exit 0\\" TERM INT; while :; do sleep 3600 & wait $!; done"]\n' \
    > img/Dockerfile
  podman build -q -t registry.k8s.io/pause:3.2 img >/dev/null
fi
for im in registry.k8s.io/pause:3.2 docker.io/library/busybox:latest; do
  if ! ctr -n k8s.io images ls -q | grep -qx "$im"; then
    rm -f img/x.tar; podman save -q --format docker-archive -o img/x.tar $im; ctr -n k8s.io images import img/x.tar >/dev/null
  fi
done
rm -f img/x.tar

# --- kubelet: node "localhost" (the apiserver reaches it at 127.0.0.1:10250); its IP is the bridge's ---
bin/kubelet --kubeconfig=$KUBECONFIG --container-runtime=remote \
  --container-runtime-endpoint=unix:///run/containerd/containerd.sock --cgroup-driver=cgroupfs --fail-swap-on=false \
  --hostname-override=localhost --node-ip=10.244.0.1 --address=127.0.0.1 --port=10250 --read-only-port=0 \
  --root-dir=/var/lib/kubelet --pod-infra-container-image=registry.k8s.io/pause:3.2 --authorization-mode=AlwaysAllow \
  --cgroups-per-qos=false --enforce-node-allocatable= --eviction-hard= \
  --image-gc-high-threshold=100 --image-gc-low-threshold=99 > log/kubelet.log 2>&1 9>&- & echo $! > kubelet.pid
for i in $(seq 1 120); do kc get node localhost >/dev/null 2>&1 && break; sleep 1; done
kc wait --for=condition=Ready node/localhost --timeout=120s
for i in $(seq 1 60); do kc get serviceaccount default >/dev/null 2>&1 && break; sleep 1; done
echo "kubernetes: node localhost is Ready (KUBECONFIG=$KUBECONFIG)"
