#!/usr/bin/env bash
# Starts or stops the app processes: gunicorn (8000), Celery worker and beat, Flower (5555).
# Usage: services/app.sh start|stop    Output of each process goes to var/log/<name>.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/var/venv/bin"
mkdir -p var/log var/run

set -a
# shellcheck disable=SC1091
. ./.env
set +a

launch() {
  local name=$1
  shift
  local pid_file="var/run/$name.pid"
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$pid_file"))"
    return 0
  fi
  nohup "$@" >>"var/log/$name.log" 2>&1 &
  echo $! >"$pid_file"
  echo "$name started (log var/log/$name.log)"
}

stop_one() {
  local pid_file="var/run/$1.pid"
  [ -f "$pid_file" ] || return 0
  local pid
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  echo "$1 stopped"
}

wait_for_health() {
  for _ in $(seq 1 60); do
    if curl -sf -o /dev/null http://127.0.0.1:8000/api/health; then return 0; fi
    sleep 1
  done
  echo "the app did not report healthy within 60 s; see var/log/*.log:" >&2
  curl -s http://127.0.0.1:8000/api/health >&2 || true
  return 1
}

case "${1:-}" in
  start)
    launch web "$BIN/gunicorn" config.wsgi --bind 127.0.0.1:8000 --workers 2 --threads 4 --timeout 600
    launch worker "$BIN/celery" -A config worker --loglevel INFO --concurrency 2 -n "worker@%h"
    launch beat "$BIN/celery" -A config beat --loglevel INFO --schedule var/run/celerybeat-schedule
    launch flower "$BIN/celery" -A config flower --address=127.0.0.1 --port=5555 --basic-auth="$FLOWER_BASIC_AUTH"
    wait_for_health
    ;;
  stop)
    for name in flower beat worker web; do stop_one "$name"; done
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
