#!/usr/bin/env bash
# Builds the web console into web/dist when needed: `npm ci` when package-lock.json is newer than the installed
# packages, then type-check and `vite build` when a source is newer than the last build. --force builds anyway.
# Needs Node.js 20.19+ and npm (exits 3 without them, so callers can go on without the console).
set -euo pipefail
cd "$(dirname "$0")"

force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  *) echo "web/build.sh: unknown argument '$1' (use --force or nothing)" >&2; exit 2 ;;
esac

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "web/build.sh: Node.js and npm are required to build the web console" >&2
  exit 3
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  echo "web/build.sh: Node.js 20.19 or newer is required (found $(node --version))" >&2
  exit 3
}

if $force || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "web/build.sh: installing packages (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

stamp=dist/index.html
if $force || [ ! -f "$stamp" ] || [ -n "$(find src public index.html vite.config.ts tsconfig.json package-lock.json -newer "$stamp" -print -quit)" ]; then
  echo "web/build.sh: building the console (web/dist)..." >&2
  npm run --silent build -- --logLevel warn
else
  echo "web/build.sh: web/dist is up to date" >&2
fi
