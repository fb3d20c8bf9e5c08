# Quick start: `make render` then `make test`. Both set themselves up and are idempotent.
PY       ?= python3.11
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export PYOPENGL_PLATFORM ?= egl
# downloads and the compiled head asset stay in the checkout (an installed facefarm uses ~/.cache/facefarm)
export FACEFARM_HOME ?= $(CURDIR)/build

.PHONY: setup assets render test test-fast lint bench bench-sim2real clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@tools/check_sysdeps.sh
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Downloads the pinned CC0 upstream wheel once and compiles the head asset; a no-op when up to date.
assets: setup
	$(BIN)/facefarm assets build

render: assets
	$(BIN)/facefarm render facefarm/assets/catalogs/default.json -o out/quickstart -n 16 --overwrite

test: assets
	$(BIN)/python -m pytest -q

# the tests that need no Blender, Ray or render: scenes, plans, catalogs, labels, exports' logic
test-fast: assets
	FACEFARM_TEST_FAST=1 $(BIN)/python -m pytest -q -m "not slow and not blender"

# what CI checks before the tests: ruff over the tree, mypy over the layers configured in pyproject.toml
lint: setup
	$(BIN)/ruff check facefarm tests bench tools examples
	$(BIN)/ruff format --check facefarm tests bench tools examples
	$(BIN)/mypy

bench: assets
	$(BIN)/python -m bench.run

# Train on facefarm renders, test on real faces (bench/sim2real.py; ~40-50 min the first time on 2 cores).
# PyTorch is the bench's own dependency, installed here when missing: TORCH=path/to/a/cpu.whl to use a local wheel.
TORCH ?= torch
bench-sim2real: assets
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/python bench/sim2real.py $(ARGS)

clean:
	rm -rf build out
