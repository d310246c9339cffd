#!/usr/bin/env bash
# The Docker engine and the compose plugin for `make test-compose` and the e2e suite's containers branch.
#   scripts/docker.sh ensure     start dockerd if none answers (as root), install the compose plugin if missing
#   scripts/docker.sh status     say what answers
# dockerd runs with --iptables=false --ip-masq=false: it leaves the host's network rules alone, and
# containers reach each other and the host only on the engine's own bridges (no route out).
# The compose plugin, when no package provides it, is built from the Go module proxy (docker/compose v2).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${CERTIFIA_CACHE:-${HOME:-/tmp}/.cache/certifia}"
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
LOG_DIR="$REPO_ROOT/var/docker"
log() { printf '[docker.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

start_engine() {
  engine_answers && return 0
  command -v dockerd >/dev/null || die "no dockerd: apt-get install docker.io (scripts/system-packages.sh docker)"
  [[ "$(id -u)" == 0 ]] || die "dockerd is not running and starting it needs root: sudo dockerd --iptables=false --ip-masq=false &"
  mkdir -p "$LOG_DIR"
  log "starting dockerd --iptables=false --ip-masq=false (log: $LOG_DIR/dockerd.log)"
  nohup dockerd --iptables=false --ip-masq=false >"$LOG_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do engine_answers && { log "engine up"; return 0; }; sleep 1; done
  tail -n 20 "$LOG_DIR/dockerd.log" >&2
  die "dockerd did not answer within 60 s"
}

ensure_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  local bin="$CACHE_ROOT/docker-compose-$COMPOSE_VERSION"
  if [[ ! -x "$bin" ]]; then
    command -v go >/dev/null || die "no docker compose plugin and no go to build it"
    local mod="$CACHE_ROOT/compose-$COMPOSE_VERSION-module"
    mkdir -p "$mod"
    log "building docker compose $COMPOSE_VERSION from the Go module proxy (about 5 min, once) ..."
    ( cd "$mod"
      [[ -f go.mod ]] || go mod init certifia.local/compose >/dev/null 2>&1
      go get -tool "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
      go build -o "$bin" github.com/docker/compose/v2/cmd ) >&2 || die "go build of docker compose failed"
  fi
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$bin" "$HOME/.docker/cli-plugins/docker-compose"
  docker compose version >/dev/null || die "docker compose still does not answer"
}

case "${1:-}" in
  ensure) start_engine; ensure_compose ;;
  status)
    if engine_answers; then docker version --format 'engine {{.Server.Version}}'; else echo "engine: not answering"; fi
    docker compose version 2>/dev/null || echo "compose: missing" ;;
  *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
