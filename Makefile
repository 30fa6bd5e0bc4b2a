# The two commands of the README:
#   make run   - install what is missing, build a release, create dev keys, start the services
#   make test  - build and run every test (unit, integration, end to end, fuzz smoke, sanitizers)
# Other targets are the steps those two are made of.

SHELL := /bin/bash
JOBS ?= $(shell nproc)

.PHONY: run test deps release dev tsan fuzz format check-format test-dev test-tsan fuzz-smoke fuzz-campaign soak clean

# Only the three programs the main job runs (the release preset's tests and benchmarks are `release`).
run: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target acemq-as acemq-broker acemq
	scripts/run-dev

test: deps check-format test-dev test-tsan fuzz-smoke
	@echo "make test: every suite passed"

deps:
	scripts/install-deps

release:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

dev:
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

test-dev: dev
	ctest --preset dev

# ThreadSanitizer: the broker, the network layer and the end-to-end tests that drive them.
tsan:
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)

test-tsan: tsan
	ctest --preset tsan -L '^(common|broker|net|auth|ace|e2e)$$'

# Only the fuzz targets and what they link (clang 14 cannot assemble some Beast units with -g).
fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target fuzzers

fuzz-smoke: fuzz
	scripts/fuzz-smoke build/fuzz

# Hours of fuzzing with a ledger (fuzz/campaign.tsv), then minimised corpora; docs/fuzzing.md.
fuzz-campaign: fuzz
	scripts/fuzz-campaign

# Five minutes of mixed load on the broker under ThreadSanitizer (not part of `make test`).
soak: deps
	scripts/tsan-soak

format:
	scripts/check-format --fix

check-format:
	scripts/check-format

clean:
	rm -rf build
