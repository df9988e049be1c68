# The two quickstart commands are `make demo` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench up clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## bring the sandbox up and run the example agents on the double-charge task
	$(BIN)/sandbox --home .sandbox/demo demo

test: $(STAMP)  ## lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## measure; results land in bench/results/
	$(BIN)/python bench/bench_episode.py
	$(BIN)/python bench/bench_proxy.py
	$(BIN)/python bench/bench_faults.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_eval.py
	$(BIN)/python bench/bench_limits.py
	$(BIN)/python bench/bench_isolation.py
	$(BIN)/python bench/bench_graphql.py
	$(BIN)/python bench/bench_routes.py
	$(BIN)/python bench/bench_webhooks.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_web_payments.py
	$(BIN)/python bench/bench_chat_web.py
	$(BIN)/python bench/bench_web_code.py
	$(BIN)/python bench/bench_proxy_workers.py
	SANDBOX_SERVICES=payments $(BIN)/python bench/bench_sweep_backends.py

up: $(STAMP)
	$(BIN)/sandbox up

clean:
	rm -rf $(VENV) .sandbox .pytest_cache
