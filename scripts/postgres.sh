#!/usr/bin/env bash
# Local PostgreSQL for tests and `make run` (when a DATABASE_URL points at it).
#
# Usage: scripts/postgres.sh {ensure|createdbs|url <service>|dropdbs-test|status|restart}
#
#   ensure        make sure a PostgreSQL server answers on 127.0.0.1:$CERTIFIA_PG_PORT
#                 (default 5432). On Debian/Ubuntu: installs the `postgresql`
#                 package with apt-get when missing and starts a cluster with
#                 pg_ctlcluster (works without systemd). Elsewhere, when
#                 initdb/pg_ctl are on PATH and we are not root: runs a private
#                 cluster in <repo>/var/postgres.
#   createdbs     create role certifia (password certifia) and the databases
#                 certifia_<svc> and certifia_<svc>_test for every service
#                 (idempotent)
#   url <svc>     print the SQLAlchemy URL for a service database, e.g.
#                 postgresql+psycopg://certifia:certifia@127.0.0.1:5432/certifia_grading
#                 (<svc> may end in _test; grading-compute maps to grading)
#   dropdbs-test  drop and recreate the *_test databases
#   status        exit 0 if the server answers
#   restart       restart the server (fast shutdown: every connection is cut) and wait until it
#                 answers again; make bench-cohort's fault (not with CERTIFIA_PG_ADMIN_URL)
#
# Environment:
#   CERTIFIA_PG_PORT       port (default 5432)
#   CERTIFIA_PG_ADMIN_URL  libpq URL of a superuser on an existing server
#                          (e.g. a container); when set, nothing is installed
#                          or started and admin SQL goes through this URL
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_HOST=127.0.0.1
PG_PORT="${CERTIFIA_PG_PORT:-5432}"
PG_USER=certifia
PG_PASSWORD=certifia
SERVICES=(enrolment assessment grading thesis certification)
ADMIN_URL="${CERTIFIA_PG_ADMIN_URL:-}"
PRIVATE_DIR="$REPO_ROOT/var/postgres"   # only for the non-Debian fallback

log() { printf '[postgres.sh] %s\n' "$*" >&2; }
die() { printf '[postgres.sh] error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" == 0 ]]; }

# Run a command as root (directly, or through passwordless sudo).
as_root() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else die "need root for: $* (run as root or configure passwordless sudo)"
  fi
}

# Run a command as the postgres OS user (Debian clusters: peer auth on the socket).
as_postgres() {
  if [[ "$(id -un)" == postgres ]]; then (cd / && "$@")
  elif is_root; then
    if command -v runuser >/dev/null 2>&1; then (cd / && runuser -u postgres -- "$@")
    else (cd / && su -s /bin/sh postgres -c "$(printf '%q ' "$@")")
    fi
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then (cd / && sudo -n -u postgres "$@")
  else die "need root, passwordless sudo, or CERTIFIA_PG_ADMIN_URL to administer PostgreSQL"
  fi
}

pg_bin_dir() { # newest /usr/lib/postgresql/<ver>/bin (Debian layout)
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  [[ -n "$d" ]] && echo "$d"
}

find_pg_tool() { # <name>: on PATH or in the Debian layout
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return 0; fi
  local d; d="$(pg_bin_dir || true)"
  [[ -n "$d" && -x "$d/$1" ]] && { echo "$d/$1"; return 0; }
  return 1
}

server_answers() {
  local isready
  if isready="$(find_pg_tool pg_isready)"; then
    "$isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

wait_ready() {
  local i
  for i in $(seq 1 60); do
    server_answers && return 0
    sleep 0.5
  done
  return 1
}

mode() { # how we administer: admin-url | debian | private
  if [[ -n "$ADMIN_URL" ]]; then echo admin-url
  elif command -v pg_ctlcluster >/dev/null 2>&1; then echo debian
  elif [[ -f "$PRIVATE_DIR/data/PG_VERSION" ]]; then echo private
  elif ! is_root && find_pg_tool initdb >/dev/null && find_pg_tool pg_ctl >/dev/null; then echo private
  else echo debian
  fi
}

# ------------------------------------------------------------ install ----
apt_install_postgresql() {
  command -v apt-get >/dev/null 2>&1 \
    || die "PostgreSQL is not installed and apt-get is unavailable. Install PostgreSQL 14+ (server + client) yourself, or point CERTIFIA_PG_ADMIN_URL at a running server."
  log "installing PostgreSQL with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    postgresql postgresql-client >/dev/null
  command -v pg_ctlcluster >/dev/null 2>&1 || die "apt-get install postgresql did not provide pg_ctlcluster"
}

# ------------------------------------------------------------- debian ----
# Prints "<version> <name> <status>" of the cluster on $PG_PORT.
debian_cluster() {
  pg_lsclusters --no-header 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2, $4; exit }'
}

