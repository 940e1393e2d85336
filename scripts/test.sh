#!/usr/bin/env bash
# The whole suite: lint, import contracts, migrations check, contract check, pytest.
# On PostgreSQL + Redis when they answer; otherwise SQLite with those tests skipped, said clearly.
# Under CI=true a missing PostgreSQL or Redis fails the run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
BIN=.venv/bin
# Development keys unless the caller gives DEBUG=false and its own (docs/security.md); pytest does the same.
export DEBUG="${DEBUG:-true}"

missing=()
[[ "${DATABASE_URL:-}" == postgres* ]] || missing+=("PostgreSQL (127.0.0.1:5432)")
[ -n "${TEST_REDIS_URL:-}" ] || missing+=("Redis (127.0.0.1:6379)")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true and not answering: ${missing[*]}. Refusing to skip their tests." >&2
    exit 1
  fi
  echo "NOT ANSWERING: ${missing[*]} -- running on SQLite/in-process; their tests are SKIPPED."
else
  echo "Using PostgreSQL ($DATABASE_URL) and Redis ($TEST_REDIS_URL)."
fi

$BIN/ruff check .
# The one-way rules between the apps (pyproject.toml [tool.importlinter]); cycles: tests/test_architecture.py.
$BIN/lint-imports
# No module over 600 lines, no function over 60 (production code; STYLE.md).
$BIN/python scripts/check_sizes.py
DATABASE_URL=sqlite:///:memory: $BIN/python manage.py makemigrations --check --dry-run >/dev/null || {
  echo "Model changes without a migration: run manage.py makemigrations" >&2; exit 1; }
$BIN/python ../shared/tools/check_contract.py 2>/dev/null || {
  [ -f ../shared/tools/check_contract.py ] && exit 1 || echo "(../shared not beside the repo: contract check skipped)"; }

# The Afrikaans and isiXhosa catalogues from their .po files, as `make setup` does (never committed).
env -u DJANGO_SETTINGS_MODULE $BIN/django-admin compilemessages --ignore=.venv --ignore='.*' >/dev/null
mkdir -p test-artifacts
set +e
$BIN/python -m pytest "$@"
rc=$?
set -e
[ $rc -eq 5 ] && { echo "pytest collected no tests" >&2; exit 1; }
exit $rc
