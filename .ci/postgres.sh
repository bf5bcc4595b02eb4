#!/usr/bin/env bash
# Sourced by .ci/run: a PostgreSQL server on loopback for the PostgreSQL store tests (tests/test_postgres.py).
# Installs Debian's postgresql when missing (CI runs as root on a fresh machine), starts its cluster, creates a
# user and a database, and exports INSIGHT_TEST_POSTGRES_URL; INSIGHT_REQUIRE_POSTGRES=1 makes those tests fail
# (instead of skip) if the server cannot be reached.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_cluster() { pg_lsclusters -h | awk -v v="$pg_ver" '$1 == v && $2 == "main" {print $3, $4}'; }
if [ -z "$(pg_cluster)" ]; then
  pg_createcluster "$pg_ver" main >/dev/null
fi
if [ "$(pg_cluster | cut -d' ' -f2)" != "online" ]; then
  pg_ctlcluster "$pg_ver" main start
fi
pg_port=$(pg_cluster | cut -d' ' -f1)
as_pg() { runuser -u postgres -- "$@"; }
if [ "$(as_pg psql -p "$pg_port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'insight'")" != 1 ]; then
  as_pg psql -p "$pg_port" -qc "CREATE ROLE insight LOGIN PASSWORD 'insight'"
fi
if [ "$(as_pg psql -p "$pg_port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'insight_test'")" != 1 ]; then
  as_pg createdb -p "$pg_port" -O insight insight_test
fi
export INSIGHT_TEST_POSTGRES_URL="postgresql://insight:insight@127.0.0.1:${pg_port}/insight_test"
export INSIGHT_REQUIRE_POSTGRES=1
echo "PostgreSQL $pg_ver on 127.0.0.1:$pg_port for the store tests"
