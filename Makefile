# The two commands of the README. Both create .venv on first use and install
# everything (the ROS 2 wheels included) into it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= datasets/demo

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; run 'make PYTHON=python3.X ...' with Python 3.10-3.12" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "make: '$(PYTHON) -m venv' failed; on Debian install it with: apt-get install python3-venv" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ros]'
	@touch $@

demo: $(STAMP)
	$(BIN)/tg demo --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_writer.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_sim.py
	$(BIN)/python benchmarks/bench_ros_session.py
	$(BIN)/python benchmarks/bench_qa.py
	$(BIN)/python benchmarks/bench_ros_recorder.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
