# `make demo`: set up .venv and run the main job; `make test`: set up .venv and run the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= gdgan-out

.PHONY: install demo test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[plot,repro,test]"

demo: install
	$(BIN)/gdgan reproduce all --quick --jobs 2 --out $(OUT)

test: install
	$(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
