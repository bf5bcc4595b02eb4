# Two commands matter: `make demo` and `make test`. Both create the virtual environment when missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export INSIGHT_CACHE_DIR ?= $(CURDIR)/.cache

.PHONY: install demo test bench bench-api bench-index clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,openvino]'
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

# Similar-customer search at 1M vectors (bench/results.md): real vectors of a 30k-customer scored store, grown to 1M.
INDEX_ARGS ?= --sizes 1000000 --configs hnsw-pca128 hnsw
bench-index: $(STAMP)
	test -d bench/out/index-real || $(BIN)/python -m bench.pipeline --customers 30000 --json bench/out/pipeline-index-real.json --keep-index bench/out/index-real
	$(BIN)/python -m bench.index --real bench/out/index-real $(INDEX_ARGS) --json bench/out/index.json --results bench/results.md

clean:
	rm -rf demo-output .cache .pytest_cache
