#!/usr/bin/env bash
# The whole test suite, on SQLite and on a throwaway PostgreSQL:
#   1. unit tests (GoogleTest via ctest; store and job tests run on both databases),
#   2. black-box tests of the running binary (node:test), once per database,
#   3. browser tests of the web app (playwright-core + Debian's Chromium), once per database.
# Usage: tests/run.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/debug}
export KONTOR_BIN=$PWD/$BUILD/kontor
export KONTOR_HTTP_WEB_ROOT=$PWD/web/dist
# Sanitizer reports fail the test that triggered them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

eval "$(tests/pg.sh start)" || { echo "could not start PostgreSQL"; exit 1; }
trap 'tests/pg.sh stop' EXIT

failed=0
section() { printf '\n=== %s ===\n' "$*"; }

section "unit tests (SQLite and PostgreSQL)"
ctest --test-dir "$BUILD" --output-on-failure -j2 || failed=1

section "ACH reader fuzz (20 s, when clang is installed)"
if command -v clang++ >/dev/null; then
  # Only the ACH library: it depends on nothing else in Kontor.
  mkdir -p build/ach_fuzz && corpus=$(mktemp -d)
  cp tests/conformance/ach/valid/*.ach tests/conformance/ach/invalid/*.ach "$corpus"/
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
    $(ls src/payments/ach/*.cpp | grep -Ev '_test|json|build|cli') -o build/ach_fuzz/ach_reader_fuzz &&
    build/ach_fuzz/ach_reader_fuzz -max_total_time=20 -max_len=8192 "$corpus" 2>&1 | grep -E '^Done|ERROR|SUMMARY' \
    && [[ ${PIPESTATUS[0]} -eq 0 ]] || failed=1
  rm -rf "$corpus"
else
  echo "clang++ not found; skipped"
fi

for db in sqlite postgres; do
  section "black-box API tests on $db"
  KONTOR_TEST_DB=$db node --test --test-concurrency=1 tests/api/ || failed=1
done

for db in sqlite postgres; do
  section "browser tests on $db"
  if [[ $db == postgres ]]; then
    name=kontor_web_$$
    psql -q "$KONTOR_TEST_PG_URL" -c "CREATE DATABASE $name" || failed=1
    url=${KONTOR_TEST_PG_URL%/*}/$name
  else
    url=""
  fi
  (cd web && KONTOR_TEST_DB_URL=$url npm test --silent) || failed=1
done

section "summary"
if ((failed)); then echo "SOME TESTS FAILED"; exit 1; fi
echo "all test suites passed"