ensure_debian() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(pg_bin_dir || true)" ]]; then
    apt_install_postgresql
  fi
  local cl ver name status
  cl="$(debian_cluster)"
  if [[ -z "$cl" ]]; then
    ver="$(basename "$(dirname "$(pg_bin_dir)")")"
    name=main
    if pg_lsclusters --no-header 2>/dev/null | awk '{print $1, $2}' | grep -qx "$ver $name"; then
      name=certifia
    fi
    log "creating cluster $ver/$name on port $PG_PORT ..."
    as_root pg_createcluster --port "$PG_PORT" "$ver" "$name" >/dev/null
    cl="$(debian_cluster)"
    [[ -n "$cl" ]] || die "pg_createcluster did not create a cluster on port $PG_PORT"
  fi
  read -r ver name status <<<"$cl"
  if [[ "$status" != online* ]]; then
    log "starting cluster $ver/$name (port $PG_PORT) ..."
    # --skip-systemctl-redirect: works the same with or without systemd as PID 1.
    if ! as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start; then
      tail -n 20 "/var/log/postgresql/postgresql-$ver-$name.log" >&2 2>/dev/null || true
      die "could not start cluster $ver/$name"
    fi
  fi
}

# ------------------------------------------------------------ private ----
private_socket_dir() { echo "$PRIVATE_DIR/run"; }

ensure_private() {
  local initdb pg_ctl data="$PRIVATE_DIR/data"
  initdb="$(find_pg_tool initdb)" || die "initdb not found"
  pg_ctl="$(find_pg_tool pg_ctl)" || die "pg_ctl not found"
  mkdir -p "$PRIVATE_DIR" "$(private_socket_dir)"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initialising private cluster in $data ..."
    "$initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --no-locale >"$PRIVATE_DIR/initdb.log" 2>&1 \
      || { cat "$PRIVATE_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! "$pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "starting private cluster on $PG_HOST:$PG_PORT ..."
    "$pg_ctl" -D "$data" -l "$PRIVATE_DIR/postgres.log" -w -t 60 \
      -o "-h $PG_HOST -p $PG_PORT -k $(private_socket_dir)" start >/dev/null \
      || { tail -n 20 "$PRIVATE_DIR/postgres.log" >&2; die "could not start PostgreSQL"; }
  fi
}

# --------------------------------------------------------------- admin ----
# psql as a superuser, reading SQL from stdin or -c.
psql_admin() {
  local psql; psql="$(find_pg_tool psql)" || die "psql not found (install postgresql-client)"
  case "$(mode)" in
    admin-url) "$psql" "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 "$@" ;;
    private) "$psql" -h "$(private_socket_dir)" -p "$PG_PORT" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@" ;;
    debian) as_postgres "$psql" -p "$PG_PORT" -d postgres -X -q -v ON_ERROR_STOP=1 "$@" ;;
  esac
}

cmd_ensure() {
  if server_answers; then
    log "PostgreSQL answers on $PG_HOST:$PG_PORT"
    return 0
  fi
  case "$(mode)" in
    admin-url) die "CERTIFIA_PG_ADMIN_URL is set but nothing answers on $PG_HOST:$PG_PORT" ;;
    private) ensure_private ;;
    debian) ensure_debian ;;
  esac
  wait_ready || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT"
  log "PostgreSQL ready on $PG_HOST:$PG_PORT"
}

all_dbs() { local s; for s in "${SERVICES[@]}"; do echo "certifia_$s"; echo "certifia_${s}_test"; done; }
test_dbs() { local s; for s in "${SERVICES[@]}"; do echo "certifia_${s}_test"; done; }

create_role_sql() {
  cat <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
EOF
}

create_dbs_sql() { # db names on stdin
  local db
  while read -r db; do
    cat <<EOF
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', '$db', '$PG_USER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')
\\gexec
ALTER DATABASE "$db" OWNER TO $PG_USER;
EOF
  done
}

