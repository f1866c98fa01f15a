# Shared code for the launchers in services/: pid files, background start, wait until up, stop, dispatch.
# Sourced by each launcher (after its `set -euo pipefail`); defines ROOT and VAR for them.
# shellcheck shell=bash

# Secrets and data live under var/: whatever the launchers and their servers create is owner-only.
umask 077

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034  # used by the launchers
VAR="$ROOT/var"

running_pid() { # PIDFILE: prints the pid if the file names a live process, else fails
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

pid_alive() { # PIDFILE
  running_pid "$1" >/dev/null
}

start_daemon() { # PIDFILE LOGFILE CMD...: runs CMD detached, output appended to LOGFILE
  local pid_file=$1 log_file=$2
  shift 2
  mkdir -p "$(dirname "$pid_file")" "$(dirname "$log_file")"
  nohup "$@" >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
}

# NAME SECONDS CHECK PIDFILE LOGFILE: polls the function CHECK until it passes. Fails early if the
# process in PIDFILE exits (and removes PIDFILE), or after SECONDS; either way shows the log's tail.
wait_until_up() {
  local name=$1 secs=$2 check=$3 pid_file=$4 log_file=$5
  local deadline=$((SECONDS + secs))
  until "$check"; do
    if ! pid_alive "$pid_file"; then
      echo "$name exited during startup; last log lines ($log_file):" >&2
      tail -n 40 "$log_file" >&2 || true
      rm -f "$pid_file"
      return 1
    fi
    if ((SECONDS > deadline)); then
      echo "$name not up after ${secs}s; last log lines ($log_file):" >&2
      tail -n 40 "$log_file" >&2 || true
      echo "(pid $(cat "$pid_file") is still running but not answering; '$0 stop' kills it)" >&2
      return 1
    fi
    sleep 0.5
  done
}

stop_daemon() { # NAME PIDFILE [GRACE]: TERM, GRACE seconds (default 30) to exit, then KILL
  local name=$1 pid_file=$2 grace=${3:-30} pid i
  if ! pid="$(running_pid "$pid_file")"; then
    rm -f "$pid_file"
    echo "$name not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name (pid $pid) did not exit after ${grace}s; sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5 # give the kernel time to free its ports before a restart
  fi
  rm -f "$pid_file"
  echo "$name stopped"
}

# NAME ADDR PIDFILE GRACE CHECK: stops our server; one answering on ADDR without our pid file is left alone.
stop_ours() {
  local name=$1 addr=$2 pid_file=$3 grace=$4 check=$5
  if ! pid_alive "$pid_file" && "$check"; then
    rm -f "$pid_file"
    echo "$name on $addr is answering but was not started by this script (no pid file); not stopping it" >&2
    return 0
  fi
  stop_daemon "$name" "$pid_file" "$grace"
}

report_status() { # NAME ADDR CHECK
  if "$3"; then
    echo "$1 up on $2"
  else
    echo "$1 not up on $2"
    return 1
  fi
}

dispatch() { # runs the launcher's start, stop or status function named by $1
  local cmd=${1:-} c usage=""
  case "$cmd" in
    start | stop | status)
      if declare -F "$cmd" >/dev/null; then
        "$cmd"
        return
      fi
      ;;
  esac
  for c in start stop status; do
    if declare -F "$c" >/dev/null; then usage+="${usage:+|}$c"; fi
  done
  echo "usage: $0 $usage" >&2
  exit 2
}
