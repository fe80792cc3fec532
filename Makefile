# Stack Advisor — everything installs itself into .venv on first use.
# `make run` installs only what the product needs; `make test` adds the test tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --quiet --disable-pip-version-check
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run web test lint chromium bench check-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(TEST_STAMP): requirements.txt requirements-test.txt | $(BIN)/python
	$(PIP) -r requirements-test.txt
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python bot.py

# The web pages on this machine (http://127.0.0.1:8080; WEB_PORT to change), no token needed.
web: $(RUN_STAMP)
	$(BIN)/python bot.py --web

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint chromium
	$(BIN)/python -m pytest -q

# The browser tests (tests/web/) drive Debian's chromium through Playwright: install it with apt
# when it is missing (as root, or with sudo that asks no password). Never `playwright install`:
# it downloads a browser build of its own, which CI cannot reach. `make run` does not need it.
# (A CHROMIUM variable naming another chromium binary, as tests/web/ reads it, skips this.)
CHROMIUM_BIN := /usr/bin/chromium
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600

chromium: $(CHROMIUM_BIN)

$(CHROMIUM_BIN):
	@if [ -n "$$CHROMIUM" ] && [ -x "$$CHROMIUM" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; \
	elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "make test needs $@: install Debian's chromium as root (apt-get install chromium chromium-driver)" >&2; exit 1; fi; \
	set -x; $$sudo apt-get update -q && $$sudo env $(APT_INSTALL) chromium chromium-driver

check-data: $(RUN_STAMP)
	$(BIN)/python bot.py --check-data

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-output
