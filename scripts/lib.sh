# shellcheck shell=bash
# Helpers the local-server scripts share (scripts/kafka.sh, scripts/keycloak.sh): logging, timing, the
# Java and Maven prerequisites, free local ports. Source it after setting TAG (e.g. "kafka.sh") and
# PRODUCT (what needs Java, e.g. "Kafka 4.4.0").

log() { printf '[%s] %s\n' "$TAG" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$TAG" "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { # <start_ms>
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%03ds' $((d / 1000)) $((d % 1000))
}

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
    || die "$PRODUCT needs Java 17+, found: $line. Install e.g. 'apt-get install -y openjdk-17-jre-headless'."
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 \
    || die "mvn not found (needed once to download $PRODUCT). Install Maven, e.g. 'apt-get install -y maven' (Debian/Ubuntu) or 'brew install maven' (macOS)."
}

port_in_use() { # <port>: something accepts connections on 127.0.0.1:<port>
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_bindable() { # <port>
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# as the servers do (SO_REUSEADDR): connections in TIME_WAIT just after a stop do not make the port busy
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
  local p _
  if command -v python3 >/dev/null 2>&1; then
    for _ in 1 2 3 4 5; do
      p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
      [[ "$p" != "${1:-}" ]] && { echo "$p"; return 0; }
    done
  fi
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    [[ "$p" != "${1:-}" ]] && port_bindable "$p" && { echo "$p"; return 0; }
  done
  die "could not find a free local port"
}
