#!/bin/bash
# S3 stand-ins for the aws: job store's tests (from ../shared/INFRA.md section 5), on 127.0.0.1 only:
#   moto_server (moto's S3, real HTTP) on port ${MOTO_PORT:-5000}, from the project's virtualenv;
#   s3rver (a second, independent S3 implementation, npm) on port ${S3RVER_PORT:-4569}.
# Idempotent: a server that answers is left alone. Usage: bash infra/s3-up.sh [VENV]   (default .venv)
set -euo pipefail
VENV=${1:-.venv}
MOTO_PORT=${MOTO_PORT:-5000}
S3RVER_PORT=${S3RVER_PORT:-4569}
S3RVER_DIR=${S3RVER_DIR:-/opt/s3rver}

wait_for() {  # URL SECONDS NAME LOG
  local end=$((SECONDS + $2))
  until curl -s -o /dev/null "$1"; do
    [ $SECONDS -ge $end ] && { echo "$3 did not start; see $4" >&2; tail -5 "$4" >&2 || true; exit 1; }
    sleep 0.25
  done
}

if ! curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"; then
  [ -x "$VENV/bin/moto_server" ] || "$VENV/bin/python" -m pip install -q 'moto[server]>=5.1,<6'
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >/tmp/moto-$MOTO_PORT.log 2>&1 &
  echo $! >/tmp/moto-$MOTO_PORT.pid
  wait_for "http://127.0.0.1:$MOTO_PORT/moto-api/" 60 moto_server /tmp/moto-$MOTO_PORT.log
fi
echo "moto_server: http://127.0.0.1:$MOTO_PORT"

if ! curl -s -o /dev/null "http://127.0.0.1:$S3RVER_PORT/"; then
  command -v npm >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
  if [ ! -x "$S3RVER_DIR/node_modules/.bin/s3rver" ]; then
    mkdir -p "$S3RVER_DIR"
    (cd "$S3RVER_DIR" && npm install --no-audit --no-fund --silent s3rver@3.7.1 >/dev/null)
  fi
  mkdir -p /tmp/s3rver-data
  nohup "$S3RVER_DIR/node_modules/.bin/s3rver" -a 127.0.0.1 -p "$S3RVER_PORT" -d /tmp/s3rver-data --silent \
    >/tmp/s3rver.log 2>&1 &
  echo $! >/tmp/s3rver.pid
  wait_for "http://127.0.0.1:$S3RVER_PORT/" 60 s3rver /tmp/s3rver.log
fi
echo "s3rver: http://127.0.0.1:$S3RVER_PORT (credentials S3RVER/S3RVER)"
