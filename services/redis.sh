#!/usr/bin/env bash
# Dev launcher for Redis bound to 127.0.0.1 (data/logs under <repo>/var).
# Usage: services/redis.sh start|stop|status     (env: REDIS_PORT, default 6379)
set -euo pipefail

NAME=redis
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
PORT="${REDIS_PORT:-6379}"
HOST=127.0.0.1
VAR="$ROOT/var"
DATA_DIR="$VAR/data/redis"
LOG_FILE="$VAR/log/$NAME.log"
PID_FILE="$VAR/run/$NAME.pid"
WAIT_SECS="${SERVICE_WAIT_SECS:-60}"

ensure_dirs() { mkdir -p "$DATA_DIR" "$VAR/log" "$VAR/run"; }

install_if_missing() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  echo "installing redis-server (apt)..." >&2
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >&2
}

is_up() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [ "$(timeout 3 redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null || true)" = "PONG" ]
}

pid_alive() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start() {
  ensure_dirs
  install_if_missing
  if is_up; then
    echo "$NAME up on $HOST:$PORT"
    return 0
  fi
  if pid_alive; then
    # our process exists but does not answer yet (e.g. loading): wait for it
    :
  else
    rm -f "$PID_FILE"
    # No config file: everything on the command line. "--logfile ''" logs to stdout,
    # which nohup redirects to the log file.
    nohup redis-server \
      --bind "$HOST" --port "$PORT" --protected-mode yes \
      --dir "$DATA_DIR" --daemonize no --supervised no \
      --logfile "" --loglevel notice \
      --save "3600 1 300 100 60 10000" --appendonly no \
      --dbfilename dump.rdb \
      >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
  fi
  local i
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    if is_up; then
      echo "$NAME up on $HOST:$PORT"
      return 0
    fi
    if ! pid_alive; then break; fi
    sleep 0.5
  done
  echo "$NAME failed to start on $HOST:$PORT; last log lines ($LOG_FILE):" >&2
  tail -n 30 "$LOG_FILE" >&2 || true
  if pid_alive; then
    echo "(pid $(cat "$PID_FILE") is still running but not answering; '$0 stop' kills it)" >&2
  else
    rm -f "$PID_FILE"
  fi
  return 1
}

stop() {
  if ! pid_alive; then
    rm -f "$PID_FILE"
    if is_up; then
      echo "$NAME on $HOST:$PORT is answering but was not started by this script (no pid file); not stopping it" >&2
      return 0
    fi
    echo "$NAME not running"
    return 0
  fi
  local pid i; pid="$(cat "$PID_FILE")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$NAME (pid $pid) did not exit after ${WAIT_SECS}s; sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PID_FILE"
  echo "$NAME stopped"
}

status() {
  if is_up; then
    echo "$NAME up on $HOST:$PORT"
    return 0
  fi
  echo "$NAME not answering on $HOST:$PORT"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