# Can certifia log in over TCP with its password?
tcp_login_ok() {
  local psql; psql="$(find_pg_tool psql)" || return 1
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$psql" -X -q -w -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "certifia_${SERVICES[0]}" -tAc 'SELECT 1' >/dev/null 2>&1
}

# Debian clusters: make sure pg_hba allows password logins from 127.0.0.1.
fix_hba() {
  [[ "$(mode)" == debian ]] || return 0
  local hba; hba="$(psql_admin -tAc 'SHOW hba_file')"
  [[ -n "$hba" ]] || return 0
  log "adding a password rule for $PG_USER on 127.0.0.1 to $hba"
  local line="host    all             $PG_USER        127.0.0.1/32            scram-sha-256"
  as_root sh -c "grep -qxF '$line' '$hba' || { printf '%s\n' '$line' | cat - '$hba' > '$hba.certifia' && cat '$hba.certifia' > '$hba' && rm -f '$hba.certifia'; }"
  psql_admin -c 'SELECT pg_reload_conf()' >/dev/null
  sleep 0.5
}

cmd_createdbs() {
  server_answers || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT (run: scripts/postgres.sh ensure)"
  # scram-sha-256 is the default since PG 14; make it explicit for the password.
  { echo "SET password_encryption = 'scram-sha-256';"; create_role_sql; all_dbs | create_dbs_sql; } | psql_admin -f - >/dev/null
  if ! tcp_login_ok; then
    fix_hba
    tcp_login_ok || die "role $PG_USER cannot log in over TCP $PG_HOST:$PG_PORT with its password; check pg_hba.conf"
  fi
  log "role $PG_USER and databases ready: $(all_dbs | tr '\n' ' ')"
}

cmd_dropdbs_test() {
  server_answers || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT (run: scripts/postgres.sh ensure)"
  local db sql=""
  while read -r db; do
    sql+="DROP DATABASE IF EXISTS \"$db\" WITH (FORCE);"$'\n'
  done < <(test_dbs)
  { echo "$sql"; create_role_sql; test_dbs | create_dbs_sql; } | psql_admin -f - >/dev/null
  log "recreated: $(test_dbs | tr '\n' ' ')"
}

cmd_url() {
  local svc="${1:-}" base suffix=""
  [[ -n "$svc" ]] || die "usage: $0 url <service>  (one of: ${SERVICES[*]}; optional _test suffix)"
  if [[ "$svc" == *_test ]]; then suffix=_test; svc="${svc%_test}"; fi
  base="${svc//-/_}"
  [[ "$base" == grading_compute ]] && base=grading
  local s ok=0
  for s in "${SERVICES[@]}"; do [[ "$s" == "$base" ]] && ok=1; done
  (( ok )) || die "unknown service '$1' (one of: ${SERVICES[*]})"
  echo "postgresql+psycopg://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/certifia_${base}${suffix}"
}

cmd_status() {
  if server_answers; then echo "PostgreSQL answers on $PG_HOST:$PG_PORT"; return 0; fi
  echo "PostgreSQL does not answer on $PG_HOST:$PG_PORT"; return 1
}

cmd_restart() {
  local pg_ctl ver name status
  case "$(mode)" in
    admin-url) die "CERTIFIA_PG_ADMIN_URL: the server is not ours to restart" ;;
    private)
      pg_ctl="$(find_pg_tool pg_ctl)" || die "pg_ctl not found"
      "$pg_ctl" -D "$PRIVATE_DIR/data" -l "$PRIVATE_DIR/postgres.log" -w -t 60 -m fast \
        -o "-h $PG_HOST -p $PG_PORT -k $(private_socket_dir)" restart >/dev/null \
        || { tail -n 20 "$PRIVATE_DIR/postgres.log" >&2; die "could not restart PostgreSQL"; } ;;
    debian)
      read -r ver name status <<<"$(debian_cluster)"
      [[ -n "${name:-}" ]] || die "no cluster on port $PG_PORT (run: scripts/postgres.sh ensure)"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" restart -m fast \
        || die "could not restart cluster $ver/$name" ;;
  esac
  wait_ready || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT after the restart"
  log "PostgreSQL restarted on $PG_HOST:$PG_PORT"
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  createdbs) cmd_createdbs ;;
  url) shift; cmd_url "$@" ;;
  dropdbs-test) cmd_dropdbs_test ;;
  status) cmd_status ;;
  restart) cmd_restart ;;
  *) echo "usage: $0 {ensure|createdbs|url <service>|dropdbs-test|status|restart}" >&2; exit 2 ;;
esac
