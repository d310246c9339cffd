#!/usr/bin/env bash
# Runs a command against a fresh, throw-away Kafka broker, secured as any other (mutual TLS, ACLs from
# contracts/bus.yaml, topics created by the admin step): CERTIFIA_TEST_KAFKA holds its bootstrap and
# CERTIFIA_TEST_KAFKA_PKI the folder of its CA and principals' certificates (empty under
# KAFKA_SECURITY=plaintext).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export KAFKA_DATA_DIR="${KAFKA_TEST_DATA_DIR:-$here/../var/kafka-test}"
"$here/kafka.sh" stop >/dev/null 2>&1 || true
rm -rf "$KAFKA_DATA_DIR"
"$here/kafka.sh" start
CERTIFIA_TEST_KAFKA=$("$here/kafka.sh" bootstrap)
CERTIFIA_TEST_KAFKA_PKI=$("$here/kafka.sh" pki 2>/dev/null || true)
export CERTIFIA_TEST_KAFKA CERTIFIA_TEST_KAFKA_PKI
trap '"$here/kafka.sh" stop >/dev/null 2>&1 || true' EXIT
"$@"
