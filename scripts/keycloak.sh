#!/usr/bin/env bash
# Local Keycloak (the OpenID Connect identity provider) for tests and `make run`. No Docker: the
# distribution (org.keycloak:keycloak-quarkus-dist, a tar.gz on Maven Central) is fetched once with mvn
# into the cache, outside git, and started in development mode (`bin/kc.sh start-dev`: embedded H2
# database, plain HTTP, bound to 127.0.0.1 only).
#
# The development realm deploy/keycloak/certifia-realm.json is imported on the first start of a data dir
# (--import-realm, from <data dir>/import); later starts keep what the database holds, and warn when the
# file changed since (`reset` imports it again). Its client secrets and user passwords are fixed
# development values: see deploy/keycloak/README.md.
#
# The bootstrap administrator of the master realm ("admin") gets a password generated on the first start
# into <data dir>/admin-password (0600); it is never printed.
#
# Usage: scripts/keycloak.sh {fetch|start|stop|restart|status|url|issuer|logs|reset}
#
#   fetch      download the Keycloak distribution into the cache (idempotent)
#   start      fetch if needed, launch Keycloak, wait until the realm's OIDC discovery answers; prints
#              "keycloak ready on http://127.0.0.1:<port>" (timings on stderr)
#   stop       SIGTERM, wait up to 30 s, then SIGKILL
#   restart    stop + start
#   status     exit 0 if running (prints the URL), 1 otherwise
#   url        print http://127.0.0.1:<port> of the running server (exit 1 if none)
#   issuer     print the issuer URL of the certifia realm (http://127.0.0.1:<port>/realms/certifia)
#   logs       print the server log (LOGS_FOLLOW=1 to follow)
#   reset      stop and delete the data dir (users, sessions, the imported realm, the admin password)
#
# Environment:
#   KEYCLOAK_VERSION        Keycloak release (default: pinned below)
#   CERTIFIA_CACHE          cache root (default: $HOME/.cache/certifia)
#   KEYCLOAK_DATA_DIR       data dir (default: <repo>/var/keycloak, git-ignored)
#   KEYCLOAK_PORT           HTTP port (default: 18080, else a random free one)
#   KEYCLOAK_REALM_FILE     realm to import (default: deploy/keycloak/certifia-realm.json)
#   KEYCLOAK_HEAP_OPTS      JVM heap flags (default: -Xms64m -Xmx512m)
#   KEYCLOAK_JAVA_OPTS_APPEND  more JVM flags (default: -XX:TieredStopAtLevel=1: C1 only, a third faster
#                           start for a development server that issues few tokens; "" for the full JIT)
#   KEYCLOAK_START_TIMEOUT  seconds to wait for readiness (default: 120)
set -euo pipefail

KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.4.7}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${CERTIFIA_CACHE:-${HOME:-/tmp}/.cache/certifia}"
KC_HOME="$CACHE_ROOT/keycloak-$KEYCLOAK_VERSION"
M2_REPO="$CACHE_ROOT/m2-repository"
FETCH_MARKER="$KC_HOME/.fetched"
# start-dev rewrites the distribution's lib/quarkus once (its dev-mode build): the first start holds a lock
BUILT_MARKER="$KC_HOME/.dev-build-done"
BUILD_LOCK="$KC_HOME/.dev-build.lock"

DATA_DIR="${KEYCLOAK_DATA_DIR:-$REPO_ROOT/var/keycloak}"
REALM_FILE="${KEYCLOAK_REALM_FILE:-$REPO_ROOT/deploy/keycloak/certifia-realm.json}"
REALM="certifia"
PID_FILE="$DATA_DIR/keycloak.pid"
PORT_FILE="$DATA_DIR/keycloak.port"
IMPORT_DIR="$DATA_DIR/import"
IMPORTED_SUM="$DATA_DIR/imported-realm.sha256"
ADMIN_PASSWORD_FILE="$DATA_DIR/admin-password"
APP_LOG_DIR="$DATA_DIR/logs"
STDOUT_FILE="$APP_LOG_DIR/keycloak.out"

START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-120}"
HEAP_OPTS="${KEYCLOAK_HEAP_OPTS:--Xms64m -Xmx512m}"
JAVA_APPEND="${KEYCLOAK_JAVA_OPTS_APPEND--XX:TieredStopAtLevel=1}"

TAG=keycloak.sh PRODUCT="Keycloak $KEYCLOAK_VERSION"
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

require_curl() {
  command -v curl >/dev/null 2>&1 || die "curl not found (used to wait for readiness): 'apt-get install -y curl'"
}

# ---------------------------------------------------------------- fetch ----
fetch_complete() { [[ -f "$FETCH_MARKER" && -x "$KC_HOME/bin/kc.sh" && -f "$KC_HOME/lib/quarkus-run.jar" ]]; }

