# Casetrail: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# What makemessages leaves out (tests/test_translations.py extracts with the same list).
MESSAGES_IGNORE := --ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' --ignore='staticfiles/*' \
  --ignore='test-artifacts/*' --ignore='docs/*' --ignore='deploy/*' --ignore='*.egg-info' --ignore='icd10_*.txt'

.PHONY: run test setup browser bench lint format worker beat clean fuzz messages load

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

# The Afrikaans and isiXhosa catalogues are compiled here, never committed (*.mo is ignored), so they
# cannot go stale; `make messages` re-extracts the strings after a change (locale/README.md).
setup: $(STAMP)
	@env -u DJANGO_SETTINGS_MODULE $(BIN)/django-admin compilemessages --ignore=.venv --ignore='.*' >/dev/null

messages: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemessages -l af -l xh --no-location --no-obsolete $(MESSAGES_IGNORE)
	@env -u DJANGO_SETTINGS_MODULE $(BIN)/django-admin compilemessages --ignore=.venv --ignore='.*' >/dev/null

# Debian's chromium for the browser checks (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install chromium: browser tests will be skipped (failed under CI=true)"; }

# Development only: DEBUG on, so the settings use their public development keys (a deployment must set
# its own SECRET_KEY, IDENTITY_ENCRYPTION_KEY and PSEUDONYM_KEY, or it refuses to start: docs/security.md).
run: export DEBUG = true
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: setup browser
	@bash scripts/test.sh

bench: setup
	@bash scripts/bench.sh $(SIZE)

# Casetrail under load (docs/reliability.md, "Load"): 1M admissions on PostgreSQL, gunicorn, a Celery worker,
# 50 people and an HL7 feed at 50 messages/s for LOAD_TIME (default 3m); prints latencies per endpoint.
load: setup
	@LOAD_TIME=$${LOAD_TIME:-3m} bash scripts/load.sh

# The long fuzzing run (docs/reliability.md, "Fuzzing"): the API as three roles and the intake's HL7 and
# CSV doors, randomised, with many more examples than the bounded run in `make test`.
fuzz: export DEBUG ?= true
fuzz: setup
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-60} FUZZ_RANDOM=1 $(BIN)/python -m pytest tests/fuzz -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Development only, like run: DEBUG on unless the caller says otherwise.
worker beat: export DEBUG ?= true
# Every queue (intake, reporting, default) in one worker; production runs two (Procfile, docs/operations.md).
worker: setup
	$(BIN)/celery -A config worker -Q intake,reporting,default -l info

beat: setup
	$(BIN)/celery -A config beat -l info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
