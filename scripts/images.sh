#!/usr/bin/env bash
# Local stand-ins for the upstream images deploy/compose uses, for machines that reach no image registry.
# Built from Debian packages (debootstrap), PyPI, Maven Central and the Go module proxy, and tagged with the
# upstream names, so one compose file runs unchanged here and with pulled images elsewhere.
#
#   scripts/images.sh build      build every stand-in that is missing (an image present is reused)
#   scripts/images.sh build IMAGE...   only those (and the Debian base they start from), e.g. the e2e
#                                suite's containers: scripts/images.sh build apache/kafka:4.4.0 postgres:15
#   scripts/images.sh list       each upstream image compose names: present, or what builds it
#   scripts/images.sh missing    exit 0 when every stand-in is present (the e2e harness asks this)
#   scripts/images.sh rebuild    build them all again
#
#   debian:bookworm-slim          debootstrap --variant=minbase bookworm, the host's local CAs trusted
#   python:3.11-slim              Debian's python3 (3.11) in a venv on PATH
#   postgres:15                   Debian's postgresql-15 + the upstream entry point's environment
#   apache/kafka:$KAFKA_VERSION   the Maven Central jars scripts/kafka.sh fetches, Debian's Java 17
#   quay.io/keycloak/keycloak:$KEYCLOAK_VERSION   the distribution scripts/keycloak.sh fetches
#   jaegertracing/jaeger:$JAEGER_TAG   Jaeger v2 (embeds the OpenTelemetry collector), go build of
#                                 github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION
# The official tritonserver image cannot be built here: compose's default profile scores models with the
# embedded PyTriton server inside grading-compute; the GPU override uses the official image.
# Needs root (debootstrap, chroot) and a running Docker engine.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES="$REPO_ROOT/deploy/images"
CACHE_ROOT="${CERTIFIA_CACHE:-${HOME:-/tmp}/.cache/certifia}"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.4.7}"
JAEGER_MODULE_VERSION="${JAEGER_MODULE_VERSION:-v1.76.0}"
JAEGER_TAG="${JAEGER_TAG:-2.13.0}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

BASE="debian:bookworm-slim"
PYTHON="python:3.11-slim"
POSTGRES="postgres:15"
KAFKA="apache/kafka:$KAFKA_VERSION"
KEYCLOAK="quay.io/keycloak/keycloak:$KEYCLOAK_VERSION"
JAEGER="jaegertracing/jaeger:$JAEGER_TAG"
ALL=("$BASE" "$PYTHON" "$POSTGRES" "$KAFKA" "$KEYCLOAK" "$JAEGER")

