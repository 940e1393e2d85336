# Sourced by test.sh and bench.sh: use the real PostgreSQL and Redis of this machine when they answer.
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

PG_HOST=${PG_HOST:-127.0.0.1}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
if [ -z "${DATABASE_URL:-}" ] && answers "$PG_HOST" 5432; then
  export DATABASE_URL="postgres://postgres@$PG_HOST:5432/casetrail"
fi
if [ -z "${TEST_REDIS_URL:-}" ] && answers "$REDIS_HOST" 6379; then
  export TEST_REDIS_URL="redis://$REDIS_HOST:6379/15"
fi
