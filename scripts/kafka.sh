#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single node: broker + controller in one JVM) for
# tests and `make run`. No Docker, no tarball: the broker jars and their
# runtime dependencies come from Maven Central via mvn and are cached outside
# git.
#
# Security (default): mutual TLS on every listener (clients and the KRaft controller), KRaft's
# StandardAuthorizer with allow.everyone.if.no.acl.found=false, one principal per service (the CN of its
# client certificate, mapped to User:<service>), ACLs from contracts/bus.yaml. Each start that launches the
# broker creates a new CA and one certificate and key per principal under <data dir>/pki (0600, rotation
# by restart), then the admin principal creates the topics and ACLs (certifia_shared.bus_admin provision);
# auto-creation is off. KAFKA_SECURITY=plaintext runs the insecure development broker instead (no TLS,
# no ACLs; services then need KAFKA_INSECURE_DEVELOPMENT=true).
#
# Usage: scripts/kafka.sh {fetch|start|stop|restart|status|bootstrap|logs|reset|provision|pki|client-env}
#
#   fetch      download Kafka + runtime deps into the cache (idempotent)
#   start      fetch if needed, format storage once, launch the broker, wait
#              until it answers metadata requests; prints
#              "kafka ready on 127.0.0.1:<port>"
#   stop       SIGTERM, wait up to 30 s, then SIGKILL
#   restart    stop + start
#   status     exit 0 if running (prints the bootstrap address), 1 otherwise
#   bootstrap  print 127.0.0.1:<port> of the running broker (exit 1 if none)
#   logs       print the broker log (LOGS_FOLLOW=1 to follow)
#   reset      stop and delete the data dir (all topics and offsets)
#   provision  (again) create the topics and make the ACLs what contracts/bus.yaml says
#   pki        print the folder holding the CA and the principals' certificates and keys
#   client-env <principal>  print KAFKA_* settings for that principal (bootstrap, protocol, files)
#
# Environment:
#   KAFKA_VERSION     Kafka release (default: pinned below)
#   CERTIFIA_CACHE    cache root (default: $HOME/.cache/certifia)
#   KAFKA_DATA_DIR    data dir (default: <repo>/var/kafka, git-ignored)
#   KAFKA_PORT        client port (default: 19092, else a random free one)
#   KAFKA_HEAP_OPTS   JVM heap flags (default: -Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT  seconds to wait for readiness (default: 60)
#   KAFKA_SECURITY    mtls (default) or plaintext (insecure, development only)
set -euo pipefail

# Newest 4.x release of org.apache.kafka:kafka_2.13 on Maven Central when
# pinned. Kafka 4.x brokers need Java 17+.
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
# Log4j2 version used by kafka-server ${KAFKA_VERSION} (see its pom); the SLF4J
# 1.x binding (Kafka still uses slf4j-api 1.7.x) must match it.
LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.5}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${CERTIFIA_CACHE:-${HOME:-/tmp}/.cache/certifia}"
KAFKA_HOME="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS_DIR="$KAFKA_HOME/libs"
M2_REPO="$CACHE_ROOT/m2-repository"
FETCH_MARKER="$KAFKA_HOME/.fetched"
LOG4J_CONF="$KAFKA_HOME/log4j2.properties"

DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/var/kafka}"
PID_FILE="$DATA_DIR/kafka.pid"
PORT_FILE="$DATA_DIR/kafka.port"
CPORT_FILE="$DATA_DIR/kafka.controller.port"
CONF_FILE="$DATA_DIR/server.properties"
LOG_DIRS="$DATA_DIR/data"
APP_LOG_DIR="$DATA_DIR/logs"
STDOUT_FILE="$APP_LOG_DIR/kafka.out"
PKI_DIR="$DATA_DIR/pki"
SECURITY_FILE="$DATA_DIR/security"
SERVER_LOG="$APP_LOG_DIR/server.log"

START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
VENV_PY="$REPO_ROOT/.venv/bin/python"

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() { printf '[kafka.sh] error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { # <start_ms>
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%03ds' $((d / 1000)) $((d % 1000))
}

# ---------------------------------------------------------------- tools ----
require_java() {
  command -v java >/dev/null 2>&1 \
    || die "java not found. Install a Java 17+ runtime, e.g. 'apt-get install -y openjdk-17-jre-headless' (Debian/Ubuntu) or 'brew install openjdk@17' (macOS)."
  local line major
  line="$(java -version 2>&1 | head -n1)"
  major="$(sed -E 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/' <<<"$line")"
  # "1.8.0_x" style -> major 8
  if [[ "${major%% *}" == 1 ]]; then major="${major#* }"; else major="${major%% *}"; fi
  [[ "$major" =~ ^[0-9]+$ ]] || die "cannot parse java version from: $line"
  (( major >= 17 )) \
    || die "Kafka $KAFKA_VERSION needs Java 17+, found: $line. Install e.g. 'apt-get install -y openjdk-17-jre-headless'."
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 \
    || die "mvn not found (needed once to download the Kafka jars). Install Maven, e.g. 'apt-get install -y maven' (Debian/Ubuntu) or 'brew install maven' (macOS)."
}

