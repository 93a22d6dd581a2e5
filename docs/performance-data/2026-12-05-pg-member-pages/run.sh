#!/bin/bash
# ADR 0021 prototype: bytes per super-group member on PostgreSQL, row layout (migration 23) against packed pages, at
# 100,000 and 1,000,000 members. Needs the dev PostgreSQL: source /work/dev/env first. Writes pages-<n>.out here.
# The schema member_pages_proto is dropped at the start of each run and at the end.
set -euo pipefail
cd "$(dirname "$0")"
URL=$(echo "$PARLEY_TEST_POSTGRES" | sed -E 's/.*Host=([^;]+);Port=([^;]+);Username=([^;]+);Database=([^;]+).*/postgresql:\/\/\3@\1:\2\/\4/')
for n in ${SIZES:-100000 1000000}; do
  { uptime; date -u; psql "$URL" -X -v n="$n" -v cap="${CAP:-128}" -v fastupdate="${FASTUPDATE:-on}" -v ON_ERROR_STOP=1 -f pages.sql; date -u; uptime; } > "pages-$n${FASTUPDATE:+-fastupdate-$FASTUPDATE}.out" 2>&1
done
psql "$URL" -X -q -c 'DROP SCHEMA IF EXISTS member_pages_proto CASCADE'
