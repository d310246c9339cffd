#!/usr/bin/env bash
# The system packages certifia needs, and the one place that installs them with apt-get (Debian/Ubuntu):
# `.ci/run` calls it, and so do `make run` and `make test` (through scripts/prerequisites.sh).
#
# Usage: scripts/system-packages.sh [--dry-run] [--quiet] [python|run|all|docker|bench]
#
#   python     Python 3 and its venv module (what `make venv` needs)
#   run        what `make run` needs: python + bubblewrap, Java 17, Maven, Node.js + npm, Pango, the fonts
#   all        what `make test` and .ci/run need: run + PostgreSQL, make, Chromium (the default)
#   docker     what `make test-compose` needs: Debian's Docker engine (dockerd) and debootstrap (the
#              stand-in images' base)
#   bench      what `make bench-api` needs: wrk
#   --dry-run  print what is missing and the command that would install it; install nothing
#   --quiet    print nothing when everything is present (or when not Debian-based)
#
# As root, or with passwordless sudo, installs what is missing (apt-get update first), printing each step
# and its duration. Otherwise prints the exact `sudo apt-get ...` command and exits 1 (exit 0 when only
# optional packages are missing). Not Debian-based: prints the list and exits 0. A tool already on PATH
# counts as installed whatever packaged it (PROVIDES); Python counts when $PY (default python3.11, as in
# the Makefile) is on PATH and has a working venv module.
set -euo pipefail

PY="${PY:-python3.11}"

# Required by the build/tests: PostgreSQL server, bubblewrap (sandbox for
# untrusted submissions), Maven + Java 17 (Kafka broker fetched from Maven
# Central; also veraPDF, the diploma PDF's validator), Node.js + npm (the AsyncAPI parser of
# `make contracts-check`, the independent credential verifier of the demo), the basics `make test` needs
# to build the venv, and WeasyPrint's Pango and the fonts the diploma PDF embeds (DejaVu; Noto for Arabic
# and CJK names), Chromium (headless: the verification page laid out at 390 px).
ALL=(postgresql bubblewrap maven openjdk-17-jre-headless nodejs npm
     make python3 python3-venv ca-certificates
     libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0
     fonts-dejavu-core fonts-noto-core fonts-noto-cjk chromium)
PYTHON=(python3 python3-venv)
DOCKER=(docker.io debootstrap)
BENCH=(wrk)
# In `all` only: `make run` uses PostgreSQL only with CERTIFIA_DATABASE=postgres, and scripts/postgres.sh
# installs it then; make is already there when make runs this; Chromium only lays pages out in tests.
TEST_ONLY=(postgresql make chromium)
# Missing and not installable here: a note, not a failure (the tests that need it skip and say why).
OPTIONAL=(chromium)
# A tool already on PATH counts as present whatever packaged it: a machine's
# Node.js may come from NodeSource (its nodejs bundles npm and Conflicts with
# Debian's npm, so asking apt for npm there fails), Java from Temurin, etc.
declare -A PROVIDES=([chromium]=chromium [nodejs]=node [npm]=npm [maven]=mvn [openjdk-17-jre-headless]=java
                     [make]=make [python3]="$PY" [bubblewrap]=bwrap [docker.io]=dockerd
                     [debootstrap]=debootstrap [wrk]=wrk)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

dry_run=0
quiet=0
profile=all
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    --quiet) quiet=1 ;;
    python | run | all | docker | bench) profile="$arg" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "usage: $0 [--dry-run] [--quiet] [python|run|all|docker|bench]" >&2; exit 2 ;;
  esac
done

in_list() { # <word> <list...>
  local w="$1" x
  shift
  for x in "$@"; do [[ "$x" == "$w" ]] && return 0; done
  return 1
}

case "$profile" in
  python) PACKAGES=("${PYTHON[@]}") ;;
  run)
    PACKAGES=()
    for p in "${ALL[@]}"; do in_list "$p" "${TEST_ONLY[@]}" || PACKAGES+=("$p"); done
    ;;
  all) PACKAGES=("${ALL[@]}") ;;
  docker) PACKAGES=("${DOCKER[@]}") ;;
  bench) PACKAGES=("${BENCH[@]}") ;;
esac

pkg_installed() {
  local cmd="${PROVIDES[$1]:-}"
  if [[ -n "$cmd" ]] && command -v "$cmd" >/dev/null 2>&1; then
    return 0
  fi
  if [[ "$1" == python3-venv ]] && "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    return 0
  fi
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == *" ok installed"* ]]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  ((quiet)) || echo "not a Debian-based system: make sure these are installed: ${PACKAGES[*]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  pkg_installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  ((quiet)) || echo "all present: ${PACKAGES[*]}"
  exit 0
fi

required=()
for p in "${missing[@]}"; do in_list "$p" "${OPTIONAL[@]}" || required+=("$p"); done

SUDO=()
can_install=1
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  else
    can_install=0
  fi
fi
update=(apt-get update -q -o DPkg::Lock::Timeout=300)
install=(apt-get install -y -q -o DPkg::Lock::Timeout=300
         -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
         --no-install-recommends "${missing[@]}")
by_hand="sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"

if ((dry_run)); then
  echo "would install: ${missing[*]}"
  if ((can_install)); then
    echo "with: ${SUDO[*]}${SUDO[*]:+ }${update[*]} && ${SUDO[*]}${SUDO[*]:+ }${install[*]}"
  else
    echo "not root and no passwordless sudo: it would stop, asking you to run: $by_hand"
  fi
  exit 0
fi

if ((!can_install)); then
  {
    printf 'missing system packages: %s\n' "${missing[*]}"
    printf '    not root and no passwordless sudo, so nothing was installed; install them with:\n'
    printf '    %s\n' "$by_hand"
  } >&2
  if ((${#required[@]} == 0)); then
    printf '    (optional: the tests that need them skip and say why)\n' >&2
    exit 0
  fi
  printf '    then run the command again.\n' >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing: ${missing[*]}"
step() { # <what> <command...>: runs it, then prints how long it took
  local what="$1" t0
  shift
  t0=$(date +%s)
  "$@" </dev/null
  echo "$what: $(($(date +%s) - t0))s"
}
step "apt-get update" "${SUDO[@]}" "${update[@]}"
step "apt-get install (${#missing[@]} packages)" "${SUDO[@]}" "${install[@]}"