# ---------------------------------------------------------------- fetch ----
write_pom() {
  cat >"$KAFKA_HOME/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh: runtime classpath of a Kafka broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.certifia</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- broker (kafka.Kafka) and storage tool (kafka.tools.StorageTool) -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- logging backend normally bundled by the Kafka distribution -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

write_log4j_conf() {
  # Broker log to a file (path from the kafka.logs.dir system property),
  # INFO for the lines we wait on, WARN for the noisy rest.
  cat >"$LOG4J_CONF" <<'EOF'
# Generated by scripts/kafka.sh
status = warn
name = certifia-kafka

appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3

rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE

# "Kafka Server started" and listener/startup lines
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.controller.name = kafka.server.ControllerServer
logger.controller.level = INFO
logger.kafka.name = kafka.Kafka$
logger.kafka.level = INFO
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = INFO
EOF
}

fetch_complete() { [[ -f "$FETCH_MARKER" && -f "$LOG4J_CONF" ]] && compgen -G "$LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; }

cmd_fetch() {
  if fetch_complete; then
    log "Kafka $KAFKA_VERSION already fetched ($LIBS_DIR)"
    return 0
  fi
  require_mvn
  local t0; t0=$(now_ms)
  log "fetching Kafka $KAFKA_VERSION + runtime deps with mvn into $LIBS_DIR ..."
  mkdir -p "$KAFKA_HOME" "$M2_REPO"
  write_pom
  local tmp="$LIBS_DIR.tmp.$$"
  rm -rf "$tmp"
  local mvn_log="$KAFKA_HOME/mvn.log"
  if ! mvn -B -q -f "$KAFKA_HOME/pom.xml" \
      -Dmaven.repo.local="$M2_REPO" \
      -Dmaven.artifact.threads=8 \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime \
      -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$mvn_log" >&2 || true
    die "mvn failed to fetch Kafka $KAFKA_VERSION (full log: $mvn_log)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing in $tmp"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  write_log4j_conf
  printf 'kafka=%s log4j=%s jars=%s\n' "$KAFKA_VERSION" "$LOG4J_VERSION" \
    "$(find "$LIBS_DIR" -name '*.jar' | wc -l)" >"$FETCH_MARKER"
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $(elapsed "$t0")"
}

# -------------------------------------------------------------- process ----
read_pid() { [[ -f "$PID_FILE" ]] && tr -dc '0-9' <"$PID_FILE" || true; }

# Running = pid alive AND it is our broker (guards against pid reuse).
is_running() {
  local pid; pid="$(read_pid)"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local args; args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
  [[ "$args" == *kafka.Kafka* ]]
}

port_in_use() { # <port>: something accepts connections on 127.0.0.1:<port>
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_bindable() { # <port>
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
  else
    ! port_in_use "$1"
  fi
}

random_free_port() { # [exclude]
  local p i
  if command -v python3 >/dev/null 2>&1; then
    for i in 1 2 3 4 5; do
      p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
      [[ "$p" != "${1:-}" ]] && { echo "$p"; return 0; }
    done
  fi
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    [[ "$p" != "${1:-}" ]] && port_bindable "$p" && { echo "$p"; return 0; }
  done
  die "could not find a free local port"
}

pick_port() { # <preferred> <exclude>
  local pref="$1" excl="${2:-}"
  if [[ -n "$pref" && "$pref" != "$excl" ]] && port_bindable "$pref"; then echo "$pref"; return 0; fi
  random_free_port "$excl"
}

new_cluster_id() {
  # Kafka Uuid: 16 random bytes, base64url without padding (22 chars). One starting with '-' would be
  # read as an option by kafka-storage's argument parser, so draw again.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && break
  done
  printf '%s' "$id"
}

security_mode() {
  case "${KAFKA_SECURITY:-mtls}" in
    mtls|plaintext) echo "${KAFKA_SECURITY:-mtls}" ;;
    *) die "KAFKA_SECURITY must be mtls or plaintext, not '${KAFKA_SECURITY}'" ;;
  esac
}

# The mode of the broker that runs (written at its start), for clients and `client-env`.
running_mode() { cat "$SECURITY_FILE" 2>/dev/null || echo mtls; }

listener_properties() { # <port> <cport> <mode>
  if [[ "$3" == plaintext ]]; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=PLAINTEXT://127.0.0.1:$1
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
    return 0
  fi
  # Mutual TLS everywhere, the controller listener included; the broker talks to itself as User:broker.
  cat <<EOF
listeners=SSL://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=SSL://127.0.0.1:$1
inter.broker.listener.name=SSL
listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL
ssl.keystore.type=PEM
ssl.keystore.location=$PKI_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$PKI_DIR/ca.crt
ssl.client.auth=required
ssl.enabled.protocols=TLSv1.3
ssl.protocol=TLSv1.3
ssl.endpoint.identification.algorithm=https
# CN=<name>,O=certifia -> User:<name>: one principal per service
ssl.principal.mapping.rules=RULE:^CN=([A-Za-z0-9._-]+),O=certifia\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:admin
EOF
}

write_server_properties() { # <port> <cport> <mode>
  {
  cat <<EOF
# Generated by scripts/kafka.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$2
controller.listener.names=CONTROLLER
EOF
  listener_properties "$1" "$2" "$3"
  cat <<EOF
log.dirs=$LOG_DIRS

# topics are created by the admin step (certifia_shared.bus_admin provision), never by a client's request
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=16777216
EOF
  } >"$CONF_FILE"
}

java_args() { # <heap flags> -> JAVA_ARGS
  # shellcheck disable=SC2206
  JAVA_ARGS=($1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true -Dcertifia.kafka=1 -Dlog4j2.shutdownHookEnabled=false
    -Dkafka.logs.dir="$APP_LOG_DIR"
    -Dlog4j2.configurationFile="$LOG4J_CONF"
    -cp "$LIBS_DIR/*")
}

format_storage() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    return 0
  fi
  local t0; t0=$(now_ms)
  local cid; cid="$(new_cluster_id)"
  mkdir -p "$LOG_DIRS"
  log "formatting storage (cluster id $cid) ..."
  # Static quorum (controller.quorum.voters), so the controller port may change
  # between restarts; no --standalone needed.
  java_args "-Xmx256m"
  if ! java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format -t "$cid" -c "$CONF_FILE" --ignore-formatted \
         >"$APP_LOG_DIR/format.log" 2>&1; then
    cat "$APP_LOG_DIR/format.log" >&2 || true
    die "formatting Kafka storage failed"
  fi
  log "formatted in $(elapsed "$t0")"
}

