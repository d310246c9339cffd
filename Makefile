# certifia — `make run` (the demo: everything from install to a diploma) and `make test` (the whole suite).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SERVICES := enrolment assessment grading-compute thesis certification
SRC_DIRS := shared/src $(foreach s,$(SERVICES),services/$(s)/src)
STAMP := $(VENV)/.installed
REQS := requirements/base.txt requirements/dev.txt requirements/grading.txt
PYPROJECTS := shared/pyproject.toml $(foreach s,$(SERVICES),services/$(s)/pyproject.toml)
empty :=
space := $(empty) $(empty)
PYTEST := $(BIN)/python -X faulthandler -m pytest -p no:cacheprovider --import-mode=importlib

.PHONY: help venv prerequisites prerequisites-test kafka kafka-stop postgres run stop demo dead-letters replay-dead-letter test lint typecheck test-unit test-in-process test-compose test-e2e-containers \
        test-integration test-e2e test-gpu referential packs bench-grading bench-api bench-cohort test-cohort bench-gpu clean

help:
	@echo "make run    install what is missing, start Kafka + the five services (+ Ray, Triton), walk a demo candidate to a diploma"
	@echo "make test   ruff, mypy, unit, integration (real Kafka + PostgreSQL) and end-to-end tests"
	@echo "make stop   stop the services and Kafka started by make run"
	@echo "make -s referential | make -s packs | make bench-grading | make bench-api | make bench-cohort [N=500]"
	@echo "make dead-letters [SERVICE=...] | make replay-dead-letter SERVICE=... DEAD_LETTER=topic:partition:offset"
	@echo "make test-gpu | make bench-gpu   on a machine with an NVIDIA GPU (driver >= 580): the GPU path of grading"

# Both install the missing system packages as root or with passwordless sudo (scripts/system-packages.sh),
# else print the sudo apt-get command to run; `make run` and `make test` start with them.
prerequisites:
	@scripts/prerequisites.sh

prerequisites-test:
	@scripts/prerequisites.sh test

venv: $(STAMP)
$(STAMP): $(REQS) $(PYPROJECTS)
	@scripts/prerequisites.sh python
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "== installing Python dependencies into $(VENV) (pinned, first time takes a few minutes)"
	@$(BIN)/pip install -q --upgrade pip==24.3.1
	@$(BIN)/pip install -q $(foreach r,$(REQS),-r $(r))
	@$(BIN)/pip install -q --no-deps -e shared $(foreach s,$(SERVICES),-e services/$(s))
	@touch $(STAMP)

kafka: venv
	@scripts/kafka.sh start

kafka-stop:
	@scripts/kafka.sh stop

postgres:
	@scripts/postgres.sh ensure && scripts/postgres.sh createdbs

run: prerequisites venv
	@scripts/run.sh

demo: venv
	@$(BIN)/python scripts/demo.py

stop:
	@scripts/run.sh stop

# Dead letters of the local stack's consumers (one topic per consumer group and topic: <topic>.<group>.dlq),
# and replaying chosen ones after a fix, through the service's own checks and inbox (one effect at most).
dead-letters: venv
	@$(BIN)/python scripts/stack.py dead-letters $(SERVICE)

replay-dead-letter: venv
	@test -n "$(SERVICE)" -a -n "$(DEAD_LETTER)" || { echo "usage: make replay-dead-letter SERVICE=<service> DEAD_LETTER='<topic>:<partition>:<offset> ...' (addresses from make dead-letters)" >&2; exit 2; }
	@$(BIN)/python scripts/stack.py replay $(SERVICE) $(DEAD_LETTER)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	MYPYPATH=$(subst $(space),:,$(SRC_DIRS)) $(BIN)/mypy $(SRC_DIRS)

# Unit: each service's tests/unit (domain rules, use cases over the fake unit of work: no database, no
# process), shared/, contracts/ and scripts/. In-process integration: each service's tests/integration that
# needs no broker (SQLite, the real sandbox, Ray, PyTriton, veraPDF, the independent verifiers, Chromium).
test-unit: venv
	$(PYTEST) -q -m "not integration and not e2e and not gpu" shared/tests $(foreach s,$(SERVICES),services/$(s)/tests/unit) \
	  contracts/tests scripts/tests

