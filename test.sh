#!/usr/bin/env bash
# Runs every test against a throwaway PostgreSQL that this script starts and removes, unless
# ConnectionStrings__Postgres names a server whose role may create databases. Extra arguments go
# to `dotnet test` (e.g. --filter Auth).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v dotnet >/dev/null || { echo "test.sh: the .NET SDK (dotnet) is required" >&2; exit 1; }

if [ -z "${ConnectionStrings__Postgres:-}" ]; then
  pg_dir="${TMPDIR:-/tmp}/couponbooks-test-pg.$$.$RANDOM"
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((40000 + RANDOM % 20000)))"
  trap 'scripts/postgres.sh remove --dir "$pg_dir" >/dev/null 2>&1 || true' EXIT
  ConnectionStrings__Postgres="$(scripts/postgres.sh start --dir "$pg_dir" --port "$pg_port" | tail -n 1)"
  export ConnectionStrings__Postgres
fi

# --- web console: Chromium for its e2e journeys (tests/CouponBooks.Tests/WebConsole) and the build they test ---
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing Debian's chromium for the web console's e2e tests..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null
  else
    echo "test.sh: /usr/bin/chromium is missing (as root: apt-get install chromium); the web console's e2e test will fail" >&2
  fi
fi
web/build.sh >&2
# --- end web console ---

dotnet build CouponBooks.sln -c Release -nologo -v quiet
# The run's own summary stays last. When a test fails, its name and message are repeated just above that summary
# (a copy of it follows), so the end of the output alone says what failed: the failure itself scrolled by long before.
log="$(mktemp "${TMPDIR:-/tmp}/couponbooks-test-log.XXXXXX")"
set +e
dotnet test CouponBooks.sln -c Release --no-build --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ] && grep -q '^  Failed ' "$log"; then
  echo
  echo "test.sh: the failed tests again (message only; the stack trace is above):"
  awk '/^  Failed [^ ]+ \[/ { print; grabbing = 0; next }
       /^  Error Message:/ { grabbing = 1; lines = 0; next }
       /^  Stack Trace:/ || /^  Failed / { grabbing = 0 }
       grabbing && !/^\{/ && lines < 8 { print substr($0, 1, 400); lines++ }' "$log"
  echo
  sed -n '/^Test Run \(Failed\|Aborted\)/,$p' "$log"
fi
rm -f "$log"
exit "$status"
