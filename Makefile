# simlab: `make run` sets everything up on a fresh machine and runs the quickstart; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.simlab-installed

.PHONY: install run test test-fast browser bench clean

# torch is pinned here (CPU build, served from this machine's disk), not in pyproject:
# a plain `torch` requirement would pull several GB of CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[all]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/simlab run experiments/debt_quickstart.yaml --workers 2

# Debian's chromium for the dashboard's end-to-end browser test (Playwright's own download does not work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "chromium not installed and not root: the browser test will be skipped"; fi; }

test: install browser
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_embedded.py

clean:
	rm -rf $(VENV) runs reports exports .pytest_cache