test-in-process: venv certification-tools
	$(PYTEST) -q -m "not integration and not e2e and not gpu" $(foreach s,$(SERVICES),services/$(s)/tests/integration)

# Schemathesis over every service's OpenAPI document, in-process on SQLite: no 5xx, every response as documented.
# FUZZ_EXAMPLES cases per operation (30; derandomized, so every run sends the same ones): FUZZ_EXAMPLES=300 make fuzz
.PHONY: fuzz
fuzz: venv
	@start=$$(date +%s); $(PYTEST) -q -m fuzz fuzz; status=$$?; \
	echo "== make fuzz: $$(( $$(date +%s) - start )) s (FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-30})"; exit $$status

test-integration: venv prerequisites postgres
	scripts/with-test-kafka.sh scripts/with-test-keycloak.sh $(PYTEST) -q -m integration shared/tests $(foreach s,$(SERVICES),services/$(s)/tests)

# The local-process branch of the e2e harness (scripts/kafka.sh, scripts/postgres.sh), whatever Docker offers.
test-e2e: venv prerequisites postgres
	CERTIFIA_E2E_CONTAINERS=0 $(PYTEST) -q -m e2e e2e

# The testcontainers branch (e2e/e2e_containers.py) when a Docker engine answers: Kafka and PostgreSQL in
# containers of the images compose runs (their stand-ins built when missing), the broker on mutual TLS and
# ACLs, testcontainers' reaper (Ryuk) off. Without an engine it says so and passes: test-e2e ran the suite.
E2E_IMAGES = $$($(BIN)/python -c 'import sys; sys.path.insert(0, "e2e"); import e2e_harness as h; print(h.KAFKA_IMAGE, h.POSTGRES_IMAGE)')
test-e2e-containers: venv prerequisites
	@if docker info >/dev/null 2>&1; then \
	  scripts/images.sh build $(E2E_IMAGES) && \
	  CERTIFIA_E2E_CONTAINERS=1 TESTCONTAINERS_RYUK_DISABLED=true $(PYTEST) -q -m e2e e2e; \
	else echo "test-e2e-containers: skipped, no Docker engine answers (as root: scripts/docker.sh ensure)"; fi

# The compose stack on this machine's Docker engine (README, "Operations with docker compose"): the local
# stand-ins of the upstream images built when missing, the stack up, the demo candidate through the published
# ports, the journey's trace in Jaeger, diplomas kept across down/up; then torn down (KEEP=1 leaves it up).
test-compose: venv certification-tools
	scripts/system-packages.sh docker
	scripts/docker.sh ensure
	$(BIN)/python scripts/compose_check.py

test: prerequisites-test lint typecheck contracts-check test-unit test-in-process fuzz test-integration test-e2e \
  test-e2e-containers test-cohort

# The AsyncAPI document is generated from contracts/events/ and contracts/bus.yaml (a unit test fails when the
# committed one is stale) and validated by the official parser, @asyncapi/parser pinned in contracts/tools/.
TOOLS := contracts/tools
TOOLS_STAMP := $(TOOLS)/node_modules/.installed
NPM_CACHE := $(HOME)/.cache/certifia/npm
.PHONY: asyncapi contracts-check

asyncapi: venv
	$(BIN)/python scripts/asyncapi.py

$(TOOLS_STAMP): $(TOOLS)/package.json $(TOOLS)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "missing prerequisite: node and npm (Debian 12 / Ubuntu: sudo apt-get install -y nodejs npm)" >&2; exit 1; }
	cd $(TOOLS) && npm ci --cache $(NPM_CACHE) --prefer-offline --ignore-scripts --no-audit --no-fund
	@touch $@

contracts-check: $(TOOLS_STAMP)
	node $(TOOLS)/validate.js contracts/asyncapi.yaml

# The independent verifier of the certification service's credentials (Digital Bazaar's @digitalbazaar/vc with
# the eddsa-rdfc-2022 cryptosuite, pinned in services/certification/tools/): the unit tests run it, offline, on
# what the service issues. Without npm the install is skipped and those tests say why they skip.
CERT_TOOLS := services/certification/tools
CERT_TOOLS_STAMP := $(CERT_TOOLS)/node_modules/.installed
.PHONY: certification-tools
certification-tools: $(CERT_TOOLS_STAMP)

