# Herald: `make run` serves on http://127.0.0.1:8000, `make test` runs the whole suite.
# Both create the virtual environment and install what they need on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run install install-test test test-python compose-check chromium-check schema clean

run: install
	$(BIN)/herald serve

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded]'
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,test]'
	touch $@

test: install-test compose-check chromium-check test-python

test-python:
	$(BIN)/python -m pytest

# docker-compose.yml must stay valid; Debian's docker-compose checks it without a Docker engine.
compose-check:
	@command -v docker-compose >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; \
	  else echo "docker-compose is missing: sudo apt-get install docker-compose" >&2; exit 1; fi; }
	docker-compose config -q
	@echo "docker-compose.yml is valid"

# The portal's browser tests drive Debian's Chromium through Playwright (never Playwright's own download).
chromium-check:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing (the portal's browser tests need it): sudo apt-get install chromium" >&2; exit 1; fi; }
	@/usr/bin/chromium --version

# Export the GraphQL schema; a test fails when the committed file drifts from the code.
schema: install
	$(BIN)/python -m schema.export > schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache
