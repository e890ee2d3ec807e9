#!/usr/bin/env bash
# Starts CouponBooks on this machine: PostgreSQL (unless ConnectionStrings__Postgres names one),
# the schema, and the API on http://127.0.0.1:8080 with silo 1 in its own process; --silos N adds
# silo processes 2..N. Stays in the foreground; Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"

api_url="${API_URL:-http://127.0.0.1:8080}"
pg_port="${POSTGRES_PORT:-55432}"
pg_dir="${POSTGRES_DIR:-$PWD/.data/postgres}"
silo_port_base="${SILO_PORT_BASE:-11111}"
gateway_port_base="${GATEWAY_PORT_BASE:-30000}"
dashboard_port_base="${DASHBOARD_PORT_BASE:-8081}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
export DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-$ASPNETCORE_ENVIRONMENT}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<USAGE
usage: ./run.sh [--demo] [--silos N] [--no-dashboard] [--help]
  --demo          load the demo data (users, books, codes, pools; README "Demo data") once;
                  a later --demo changes nothing
  --silos N       N silos (1..20, default 1): silo 1 runs in the API process, silos 2..N as processes
                  of their own; silo i listens on silo port $silo_port_base+i-1 and gateway port
                  $gateway_port_base+i-1; silo i >= 2 serves its dashboard on port $dashboard_port_base+i-2
  --no-dashboard  do not serve the Orleans Dashboard (silo 1's is at API_URL/dashboard/, from this
                  machine only)
  Environment: ConnectionStrings__Postgres (use this database instead of a local one),
  POSTGRES_PORT (local server port, default 55432), POSTGRES_DIR (its data, default .data/postgres),
  API_URL (default http://127.0.0.1:8080),
  SILO_PORT_BASE, GATEWAY_PORT_BASE (silo 1's ports), DASHBOARD_PORT_BASE (silo 2's dashboard),
  SILO_METRICS_PORT (silo 2's Prometheus endpoint, default 9464, silo i on 9464+i-2; 0 turns them
  off; silo 1's metrics are part of API_URL/metrics).
USAGE
}

demo=false
silos=1
dashboard=true
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --demo) demo=true ;;
    --no-dashboard) dashboard=false ;;
    --silos)
      [ $# -ge 2 ] || { echo "run.sh: --silos needs a number" >&2; exit 2; }
      silos="$2"; shift ;;
    --silos=*) silos="${1#--silos=}" ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ! [[ "$silos" =~ ^[0-9]+$ ]] || [ "$silos" -lt 1 ] || [ "$silos" -gt 20 ]; then
  echo "run.sh: --silos takes a number from 1 to 20, not '$silos'" >&2; exit 2
fi

command -v dotnet >/dev/null || { echo "run.sh: the .NET SDK (dotnet) is required" >&2; exit 1; }

# Orleans on Linux binds a port that another process already listens on without an error (both
# get SO_REUSEPORT), so a second cluster on the same ports would silently share traffic: refuse.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
api_port="$(sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#' <<<"$api_url")"
api_port="${api_port:-80}"
ports=("$api_port")
for ((i = 0; i < silos; i++)); do
  ports+=($((silo_port_base + i)) $((gateway_port_base + i)))
  if $dashboard && [ "$i" -gt 0 ]; then ports+=($((dashboard_port_base + i - 1))); fi
done
for port in "${ports[@]}"; do
  if port_in_use "$port"; then
    echo "run.sh: port $port is in use (another CouponBooks still running?); stop it or choose other ports (--help)" >&2
    exit 1
  fi
done