$(CERT_TOOLS_STAMP): $(CERT_TOOLS)/package.json $(CERT_TOOLS)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "warning: no node/npm: the independent credential verifier is not installed (Debian 12 / Ubuntu: sudo apt-get install -y nodejs npm)" >&2; exit 0; }; \
	cd $(CERT_TOOLS) && npm ci --cache $(NPM_CACHE) --prefer-offline --ignore-scripts --no-audit --no-fund && touch node_modules/.installed

referential: venv
	@$(BIN)/python scripts/referential.py

packs: venv
	@$(BIN)/python scripts/packs.py

bench-grading: venv
	$(BIN)/python bench/grading.py

# API throughput against a peer doing the same database writes (bench/api.py, bench/README.md): wrk on
# enrolment's POST /candidates, a jury decision and a progress read, on PostgreSQL; bench/results/api.json
# (WEB_WORKERS=2: two uvicorn workers per service, bench/results/api-2-workers.json)
bench-api: venv prerequisites postgres
	scripts/system-packages.sh bench
	$(BIN)/python bench/api.py --web-workers $(or $(WEB_WORKERS),1)

# A cohort, not a candidate (bench/cohort.py, bench/README.md): N candidates (500) through REST at once, three
# LMSs, automated grading on a tenth, while every service is killed once (SIGKILL) and restarted, the broker and
# PostgreSQL restart and the LMSs' webhook receivers refuse 30% of deliveries; then the invariants (N diplomas,
# 5N bloc certificates, every decision and webhook once, no dead letter, no 500), figures and a plot in
# bench/results/cohort.{json,png}. It restarts the local PostgreSQL server: run it on a machine of its own.
N ?= 500
INSTANCES ?= 1
COHORT_OUT = bench/results/cohort$(if $(filter 2,$(INSTANCES)),-2-instances)
bench-cohort: venv prerequisites postgres
	$(BIN)/python bench/cohort.py --candidates $(N) --instances $(INSTANCES) --results $(COHORT_OUT).json \
	  --plot $(COHORT_OUT).png

# Its quick variant, in make test: N=50 with every fault; results under var/bench-cohort/ (bench/results/ keeps
# the full run's figures). ~6 min on a 2-core machine.
test-cohort: venv prerequisites postgres
	@start=$$(date +%s); $(BIN)/python bench/cohort.py --candidates 50 --results var/bench-cohort/cohort-quick.json \
	  --plot var/bench-cohort/cohort-quick.png; status=$$?; \
	echo "== make test-cohort: $$(( $$(date +%s) - start )) s"; exit $$status

# The GPU path of grading-compute, in a venv of its own: onnxruntime-gpu (CUDA 13) instead of onnxruntime.
GPU_VENV := .venv-gpu
GPU_STAMP := $(GPU_VENV)/.installed
$(GPU_STAMP): $(REQS) $(PYPROJECTS) requirements/grading-gpu.txt
	@scripts/prerequisites.sh python
	@test -x $(GPU_VENV)/bin/python || $(PY) -m venv $(GPU_VENV)
	@echo "== installing the GPU variant into $(GPU_VENV): onnxruntime-gpu instead of onnxruntime"
	@$(GPU_VENV)/bin/pip install -q --upgrade pip==24.3.1
	@$(GPU_VENV)/bin/pip install -q $(foreach r,$(REQS),-r $(r))
	@$(GPU_VENV)/bin/pip uninstall -y -q onnxruntime
	@$(GPU_VENV)/bin/pip install -q -r requirements/grading-gpu.txt
	@$(GPU_VENV)/bin/pip install -q --no-deps -e shared $(foreach s,$(SERVICES),-e services/$(s))
	@touch $(GPU_STAMP)

test-gpu: $(GPU_STAMP)
	$(GPU_VENV)/bin/python -m pytest -p no:cacheprovider --import-mode=importlib -q -m gpu services/grading-compute/tests

bench-gpu: $(GPU_STAMP)
	$(GPU_VENV)/bin/python bench/grading.py triton_gpu

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
