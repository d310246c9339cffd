#!/usr/bin/env bash
# `make run`: start Kafka and the five services locally, then walk a demo candidate to a diploma.
#   scripts/run.sh         start (or reuse) the stack and run the demo; the services keep running
#   scripts/run.sh stop    stop the services and Kafka
# CERTIFIA_DATABASE=postgres gives each service its own PostgreSQL database (default: SQLite in var/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python

if [[ "${1:-}" == "stop" ]]; then
  exec "$PY" scripts/stack.py down
fi

scripts/prerequisites.sh
if [[ "${CERTIFIA_DATABASE:-sqlite}" == "postgres" ]]; then
  scripts/postgres.sh ensure && scripts/postgres.sh createdbs
fi
# grading-compute starts a local Ray (code packs: one Ray task per job, candidate code sandboxed inside) and
# Triton (model packs: ONNX scored by PyTriton's tritonserver on 127.0.0.1, dynamic batching).
# USE_RAY=false grades in process; USE_TRITON=false scores ONNX with onnxruntime in the grading process.
export USE_RAY="${USE_RAY:-true}" USE_TRITON="${USE_TRITON:-true}"
started=$(date +%s)
"$PY" scripts/stack.py down >/dev/null 2>&1 || true   # a clean start: no stale processes from a previous run
"$PY" scripts/stack.py up
echo "== stack up in $(( $(date +%s) - started ))s; walking the demo candidate"
"$PY" scripts/demo.py
echo
echo "The services keep running (logs in var/stack/logs). Stop them with: make stop"
