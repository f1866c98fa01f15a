#!/usr/bin/env bash
# Dev launcher for Redis bound to 127.0.0.1 (data/logs under <repo>/var).
# Usage: services/redis.sh start|stop|status
# Env: REDIS_PORT (default 6379), SERVICE_WAIT_SECS (default 60).
set -euo pipefail
# shellcheck source=services/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=redis
PORT="${REDIS_PORT:-6379}"
HOST=127.0.0.1
DATA_DIR="$VAR/data/redis"
LOG_FILE="$VAR/log/$NAME.log"
PID_FILE="$VAR/run/$NAME.pid"
WAIT_SECS="${SERVICE_WAIT_SECS:-60}"

install_if_missing() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  echo "installing redis-server (apt)..." >&2
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  # umask 022: system files keep their usual modes; lib.sh's owner-only umask is meant for var/.
  (
    umask 022
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >&2
  )
}

is_up() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [ "$(timeout 3 redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null || true)" = "PONG" ]
}

start() {
  mkdir -p "$DATA_DIR"
  install_if_missing
  # A live pid that does not answer yet (e.g. still loading) is waited for, not started again.
  if ! is_up && ! pid_alive "$PID_FILE"; then
    # No config file: everything on the command line. "--logfile ''" logs to stdout, i.e. the log file.
    start_daemon "$PID_FILE" "$LOG_FILE" redis-server \
      --bind "$HOST" --port "$PORT" --protected-mode yes \
      --dir "$DATA_DIR" --daemonize no --supervised no \
      --logfile "" --loglevel notice \
      --save "3600 1 300 100 60 10000" --appendonly no \
      --dbfilename dump.rdb
  fi
  wait_until_up "$NAME" "$WAIT_SECS" is_up "$PID_FILE" "$LOG_FILE" || return 1
  echo "$NAME up on $HOST:$PORT"
}

stop() { stop_ours "$NAME" "$HOST:$PORT" "$PID_FILE" "$WAIT_SECS" is_up; }

status() { report_status "$NAME" "$HOST:$PORT" is_up; }

dispatch "$@"
