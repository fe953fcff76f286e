# Two commands on a fresh machine: `make run` and `make test`. Both install what is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench load faults compare lint format messages compose-smoke clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py run_local 127.0.0.1:8000

test: install
	$(VENV)/bin/pytest

bench: install
	$(PY) bench/run.py

# HTTP load test: gunicorn + PostgreSQL + wrk on 127.0.0.1 (LOAD_SECONDS, LOAD_CONNECTIONS …).
load: install
	$(PY) bench/load.py

# Redis stopped, PostgreSQL restarted, a worker killed mid-batch (restarts the local cluster).
faults: install
	$(PY) .ci/faults.py

# Side by side with pretalx (run ../shared/bench/pretalx/setup.sh once first).
compare: install
	$(PY) bench/compare_pretalx.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=.ci
	$(PY) manage.py compilemessages --ignore=.venv

compose-smoke: install
	$(PY) .ci/compose_smoke.py

clean:
	rm -rf $(VENV) var staticfiles
