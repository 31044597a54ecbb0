# Outlet CRM — `make run` serves the demo, `make test` runs the whole suite. Nothing else to install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
CATALOGS := $(wildcard crm/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(CATALOGS:.po=.mo)

.PHONY: run scheduler test test-pg install translations extract-messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@

translations: $(MO_FILES)

## Serve the app with demo data on http://127.0.0.1:$(PORT)
# Email links of the demo point at the port it serves on (unless CRM_BASE_URL says otherwise).
run scheduler: export CRM_BASE_URL ?= http://127.0.0.1:$(PORT)

run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty
	$(BIN)/flask --app wsgi load-questionnaire --if-none
	@# By hand: these runs keep their own rows in job_runs and leave today's scheduled runs to `make scheduler`.
	$(BIN)/flask --app wsgi scan-clients
	$(BIN)/flask --app wsgi plan-followups
	@echo "Scheduled jobs and reminder emails: run 'make scheduler' in another terminal."
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

## The scheduler (scan, plans, reminders, digests) on the same database as `make run`
scheduler: install
	$(BIN)/flask --app wsgi scheduler

## Run the whole suite (SQLite; browser tests when /usr/bin/chromium exists)
test: $(VENV)/.installed-test translations
	@test -x /usr/bin/chromium || echo "NOTE: /usr/bin/chromium is missing: the browser tests will be SKIPPED (apt-get install chromium fonts-noto-cjk, or run .ci/run)."
	$(BIN)/ruff check crm tests bench migrations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The same suite against the PostgreSQL server on this machine
test-pg: $(VENV)/.installed-test translations
	CRM_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

## Re-extract translatable strings and merge them into the catalogs
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations --no-fuzzy-matching --ignore-obsolete

bench: $(VENV)/.installed-test
	$(BIN)/python bench/client_list.py

clean:
	rm -rf $(VENV) $(MO_FILES) .pytest_cache
