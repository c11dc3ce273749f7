# riskhub: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run install test test-sqlite test-postgres browser-deps lint bench clean

run: install
	$(BIN)/riskhub init
	$(BIN)/riskhub demo
	$(BIN)/riskhub serve --host 127.0.0.1 --port 5000

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing riskhub and its test tools into $(VENV) (log: $(VENV)/install.log)..."
	@$(BIN)/python -m pip install --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(BIN)/python -m pip install -e '.[test]' >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	touch $(STAMP)

browser-deps:
	@scripts/ensure-chromium

test: install browser-deps
	@scripts/ensure-postgres
	$(BIN)/python -m pytest
	@if [ -n "$$RISKHUB_TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL =="; \
		RISKHUB_TEST_BACKEND=postgresql $(BIN)/python -m pytest; \
	else \
		echo "RISKHUB_TEST_DATABASE_URL is not set: PostgreSQL pass skipped"; \
	fi

lint: install
	$(BIN)/ruff check riskhub tests bench
	$(BIN)/mypy riskhub bench

bench: install
	@scripts/ensure-wrk
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