require_venv() {
  [[ -x "$VENV_PY" ]] && "$VENV_PY" -c 'import kafka, cryptography, certifia_shared' >/dev/null 2>&1 \
    || die "the project's virtualenv is missing or incomplete ($VENV_PY): run 'make venv' first"
}

# KAFKA_* settings of <principal> for the running broker (what a client of that principal needs).
client_env() { # <principal> [port]
  local port="${2:-$(cat "$PORT_FILE" 2>/dev/null)}"
  echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
  if [[ "$(running_mode)" == plaintext ]]; then
    echo "KAFKA_SECURITY_PROTOCOL=PLAINTEXT"
    echo "KAFKA_INSECURE_DEVELOPMENT=true"
  else
    echo "KAFKA_SECURITY_PROTOCOL=SSL"
    echo "KAFKA_SSL_CAFILE=$PKI_DIR/ca.crt"
    echo "KAFKA_SSL_CERTFILE=$PKI_DIR/$1.crt"
    echo "KAFKA_SSL_KEYFILE=$PKI_DIR/$1.key"
  fi
}

as_admin() { # <port> <command...>: run a command with the admin principal's settings
  local port="$1"; shift
  # shellcheck disable=SC2046
  env $(client_env admin "$port") "$@"
}

broker_answers() { # <port>: a metadata request as the admin succeeds
  as_admin "$1" "$VENV_PY" - <<'EOF' >"$APP_LOG_DIR/readiness.log" 2>&1
from certifia_shared.bus_admin import _settings_security
from certifia_shared.kafka import make_admin
bootstrap, security = _settings_security()
c = make_admin(bootstrap, "certifia-kafka-sh", security, request_timeout_ms=5000)
try:
    c.list_topics()
finally:
    c.close()
EOF
}

cmd_provision() { # [port]
  local port="${1:-$(cat "$PORT_FILE" 2>/dev/null)}"
  [[ -n "$port" ]] || die "no broker port: start it first"
  require_venv
  local out
  if ! out="$(as_admin "$port" "$VENV_PY" -m certifia_shared.bus_admin provision 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "provisioning topics and ACLs failed"
  fi
  log "$out"
}

