# Two commands matter: `make demo` and `make test`. Both create the virtual environment when missing.
# `make lint` checks style and types; `make lock` refreshes the lock file after a change of dependencies.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Exact versions, with sha256 hashes, of everything `.[dev,postgres,openvino]` installs (CPython 3.11, Linux x86_64).
LOCK := requirements.lock
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export INSIGHT_CACHE_DIR ?= $(CURDIR)/.cache

.PHONY: install demo test lint lock bench bench-api bench-index clean

# The dependencies come from the lock only (pip checks every file against its hashes and refuses anything unpinned);
# then the project itself, editable, without resolving anything again. torch is locked as 2.13.0+cpu: pip finds that
# wheel through the find-links of this machine's pip configuration, never the CUDA build that PyPI serves as 2.13.0.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if '+cpu' in v or not torch.cuda.is_available() else 'CUDA torch installed: ' + v)"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/insight demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff (lint and format) on all Python code, mypy on service/, embeddings/ and eval/; rules and strictness in
# pyproject.toml.
LINT_PATHS := service embeddings eval bench tests
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# Refresh $(LOCK) after changing dependencies in pyproject.toml. pip-tools (in a throwaway venv) resolves
# .[dev,postgres,openvino] with this machine's pip configuration and hashes every file of each pinned version on the
# indexes (PyPI and the configured extra indexes / find-links), so an install elsewhere may pick any of them. Pins
# already in the lock are kept where they still fit; `make lock LOCK_ARGS=--upgrade` moves everything to the newest
# versions allowed (then run the tests), `LOCK_ARGS='--upgrade-package NAME'` just one. 1 minute with pip's cache warm,
# about 7 without (every file of every pinned version is downloaded to hash it).
LOCK_ARGS ?=
LOCK_VENV := $(or $(TMPDIR),/tmp)/customer-insight-lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PY) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip 'pip-tools==7.6.2'
	CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	  --strip-extras --no-emit-index-url --no-emit-find-links --extra dev --extra postgres --extra openvino \
	  $(LOCK_ARGS) --output-file $(LOCK) pyproject.toml
	rm -rf $(LOCK_VENV)

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
