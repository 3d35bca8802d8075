#!/usr/bin/env bash
# Install everything, create a SQLite database with demo data, and serve Sextant at http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f web/package.json ]; then bash scripts/build-web.sh; fi
export DATABASE_URL=${DATABASE_URL:-sqlite:///./data/sextant.db}
.venv/bin/sextant migrate
.venv/bin/sextant seed --demo
echo
echo "  Sextant is starting at http://127.0.0.1:${PORT:-8000}"
echo "  Sign in as admin@example.com / sextant-admin   (API docs: http://127.0.0.1:${PORT:-8000}/docs)"
echo
exec .venv/bin/sextant serve --no-migrate --host 127.0.0.1 --port "${PORT:-8000}"
