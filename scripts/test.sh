#!/usr/bin/env bash
# Install everything and run the whole test suite: lint, then every test on SQLite and on PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
if [ -f web/package.json ]; then bash scripts/build-web.sh || exit 1; fi
bash scripts/ensure-services.sh || exit 1
status=0
echo "== ruff"; .venv/bin/ruff check src tests bench || status=1
for backend in sqlite postgresql; do
  echo "== pytest on $backend"
  SEXTANT_TEST_DB=$backend .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "$@" tests
  rc=$?
  # 5 = no tests collected: that is a failure of the suite, never a pass.
  [ $rc -ne 0 ] && status=1
done
exit $status
