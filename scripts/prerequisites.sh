#!/usr/bin/env bash
# Installs the system packages certifia needs, then checks the tools; silent when everything is there.
#
# Usage: scripts/prerequisites.sh [python|test]
#
#   (no argument)  what `make run` needs: Python 3.11 (with venv), Java 17+, Maven (mvn), bubblewrap (bwrap)
#   python         only Python 3.11 (what `make venv` needs)
#   test           what `make test` needs: the packages of the whole suite, then the same checks
#
# First, scripts/system-packages.sh installs the missing Debian/Ubuntu packages when run as root or with
# passwordless sudo; otherwise it prints the exact `sudo apt-get ...` command and this exits 1. Then, for
# each item still wrong, prints what is wrong and exactly how to fix it (e.g. pyenv for Python), then
# exits 1. The Python interpreter is $PY (default python3.11, as in the Makefile; Debian 12's python3
# package brings it); `make PY=/path/to/python3.11 ...` passes another one.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PY="${PY:-python3.11}"

JAVA_MIN=17
missing=0

problem() { # <what is wrong> <how to fix it, one line per argument>...
  local what="$1"
  shift
  missing=$((missing + 1))
  printf 'missing prerequisite: %s\n' "$what" >&2
  local line
  for line in "$@"; do printf '    %s\n' "$line" >&2; done
}

check_python() {
  local install=(
    "Debian 12 / Ubuntu: sudo apt-get install -y python3.11 python3.11-venv"
    "with pyenv:         pyenv install 3.11 && pyenv global 3.11   (or: make PY=\$(pyenv root)/versions/3.11.x/bin/python3.11 ...)"
  )
  if ! command -v "$PY" >/dev/null 2>&1; then
    problem "Python 3.11: '$PY' is not on PATH" "${install[@]}"
    return
  fi
  local version
  if ! version="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"; then
    # e.g. a pyenv shim for a version that is not installed
    problem "Python 3.11: '$PY' is on PATH but does not run ($(command -v "$PY"))" "${install[@]}"
    return
  fi
  if [[ "$version" != 3.11 ]]; then
    problem "Python 3.11: '$PY' is Python $version" "${install[@]}"
    return
  fi
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    problem "the venv module of Python 3.11 ('$PY -m venv' cannot create a virtualenv with pip)" \
      "Debian 12 / Ubuntu: sudo apt-get install -y python3.11-venv"
  fi
}

java_major() { # prints the major version of `java`, e.g. 17 (1.8 -> 8)
  local line v
  line="$(java -version 2>&1 | grep -m1 -i 'version' || true)"
  v="$(printf '%s' "$line" | sed -nE 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/p')"
  [[ -n "$v" ]] || return 1
  set -- $v
  if [[ "$1" == 1 && -n "${2:-}" ]]; then echo "$2"; else echo "$1"; fi
}

check_java() {
  local install=(
    "Debian 12 / Ubuntu: sudo apt-get install -y openjdk-17-jre-headless"
    "(Kafka 4.x runs on Java 17 or newer; any JDK/JRE >= 17 on PATH will do)"
  )
  if ! command -v java >/dev/null 2>&1; then
    problem "Java $JAVA_MIN+ (runs the local Kafka broker): 'java' is not on PATH" "${install[@]}"
    return
  fi
  local major
  if ! major="$(java_major)"; then
    problem "Java $JAVA_MIN+: cannot read the version of $(command -v java) ('java -version' fails)" \
      "${install[@]}"
    return
  fi
  if ((major < JAVA_MIN)); then
    problem "Java $JAVA_MIN+: $(command -v java) is Java $major" "${install[@]}" \
      "then select it: sudo update-alternatives --config java"
  fi
}

check_maven() {
  if ! command -v mvn >/dev/null 2>&1; then
    problem "Maven (fetches the Kafka jars from Maven Central): 'mvn' is not on PATH" \
      "Debian 12 / Ubuntu: sudo apt-get install -y maven"
  fi
}

check_bubblewrap() {
  # grading-compute runs candidate code only inside bubblewrap; without it every code submission fails
  # and the hostile-submission suite cannot run.
  if ! command -v bwrap >/dev/null 2>&1; then
    problem "bubblewrap (the sandbox for candidate code): 'bwrap' is not on PATH" \
      "Debian 12 / Ubuntu: sudo apt-get install -y bubblewrap"
  elif ! bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true >/dev/null 2>&1; then
    problem "bubblewrap cannot create namespaces here ('bwrap --unshare-all ... true' fails)" \
      "run as root, or allow unprivileged user namespaces: sudo sysctl -w kernel.unprivileged_userns_clone=1" \
      "(in a container: it needs CAP_SYS_ADMIN or an unconfined seccomp/AppArmor profile)"
  fi
}

system_packages() { # <profile of scripts/system-packages.sh>
  "$HERE/system-packages.sh" --quiet "$1" || exit 1
}

case "${1:-all}" in
  python)
    system_packages python
    check_python
    ;;
  all | test)
    if [[ "${1:-all}" == test ]]; then system_packages all; else system_packages run; fi
    check_python
    check_java
    check_maven
    check_bubblewrap
    ;;
  -h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [python|test]" >&2
    exit 2
    ;;
esac

if ((missing)); then
  printf '%d prerequisite(s) missing: install them as shown above, then run the command again.\n' "$missing" >&2
  exit 1
fi
exit 0
