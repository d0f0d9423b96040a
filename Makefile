# Taskdesk: `make run` to serve on SQLite with a job worker beside it, `make test` to run the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run worker test lint typecheck migrate superuser seed bench soak clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The development server and one background worker beside it (emails, maintenance); Ctrl+C stops both.
run: migrate
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py worker & worker=$$!; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# One worker in the foreground, as in production (run as many as the load needs, anywhere).
worker: migrate
	$(BIN)/python manage.py worker

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

superuser: migrate
	$(BIN)/python manage.py createsuperuser

seed: migrate
	$(BIN)/python manage.py seed_demo --users 5 --tasks 200

# The performance targets, measured (docs/performance.md): ARGS=--scale adds the 100k/1M growth cases.
bench: install
	$(BIN)/python bench/run.py $(ARGS)

# Production settings on PostgreSQL and Redis under mixed load, workers killed every 30 s, then reconciled
# (docs/operations.md#soak-test). 5 minutes; `make soak SECONDS=60` for less. A database of its own unless
# DATABASE_URL is set; REDIS_URL defaults to redis://127.0.0.1:6379/14.
soak: install
	$(BIN)/python -m soak $(if $(SECONDS),--seconds $(SECONDS))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
