# GPT Answers — `make run` serves the app, `make test` runs every test.
# Both set everything up first (Python venv, pinned packages, front-end assets).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := static/vendor

.PHONY: run test test-quick lint format soak test-setup assets setup clean bench bench-burst bench-workers bench-followers bench-api bench-history bench-storage bench-weight bench-files bench-rendering bench-webhooks profile seed audit

# pytest-xdist workers: two per core, since much of the suite waits (on sockets, Chromium, a model's
# pauses), at least 4 and at most 8 (WORKERS=1 runs in one process).
WORKERS ?= $(shell $(PYTHON) -c 'import os; print(max(4, min(8, 2 * len(os.sched_getaffinity(0)))))')
PYTEST_PARALLEL = -n $(WORKERS) --dist loadgroup
# Every worker compiles the app and the tests: their bytecode caches (gitignored) spare the next
# run 2 s of CPU a worker, so the tests write them even where PYTHONDONTWRITEBYTECODE is set.
test test-quick: export PYTHONDONTWRITEBYTECODE :=

run: setup
	$(BIN)/python -m app

# Every suite, on SQLite and MariaDB, in Chromium and on a Galera cluster; prints the 25 slowest tests.
test: setup test-setup lint
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) --durations=25

# The loop to run while working: SQLite only, no browser, no cluster, no MySQL, none of the exhaustive
# security suites (fuzzers, hostile corpora: `make test` runs them).
test-quick: setup
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not mysql and not browser and not cluster and not exhaustive" --ignore=tests/browser --ignore=tests/cluster

# Ruff: the lint rules of pyproject.toml, and the code formatted as `make format` leaves it;
# mypy: app/ type-checked as [tool.mypy] in pyproject.toml says.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

# Known vulnerabilities of the pinned Python packages (pip-audit) and of package-lock.json (npm audit).
# It asks the advisory services, so it is not part of `make test`; one it cannot reach fails the run, saying so.
audit: $(VENV)/.installed
	$(BIN)/python .ci/audit.py

# 200 concurrent chats for SOAK_SECONDS (60) against Hypercorn; not part of `make test`.
soak: setup
	$(BIN)/python -m bench.soak

setup: $(VENV)/.installed $(VENDOR)/.copied

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(VENDOR)/.copied: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js $(VENDOR)/
	touch $@

# Prints the first load's requests and bytes (on the wire and decoded) and a repeat visit's, in Chromium.
bench-weight: setup test-setup
	$(BIN)/python -m bench.page_weight

# Chromium, MariaDB, Redis and the Galera suite's packages: installed and started when missing
# (as root on Debian), else one line saying how to get them (their tests are then skipped).
test-setup:
	@bash .ci/test-setup

# How long highlighting, markdown and previews take on hostile input (the tests count work instead).
bench-rendering: setup
	$(BIN)/python -m bench.rendering

# 200 chats on two instances (one killed mid-run) while the webhook receiver fails, hangs, answers 500
# and is down for 30 s: every event delivered once after deduplication, and the counts (not part of `make test`).
bench-webhooks: setup
	$(BIN)/python -m bench.webhooks

# Inserts/s and chats/s at 50 concurrent chats on SQLite and MariaDB (not part of `make test`).
bench-storage: setup
	$(BIN)/python -m bench.storage

# Fill a database with realistic exchanges (not part of `make test`):
#   make seed ROWS=1000000 SEED_DATABASE_URL=mysql://user:pass@127.0.0.1:3306/answers
ROWS ?= 1000000
SEED_DATABASE_URL ?= sqlite:///instance/seed.db
seed: setup
	$(BIN)/python -m bench.seed --rows $(ROWS) --database-url $(SEED_DATABASE_URL)

# The history page and each /list filter at 1,000 and 1,000,000 rows on SQLite and MySQL (seeded once, kept in instance/bench-cache).
bench-history: setup
	$(BIN)/python -m bench.history

# Files: a 100-page PDF asked about, a 50 MB upload's peak memory, /list at 1,000,000 rows with files (minutes).
bench-files: setup $(VENV)/.bench-installed
	$(BIN)/python -m bench.files

assets: $(VENDOR)/.copied

# Speed and memory figures against their baselines; refreshes docs/BENCHMARKS.md.
bench: setup $(VENV)/.bench-installed
	$(BIN)/python -m bench
	$(BIN)/python -m bench.api

# One worker: 1,000 visitors at once (page, question, answer) and the CPU of a chat turn, beside the bare SDK.
bench-burst: setup
	$(BIN)/python -m bench.burst

# The image's command, two Hypercorn workers: 2,000 visitors at once, 1,000 arriving over 10 s.
bench-workers: setup
	$(BIN)/python -m bench.workers

# 1,000 streams following answers written by another instance: database reads and how busy they keep it.
bench-followers: setup
	$(BIN)/python -m bench.followers

# The API: CPU per call beside a browser chat turn and the bare SDK; 1,000 API streams on one worker, p99.
bench-api: setup
	$(BIN)/python -m bench.api

# Where the CPU goes during 1,000 concurrent chats (py-spy samples, by part of the stack), then
# in the page, the question and the stream of 1,000 visitors apart.
profile: setup $(VENV)/.bench-installed
	$(BIN)/python -m bench.profile_chats
	$(BIN)/python -m bench.profile_chats --phases

$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
