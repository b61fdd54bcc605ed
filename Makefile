# Everything a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all venv tools test lint unit e2e demo crds check-crds clean

all: test

$(STAMP): requirements.txt requirements-sandbox.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check --no-cache controller tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# promtool (Debian's `prometheus`) tests the alert rules; lua5.1 runs the ArgoCD health checks (lupa is the
# fallback) and yamllint lints the manifests: installed here when missing, so `make test` alone sets up a
# fresh machine. Without apt-get (or root) the step only warns and the tests say what is missing.
tools:
	@need=""; \
	command -v promtool >/dev/null 2>&1 || need="$$need prometheus"; \
	command -v lua5.1   >/dev/null 2>&1 || need="$$need lua5.1"; \
	command -v yamllint >/dev/null 2>&1 || need="$$need yamllint"; \
	if [ -n "$$need" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$need"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need) \
	      || echo "warning: could not install$$need"; \
	  else echo "warning: apt-get not found; install$$need by hand"; fi; \
	fi

# Four workers on two cores: most of an end-to-end test is waiting (for the operator, a resync, a watch), so
# two more workers overlap the waits (measured: 4m50s with -n 4 against 6m46s with -n 2, 908 tests).
test: tools lint
	$(BIN)/python -m pytest -n 4 --dist loadgroup --no-loadscope-reorder

demo: $(STAMP)
	$(BIN)/awsorg demo

crds: $(STAMP)
	$(BIN)/awsorg crds --out crds/
	cp crds/*.yaml deploy/crds/

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
