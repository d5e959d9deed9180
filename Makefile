# rumvault: `make demo` runs the demo on SQLite, `make test` runs lint, the JavaScript
# tests and the suite; `make agent` rebuilds the browser agent from its source.
# DATABASE_URL selects the database (default: SQLite file db.sqlite3 in the project).

PYTHON_BIN ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
DEMO_SESSIONS ?= 2000

CHROMIUM ?= /usr/bin/chromium

NODE ?= node

.PHONY: install browser test lint jstest agent format demo serve clean screenshots

$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON_BIN) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# Browser tests drive Debian's Chromium (Playwright's own browser download is
# not available here); install it once if it is missing.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: sudo apt-get install chromium" >&2; exit 1; \
	  fi; }

# mypy: settings and file list in pyproject.toml ([tool.mypy]); about 1 s with a
# warm .mypy_cache, 15 s cold. Its Django plugin imports config.settings, and
# types do not depend on keys, so development settings (DEBUG) are enough.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# The browser agent's unit tests and the shared masking vectors, with Node's own test
# runner (no npm packages needed).
jstest:
	$(NODE) --test tests/browser_agent/rum.test.mjs

# Rebuild the served agent (browser_agent/static/rumvault/rum-<version>.js) from
# browser_agent/src/rum.js, and the loader tag's code (browser_agent/loader.min.js) from
# browser_agent/src/loader.js, with the pinned terser (browser_agent/package-lock.json).
# Commit the output; tests fail while it is older than the source.
agent:
	cd browser_agent && npm ci --no-audit --no-fund && node build.mjs

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint jstest browser
	$(PYTHON) -m pytest

# The README's screenshots (docs/screenshots/), written by the browser tests that take
# them; an ordinary test run keeps its screenshots in a temporary directory.
screenshots: install browser
	RUMVAULT_WRITE_SCREENSHOTS=1 $(PYTHON) -m pytest -m browser tests/browser/test_helpdesk.py tests/browser/test_dashboard.py

# The background-job worker (django-q2 on the database: re-masking started from
# the admin) runs beside the server and stops with it.
demo: install
	DEBUG=true $(PYTHON) manage.py migrate --noinput
	DEBUG=true $(PYTHON) manage.py seed_demo --sessions $(DEMO_SESSIONS)
	DEBUG=true $(PYTHON) manage.py qcluster & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  DEBUG=true $(PYTHON) manage.py runserver 127.0.0.1:8000

# Production-style serving on DATABASE_URL: the deploy check (refuses DEBUG and
# public keys), migrations, static files, gunicorn.
serve: install
	$(PYTHON) manage.py check --deploy --fail-level ERROR
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput --verbosity 0
	$(PYTHON) manage.py qcluster & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/gunicorn --config config/gunicorn.conf.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .hypothesis .mypy_cache .schemathesis \
	  browser_agent/node_modules
