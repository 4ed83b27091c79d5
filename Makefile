# Two commands on a fresh machine:
#   make run   installs everything, fills a demo workspace with real runs and starts the studio
#   make test  installs everything and runs every test, browser tests included
PY ?= $(shell command -v python3.12 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers: the suite has multi-process and browser tests that wait on I/O.
TEST_WORKERS ?= 2

# MLflow, for bench/runs_query.py only: its own virtualenv, never in requirements.txt.
MLFLOW_VENV ?= $(CURDIR)/.venv-mlflow

.PHONY: install chromium migrate demo run test test-s3 test-fast lint bench bench-venv bench-versus

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Browser tests drive Debian's Chromium (a Playwright browser download does not work offline).
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The database lives under STUDIO_HOME (default ~/.studio), shared with the SDK's local
# store: scripts run there show up in the studio. DATABASE_URL points elsewhere.
migrate: install
	$(BIN)/python manage.py migrate --noinput -v 0

# Creates the admin account (random password, printed once) and, on an empty
# workspace, really runs examples/ through the SDK.
demo: migrate
	$(BIN)/python manage.py demo --url http://$(HOST):$(PORT)/ --live-minutes 30

# gunicorn (studio server): collects the static files with gzip and brotli variants
# (WhiteNoise serves them), access log on stdout; `studio server --dev` for auto-reload.
run: demo
	$(BIN)/studio server --host $(HOST) --port $(PORT)

test: install chromium
	$(BIN)/pytest -n $(TEST_WORKERS)

# The file-related tests again with run files in S3: a local S3 server (moto's) started
# by the test session, the bucket made by it (tests/envsetup.py, tests/conftest.py).
FILE_TESTS ?= tests/api/test_file_storage.py tests/api/test_uploads.py \
	tests/api/test_supervising_api.py tests/tracking/test_run_page_selectors.py \
	tests/web/test_run_files.py tests/web/test_run_page.py tests/web/test_models_pages.py \
	tests/registry/test_api.py tests/cli/test_download_logs.py tests/sdk/test_models.py \
	tests/sdk/test_contract.py tests/sdk/test_rest_local.py \
	tests/execution/test_outputs_storage.py tests/execution/test_cancel.py \
	tests/e2e/test_run_page.py \
	tests/api/test_worker_api.py tests/execution/test_remote_worker.py \
	tests/tracking/test_trash.py

test-s3: install chromium
	STUDIO_TEST_STORAGE=s3 $(BIN)/pytest -n $(TEST_WORKERS) $(FILE_TESTS)

test-fast: install
	$(BIN)/pytest -m "not slow and not e2e"

lint: install
	$(BIN)/ruff check studio tests bench

$(MLFLOW_VENV)/bin/.installed:
	test -x $(MLFLOW_VENV)/bin/python || $(PY) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q "mlflow>=3,<4" psycopg2-binary
	touch $@

bench-venv: $(MLFLOW_VENV)/bin/.installed

bench: install bench-venv
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cancel.py
	$(BIN)/python bench/slurm.py
	$(BIN)/python bench/environments.py
	$(BIN)/python bench/chart.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/runs_page.py
	$(BIN)/python bench/log_storage.py
	$(BIN)/python bench/runs_query.py --mlflow-python $(MLFLOW_VENV)/bin/python
	$(BIN)/python bench/server.py --mlflow-python $(MLFLOW_VENV)/bin/python
	$(BIN)/python bench/versus_mlflow.py --mlflow-python $(MLFLOW_VENV)/bin/python
	$(BIN)/python bench/floor_postgresql.py --mlflow-python $(MLFLOW_VENV)/bin/python

# Issue 16's table, Studio and MLflow side by side (a few minutes).
bench-versus: install bench-venv
	$(BIN)/python bench/versus_mlflow.py --mlflow-python $(MLFLOW_VENV)/bin/python
