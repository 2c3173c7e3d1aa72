# `make demo`: set up .venv and run the main job; `make test`: set up .venv and run the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= gdgan-out

.PHONY: install demo test lint docs clean

# Compiled XLA programs persist between runs (and are shared with subprocesses).
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax-cache

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[plot,repro,export,test,docs]"

demo: install
	$(BIN)/gdgan reproduce all --quick --jobs 2 --out $(OUT)

lint: install
	$(BIN)/ruff check gdgan tests benchmarks
	$(BIN)/ruff format --check gdgan tests benchmarks

test: install lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# The documentation site, into site/ (strict: a broken link or reference fails the build;
# tests/test_docs.py runs the same build inside `make test`).
docs: install
	PATH="$(CURDIR)/$(BIN):$$PATH" GDGAN_DOCS_EXECUTE=true NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .jax-cache site
