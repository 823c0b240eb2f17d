# nar: `make run` (install + main job on the embedded default) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= data/nar
PRESET ?= demo
WORKERS ?= 2

.PHONY: install run test test-all bench lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip uv
# --compile-bytecode: .pyc files written once here, so every later process imports torch/timm from bytecode
# (also where PYTHONDONTWRITEBYTECODE is set: `import timm` 20.5 s -> 9.5 s measured at load 2-4)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock
# the package with its `ui` extra (the page's plotly.js, Playwright for the browser test), pinned by the lock
	$(BIN)/uv pip install --python $(BIN)/python -c requirements.lock -e '.[ui]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/nar build --preset $(PRESET) --workers $(WORKERS) --data $(OUT)

test: install
	$(BIN)/python -m pytest -q

test-all: install
	FULL_TEST=1 $(BIN)/python -m pytest -q -m "slow or not slow"

bench: install
	$(BIN)/python bench/trace_coverage.py --preset $(PRESET) --workers $(WORKERS) --out data/bench-$(PRESET)

# Re-pin after changing pyproject.toml dependencies.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra test --extra ui -o requirements.lock --no-header --no-annotate

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
