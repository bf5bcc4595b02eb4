# Two commands matter: `make demo` and `make test`. Both create the virtual environment when missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export INSIGHT_CACHE_DIR ?= $(CURDIR)/.cache

.PHONY: install demo test bench bench-api clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	@$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if '+cpu' in v or not torch.cuda.is_available() else 'CUDA torch installed: ' + v)"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/insight demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# HTTP API under wrk over loopback (installs wrk when missing and root): 1 worker vs 2 workers side by side, cold-start scoring, HNSW recall@10; writes the HTTP API section of bench/results.md.
bench-api: $(STAMP)
	$(BIN)/python -m bench.api

clean:
	rm -rf demo-output .cache .pytest_cache
