#!/bin/bash
# From ../shared/INFRA.md (Podman as root, no registry). Installs Podman (with runc), builds the images the
# container tests and the CWL/WDL conformance suites name from a Debian root file system made with
# debootstrap (no registry is reachable here, so nothing can be pulled), and serves the Docker-compatible
# API on /run/podman/podman.sock (linked from /var/run/docker.sock) for the docker CLI and docker-py.
#
# The stand-ins: one Debian bookworm root file system (with python3, so `python` works) is tagged under
# every name the suites use (debian, python:3-slim, ubuntu, alpine); docker.io/bash:4.4 adds the real
# image's entrypoint (arguments starting with '-' go to bash). Exits non-zero if an engine cannot start.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null \
  && [ -x /bin/busybox ] || {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman runc debootstrap busybox-static >/dev/null
}
mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<'EOF'
[containers]
# root here lacks CAP_SYS_RESOURCE: podman's default rlimits (nofile/nproc = 1M) cannot be applied
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]

[engine]
# crun 1.8 rejects this hybrid cgroup v1/v2 host ("cgroups in hybrid mode not supported"); runc works
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF

BASE=docker.io/library/debian:stable-slim
if ! podman image exists $BASE; then
  MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  R=$(mktemp -d /var/tmp/rootfs.XXXX)
  debootstrap --variant=minbase --include=python3-minimal,libpython3.11-stdlib bookworm "$R" "$MIRROR" >/dev/null
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*
  ln -sf python3 "$R"/usr/bin/python
  tar -C "$R" -c . | podman import -q --change 'CMD ["/bin/bash"]' - $BASE >/dev/null
  rm -rf "$R"
fi
for name in debian:stable-slim debian:bookworm-slim debian:bookworm debian:12 debian:latest \
            python:3-slim python:3 ubuntu:24.04 ubuntu:22.04 ubuntu:18.04 ubuntu:latest alpine:latest; do
  podman image exists docker.io/library/$name || podman tag $BASE docker.io/library/$name
done
# docker.io/bash:4.4: its entrypoint runs bash when the first argument is an option or not a command
if ! podman image exists docker.io/library/bash:4.4; then
  C=$(podman create -q $BASE true)
  printf '#!/bin/sh\nset -e\nif [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ]; then set -- bash "$@"; fi\nexec "$@"\n' \
    > /tmp/docker-entrypoint.sh
  chmod 755 /tmp/docker-entrypoint.sh
  podman cp /tmp/docker-entrypoint.sh "$C":/usr/local/bin/docker-entrypoint.sh
  podman commit -q --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["bash"]' "$C" \
    docker.io/library/bash:4.4 >/dev/null
  podman rm -f "$C" >/dev/null
fi
# a tiny busybox image (about 1 s)
if ! podman image exists docker.io/library/busybox:latest; then
  B=$(mktemp -d); mkdir -p "$B"/bin "$B"/tmp "$B"/etc "$B"/root; cp /bin/busybox "$B"/bin/
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$B/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$B"/etc/passwd; echo 'root:x:0:' > "$B"/etc/group
  tar -C "$B" -c . | podman import -q --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - \
    docker.io/library/busybox:latest >/dev/null
  rm -rf "$B"
fi
# the Docker-compatible API, for the docker CLI and docker-py
if ! curl -sf --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null 2>&1; then
  mkdir -p /run/podman
  # started from /: the service and every conmon it starts keep its working directory, which must outlive the
  # caller's (a deleted one makes each container fail: "conmon: Failed to get working directory")
  (cd / && exec nohup podman system service --time=0 unix:///run/podman/podman.sock \
    >/var/log/podman-service.log 2>&1) &
  echo $! > /run/podman/service.pid
  for i in $(seq 1 40); do curl -sf --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null && break; sleep 0.25; done
fi
ln -sf /run/podman/podman.sock /var/run/docker.sock
podman run --rm --network=none docker.io/library/debian:stable-slim python -c 'print("podman-ok")'
curl -sf --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null && echo "docker-api-ok"
