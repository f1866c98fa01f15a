#!/usr/bin/env bash
# Local Elasticsearch 8.19 built from Elasticsearch's own Maven Central jars (see services/elasticsearch/):
# a single node by default, or one node of a cluster on loopback. Usage: services/elasticsearch.sh start|stop|status
#
# Env: ES_PORT (9200), ES_HEAP (1g), ES_START_TIMEOUT (120 s), ES_JAVA_HOME (else java on PATH),
#      ES_JAVA_OPTS (extra JVM flags).
# A cluster (each node is one launcher run with its own ES_NAME and ports):
#      ES_NAME (elasticsearch): names the node, its pid file, log and data directory under var/;
#      ES_TRANSPORT_PORT (the first free one of 9300-9400): the port the nodes talk to each other on;
#      ES_SEED_HOSTS (empty: single node): the nodes' transport addresses, e.g. 127.0.0.1:9300,127.0.0.1:9301;
#      ES_INITIAL_MASTER_NODES: set on the one node that bootstraps a new cluster, to its own ES_NAME;
#      ES_NODE_ROLES (all): e.g. `data` for a node that joins and holds shards but is never master, so
#      stopping it leaves the cluster a master (two master-eligible nodes cannot lose one).
#   ES_NAME=es-a ES_PORT=9201 ES_TRANSPORT_PORT=9301 ES_SEED_HOSTS=127.0.0.1:9301,127.0.0.1:9302 \
#     ES_INITIAL_MASTER_NODES=es-a services/elasticsearch.sh start
#   ES_NAME=es-b ES_PORT=9202 ES_TRANSPORT_PORT=9302 ES_SEED_HOSTS=127.0.0.1:9301,127.0.0.1:9302 \
#     ES_NODE_ROLES=data services/elasticsearch.sh start
# State lives under <repo>/var: elasticsearch/{lib,build,home,tmp,.built}, data/<ES_NAME>, log/, run/.
set -euo pipefail
# shellcheck source=services/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME="${ES_NAME:-elasticsearch}"
SRC="$ROOT/services/elasticsearch"
ES_DIR="$VAR/elasticsearch"
LIB="$ES_DIR/lib"
STAMP="$ES_DIR/.built"
PID_FILE="$VAR/run/$NAME.pid"
LOG_FILE="$VAR/log/$NAME.log"
DATA_DIR="$VAR/data/$NAME"
PORT="${ES_PORT:-9200}"
HEAP="${ES_HEAP:-1g}"
TIMEOUT="${ES_START_TIMEOUT:-120}"
if [[ -n "${ES_JAVA_HOME:-}" ]]; then JAVA="$ES_JAVA_HOME/bin/java"; else JAVA="java"; fi

healthy() { # cluster health green or yellow on our port
  local body
  body="$(curl -s --max-time 3 "http://127.0.0.1:$PORT/_cluster/health" 2>/dev/null)" || return 1
  [[ "$body" =~ \"status\":\"(green|yellow)\" ]]
}

port_answers() { # anything at all listening on the port
  curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$PORT/" 2>/dev/null
}

source_hash() {
  (cd "$SRC" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

cluster_settings=()
if [[ -n "${ES_SEED_HOSTS:-}" ]]; then
  cluster_settings+=(-Enode.name="$NAME" -Ediscovery.type=multi-node -Ediscovery.seed_hosts="$ES_SEED_HOSTS")
  if [[ -n "${ES_INITIAL_MASTER_NODES:-}" ]]; then
    cluster_settings+=(-Ecluster.initial_master_nodes="$ES_INITIAL_MASTER_NODES")
  fi
fi
if [[ -n "${ES_TRANSPORT_PORT:-}" ]]; then cluster_settings+=(-Etransport.port="$ES_TRANSPORT_PORT"); fi
if [[ -n "${ES_NODE_ROLES:-}" ]]; then cluster_settings+=(-Enode.roles="$ES_NODE_ROLES"); fi

build() {
  local hash
  hash="$(source_hash)"
  if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$hash" && -f "$LIB/es-launcher.jar" ]]; then
    return 0
  fi
  echo "building elasticsearch launcher (mvn package)..." >&2
  local out
  if ! out="$(mvn -q -B -Dstyle.color=never -f "$SRC/pom.xml" -Des.build.dir="$ES_DIR/build" package 2>&1)"; then
    echo "$out" >&2
    echo "elasticsearch launcher build failed" >&2
    return 1
  fi
  rm -rf "$LIB"
  mkdir -p "$LIB"
  cp "$ES_DIR/build/lib/"*.jar "$ES_DIR/build/es-launcher.jar" "$LIB/"
  echo "$hash" > "$STAMP"
}

start() {
  # A live pid that is not healthy yet is waited for, not started again.
  if ! healthy && ! pid_alive "$PID_FILE"; then
    if port_answers; then
      echo "port $PORT is taken by something that is not a healthy Elasticsearch" >&2
      return 1
    fi
    build
    mkdir -p "$ES_DIR/home" "$ES_DIR/tmp" "$DATA_DIR" "$VAR/log"
    : >"$LOG_FILE" # a fresh log per start, so the tail shown on failure is this run's
    # JVM flags: the subset of ES's own system JVM options that matter here (no SecurityManager is installed).
    # shellcheck disable=SC2086
    start_daemon "$PID_FILE" "$LOG_FILE" "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -Xss1m \
      -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$ES_DIR/tmp" \
      -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
      -Djava.locale.providers=SPI,COMPAT -Djava.io.tmpdir="$ES_DIR/tmp" \
      -Des.networkaddress.cache.ttl=60 -Des.networkaddress.cache.negative.ttl=10 \
      -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
      -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true \
      ${ES_JAVA_OPTS:-} \
      -Des.path.home="$ES_DIR/home" \
      -cp "$LIB/*" org.elasticsearch.node.LocalElasticsearch \
      -Epath.data="$DATA_DIR" -Epath.logs="$VAR/log" -Ehttp.port="$PORT" "${cluster_settings[@]}"
  fi
  wait_until_up "$NAME" "$TIMEOUT" healthy "$PID_FILE" "$LOG_FILE" || return 1
  echo "$NAME up on 127.0.0.1:$PORT"
}

stop() { stop_daemon "$NAME" "$PID_FILE" 30; }

status() { report_status "$NAME" "127.0.0.1:$PORT" healthy; }

dispatch "$@"
