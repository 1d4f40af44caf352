# Sip's front door. `make run` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
NODE_DIR := tests/telegram
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench eval services node chromium clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## run: set up and start Sip (HTTP API + web chat on http://$(HOST):$(PORT)/); with no
## GROQ_API_KEY it answers from the offline brain.
run: install
	$(BIN)/sip serve --host $(HOST) --port $(PORT)

## test: set up everything the tests need (venv, npm emulator, Chromium, services), lint, test.
test: install node chromium services lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy --strict src/sipai

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

node: $(NODE_DIR)/node_modules/.package-lock.json

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --prefer-offline --loglevel=error

chromium:
	@{ command -v chromium >/dev/null && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; } || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }

services:
	@scripts/ensure-services

bench: install
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m bench.run

eval: install
	$(PY) bench/eval_kb.py

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .mypy_cache .ruff_cache .pytest_cache
