# Every target creates .venv and installs pmbot with its dev extras when needed.
PY ?= python3
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
