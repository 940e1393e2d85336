#!/usr/bin/env bash
# make load: Casetrail under load on the real PostgreSQL (1M admissions), gunicorn and a Celery worker.
# Builds or reuses the load database (bench/load/prepare.py, bench_reporting's seed), starts gunicorn, a
# worker and beat in deployment mode (DEBUG off, JSON logs), runs locust headless for LOAD_TIME, prints
# the figures.
# Settings (environment): LOAD_TIME (3m), LOAD_PEOPLE (50), LOAD_FEED_RATE (50 messages/s), LOAD_SIZE
# (1000000 admissions), LOAD_DB (casetrail_load), LOAD_PORT (8765), LOAD_WORKERS (3 gunicorn processes
# of LOAD_THREADS 4 threads), LOAD_CELERY_CONCURRENCY (2), LOAD_DIR (/tmp/casetrail-load: logs, figures).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
[[ "${DATABASE_URL:-}" == postgres* ]] || { echo "make load needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
answers "$REDIS_HOST" 6379 || { echo "make load needs Redis on $REDIS_HOST:6379" >&2; exit 1; }

LOAD_DIR=${LOAD_DIR:-/tmp/casetrail-load}
LOAD_DB=${LOAD_DB:-casetrail_load}
PORT=${LOAD_PORT:-8765}
PEOPLE=${LOAD_PEOPLE:-50}
export LOAD_FEED_RATE=${LOAD_FEED_RATE:-50} LOAD_FEED_USERS=${LOAD_FEED_USERS:-10}
mkdir -p "$LOAD_DIR"

# Deployment mode with keys of the load's own, kept beside its database (sessions made by prepare.py are
# signed with SECRET_KEY; identities the feed writes are encrypted with IDENTITY_ENCRYPTION_KEY).
if [ ! -f "$LOAD_DIR/keys.env" ]; then
  .venv/bin/python - > "$LOAD_DIR/keys.env" <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"IDENTITY_ENCRYPTION_KEY={Fernet.generate_key().decode()}")
print(f"PSEUDONYM_KEY={secrets.token_urlsafe(40)}")
PY
fi
set -a; source "$LOAD_DIR/keys.env"; set +a
base_url=$DATABASE_URL
export DEBUG=false LOG_FORMAT=json LOG_LEVEL=${LOG_LEVEL:-INFO} LOAD_DB
export CELERY_BROKER_URL=${LOAD_BROKER_URL:-redis://$REDIS_HOST:6379/14}
# A busy machine answers the readiness probe's question to the workers slowly: give it time.
export READY_WORKER_TIMEOUT_SECONDS=${READY_WORKER_TIMEOUT_SECONDS:-5}
# The load measures the application, not the rate limits: the feed alone is 50 messages/s from one
# credential, over the intake's default 20/s (docs/reliability.md, "Load").
for scope in anon user burst address auth auth_address login intake exports reports; do
  export "THROTTLE_RATE_${scope^^}=off"
done

.venv/bin/python bench/load/prepare.py --size "${LOAD_SIZE:-1000000}" --out "$LOAD_DIR/users.json"
export DATABASE_URL="${base_url%/*}/$LOAD_DB"

# gunicorn keeps an idle connection 75 s, as behind a reverse proxy (its default 2 s races the clients'
# reuse of a kept connection, which then sees "connection reset": an artefact, not an answer).
pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
.venv/bin/celery -A config worker -Q intake,reporting,default -c "${LOAD_CELERY_CONCURRENCY:-2}" \
  -l INFO > "$LOAD_DIR/worker.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A config beat -l INFO -s "$LOAD_DIR/beat-schedule" > "$LOAD_DIR/beat.log" 2>&1 &
pids+=($!)
.venv/bin/gunicorn config.wsgi -b "127.0.0.1:$PORT" -w "${LOAD_WORKERS:-3}" -k gthread \
  --threads "${LOAD_THREADS:-4}" --keep-alive 75 > "$LOAD_DIR/gunicorn.log" 2>&1 &
pids+=($!)
for _ in $(seq 90); do
  curl -fsS --max-time 10 "http://127.0.0.1:$PORT/ready/" >/dev/null 2>&1 && break
  sleep 2
done
curl -fsS --max-time 10 "http://127.0.0.1:$PORT/ready/" \
  || { echo "the app did not get ready; see $LOAD_DIR/*.log" >&2; exit 1; }
echo
echo "== locust: $PEOPLE people, HL7 feed at $LOAD_FEED_RATE/s, for ${LOAD_TIME:-3m} (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
LOAD_USERS="$LOAD_DIR/users.json" LOAD_REPORT="$LOAD_DIR/summary.txt" .venv/bin/locust \
  -f bench/load/locustfile.py --headless --only-summary \
  -u $((PEOPLE + LOAD_FEED_USERS + 1)) -r 20 -t "${LOAD_TIME:-3m}" \
  --host "http://127.0.0.1:$PORT" --csv "$LOAD_DIR/locust" > "$LOAD_DIR/locust.log" 2>&1 || true
cat "$LOAD_DIR/summary.txt"
echo "machine load at the end: $(cut -d' ' -f1-3 /proc/loadavg); logs and CSV in $LOAD_DIR"