cmd_start() {
  local t0; t0=$(now_ms)
  if is_running; then
    log "already running (pid $(read_pid))"
    echo "kafka ready on 127.0.0.1:$(cat "$PORT_FILE")"
    return 0
  fi
  require_java
  require_venv
  cmd_fetch
  local mode; mode="$(security_mode)"
  mkdir -p "$DATA_DIR" "$APP_LOG_DIR"
  rm -f "$PID_FILE"
  if [[ "$mode" == mtls ]]; then
    # a new CA and certificates at each launch: rotation is a restart
    "$VENV_PY" -m certifia_shared.pki "$PKI_DIR" >/dev/null || die "creating the TLS key material failed"
  else
    log "WARNING: KAFKA_SECURITY=plaintext: no TLS, no authentication, no ACLs (development only)"
    rm -rf "$PKI_DIR"
  fi
  echo "$mode" >"$SECURITY_FILE"

  local port cport
  if [[ -n "${KAFKA_PORT:-}" ]]; then
    port="$KAFKA_PORT"
    port_bindable "$port" || die "KAFKA_PORT=$port is already in use"
  else
    port="$(pick_port 19092)"
  fi
  cport="$(pick_port "$(( port + 1 ))" "$port")"
  write_server_properties "$port" "$cport" "$mode"
  format_storage

  local t1; t1=$(now_ms)
  : >"$STDOUT_FILE"
  # Detach from this shell's session so the broker outlives `make`/CI steps.
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  java_args "$HEAP_OPTS"
  # Not a process-group leader (no job control), so setsid execs in place and
  # $! is the JVM's pid.
  ( cd "$DATA_DIR" && exec ${launcher[@]+"${launcher[@]}"} java "${JAVA_ARGS[@]}" kafka.Kafka "$CONF_FILE" \
      </dev/null >>"$STDOUT_FILE" 2>&1 ) &
  echo $! >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  echo "$cport" >"$CPORT_FILE"
  local pid; pid="$(read_pid)"
  log "launched broker pid $pid (client 127.0.0.1:$port, controller 127.0.0.1:$cport)"

  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until port_in_use "$port" && grep -q "Kafka Server started" "$SERVER_LOG" "$STDOUT_FILE" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during startup; last log lines:"
      tail -n 30 "$STDOUT_FILE" "$SERVER_LOG" >&2 2>/dev/null || true
      rm -f "$PID_FILE"
      die "Kafka failed to start"
    fi
    (( $(date +%s) < deadline )) || { tail -n 30 "$SERVER_LOG" >&2 2>/dev/null || true; cmd_stop >/dev/null 2>&1 || true; die "Kafka not ready after ${START_TIMEOUT}s"; }
    sleep 0.2
  done
  log "listening after $(elapsed "$t1")"
  until broker_answers "$port"; do
    (( $(date +%s) < deadline )) || { tail -n 20 "$APP_LOG_DIR/readiness.log" >&2 2>/dev/null || true; cmd_stop >/dev/null 2>&1 || true; die "Kafka listens on $port but does not answer metadata requests after ${START_TIMEOUT}s"; }
    sleep 0.5
  done
  log "ready after $(elapsed "$t1") ($mode)"
  cmd_provision "$port"
  log "total $(elapsed "$t0")"
  echo "kafka ready on 127.0.0.1:$port"
}

cmd_stop() {
  local pid; pid="$(read_pid)"
  if ! is_running; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  local t0; t0=$(now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid) in $(elapsed "$t0")"
}

cmd_status() {
  if is_running; then
    echo "running: pid $(read_pid), bootstrap 127.0.0.1:$(cat "$PORT_FILE")"
    return 0
  fi
  echo "not running"
  return 1
}

cmd_bootstrap() {
  is_running && [[ -s "$PORT_FILE" ]] || { log "not running"; return 1; }
  echo "127.0.0.1:$(cat "$PORT_FILE")"
}

cmd_logs() {
  [[ -f "$SERVER_LOG" ]] || die "no log yet ($SERVER_LOG)"
  if [[ "${LOGS_FOLLOW:-0}" == 1 ]]; then
    exec tail -n 100 -F "$SERVER_LOG" "$STDOUT_FILE"
  fi
  cat "$SERVER_LOG"
  [[ -s "$STDOUT_FILE" ]] && { echo "---- stdout/stderr ----"; cat "$STDOUT_FILE"; }
  return 0
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA_DIR"
  log "removed $DATA_DIR"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  bootstrap) cmd_bootstrap ;;
  logs) cmd_logs ;;
  reset) cmd_reset ;;
  provision) cmd_provision ;;
  pki) [[ -d "$PKI_DIR" ]] || die "no key material (the broker runs plaintext, or never started)"; echo "$PKI_DIR" ;;
  client-env)
    [[ -n "${2:-}" ]] || die "usage: $0 client-env <principal>"
    is_running || die "not running"
    client_env "$2" ;;
  *) echo "usage: $0 {fetch|start|stop|restart|status|bootstrap|logs|reset|provision|pki|client-env}" >&2; exit 2 ;;
esac
