# Two commands do everything: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check simulate outbox lint bench soak system clean

# make run PORT=5050 when port 5000 is taken (on macOS, AirPlay listens on it).
PORT ?= 5000

# Debian packages the hotline uses: espeak-ng speaks Kazakh, sox makes phone-quality audio,
# redis-server (and redis-tools' redis-cli, for the cluster test) backs tests and benchmarks,
# chromium drives the dashboard tests. Installed only where missing.
system:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	command -v redis-cli >/dev/null || [ -x /usr/bin/redis-cli ] || missing="$$missing redis-tools"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) || echo "could not install$$missing (tests that need them will say so)"; \
	  else echo "please install:$$missing (sudo apt-get install$$missing)"; fi; \
	fi

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@command -v espeak-ng >/dev/null || $(MAKE) --no-print-directory system
	@$(BIN)/hotline run --port $(PORT)

# Operator commands from a fresh clone, no activation needed (or: . .venv/bin/activate; hotline --help).
check: $(STAMP)
	@$(BIN)/hotline check

# A call in the terminal to the hotline `make run` started (KEYS="3 1 2 8" presses them; SMS=HELP texts instead).
simulate: $(STAMP)
	@$(BIN)/hotline simulate $(if $(KEYS),--keys "$(KEYS)") $(if $(SMS),--sms "$(SMS)")

outbox: $(STAMP)
	@$(BIN)/hotline outbox

# The layers (docs/ARCHITECTURE.md) and the code style, checked before any test runs.
lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check hotline tests bench

# The suite in TEST_WORKERS processes (pytest-xdist; 2 = the cores here and on CI): most of its time
# is spent waiting on servers, browsers and espeak-ng, so two run side by side. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: system $(STAMP) lint
	$(BIN)/hotline check
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

soak: system $(STAMP)
	$(BIN)/python -m pytest -m soak --run-soak

bench: system $(STAMP)
	@$(BIN)/python -c "import pyinstrument" 2>/dev/null || $(BIN)/pip install -q pyinstrument || echo "no pyinstrument: profiles skipped"
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1; } || echo "no wrk: generator cross-check skipped"
	@$(BIN)/pip install -q --target bench/out/hiredis hiredis >/dev/null 2>&1 || echo "no hiredis: the parser comparison is skipped"
	$(BIN)/python -m pytest -q -p conftest bench/test_populate.py
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .hypothesis bench/out
