#!/usr/bin/env bash
# Starts CouponBooks on this machine: PostgreSQL (unless ConnectionStrings__Postgres names one),
# the schema, one silo and the API on http://127.0.0.1:8080. Stays in the foreground; Ctrl-C stops
# everything it started.
set -euo pipefail
cd "$(dirname "$0")"

api_url="${API_URL:-http://127.0.0.1:8080}"
pg_port="${POSTGRES_PORT:-55432}"
pg_dir="${POSTGRES_DIR:-$PWD/.data/postgres}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
export DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-$ASPNETCORE_ENVIRONMENT}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
usage: ./run.sh [--help]
  Environment: ConnectionStrings__Postgres (use this database instead of a local one),
  POSTGRES_PORT (local server port, default 55432), API_URL (default http://127.0.0.1:8080).
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

command -v dotnet >/dev/null || { echo "run.sh: the .NET SDK (dotnet) is required" >&2; exit 1; }

pids=()
started_pg=false
cleanup() {
  trap - EXIT INT TERM
  echo "run.sh: stopping..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $started_pg; then scripts/postgres.sh stop --dir "$pg_dir" >&2 || true; fi
}
trap cleanup EXIT INT TERM

if [ -z "${ConnectionStrings__Postgres:-}" ]; then
  ConnectionStrings__Postgres="$(scripts/postgres.sh start --dir "$pg_dir" --port "$pg_port" | tail -n 1)"
  export ConnectionStrings__Postgres
  started_pg=true
fi

echo "run.sh: building..." >&2
dotnet build CouponBooks.sln -c Release -v quiet -nologo >&2

# --- web console: built from web/ when its sources changed, served by the API at /console/ ---
if web/build.sh >&2; then
  export Console__Root="$PWD/web/dist"
else
  echo "run.sh: the web console was not built; the API runs without it (/console/ says how to build it)" >&2
fi
# --- end web console ---

echo "run.sh: applying sql/..." >&2
dotnet src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll migrate

Database__MigrateOnStart=false dotnet src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll &
pids+=($!)

(cd src/Api && exec dotnet bin/Release/net10.0/CouponBooks.Api.dll --urls "$api_url") &
pids+=($!)

for _ in $(seq 1 120); do
  if curl -fsS "$api_url/health/ready" >/dev/null 2>&1; then break; fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "run.sh: a process exited during start" >&2; exit 1; }; done
  sleep 1
done
curl -fsS "$api_url/health/ready" >/dev/null 2>&1 || { echo "run.sh: the API did not become ready" >&2; exit 1; }

cat >&2 <<READY

  CouponBooks is up.
    API:        $api_url/api/v1
    Console:    $api_url/console/
    Swagger UI: $api_url/swagger
    Admin:      admin@example.com / admin-dev-password (Development defaults)
  Press Ctrl-C to stop.

READY
wait -n "${pids[@]}"
echo "run.sh: a process exited; shutting down" >&2
