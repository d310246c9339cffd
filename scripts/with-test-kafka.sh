#!/usr/bin/env bash
# Runs a command against a fresh, throw-away Kafka broker: CERTIFIA_TEST_KAFKA holds its bootstrap.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export KAFKA_DATA_DIR="${KAFKA_TEST_DATA_DIR:-$here/../var/kafka-test}"
"$here/kafka.sh" stop >/dev/null 2>&1 || true
rm -rf "$KAFKA_DATA_DIR"
"$here/kafka.sh" start
CERTIFIA_TEST_KAFKA=$("$here/kafka.sh" bootstrap)
export CERTIFIA_TEST_KAFKA
trap '"$here/kafka.sh" stop >/dev/null 2>&1 || true' EXIT
"$@"
