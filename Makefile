# Two entry points for newcomers: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench soak faults clean

$(BIN)/monitor: pyproject.toml setup.py
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,demo]'
	touch $(BIN)/monitor

demo: $(BIN)/monitor
	$(BIN)/monitor demo

test: $(BIN)/monitor
	$(BIN)/python -m pytest --durations=15

lint: $(BIN)/monitor
	$(BIN)/ruff check monitor tests benchmarks
	$(BIN)/mypy

bench: $(BIN)/monitor
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.parse

# 2,000 daemon cycles against a local copy of the shipped sources: memory growth and CPU per idle cycle (~3 min).
soak: $(BIN)/monitor
	$(BIN)/python -m benchmarks.soak

# The fault campaign: SIGKILLs during ingest, schema creation and delivery, a PostgreSQL outage (~10 min).
faults: $(BIN)/monitor
	$(BIN)/python -m benchmarks.faults

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
