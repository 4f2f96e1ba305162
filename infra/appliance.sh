#!/bin/bash
# Builds the appliance: the container image Kubernetes pods run the worker (_toil_worker) in, under the name
# the code gives it (toil.applianceSelf(): localhost/toil:0.1.0-py3.11 from src/toil/version.py, or
# TOIL_APPLIANCE_SELF, TOIL_DOCKER_REGISTRY, TOIL_DOCKER_NAME). No registry is reachable here, so it is built
# locally with Podman on the Debian bookworm image infra/podman-up.sh makes with debootstrap (Python 3.11),
# and imported into containerd's k8s.io namespace (where the kubelet looks) when containerd is running.
#
# The image: Debian's python3, nodejs (CWL expressions run in node), rsync (toil rsync-cluster runs it in the
# leader's appliance) and Podman with runc (containerised CWL steps and WDL tasks run in it, in pods run with
# --kubernetesPrivileged true); apt reaches the host's Debian mirror with --network=host; and the project's
# wheel with the extras aws, cwl, wdl and kubernetes, installed on the host with `pip install --target` (the
# same CPython 3.11 ABI and glibc as the image; the host's pip cache, and the dev venv's versions as
# constraints) and copied to /opt/toil/site, on PYTHONPATH and PATH.
#
# A re-run skips the build when the image's label toil.appliance.hash matches the hash of the wheel,
# pyproject.toml, the constraints, the base image and this script (a few seconds: building the wheel).
#
# `infra/appliance.sh --toil-9.6` builds the same image with the real Toil 9.6 (toil[aws,kubernetes]==9.6.0
# from PyPI) instead, tagged localhost/toil96:9.6.0, for the benchmark against Toil 9.6 only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
BASE=docker.io/library/debian:stable-slim
LABEL=toil.appliance.hash
SITE_PYTHON=/usr/bin/python3 # the image's Python, for the console scripts' shebangs
log() { echo "appliance: $*"; }
die() { echo "appliance: $*" >&2; exit 1; }
run_logged() { # run_logged LOG COMMAND...: the command's output goes to LOG, shown if it fails
  local out=$1; shift
  "$@" >"$out" 2>&1 || { tail -n 40 "$out" >&2; die "failed: $* (whole log: $out)"; }
}

case "${1:-}" in
  "") TOIL96=0 ;;
  --toil-9.6) TOIL96=1 ;;
  *) die "usage: infra/appliance.sh [--toil-9.6]" ;;
esac
[ -x $PY ] || die "no $PY: run make install first"
[ "$($PY -c 'import sys; print(sys.version_info[:2])')" = "(3, 11)" ] \
  || die "$PY is not Python 3.11 (the image's), so its packages would not import there"
{ command -v podman >/dev/null && podman image exists $BASE; } || bash infra/podman-up.sh
mkdir -p build
exec 9>build/appliance.lock # one build at a time (tests may call this too)
flock 9

