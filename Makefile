# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean portal-check

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# PostgreSQL 15 binaries for the PostgreSQL event-store tests (a throw-away cluster).
	@test -x /usr/lib/postgresql/15/bin/initdb || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; else echo "no PostgreSQL 15 binaries and not root: the PostgreSQL tests will be skipped"; fi; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,face]'
	$(BIN)/python -m pip install --quiet --no-deps facenet-pytorch==2.6.0
	@touch $(STAMP)

# Node tools of the tests (package.json): oidc-provider, the real OpenID Connect provider
# of tests/accounts; axe-core for the portal's browser test; htmx, whose file the portal vendors. Without node the federation tests are skipped, and this says so.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "no node/npm: the OpenID Connect federation tests (tests/accounts) will be skipped"; fi

install: $(STAMP) $(if $(wildcard package.json),$(NODE_STAMP))

## Start Temporal, the worker, the projector, the API and the designer; seed the demo.
run: install
	$(BIN)/lincah up

## The whole test suite (unit, workflow, end-to-end on the real Temporal dev server).
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy .

## The citizen portal in Chromium on a phone: prints each page's axe-core, width and
## weight figures (tests/portal/test_browser_journey.py); screenshots in tests/artifacts/.
portal-check: install
	LINCAH_PERFORMANCE_BARS=1 $(BIN)/pytest -q -s -m browser tests/portal

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/lincah bench eventstore

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
