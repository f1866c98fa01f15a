#!/usr/bin/env bash
# Dev launcher for MinIO (S3-compatible object store) bound to 127.0.0.1, data/logs under <repo>/var.
# Usage: services/minio.sh start|stop|status
# Env: MINIO_PORT (default 9100; the console answers on MINIO_CONSOLE_PORT, default MINIO_PORT+1),
#      MINIO_ROOT_USER and MINIO_ROOT_PASSWORD (required to start: the root login, also the S3 keys),
#      MINIO_BUCKET (default logs-platform; created at start), SERVICE_WAIT_SECS (default 60).
# The binary is built once from its Go module into var/bin (about 4 minutes cold, seconds with warm caches).
set -euo pipefail
# shellcheck source=services/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=minio
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
PORT="${MINIO_PORT:-9100}"
CONSOLE_PORT="${MINIO_CONSOLE_PORT:-$((PORT + 1))}"
HOST=127.0.0.1
BUCKET="${MINIO_BUCKET:-logs-platform}"
BIN="$VAR/bin/minio"
STAMP="$VAR/bin/minio.version"
DATA_DIR="$VAR/minio/$PORT"
LOG_FILE="$VAR/log/$NAME-$PORT.log"
PID_FILE="$VAR/run/$NAME-$PORT.pid"
WAIT_SECS="${SERVICE_WAIT_SECS:-60}"

install_if_missing() {
  if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$MINIO_VERSION" ]; then return 0; fi
  command -v go >/dev/null 2>&1 || { echo "go toolchain not found (needed to build MinIO)" >&2; return 1; }
  echo "building MinIO $MINIO_VERSION into $BIN (minutes the first time) ..." >&2
  # Outside any module, so the pinned version is what gets built.
  (cd / && GOBIN="$VAR/bin" go install "$MINIO_MODULE@$MINIO_VERSION")
  printf '%s\n' "$MINIO_VERSION" >"$STAMP"
}

is_up() {
  curl -sf -o /dev/null "http://$HOST:$PORT/minio/health/live"
}

# PUT /<bucket> signed with the root keys (curl's SigV4); 409 means it exists already.
create_bucket() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" \
    "http://$HOST:$PORT/$BUCKET")"
  case "$code" in
    200 | 409) ;;
    *)
      echo "could not create bucket $BUCKET (HTTP $code)" >&2
      return 1
      ;;
  esac
}

start() {
  : "${MINIO_ROOT_USER:?set MINIO_ROOT_USER (the S3 access key)}"
  : "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD (the S3 secret key, at least 8 characters)}"
  mkdir -p "$VAR/bin" "$DATA_DIR"
  install_if_missing
  if ! is_up && ! pid_alive "$PID_FILE"; then
    MINIO_BROWSER=on start_daemon "$PID_FILE" "$LOG_FILE" "$BIN" server "$DATA_DIR" \
      --address "$HOST:$PORT" --console-address "$HOST:$CONSOLE_PORT" --quiet
  fi
  wait_until_up "$NAME" "$WAIT_SECS" is_up "$PID_FILE" "$LOG_FILE" || return 1
  create_bucket
  echo "$NAME up on $HOST:$PORT (bucket $BUCKET, console http://$HOST:$CONSOLE_PORT/)"
}

stop() { stop_ours "$NAME" "$HOST:$PORT" "$PID_FILE" "$WAIT_SECS" is_up; }

status() { report_status "$NAME" "$HOST:$PORT" is_up; }

dispatch "$@"
