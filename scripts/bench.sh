#!/usr/bin/env bash
# Benchmarks on the real PostgreSQL: each figure is printed next to a baseline measured in the same run.
# Usage: make bench [SIZE=5000000]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
[[ "${DATABASE_URL:-}" == postgres* ]] || { echo "make bench needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
size_arg=()
[ -n "${1:-}" ] && size_arg=(--size "$1")
for bench in bench/bench_*.py; do
  echo "== $bench"
  .venv/bin/python "$bench" "${size_arg[@]}"
done