cmd_fetch() {
  if fetch_complete; then
    log "Keycloak $KEYCLOAK_VERSION already fetched ($KC_HOME)"
    return 0
  fi
  require_mvn
  local t0; t0=$(now_ms)
  log "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION (tar.gz) with mvn into $KC_HOME ..."
  mkdir -p "$CACHE_ROOT" "$M2_REPO"
  local tmp="$KC_HOME.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local mvn_log="$tmp.mvn.log"
  # no pom needed: the plugin's unpack goal takes the artifact on the command line
  if ! (cd "$tmp" && mvn -B -q \
      -Dmaven.repo.local="$M2_REPO" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
      -DoutputDirectory="$tmp/dist" >"$mvn_log" 2>&1); then
    tail -n 40 "$mvn_log" >&2 || true
    rm -rf "$tmp"
    die "mvn failed to fetch Keycloak $KEYCLOAK_VERSION (full log: $mvn_log)"
  fi
  local unpacked="$tmp/dist/keycloak-$KEYCLOAK_VERSION"
  [[ -x "$unpacked/bin/kc.sh" ]] || die "mvn finished but $unpacked/bin/kc.sh is missing"
  rm -rf "$KC_HOME"
  mv "$unpacked" "$KC_HOME"
  rm -rf "$tmp" "$mvn_log"
  printf 'keycloak=%s fetched=%s\n' "$KEYCLOAK_VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$FETCH_MARKER"
  log "fetched Keycloak $KEYCLOAK_VERSION ($(du -sh "$KC_HOME" | cut -f1)) in $(elapsed "$t0")"
}

# -------------------------------------------------------------- process ----
read_pid() { if [[ -f "$PID_FILE" ]]; then tr -dc '0-9' <"$PID_FILE"; fi; }

# Running = pid alive AND it is our Keycloak (kc.sh, or the JVM it exec'ed, with our data dir): guards
# against pid reuse and against another data dir's server.
is_running() {
  local pid; pid="$(read_pid)"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local args; args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
  [[ "$args" == *kc.sh* || "$args" == *QuarkusEntryPoint* ]] && [[ "$args" == *"certifia.keycloak.data=$DATA_DIR"* ]]
}

pick_port() {
  if [[ -n "${KEYCLOAK_PORT:-}" ]]; then
    port_bindable "$KEYCLOAK_PORT" || die "KEYCLOAK_PORT=$KEYCLOAK_PORT is already in use"
    echo "$KEYCLOAK_PORT"
  elif port_bindable 18080; then
    echo 18080
  else
    random_free_port
  fi
}

base_url() { echo "http://127.0.0.1:$1"; }

discovery_answers() { # <port>
  curl -fsS --max-time 5 -o /dev/null "$(base_url "$1")/realms/$REALM/.well-known/openid-configuration" 2>/dev/null
}

ensure_admin_password() {
  [[ -s "$ADMIN_PASSWORD_FILE" ]] && return 0
  ( umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 32 >"$ADMIN_PASSWORD_FILE" )
  chmod 600 "$ADMIN_PASSWORD_FILE"
  log "generated the bootstrap admin password (user 'admin') into $ADMIN_PASSWORD_FILE"
}

stage_realm() {
  [[ -f "$REALM_FILE" ]] || die "realm file not found: $REALM_FILE"
  mkdir -p "$IMPORT_DIR"
  cp "$REALM_FILE" "$IMPORT_DIR/$REALM-realm.json"
  local sum; sum="$(sha256sum "$REALM_FILE" | cut -d' ' -f1)"
  if [[ -f "$DATA_DIR/data/h2/keycloakdb.mv.db" ]]; then
    # the realm exists already: --import-realm skips it (IGNORE_EXISTING)
    if [[ -f "$IMPORTED_SUM" && "$(cat "$IMPORTED_SUM")" != "$sum" ]]; then
      log "WARNING: $REALM_FILE changed since it was imported; run 'scripts/keycloak.sh reset' to import it again"
    fi
  else
    echo "$sum" >"$IMPORTED_SUM"
  fi
}

