#!/usr/bin/env bash
# Runs the whole suite: every database test on SQLite and on PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."
url=$(bash scripts/pg-test-server.sh)
if [ -n "$url" ]; then
  export RINGEBU_JOURNAL_TEST_PG="$url"
  echo "PostgreSQL tests use $url"
else
  echo "no PostgreSQL server: PostgreSQL tests are skipped (they fail in CI)"
fi
exec .venv/bin/python -m pytest -q "$@"
