#!/usr/bin/env bash
# The coupon-lifecycle benchmark: CouponBooks (one silo + the API) side by side with a plain reference service
# (bench/CouponBooks.Reference: minimal API + Npgsql, one statement per request) on the same PostgreSQL, schema and
# machine, in one run. It sets up and tears down everything itself: a throwaway PostgreSQL in a temp directory
# (scripts/postgres.sh), the schema, one silo, the API and the reference, all Release builds on free ports.
#
#   bench/coupons.sh [options of the load generator, e.g. --duration 15 --connections 64 --scenarios lock-redeem,get]
#
# Scenarios (bench/CouponBooks.Load): pgbench (the limit of one durable write), lock-redeem, half-load, hot-set, get,
# assign. The table goes to stdout and to bench/results/coupons-latest.md. Exit status: 0 every target met, 3 every
# correctness check passed but a target was missed, anything else a failure. BENCH_KEEP=1 keeps the temp directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

case "${1:-}" in
  -h|--help|help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
command_line="bench/coupons.sh${*:+ $*}"
if [[ -z ${BENCH_REVISION:-} ]]; then
  if BENCH_REVISION="$(git rev-parse --short HEAD 2>/dev/null)"; then
    [[ -z $(git status --porcelain -- src sql 2>/dev/null) ]] || BENCH_REVISION+=" + uncommitted changes in src/ or sql/"
  else
    BENCH_REVISION="unknown (not a git checkout)"
  fi
fi
export BENCH_REVISION

log() { printf 'bench/coupons.sh: %s\n' "$*" >&2; }
for tool in dotnet curl; do
  command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done

work="$(mktemp -d /tmp/couponbooks-coupons.XXXXXX)"
chmod 0755 "$work"   # as root the PostgreSQL server runs as the postgres OS user and must reach $work/pg
pg_dir="$work/pg"
pg_started=false
silo_pid=""
api_pid=""
reference_pid=""
succeeded=false

# Ends one process that this script started: TERM, up to 30 s to stop gracefully, then KILL.
stop_process() {
  local pid="$1" name="$2"
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

print_tails() {
  local f
  for f in "$work/postgres.log" "$work/build.log" "$work/migrate.log" "$work/silo.log" "$work/api.log" "$work/reference.log" "$pg_dir/server.log"; do
    [[ -s $f ]] || continue
    printf '\n----- last lines of %s -----\n' "$f" >&2
    tail -n 40 -- "$f" >&2 || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_process "$reference_pid" reference
  stop_process "$api_pid" API
  stop_process "$silo_pid" silo
  if ! $succeeded; then print_tails; fi
  if $pg_started; then scripts/postgres.sh remove --dir "$pg_dir" >>"$work/postgres.log" 2>&1 || log "could not remove $pg_dir"; fi
  if $succeeded && [[ ${BENCH_KEEP:-} != 1 ]]; then
    rm -rf -- "$work"
  else
    log "logs kept in $work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port on 127.0.0.1 that nothing listens on and that this run has not handed out yet.
handed_out=" "
free_port() {
  local -n result="$1"
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 40000 ))
    [[ $handed_out != *" $port "* ]] || continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      handed_out+="$port "
      result="$port"
      return 0
    fi
  done
  log "found no free port"
  return 1
}
free_port pg_port
free_port silo_port
free_port gateway_port
free_port api_port
free_port reference_port
api_url="http://127.0.0.1:$api_port"
reference_url="http://127.0.0.1:$reference_port"
cluster="coupons-$(date +%s)-$RANDOM"

log "starting PostgreSQL in $pg_dir on port $pg_port..."
pg_started=true
connection="$(scripts/postgres.sh start --dir "$pg_dir" --port "$pg_port" 2>>"$work/postgres.log" | tail -n 1)"
[[ $connection == Host=* ]] || { log "scripts/postgres.sh printed no connection string"; exit 1; }

# CHECKPOINT between runs needs superuser or pg_checkpoint (PostgreSQL 15+); the socket is trust-authenticated.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
psql_bin="${pg_bin:+$pg_bin/psql}"
[[ -n $psql_bin && -x $psql_bin ]] || psql_bin="$(command -v psql || true)"
if [[ -z $psql_bin ]] || ! "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir/sock" -p "$pg_port" -U postgres -d couponbooks \
      -c 'grant pg_checkpoint to couponbooks' >>"$work/postgres.log" 2>&1; then
  log "could not grant pg_checkpoint; the runs start without a CHECKPOINT"
fi
pgbench_bin="${pg_bin:+$pg_bin/pgbench}"
[[ -n $pgbench_bin && -x $pgbench_bin ]] || pgbench_bin="$(command -v pgbench || true)"
[[ -n $pgbench_bin ]] || { log "pgbench not found (it ships with the PostgreSQL server package)"; exit 1; }

