# The two commands of the README. Both create .venv on first use and install
# everything (the ROS 2 wheels included) into it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= datasets/demo

.PHONY: demo test lint typecheck bench clean verify-export faults

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; run 'make PYTHON=python3.X ...' with Python 3.10-3.12" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "make: '$(PYTHON) -m venv' failed; on Debian install it with: apt-get install python3-venv" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ros,view,cluster]'
	@# The console's browser tests run Debian's chromium through Playwright; CJK glyphs for its Chinese pages.
	@command -v chromium >/dev/null 2>&1 && test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc || { \
	  test "$$(id -u)" = 0 || { echo "make: the browser tests need Debian's chromium and fonts-noto-cjk; as root run: apt-get install -y chromium fonts-noto-cjk" >&2; exit 2; }; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium fonts-noto-cjk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }; }
	@touch $@

demo: $(STAMP)
	$(BIN)/tg demo --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 2 -q

# The whole fault suite (issue 13): what make test runs of it, plus the whole damage catalogue
# through every verb of the CLI and more kill -9 moments (marker faults_full). Serial, so that
# its summary line counts every case: cases, clean errors, tracebacks, hangs, silent passes, data lost.
FAULT_TESTS := tests/episodes/test_faults.py tests/episodes/test_faults_disk.py \
	tests/episodes/test_faults_kill.py tests/episodes/test_faults_full.py \
	tests/collectors/test_ingest_faults.py tests/training_ground/test_cli_faults.py

faults: $(STAMP)
	$(BIN)/python -m pytest -q -p tests.episodes.fault_tally -m "faults_full or not faults_full" $(FAULT_TESTS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_writer.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_sim.py
	$(BIN)/python benchmarks/bench_ros_session.py
	$(BIN)/python benchmarks/bench_qa.py
	$(BIN)/python benchmarks/bench_loader.py
	$(BIN)/python benchmarks/bench_export.py
	$(BIN)/python benchmarks/bench_ros_recorder.py
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_view.py
	$(BIN)/python benchmarks/bench_catalogue.py
	$(BIN)/python benchmarks/bench_site_arrival.py

# Our exports loaded by lerobot 0.4.4 (LeRobotDataset, pyav backend) and robomimic 0.3.0
# (SequenceDataset) in their own pinned environment: lerobot 0.4.4 is the last release for
# Python 3.11 and pins torch<2.11 and av<16; on x86_64 PyPI's torch 2.10 is a CUDA build
# (about 8 GB in the venv). robomimic 0.3.0 pins nothing usable, so it goes in with --no-deps
# plus what SequenceDataset and its file utilities import. Not part of `make test`.
VERIFY_VENV := .venv-verify
VERIFY_STAMP := $(VERIFY_VENV)/.installed
VERIFY_OUT ?= out/verify-export

$(VERIFY_STAMP):
	@test -x $(VERIFY_VENV)/bin/python || $(PYTHON) -m venv $(VERIFY_VENV)
	$(VERIFY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VERIFY_VENV)/bin/python -m pip install --quiet 'lerobot==0.4.4' 'torch==2.10.0' 'torchvision==0.25.0' 'av>=15,<16' h5py
	$(VERIFY_VENV)/bin/python -m pip install --quiet --no-deps 'robomimic==0.3.0'
	$(VERIFY_VENV)/bin/python -m pip install --quiet tqdm termcolor psutil matplotlib
	@touch $@

verify-export: $(STAMP) $(VERIFY_STAMP)
	rm -rf $(VERIFY_OUT)
	$(BIN)/python tests/episodes/verify_export.py prepare $(VERIFY_OUT)
	$(VERIFY_VENV)/bin/python tests/episodes/verify_export.py check $(VERIFY_OUT)

clean:
	rm -rf $(VENV) $(VERIFY_VENV) .pytest_cache .mypy_cache .ruff_cache