cmd_start() {
  local t0; t0=$(now_ms)
  if is_running; then
    log "already running (pid $(read_pid))"
    echo "keycloak ready on $(base_url "$(cat "$PORT_FILE")")"
    return 0
  fi
  require_java
  require_curl
  cmd_fetch
  mkdir -p "$DATA_DIR" "$APP_LOG_DIR"
  chmod 700 "$DATA_DIR"  # the H2 database holds the realm's private signing keys
  rm -f "$PID_FILE"
  ensure_admin_password
  stage_realm
  local locked=""
  if [[ ! -f "$BUILT_MARKER" ]] && command -v flock >/dev/null 2>&1; then
    # two first starts (two data dirs) would both rebuild lib/quarkus of the shared distribution
    exec 9>"$BUILD_LOCK"
    flock -w "$START_TIMEOUT" 9 || die "another first start of Keycloak holds $BUILD_LOCK"
    locked=1
    [[ -f "$BUILT_MARKER" ]] || log "first start of this distribution: Keycloak builds its dev-mode image (once, ~30 s)"
  fi
  local port; port="$(pick_port)"

  local t1; t1=$(now_ms)
  : >"$STDOUT_FILE"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # -Dkc.db-url-path: the dev-file H2 database lives in <data dir>/data/h2, not in the shared cache.
  # -Dkeycloak.migration.dir: where --import-realm reads (kc.sh's own data/import is never created).
  # -Dquarkus.transaction-manager.object-store.directory: the JTA log too (another server's would recover it).
  # --hostname: a fixed issuer (http://127.0.0.1:<port>/realms/certifia), whatever Host a client sends.
  # The admin password goes through the environment, never the command line (ps shows it).
  ( cd "$DATA_DIR" && \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin \
    KC_BOOTSTRAP_ADMIN_PASSWORD="$(cat "$ADMIN_PASSWORD_FILE")" \
    JAVA_OPTS_KC_HEAP="$HEAP_OPTS" \
    JAVA_OPTS_APPEND="$JAVA_APPEND" \
    exec 9>&- ${launcher[@]+"${launcher[@]}"} "$KC_HOME/bin/kc.sh" start-dev \
      "-Dcertifia.keycloak.data=$DATA_DIR" \
      "-Dkc.db-url-path=$DATA_DIR" \
      "-Dkeycloak.migration.dir=$IMPORT_DIR" \
      "-Dquarkus.transaction-manager.object-store.directory=$DATA_DIR/data/transaction-logs" \
      --import-realm \
      --http-host=127.0.0.1 --http-port="$port" \
      --hostname="$(base_url "$port")" \
      --health-enabled=false --metrics-enabled=false \
      --log=console --log-console-color=false \
      </dev/null >>"$STDOUT_FILE" 2>&1 ) &
  echo $! >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  local pid; pid="$(read_pid)"
  log "launched Keycloak $KEYCLOAK_VERSION pid $pid ($(base_url "$port"), data $DATA_DIR)"

  local deadline=$(( $(date +%s) + START_TIMEOUT )) listening=""
  until discovery_answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "Keycloak exited during startup; last log lines:"
      tail -n 40 "$STDOUT_FILE" >&2 2>/dev/null || true
      rm -f "$PID_FILE"
      die "Keycloak failed to start (full log: $STDOUT_FILE)"
    fi
    if [[ -z "$listening" ]] && port_in_use "$port"; then
      listening=1
      log "listening after $(elapsed "$t1")"
    fi
    (( $(date +%s) < deadline )) || {
      tail -n 40 "$STDOUT_FILE" >&2 2>/dev/null || true
      cmd_stop >/dev/null 2>&1 || true
      die "realm $REALM not served after ${START_TIMEOUT}s"
    }
    sleep 0.2
  done
  touch "$BUILT_MARKER"
  [[ -z "$locked" ]] || exec 9>&-
  log "realm $REALM ready after $(elapsed "$t1") (issuer $(base_url "$port")/realms/$REALM); total $(elapsed "$t0")"
  echo "keycloak ready on $(base_url "$port")"
}

signal_server() { # <signal> <pid>: the whole process group when kc.sh leads one (setsid), else the pid
  local pgid; pgid="$(ps -o pgid= -p "$2" 2>/dev/null | tr -dc '0-9' || true)"
  if [[ "$pgid" == "$2" ]]; then
    kill "-$1" -- "-$2" 2>/dev/null || true
  else
    kill "-$1" "$2" 2>/dev/null || true
  fi
}

cmd_stop() {
  local pid; pid="$(read_pid)"
  if ! is_running; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  local t0; t0=$(now_ms)
  signal_server TERM "$pid"
  local _
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 30s, sending SIGKILL"
    signal_server KILL "$pid"
    sleep 0.5
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid) in $(elapsed "$t0")"
}

cmd_status() {
  if is_running; then
    echo "running: pid $(read_pid), $(base_url "$(cat "$PORT_FILE")")"
    return 0
  fi
  echo "not running"
  return 1
}

cmd_url() {
  if ! is_running || [[ ! -s "$PORT_FILE" ]]; then log "not running"; return 1; fi
  base_url "$(cat "$PORT_FILE")"
}

cmd_issuer() {
  local url; url="$(cmd_url)" || return 1
  echo "$url/realms/$REALM"
}

cmd_logs() {
  [[ -f "$STDOUT_FILE" ]] || die "no log yet ($STDOUT_FILE)"
  if [[ "${LOGS_FOLLOW:-0}" == 1 ]]; then
    exec tail -n 100 -F "$STDOUT_FILE"
  fi
  cat "$STDOUT_FILE"
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
  url) cmd_url ;;
  issuer) cmd_issuer ;;
  logs) cmd_logs ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 {fetch|start|stop|restart|status|url|issuer|logs|reset}" >&2; exit 2 ;;
esac
