#!/usr/bin/env bash
# Starts or stops the app processes: gunicorn (8000), the ingest port's gunicorn (INGEST_ES_PORT, 9201), Celery
# worker and beat, Flower (5555).
# Usage: services/app.sh start|stop    Output of each process goes to var/log/<name>.log.
set -euo pipefail
# shellcheck source=services/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"
BIN="$ROOT/var/venv/bin"

set -a
# shellcheck disable=SC1091
. ./.env
set +a

launch() { # NAME CMD...: starts CMD unless var/run/NAME.pid names a live process
  local name=$1 pid
  shift
  if pid="$(running_pid "var/run/$name.pid")"; then
    echo "$name already running (pid $pid)"
    return 0
  fi
  start_daemon "var/run/$name.pid" "var/log/$name.log" "$@"
  echo "$name started (log var/log/$name.log)"
}

healthy() { curl -sf -o /dev/null http://127.0.0.1:8000/api/health; }

start() {
  # --keep-alive 0: a refused upload's unread body is never drained, the connection just closes.
  # --threads 16: a live view (/api/live) holds a thread; at most LIVE_MAX_STREAMS (8) per process do.
  # The web processes keep their request metrics in var/run/prometheus (emptied when web starts), so one scrape of
  # /metrics sums them all; the other processes report through MongoDB and Redis (config/metrics.py).
  if ! pid_alive var/run/web.pid; then rm -rf var/run/prometheus && mkdir -p var/run/prometheus; fi
  PROMETHEUS_MULTIPROC_DIR="$ROOT/var/run/prometheus" \
    launch web "$BIN/gunicorn" config.wsgi --bind 127.0.0.1:8000 --workers 2 --threads 16 --timeout 600 --keep-alive 0
  # The Elasticsearch-compatible ingest endpoints at the root of their own port, for shippers that take no path.
  launch ingest "$BIN/gunicorn" config.ingest_wsgi --bind "127.0.0.1:${INGEST_ES_PORT:-9201}" --workers 2 --threads 4 \
    --timeout 120 --keep-alive 0
  launch worker "$BIN/celery" -A config worker --loglevel INFO --concurrency 2 -n "worker@%h"
  launch beat "$BIN/celery" -A config beat --loglevel INFO --schedule var/run/celerybeat-schedule
  # config.flower: Flower with its login on every path (its /metrics would be open otherwise).
  launch flower "$BIN/python" -m config.flower --address=127.0.0.1 --port=5555 --basic-auth="$FLOWER_BASIC_AUTH"
  # /api/health also checks the datastores and a worker, so this waits for the whole app.
  if ! wait_until_up web 60 healthy var/run/web.pid var/log/web.log; then
    # /api/health tells anonymous callers only up or down; the same checks, run here, say which dependency.
    echo "the app did not report healthy; see var/log/*.log. The dependencies:" >&2
    "$BIN/python" manage.py shell -v 0 -c 'import json; from config.health import check_all; print(json.dumps(check_all(), indent=1))' >&2 || true
    return 1
  fi
}

stop() {
  local name
  for name in flower beat worker ingest web; do stop_daemon "$name" "var/run/$name.pid" 10; done
}

dispatch "$@"
