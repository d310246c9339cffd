#!/usr/bin/env bash
# Runs a command with a throw-away Keycloak (the development realm imported afresh):
# CERTIFIA_TEST_OIDC_ISSUER holds its issuer, CERTIFIA_TEST_KEYCLOAK_ADMIN_PASSWORD_FILE its admin password.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export KEYCLOAK_DATA_DIR="${KEYCLOAK_TEST_DATA_DIR:-$here/../var/keycloak-test}"
unset KEYCLOAK_PORT
"$here/keycloak.sh" stop >/dev/null 2>&1 || true
rm -rf "$KEYCLOAK_DATA_DIR"
"$here/keycloak.sh" start
CERTIFIA_TEST_OIDC_ISSUER=$("$here/keycloak.sh" issuer)
CERTIFIA_TEST_KEYCLOAK_ADMIN_PASSWORD_FILE="$KEYCLOAK_DATA_DIR/admin-password"
export CERTIFIA_TEST_OIDC_ISSUER CERTIFIA_TEST_KEYCLOAK_ADMIN_PASSWORD_FILE
trap '"$here/keycloak.sh" stop >/dev/null 2>&1 || true' EXIT
"$@"
