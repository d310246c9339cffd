#!/usr/bin/env bash
# veraPDF over PDF files: verapdf.sh <flavour> <file.pdf>... (flavour: 3b = PDF/A-3b, ua1 = PDF/UA-1).
# Fetches org.verapdf:validation-model (pom.xml, pinned) from Maven Central once into
# ${CERTIFIA_CACHE:-~/.cache/certifia}/verapdf/lib, then runs Validate.java on it (java 11+ source launcher).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CERTIFIA_CACHE:-${HOME:-/tmp}/.cache/certifia}/verapdf"
stamp="$cache/lib/.stamp-$(sha256sum "$here/pom.xml" | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  rm -rf "$cache/lib" && mkdir -p "$cache/lib"
  mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$cache/lib" >&2
  touch "$stamp"
fi
exec java -cp "$cache/lib/*" "$here/Validate.java" "$@"