log() { printf '[images.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
present() { docker image inspect "$1" >/dev/null 2>&1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
scratch() { mktemp -d -p "$WORK"; }
timed() { local t0=$SECONDS; "$@"; log "$1 ${2:-}: $((SECONDS - t0)) s"; }

build_base() {
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap (scripts/system-packages.sh docker)"
  [[ "$(id -u)" == 0 ]] || die "debootstrap needs root"
  local root; root="$(scratch)"
  log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (2-4 min) ..."
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$DEBIAN_MIRROR" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; die "debootstrap failed (full log: $root.log)"; }
  # the host's own CAs (a TLS-inspecting proxy's, a company's): apt, pip and Maven inside builds trust them
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" > "$root/etc/apt/sources.list"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' - "$BASE" >/dev/null
  rm -f "$root.log"
}

build_dockerfile() {  # TAG DIR
  docker build --network host -q --build-arg BASE_IMAGE="$BASE" -t "$1" "$2" >/dev/null \
    || die "docker build of $1 failed: run  docker build --network host -t $1 $2  to see why"
}

build_kafka() {
  "$REPO_ROOT/scripts/kafka.sh" fetch >&2
  local ctx; ctx="$(scratch)"
  cp -r "$IMAGES/kafka/." "$ctx/"
  cp -r "$CACHE_ROOT/kafka-$KAFKA_VERSION/libs" "$ctx/libs"
  # the command-line tools (kafka-broker-api-versions.sh answers compose's health check); their other
  # dependencies are the broker's
  mvn -B -q -Dmaven.repo.local="$CACHE_ROOT/m2-repository" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.apache.kafka:kafka-tools:$KAFKA_VERSION" -DoutputDirectory="$ctx/libs" >&2 \
    || die "mvn could not fetch org.apache.kafka:kafka-tools:$KAFKA_VERSION"
  build_dockerfile "$KAFKA" "$ctx"
}

build_keycloak() {
  "$REPO_ROOT/scripts/keycloak.sh" fetch >&2
  local ctx; ctx="$(scratch)"
  cp "$IMAGES/keycloak/Dockerfile" "$ctx/"
  # the pristine distribution (start-dev rewrites lib/quarkus of the cached one on its first start)
  local dist; dist="$(find "$CACHE_ROOT" -maxdepth 1 -name "keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz" | head -n1)"
  if [[ -n "$dist" ]]; then
    mkdir "$ctx/keycloak" && tar -xzf "$dist" -C "$ctx/keycloak" --strip-components=1
  else
    cp -r "$CACHE_ROOT/keycloak-$KEYCLOAK_VERSION" "$ctx/keycloak"
    rm -rf "$ctx/keycloak/data" "$ctx/keycloak"/.??*
  fi
  build_dockerfile "$KEYCLOAK" "$ctx"
}

jaeger_binary() {
  local out="$CACHE_ROOT/jaeger-$JAEGER_MODULE_VERSION/jaeger"
  if [[ ! -x "$out" ]]; then
    command -v go >/dev/null || die "go is missing: Jaeger v2 is built from the Go module proxy"
    local mod="$CACHE_ROOT/jaeger-$JAEGER_MODULE_VERSION/module"
    mkdir -p "$mod"
    log "building Jaeger v2 ($JAEGER_MODULE_VERSION) with go (about 7 min on 2 cores, once) ..."
    (
      cd "$mod"
      [[ -f go.mod ]] || go mod init certifia.local/jaeger >/dev/null 2>&1
      go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION"
      go build -o "$out" github.com/jaegertracing/jaeger/cmd/jaeger
    ) >&2 || die "go build of Jaeger failed"
  fi
  printf '%s\n' "$out"
}

build_jaeger() {
  local bin; bin="$(jaeger_binary)"
  local ctx; ctx="$(scratch)"
  cp "$IMAGES/jaeger/"* "$ctx/"
  cp "$bin" "$ctx/jaeger"
  build_dockerfile "$JAEGER" "$ctx"
}

build_one() {
  case "$1" in
    "$BASE") timed build_base ;;
    "$PYTHON") timed build_dockerfile "$PYTHON" "$IMAGES/python" ;;
    "$POSTGRES") timed build_dockerfile "$POSTGRES" "$IMAGES/postgres" ;;
    "$KAFKA") timed build_kafka ;;
    "$KEYCLOAK") timed build_keycloak ;;
    "$JAEGER") timed build_jaeger ;;
    *) die "no stand-in for $1" ;;
  esac
}

cmd_build() { # [image...]: default all
  docker info >/dev/null 2>&1 || die "no Docker engine answers (as root: dockerd --iptables=false --ip-masq=false &)"
  local t0=$SECONDS image wanted=("${ALL[@]}")
  if (($#)); then
    for image in "$@"; do [[ " ${ALL[*]} " == *" $image "* ]] || die "no stand-in for $image (scripts/images.sh names)"; done
    wanted=("$@")
    present "$BASE" || wanted=("$BASE" "$@")  # every stand-in starts from the Debian base
  fi
  for image in "${wanted[@]}"; do
    if present "$image" && [[ "${REBUILD:-0}" != 1 ]]; then log "$image present"; continue; fi
    log "building $image ..."
    build_one "$image"
  done
  log "stand-ins ready in $((SECONDS - t0)) s"
}

cmd_list() {
  local image
  for image in "${ALL[@]}"; do
    if present "$image"; then printf '%-45s present\n' "$image"; else printf '%-45s missing (scripts/images.sh build)\n' "$image"; fi
  done
}

cmd_missing() {
  local image missing=0
  for image in "${ALL[@]}"; do present "$image" || { echo "$image"; missing=1; }; done
  return "$missing"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  rebuild) shift; REBUILD=1 cmd_build "$@" ;;
  list) cmd_list ;;
  missing) cmd_missing ;;
  names) printf '%s\n' "${ALL[@]}" ;;
  *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