log "building (Release)..."
{
  dotnet build CouponBooks.sln -c Release -nologo -v quiet
  dotnet build bench/CouponBooks.Load/CouponBooks.Load.csproj -c Release -nologo -v quiet
  dotnet build bench/CouponBooks.Reference/CouponBooks.Reference.csproj -c Release -nologo -v quiet
} >"$work/build.log" 2>&1 || { log "the build failed"; exit 1; }

log "applying the schema..."
ConnectionStrings__Postgres="$connection" dotnet src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll migrate >"$work/migrate.log" 2>&1

log "starting a silo (ports $silo_port/$gateway_port, cluster $cluster), the API on $api_url and the reference on $reference_url..."
DOTNET_ENVIRONMENT=Development \
ConnectionStrings__Postgres="$connection" \
Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" \
Orleans__ClusterId="$cluster" Orleans__ServiceId="$cluster" \
Database__MigrateOnStart=false \
Logging__LogLevel__Default=Warning \
  dotnet src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll >"$work/silo.log" 2>&1 &
silo_pid=$!

# The rate limiter stays on (its cost is part of what is measured) with budgets no run reaches: the load comes from a
# few tokens on one address, far past what RateLimits (README "Hardening") allows one user or one address.
bench_limit=1000000000
(
  cd src/Api
  ASPNETCORE_ENVIRONMENT=Development \
  ConnectionStrings__Postgres="$connection" \
  Orleans__ClusterId="$cluster" Orleans__ServiceId="$cluster" \
  Logging__LogLevel__Default=Warning \
  RateLimits__CouponCommands__TokenLimit=$bench_limit RateLimits__CouponCommands__TokensPerPeriod=$bench_limit \
  RateLimits__AdminCouponCommands__TokenLimit=$bench_limit RateLimits__AdminCouponCommands__TokensPerPeriod=$bench_limit \
  RateLimits__SignIn__TokenLimit=$bench_limit RateLimits__SignIn__TokensPerPeriod=$bench_limit \
  RateLimits__CouponMisses__MaxMisses=$bench_limit \
    exec dotnet bin/Release/net10.0/CouponBooks.Api.dll --urls "$api_url"
) >"$work/api.log" 2>&1 &
api_pid=$!

ASPNETCORE_ENVIRONMENT=Production \
ConnectionStrings__Postgres="$connection" \
Logging__LogLevel__Default=Warning \
  dotnet bench/CouponBooks.Reference/bin/Release/net10.0/CouponBooks.Reference.dll --urls "$reference_url" >"$work/reference.log" 2>&1 &
reference_pid=$!

ready=false
for _ in $(seq 1 240); do
  kill -0 "$silo_pid" 2>/dev/null || { log "the silo exited during start"; exit 1; }
  kill -0 "$api_pid" 2>/dev/null || { log "the API exited during start"; exit 1; }
  kill -0 "$reference_pid" 2>/dev/null || { log "the reference exited during start"; exit 1; }
  if curl -fsS -o /dev/null --max-time 5 "$api_url/health/ready" 2>/dev/null \
     && curl -fsS -o /dev/null --max-time 5 "$reference_url/health" 2>/dev/null; then
    ready=true
    break
  fi
  sleep 0.5
done
$ready || { log "the API or the reference did not become ready within 120 s"; exit 1; }
# The pids metered for CPU must be the dotnet processes themselves (the background jobs exec them).
for pid in "$silo_pid" "$api_pid" "$reference_pid"; do
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dotnet ]] || { log "pid $pid is not a dotnet process"; exit 1; }
done
log "ready (silo pid $silo_pid, API pid $api_pid, reference pid $reference_pid); running the load generator..."

rc=0
dotnet bench/CouponBooks.Load/bin/Release/net10.0/CouponBooks.Load.dll \
  --api "$api_url" --reference "$reference_url" --postgres "$connection" --pgbench "$pgbench_bin" \
  --admin-email admin@example.com --admin-password admin-dev-password \
  --pid silo="$silo_pid" --pid api="$api_pid" --pid reference="$reference_pid" \
  --out bench/results/coupons-latest.md --command "$command_line" "$@" || rc=$?

for pid in "$silo_pid" "$api_pid" "$reference_pid"; do
  kill -0 "$pid" 2>/dev/null || { log "pid $pid exited during the bench"; rc=1; }
done
case "$rc" in
  0) succeeded=true ;;
  3) succeeded=true; log "every check passed, but a target was missed (see the table)" ;;
  *) log "the bench failed (exit $rc)" ;;
esac
exit "$rc"
