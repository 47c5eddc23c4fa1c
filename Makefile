# mpconn: the two commands are `make demo` and `make test` (see README.md).
# Every target does its own set-up on a fresh Debian machine with Rust and python3.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
# Where the provisioned interpreters are: python_interop/pythons.py is the one rule
# (MPCONN_PYTHONS_DIR, default /var/cache/mpconn/pythons); every test asks it too.
PYTHONS_DIR ?= $(shell $(PYTHON) python_interop/pythons.py dir)
PYTEST_ARGS ?=
export MPCONN_PYTHONS_DIR := $(PYTHONS_DIR)

IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
IS_CI := $(filter true 1 yes,$(CI))

.PHONY: help demo test setup lint cargo-test build venv pythons maybe-pythons maybe-windows-setup pytest bench fuzz clean-venv test-windows maybe-windows check-fresh package-check

help:
	@echo "make demo    - a Rust peer and a Python peer exchanging messages"
	@echo "make test    - everything: fmt/clippy, cargo tests, the CPython harness (3.11, 3.13-3.15)"
	@echo "make pythons - provision CPython 3.13/3.14/3.15 into $(PYTHONS_DIR) (root)"
	@echo "make test-windows - named pipes etc. built for Windows, run under wine"
	@echo "make bench   - benchmarks against CPython and raw sockets; writes BENCHMARKS.md"
	@echo "make fuzz    - every cargo-fuzz target for a bounded time"

## demo: builds, then runs scripts/demo.sh (the machine's python3 is its only peer).
demo: build
	bash scripts/demo.sh

## test: set-up first (venv, interpreters, Windows toolchain), then lint, cargo tests,
## the harness builds, pytest and the Windows tests. Every target that runs tests depends
## on `setup`, so whatever order make picks (and any test binary added later) finds what
## it needs already provisioned.
test: setup lint cargo-test build pytest maybe-windows

## setup: everything any test needs, provisioned before any test runs.
setup: venv maybe-pythons maybe-windows-setup

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-features --all-targets -- -D warnings

cargo-test: setup
	$(CARGO) test --all-features --all-targets
	$(CARGO) test --all-features --doc

build:
	$(CARGO) build --all-features --bins --examples

## venv: .venv with the pinned requirements; reinstalled only when requirements.txt changes.
venv: $(VENV)/.requirements.stamp

$(VENV)/.requirements.stamp: python_interop/requirements.txt scripts/setup-venv.sh
	PYTHON=$(PYTHON) bash scripts/setup-venv.sh $(VENV) python_interop/requirements.txt
	touch $@

## pythons: provisions 3.13/3.14/3.15 (needs root: debootstrap).
pythons:
	@if [ "$(IS_ROOT)" = yes ]; then \
	  MPCONN_PYTHONS_DIR="$(PYTHONS_DIR)" bash scripts/provision-pythons.sh; \
	elif [ -f "$(PYTHONS_DIR)/.complete" ]; then \
	  echo "pythons: already provisioned in $(PYTHONS_DIR)"; \
	else \
	  echo "pythons: provisioning needs root (debootstrap). Run: sudo make pythons" >&2; \
	  echo "         (or set MPCONN_PYTHONS_DIR to a folder provisioned elsewhere)" >&2; \
	  exit 1; \
	fi

## maybe-pythons: `make pythons` when root or under CI; otherwise the harness skips the
## missing interpreters (under CI a missing interpreter fails the run).
maybe-pythons:
	@if [ "$(IS_ROOT)" = yes ] || [ -n "$(IS_CI)" ]; then $(MAKE) --no-print-directory pythons; \
	else echo "pythons: not root and not CI: skipping provisioning (missing interpreters are skipped)"; fi

## pytest: the cross-version harness. Exit status 5 (no tests collected) is a failure too.
pytest: setup build
	$(VENV)/bin/pytest python_interop $(PYTEST_ARGS)

## test-windows: builds the tests for x86_64-pc-windows-gnu and runs them under wine
## (named pipes, codec, handshake); installs mingw-w64 and wine64 when root.
test-windows:
	bash scripts/test-windows.sh

## maybe-windows (part of `make test`): test-windows when wine and mingw-w64 are there or
## can be installed; otherwise a loud skip with the reason (MPCONN_REQUIRE_WINE=1: fail).
maybe-windows-setup:
	@status=0; bash scripts/windows-setup.sh >/dev/null || status=$$?; \
	if [ $$status -eq 77 ]; then echo "windows-setup: not available here (reason above): the Windows tests will be skipped" >&2; \
	elif [ $$status -ne 0 ]; then exit $$status; fi

maybe-windows: setup
	@status=0; bash scripts/test-windows.sh || status=$$?; \
	if [ $$status -eq 77 ]; then \
	  echo "test-windows: SKIPPED, named pipe tests not run: the Windows cross toolchain or wine could not be set up here (reason above; as root: bash scripts/windows-setup.sh, then make test-windows)" >&2; \
	elif [ $$status -ne 0 ]; then \
	  exit $$status; \
	fi

## bench: codec (criterion) and transport (bench/run.py) against CPython 3.11 and 3.14 and
## raw sockets, in one run; writes BENCHMARKS.md. BENCH_ARGS=--quick for a short run.
BENCH_ARGS ?=
bench: maybe-pythons
	$(CARGO) build --release --all-features --bins --examples
	$(PYTHON) bench/run.py $(BENCH_ARGS)

## fuzz: seeds fuzz/corpus/ from fixtures/, then runs each cargo-fuzz target for
## FUZZ_SECONDS (one at a time; a crash stops the run, its input is in fuzz/artifacts/).
## Needs the nightly toolchain; installs cargo-fuzz when missing.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= frame_decode handshake connection_recv pickle_decode pickle_roundtrip typed_decode view_decode
FUZZ_FLAGS = -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1

fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	$(PYTHON) fuzz/seed_corpus.py
	for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t: $(FUZZ_SECONDS) s"; \
	  $(CARGO) +nightly fuzz run -O -s none $$t -- -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS); \
	done
	@echo "== fuzz connection_recv under AddressSanitizer: $(FUZZ_SECONDS) s"
	$(CARGO) +nightly fuzz run -O connection_recv -- -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS)

clean-venv:
	rm -rf $(VENV)

## check-fresh: proves `make test` from an empty start: clones HEAD into a temporary folder
## and runs `.ci/run` (CI=true make test) there with nothing provisioned earlier visible (a private
## mount namespace hides the default interpreter folder and the Windows Rust target; an
## empty MPCONN_PYTHONS_DIR). Root only. Run it before you push a change to the Makefile,
## scripts/ or the test set-up.
check-fresh:
	bash scripts/check-fresh.sh

## package-check: what `cargo publish` would upload: the file list (no fixtures) and a
## dry run that builds the packaged crate on its own.
package-check:
	$(CARGO) package --list --allow-dirty | sort > target/package-files.txt
	@! grep -E '^(fixtures|tests|python_interop|bench|fuzz|windows|scripts)/' target/package-files.txt || { echo "package-check: the files above must not be packaged" >&2; exit 1; }
	$(CARGO) package --allow-dirty --no-verify
	@ls -l target/package/mpconn-*.crate
	$(CARGO) publish --dry-run --allow-dirty
