# Two commands on a fresh machine: `make run` and `make test`. Both install what is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# Where `make run` serves (and what links in its mails point at).
ADDR ?= 127.0.0.1:8000

.PHONY: install lock upgrade system run test bench load faults compare lint format messages compose-smoke clean

install: $(STAMP)

# Exactly the lock, hash-checked, and nothing else: a changed lock rebuilds .venv from scratch,
# and the install fails if `pip freeze` then differs from the lock.
$(STAMP): $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip check
	$(PY) .ci/lock.py installed
	touch $(STAMP)

# After a change to pyproject.toml's dependencies: re-resolve, keeping the pins that still fit.
lock: install
	$(PY) .ci/lock.py write
	$(PY) .ci/lock.py check

# A deliberate upgrade to the newest releases the ranges allow; commit the locks after make test.
upgrade: install
	$(PY) .ci/lock.py write --upgrade
	$(PY) .ci/lock.py check

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py run_local $(ADDR)

# The suite's system packages (Chromium, CJK fonts, npm) are installed first where that is
# possible; then the browser tests' npm lock (axe-core, the accessibility check).
test: install
	.ci/system-packages.sh --soft test
	$(MAKE) --no-print-directory $(AXE)
	$(VENV)/bin/pytest

# Exactly tests/browser/package-lock.json (integrity-checked by npm ci); no install scripts run.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: the accessibility check will skip (apt-get install -y npm)"; exit 0; }; \
	  cd tests/browser && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch node_modules/axe-core/axe.min.js

# Every Debian package of .ci/system-packages (PostgreSQL, Redis, Chromium, fonts, wrk).
system:
	.ci/system-packages.sh all

bench: install
	$(PY) bench/run.py

# HTTP load test: gunicorn + PostgreSQL + wrk on 127.0.0.1 (LOAD_SECONDS, LOAD_CONNECTIONS …),
# then the mixed read-write load: 100 signed-in members for 120 s (locust), and its invariants.
load: install
	$(PY) bench/load.py
	$(PY) bench/mixed_load.py

# Redis stopped, PostgreSQL restarted, a worker killed mid-batch (restarts the local cluster);
# then the full backup round trip (seed, back up, restore elsewhere, compare every row and file)
# and the full member data round trip (a long history downloaded, the account deleted over HTTP).
faults: install
	$(PY) .ci/faults.py
	$(PY) .ci/backup_roundtrip.py --full
	$(PY) .ci/member_data_roundtrip.py --full

# Side by side with pretalx (run ../shared/bench/pretalx/setup.sh once first).
compare: install
	$(PY) bench/compare_pretalx.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=.ci
	$(PY) manage.py compilemessages --ignore=.venv

compose-smoke: install
	$(PY) .ci/compose_smoke.py

clean:
	rm -rf $(VENV) var staticfiles tests/browser/node_modules
