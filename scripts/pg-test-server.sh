#!/usr/bin/env bash
# Prints a PostgreSQL URL for the test suite, starting the local server if needed.
# Uses $RINGEBU_JOURNAL_TEST_PG when it is already set. Prints nothing when no server can be had.
set -uo pipefail
if [ -n "${RINGEBU_JOURNAL_TEST_PG:-}" ]; then echo "$RINGEBU_JOURNAL_TEST_PG"; exit 0; fi
command -v pg_ctlcluster >/dev/null || exit 0
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$ver" ] || exit 0
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  pg_ctlcluster "$ver" main start >&2 || exit 0
fi
for _ in $(seq 1 30); do pg_isready -q && break; sleep 0.5; done
me=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$me'\"" | grep -q 1 \
    || su postgres -c "createuser -s $me" >&2
fi
psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ringebu_test'" 2>/dev/null | grep -q 1 \
  || createdb ringebu_test >&2 || exit 0
echo "postgresql+psycopg:///ringebu_test"
