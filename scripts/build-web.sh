#!/usr/bin/env bash
# Build the web UI (web/, React + Vite) into src/sextant/web/dist, where the server serves it.
# Idempotent: installs node packages only when package.json / package-lock.json changed since the last
# install, and rebuilds only when a source file changed since the last build (or the build is missing).
set -euo pipefail
cd "$(dirname "$0")/../web"
command -v npm >/dev/null || { echo "build-web: npm (Node.js >= 20.19) is required to build the web UI" >&2; exit 1; }

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

install_stamp=node_modules/.sextant-install
want=$(hash_of package.json package-lock.json)
if [ ! -f "$install_stamp" ] || [ "$(cat "$install_stamp")" != "$want" ]; then
  echo "build-web: installing node packages..."
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
  hash_of package.json package-lock.json > "$install_stamp"
fi

dist=../src/sextant/web/dist
build_stamp=$dist/.sextant-build
sources=$( (find src -type f -print0 | sort -z | xargs -0 sha256sum; \
            sha256sum index.html vite.config.ts tsconfig.json package-lock.json) 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$dist/index.html" ] && [ -f "$build_stamp" ] && [ "$(cat "$build_stamp")" = "$sources" ]; then
  echo "build-web: up to date"
  exit 0
fi
echo "build-web: building..."
npm run --silent build
echo "$sources" > "$build_stamp"
