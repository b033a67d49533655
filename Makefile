# The dev loop (CONTRIBUTING.md). Everything runs from the project's own venv: make venv first.
PY ?= .venv/bin/python
FAST = -m "not slow" --ignore=tests/proofs

.PHONY: venv test test-all check lint types layers proof bench ci

venv:  ## the venv with the test extra (ruff, mypy, import-linter included)
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'

test:  ## the fast tier: every test except the slow ones and the proof suites
	$(PY) -m pytest -q -n auto $(FAST)

test-all:  ## the whole suite, as CI runs it (the README's command)
	$(PY) -m pytest -q -n auto

check: lint types layers  ## lint, types, layers

lint:
	$(PY) -m ruff check sentibot tests benchmarks scripts

types:
	$(PY) -m mypy

layers:
	.venv/bin/lint-imports

proof:  ## the reliability, fuzz and security suites at the issues' full scale
	SENTIBOT_PROOF_SCALE=1 $(PY) -m pytest -q -s tests/proofs

bench:  ## every benchmark, one table of figures (BENCH_ARGS=--quick for a short run)
	$(PY) -m benchmarks $(BENCH_ARGS)

ci:  ## what CI runs: fresh venv, checks, wheel install outside the checkout, the whole suite
	.ci/run
