# Every target creates .venv and installs pmbot with its dev extras when needed.
# CPython 3.12 when the machine has one (on PATH, or pyenv's latest 3.12): tasks can start
# eagerly, so a decision's order writes leave in its own step. Else python3 (3.11 works).
PY ?= $(shell for p in python3.12 "$$(pyenv prefix "$$(pyenv latest 3.12 2>/dev/null)" 2>/dev/null)/bin/python3" python3; do \
	"$$p" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint soak typecheck sim clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pmbot run $(ARGS)

sim: $(STAMP)
	$(BIN)/pmbot sim $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

bench: $(STAMP)
	@for f in benchmarks/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f $(ARGS) || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

soak: $(STAMP)
	$(BIN)/pytest -m soak -p no:cacheprovider -o addopts="" tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