if [ $TOIL96 = 0 ]; then
  IMAGE=$($PY -c 'import sys; from toil.lib.appliance import applianceSelf
try: print(applianceSelf())
except ValueError as e: sys.exit(f"appliance: {e}")')
  OUT=build/appliance
  mkdir -p $OUT
  # setuptools keeps build/lib between builds, where a deleted module would live on; a fixed date makes
  # the wheel the same bytes when the sources are
  rm -rf $OUT/wheels build/lib build/bdist.*
  SOURCE_DATE_EPOCH=315532800 run_logged $OUT/wheel.log .venv/bin/pip wheel --no-deps -w $OUT/wheels .
  WHEEL=$(echo $OUT/wheels/toil-*.whl)
  REQUIREMENT="$WHEEL[aws,cwl,wdl,kubernetes]"
  # the versions the tests ran with (the dev venv's); a package the venv lacks resolves freely
  .venv/bin/pip freeze --exclude-editable | { grep '==' || true; } >$OUT/constraints.txt
  HASHED="$WHEEL $OUT/constraints.txt pyproject.toml"
else
  IMAGE=localhost/toil96:9.6.0
  OUT=build/appliance-toil96
  mkdir -p $OUT
  : >$OUT/constraints.txt
  REQUIREMENT='toil[aws,kubernetes]==9.6.0'
  HASHED=""
fi
# shellcheck disable=SC2086 # HASHED is a list of paths
HASH=$({ podman image inspect --format '{{.Id}}' $BASE; sha256sum $HASHED infra/appliance.sh; } \
  | sha256sum | cut -c1-16)

if podman image exists "$IMAGE" \
  && [ "$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$IMAGE")" = "$HASH" ]; then
  log "$IMAGE is up to date ($LABEL=$HASH)"
else
  START=$SECONDS
  log "building $IMAGE ($LABEL=$HASH; logs in $OUT)"
  OLD_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  rm -rf $OUT/site $OUT/apt
  if ! .venv/bin/pip install -q --target $OUT/site -c $OUT/constraints.txt "$REQUIREMENT" >$OUT/pip.log 2>&1; then
    # pyproject.toml may ask for versions the venv does not have yet (make install updates it)
    log "the dev venv's versions do not fit pyproject.toml; installing without them"
    rm -rf $OUT/site
    run_logged $OUT/pip.log .venv/bin/pip install -q --target $OUT/site "$REQUIREMENT"
  fi
  # the console scripts name the host's venv python; inside they run on Debian's
  find $OUT/site/bin -maxdepth 1 -type f -exec sed -i "1s|^#!.*python[0-9.]*\$|#!$SITE_PYTHON|" {} +
  ! grep -rl "^#!.*$PWD" $OUT/site/bin || die "the console scripts above still name a host path"

  # the host's Debian sources (its mirror, and bookworm-updates and -security, which the base lacks)
  mkdir -p $OUT/apt/sources.list.d
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources $OUT/apt/sources.list.d/
    # replaces the base's one line (bookworm main), which would repeat a suite of debian.sources
    cp /etc/apt/sources.list $OUT/apt/sources.list 2>/dev/null || : >$OUT/apt/sources.list
  elif [ -f /etc/apt/sources.list ]; then
    cp /etc/apt/sources.list $OUT/apt/sources.list
  fi

  # Podman in a pod: no systemd (cgroupfs), runc (as on the host: crun 1.8 rejects hybrid cgroup hosts), the
  # pod's network (pods use the host's), limits a pod may set
  cat >$OUT/containers.conf <<'EOF'
[containers]
netns = "host"
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  cat >$OUT/Containerfile <<EOF
FROM $BASE
COPY apt/ /etc/apt/
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      nodejs ca-certificates podman runc rsync && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY containers.conf /etc/containers/containers.conf
COPY site/ /opt/toil/site/
ENV PYTHONPATH=/opt/toil/site \\
    PATH=/opt/toil/site/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
  run_logged $OUT/build.log podman build --network=host --layers --label "$LABEL=$HASH" -t "$IMAGE" \
    -f $OUT/Containerfile $OUT
  # the image this one replaces, unless another name still has it
  NEW_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE")
  [ -z "$OLD_ID" ] || [ "$OLD_ID" = "$NEW_ID" ] || podman rmi "$OLD_ID" >/dev/null 2>&1 || true
  log "built $IMAGE in $((SECONDS - START)) s, $(podman image inspect --format '{{.Size}}' "$IMAGE" \
    | awk '{printf "%.0f MB", $1 / 1e6}')"
fi

# --- containerd (the kubelet's runtime, infra/k8s-up.sh): the k8s.io namespace, under the name a pod
# spec's image: resolves to (Docker's rules: a name without a registry is docker.io/library/...) ---
if ! timeout 10 ctr version >/dev/null 2>&1; then
  log "containerd is not running; not imported into it"
  exit 0
fi
REF=$IMAGE
FIRST=${REF%%/*}
if [[ $REF != */* ]]; then
  REF=docker.io/library/$REF
elif [[ $FIRST != *.* && $FIRST != *:* && $FIRST != localhost ]]; then
  REF=docker.io/$REF
fi
[[ ${REF##*/} == *[:@]* ]] || REF=$REF:latest
LISTED=$(ctr -n k8s.io images ls "name==$REF")
if [[ $LISTED == *"$LABEL=$HASH"* ]]; then
  log "$REF is in containerd (k8s.io) already"
  exit 0
fi
OLD_DIGEST=$(awk 'NR == 2 {print $3}' <<<"$LISTED")
TMP=$(mktemp -d /var/tmp/appliance.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# podman save writes the name it is given into the archive, and ctr imports it under that name
UNTAG=""
ID=$(podman image inspect --format '{{.Id}}' "$IMAGE")
[ "$(podman image inspect --format '{{.Id}}' "$REF" 2>/dev/null)" = "$ID" ] \
  || { podman tag "$IMAGE" "$REF" && UNTAG=1; }
podman save -q --format docker-archive -o "$TMP/image.tar" "$REF"
[ -z "$UNTAG" ] || podman untag "$IMAGE" "$REF"
ctr -n k8s.io images import "$TMP/image.tar" >/dev/null
ctr -n k8s.io images label "$REF" "$LABEL=$HASH" >/dev/null
# the CRI names an image by its ID (sha256:...) when a name first arrives, and a re-import moves only the
# name: the ID name of the replaced image would keep its layers, so it goes unless another name has them
ctr -n k8s.io images ls | awk -v d="$OLD_DIGEST" 'NR > 1 && d != "" && $3 == d {
    if ($1 ~ /^sha256:/) ids = ids " " $1; else named = 1 }
  END { if (!named && ids != "") print ids }' | xargs -r ctr -n k8s.io images rm >/dev/null
log "imported $REF into containerd (k8s.io)"
