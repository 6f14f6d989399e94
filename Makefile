# GridDesk. `make run` serves the demo on the embedded defaults; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app webapp
PYTEST_WORKERS ?= 2
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/griddesk_test
TEST_REDIS_URL ?= redis://127.0.0.1:6379
SYSTEM_PACKAGES := chromium tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-zenhei poppler-utils
# Python keeps its bytecode caches even where the shell says not to (PYTHONDONTWRITEBYTECODE): the suite starts dozens
# of Python processes (workers, servers, probes), and each would otherwise compile a thousand modules anew (2-3 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test setup system-deps lint typecheck test-sqlite test-postgres translations migrate demo bench fuzz clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check uv
	@[ -x $(PY) ] || uv venv -q -p 3.11 $(VENV)
	uv pip sync -q -p $(VENV) requirements.lock
	uv pip install -q -p $(VENV) --no-deps -e .
	@touch $@

setup: $(VENV)/.installed translations

# Debian packages the app and its tests use (OCR, the CJK font for PDFs, Chromium for browser tests).
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

translations: $(VENV)/.installed
	@for d in webapp/translations/*/; do $(VENV)/bin/pybabel compile -d $$d -D messages >/dev/null || exit 1; done

migrate: setup
	$(FLASK) db upgrade

demo: migrate
	@mkdir -p instance
	@[ -f instance/.demo-loaded ] || ($(FLASK) griddesk seed-demo && touch instance/.demo-loaded)

run: system-deps demo
	$(PY) -m webapp.devserver

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# The SQLite pass runs on SQLite even when the shell exports the PostgreSQL settings for the next pass.
test-sqlite: setup
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(PY) -m pytest -n $(PYTEST_WORKERS) -m "not service" -p no:cacheprovider

test-postgres: setup
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) GRIDDESK_REQUIRE_SERVICES=1 \
	  $(PY) -m pytest -n $(PYTEST_WORKERS) -m "not e2e" -p no:cacheprovider

test: system-deps setup lint typecheck test-sqlite test-postgres

# The property-based API tests with many examples per operation and role (make test runs a few).
FUZZ_EXAMPLES ?= 200
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests/api/test_fuzz.py

# Each script runs as a module of the bench package, so that bench/billing.py never shadows the billing package.
bench: system-deps setup
	@for b in bench/[a-z]*.py; do m=$$(basename $$b .py); echo "== bench.$$m"; $(PY) -m bench.$$m || exit 1; done

clean:
	rm -rf $(VENV) instance .mypy_cache .ruff_cache