pids=()
started_pg=false
cleanup() {
  trap - EXIT INT TERM
  echo "run.sh: stopping..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $started_pg; then scripts/postgres.sh stop --dir "$pg_dir" >&2 || true; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

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

silo_dll=src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll
echo "run.sh: applying sql/..." >&2
dotnet "$silo_dll" migrate

# Silo 1 runs inside the API process (Orleans:CoHosted): requests to its grains skip the network and the
# serializer. Silos 2..N are silo processes of their own.
started_at="$(date -u '+%Y-%m-%d %H:%M:%S')"
metrics_port_base="${SILO_METRICS_PORT:-9464}"
(
  cd src/Api
  Orleans__CoHosted=true Database__MigrateOnStart=false \
  Orleans__SiloPort=$silo_port_base Orleans__GatewayPort=$gateway_port_base \
  Dashboard__Enabled=$dashboard \
    exec dotnet bin/Release/net10.0/CouponBooks.Api.dll --urls "$api_url"
) &
api_pid=$!
pids+=($api_pid)

silo_pids=()
for ((i = 1; i < silos; i++)); do
  metrics_port=0
  [ "$metrics_port_base" -eq 0 ] || metrics_port=$((metrics_port_base + i - 1))
  Database__MigrateOnStart=false \
  Orleans__SiloPort=$((silo_port_base + i)) Orleans__GatewayPort=$((gateway_port_base + i)) \
  Dashboard__Enabled=$dashboard Dashboard__Port=$((dashboard_port_base + i - 1)) \
  Metrics__Port=$metrics_port \
    dotnet "$silo_dll" &
  pids+=($!)
  silo_pids+=($!)
done

check_processes() {
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "run.sh: a process exited during start" >&2; exit 1; }; done
}

for _ in $(seq 1 120); do
  if curl -fsS "$api_url/health/ready" >/dev/null 2>&1; then break; fi
  check_processes
  sleep 1
done
curl -fsS "$api_url/health/ready" >/dev/null 2>&1 || { echo "run.sh: the API did not become ready" >&2; exit 1; }

# Silos that joined since this start, read from the membership table (when psql is at hand).
active_silos() {
  local key value
  local -A cs=()
  while IFS='=' read -r key value; do
    [ -n "$key" ] && cs["${key,,}"]="$value"
  done < <(tr ';' '\n' <<<"$ConnectionStrings__Postgres")
  PGHOST="${cs[host]:-127.0.0.1}" PGPORT="${cs[port]:-5432}" PGDATABASE="${cs[database]:-}" \
  PGUSER="${cs[username]:-}" PGPASSWORD="${cs[password]:-}" \
    psql -X -qtA -c "select count(*) from orleansmembershiptable
      where deploymentid = '${Orleans__ClusterId:-couponbooks}' and status = 3 and starttime >= '$started_at+00'" 2>/dev/null
}
if [ "$silos" -gt 1 ] && command -v psql >/dev/null; then
  joined=0
  for _ in $(seq 1 90); do
    joined="$(active_silos || echo 0)"
    [ "${joined:-0}" -ge "$silos" ] && break
    check_processes
    sleep 1
  done
  [ "${joined:-0}" -ge "$silos" ] || { echo "run.sh: only ${joined:-0} of $silos silos joined the cluster" >&2; exit 1; }
  echo "run.sh: $joined silos joined the cluster" >&2
fi

if $demo; then
  echo "run.sh: loading the demo data..." >&2
  dotnet "$silo_dll" demo >&2 || { echo "run.sh: loading the demo data failed" >&2; exit 1; }
fi

dashboards=""
if $dashboard; then
  dashboards+="    Dashboard:  $api_url/dashboard/ (silo 1, in the API process; from this machine only)"$'\n'
  for ((i = 1; i < silos; i++)); do dashboards+="    Dashboard:  http://127.0.0.1:$((dashboard_port_base + i - 1))/ (silo $((i + 1)))"$'\n'; done
fi
cat >&2 <<READY

  CouponBooks is up ($silos silo(s)).
    API:        $api_url/api/v1
    Console:    $api_url/console/
    Swagger UI: $api_url/swagger
    Metrics:    $api_url/metrics (API and silo 1)$( [ "$metrics_port_base" -eq 0 ] || [ "$silos" -lt 2 ] || echo ", http://127.0.0.1:$metrics_port_base/metrics (silo 2; silo i on port $metrics_port_base+i-2)")
${dashboards}    Admin:      admin@example.com / admin-dev-password (Development defaults)
  Press Ctrl-C to stop.

READY
# A silo that stops (Ctrl-C in its place, a crash) leaves the others serving; stop when the API (and
# silo 1 with it) exits.
while :; do
  exited=""
  status=0
  wait -n -p exited "${pids[@]}" || status=$?
  if [ -z "$exited" ] || [ "$exited" = "$api_pid" ]; then
    echo "run.sh: the API exited (status $status); shutting down" >&2
    break
  fi
  alive=()
  for pid in "${silo_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
  silo_pids=("${alive[@]}")
  pids=("${silo_pids[@]}" "$api_pid")
  echo "run.sh: a silo (pid $exited) exited with status $status; $(( ${#silo_pids[@]} + 1 )) silo(s) still serve" >&2
done
