#!/usr/bin/env bash
# Runs a benchmark scenario on this machine against a throwaway stack that it sets up and tears down itself:
# a PostgreSQL in a temp directory (scripts/postgres.sh), the schema, the API with its own silo as ./run.sh starts
# it (BENCH_LAYOUT=split: a silo process and the API as its client) and, for coupons, the reference service, all
# Release builds, on free ports. The services log at Warning into files in the temp
# directory; their tails are printed on failure.
#
#   bench/run.sh coupons [load options]                coupon lifecycle vs. a plain reference service and pgbench
#   bench/run.sh codes [--count N] [--job-timeout S]   books and codes: reference COPY, generate, CSV import,
#                                                      export, book stats, peak memory
#   bench/run.sh pools [--count N] [--job-timeout S]   pools: add N members (default 100000) in requests of
#                                                      10,000, equal and random distribution, peak memory
#
# The table goes to stdout and to bench/results/<scenario>-latest.md. Exit status: 0 every target met, 3 every
# correctness check passed but a target was missed, anything else a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<'USAGE'
usage: bench/run.sh <scenario> [options for the scenario]
  scenarios:
    coupons [--duration S] [--connections N] [--scenarios LIST] ...  (see: bench/run.sh coupons --help)
            lock+redeem, half load, hot set, GET and random assignment through CouponBooks and through the reference
            service (bench/CouponBooks.Reference), plus pgbench with a one-row UPDATE at the same concurrency.
    codes   [--count N] [--job-timeout S]
            reference binary COPY vs. generate / CSV import / export / book stats through the API, and the silo's
            peak memory. N defaults to 1000000; a job still running after S seconds (default 120) is a FAIL, its
            SQL is cancelled so the job fails and rolls back.
    pools   [--count N] [--job-timeout S]
            a pool of N members (default 100000) added in requests of 10,000, then an equal (perUser 1) and a
            random (total N) distribution from a book of 10 × N codes, and the silo's peak memory.
  Environment: BENCH_KEEP=1 keeps the temp directory (logs, database) after a successful run too.
               BENCH_LAYOUT=cohosted (default: the API hosts the silo, as ./run.sh runs it) or split (a silo
               process and the API as its Orleans client).
               BENCH_API_ENV="NAME=value ..." extra environment for the API process alone (runtime knobs to try).
USAGE
}

scenario="${1:-}"
case "$scenario" in
  coupons)
    shift
    if [[ ${1:-} == --help || ${1:-} == -h ]]; then
      dotnet build bench/CouponBooks.Load/CouponBooks.Load.csproj -c Release -nologo -v quiet >/dev/null
      exec dotnet bench/CouponBooks.Load/bin/Release/net10.0/CouponBooks.Load.dll --help
    fi
    ;;
  codes|pools) shift ;;
  -h|--help|help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
  *) echo "bench/run.sh: unknown scenario '$scenario'" >&2; usage >&2; exit 2 ;;
esac
with_reference=false
[[ $scenario == coupons ]] && with_reference=true
command_line="bench/run.sh $scenario${*:+ $*}"
# What was measured: the commit, and whether src/ or sql/ had changes not committed yet.
if [[ -z ${BENCH_REVISION:-} ]]; then
  if BENCH_REVISION="$(git rev-parse --short HEAD 2>/dev/null)"; then
    [[ -z $(git status --porcelain -- src sql 2>/dev/null) ]] || BENCH_REVISION+=" + uncommitted changes in src/ or sql/"
  else
    BENCH_REVISION="unknown (not a git checkout)"
  fi
fi
export BENCH_REVISION

log() { printf 'bench/run.sh: %s\n' "$*" >&2; }
for tool in dotnet curl; do
  command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done

work="$(mktemp -d /tmp/couponbooks-bench.XXXXXX)"
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

# A port on 127.0.0.1 that nothing listens on and that this run has not handed out yet, below the kernel's
# ephemeral range (where outgoing connections take their local ports, so a bind could still fail later).
read -r ephemeral_low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
(( ephemeral_low > 20000 )) || ephemeral_low=32768
handed_out=" "
free_port() {
  local -n result="$1"
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % (ephemeral_low - 20000) ))
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
cluster="bench-$(date +%s)-$RANDOM"

# Timings are only comparable on an otherwise idle machine; the reports' CPU rows show what else ran.
read -r load1 _ < /proc/loadavg || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l >= 0.5) }'; then
  log "warning: load average $load1 before start: other work is running, so the figures may be pessimistic"
fi

log "starting PostgreSQL in $pg_dir on port $pg_port..."
pg_started=true
connection="$(scripts/postgres.sh start --dir "$pg_dir" --port "$pg_port" 2>>"$work/postgres.log" | tail -n 1)"
[[ $connection == Host=* ]] || { log "scripts/postgres.sh printed no connection string"; exit 1; }

# CHECKPOINT between steps needs superuser or pg_checkpoint (PostgreSQL 15+); the socket is trust-authenticated.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
psql_bin="${pg_bin:+$pg_bin/psql}"
[[ -n $psql_bin && -x $psql_bin ]] || psql_bin="$(command -v psql || true)"
if [[ -z $psql_bin ]] || ! "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir/sock" -p "$pg_port" -U postgres -d couponbooks \
      -c 'grant pg_checkpoint to couponbooks' >>"$work/postgres.log" 2>&1; then
  log "could not grant pg_checkpoint; the bench runs without CHECKPOINT between steps"
fi
if $with_reference; then
  pgbench_bin="${pg_bin:+$pg_bin/pgbench}"
  [[ -n $pgbench_bin && -x $pgbench_bin ]] || pgbench_bin="$(command -v pgbench || true)"
  [[ -n $pgbench_bin ]] || { log "pgbench not found (it ships with the PostgreSQL server package)"; exit 1; }
fi

log "building (Release)..."
dotnet build CouponBooks.sln -c Release -nologo -v quiet >"$work/build.log" 2>&1 || { log "the build failed"; exit 1; }

log "applying the schema..."
ConnectionStrings__Postgres="$connection" dotnet src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll migrate >"$work/migrate.log" 2>&1

layout="${BENCH_LAYOUT:-cohosted}"
case "$layout" in
  cohosted|split) ;;
  *) log "BENCH_LAYOUT must be cohosted or split, not '$layout'"; exit 2 ;;
esac
if [[ $layout == split ]]; then
log "starting a silo (ports $silo_port/$gateway_port, cluster $cluster) and the API on $api_url..."
DOTNET_ENVIRONMENT=Development \
ConnectionStrings__Postgres="$connection" \
Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" \
Orleans__ClusterId="$cluster" Orleans__ServiceId="$cluster" \
Database__MigrateOnStart=false \
Logging__LogLevel__Default=Warning \
  dotnet src/Silo/bin/Release/net10.0/CouponBooks.Silo.dll >"$work/silo.log" 2>&1 &
silo_pid=$!
else
  log "starting the API with its own silo (ports $silo_port/$gateway_port, cluster $cluster) on $api_url..."
fi

# The rate limiter stays on (its cost is part of what is measured) with budgets no run reaches: the load comes from a
# few tokens on one address, far past what RateLimits (README "Hardening") allows one user or one address.
bench_limit=1000000000
(
  cd src/Api
  ASPNETCORE_ENVIRONMENT=Development \
  ConnectionStrings__Postgres="$connection" \
  Orleans__ClusterId="$cluster" Orleans__ServiceId="$cluster" \
  Orleans__CoHosted="$([[ $layout == cohosted ]] && echo true || echo false)" \
  Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" Database__MigrateOnStart=false \
  Logging__LogLevel__Default=Warning \
  RateLimits__CouponCommands__TokenLimit=$bench_limit RateLimits__CouponCommands__TokensPerPeriod=$bench_limit \
  RateLimits__AdminCouponCommands__TokenLimit=$bench_limit RateLimits__AdminCouponCommands__TokensPerPeriod=$bench_limit \
  RateLimits__SignIn__TokenLimit=$bench_limit RateLimits__SignIn__TokensPerPeriod=$bench_limit \
  RateLimits__CouponMisses__MaxMisses=$bench_limit \
    exec env ${BENCH_API_ENV:-} dotnet bin/Release/net10.0/CouponBooks.Api.dll --urls "$api_url"
) >"$work/api.log" 2>&1 &
api_pid=$!

if $with_reference; then
  log "starting the reference service on $reference_url..."
  ASPNETCORE_ENVIRONMENT=Production \
  ConnectionStrings__Postgres="$connection" \
  Logging__LogLevel__Default=Warning \
    dotnet bench/CouponBooks.Reference/bin/Release/net10.0/CouponBooks.Reference.dll --urls "$reference_url" >"$work/reference.log" 2>&1 &
  reference_pid=$!
fi

ready=false
for _ in $(seq 1 240); do
  [[ -z $silo_pid ]] || kill -0 "$silo_pid" 2>/dev/null || { log "the silo exited during start"; exit 1; }
  kill -0 "$api_pid" 2>/dev/null || { log "the API exited during start"; exit 1; }
  [[ -z $reference_pid ]] || kill -0 "$reference_pid" 2>/dev/null || { log "the reference exited during start"; exit 1; }
  if curl -fsS -o /dev/null --max-time 5 "$api_url/health/ready" 2>/dev/null \
     && { [[ -z $reference_pid ]] || curl -fsS -o /dev/null --max-time 5 "$reference_url/health" 2>/dev/null; }; then
    ready=true
    break
  fi
  sleep 0.5
done
$ready || { log "the services did not become ready within 120 s"; exit 1; }
# The pids metered (CPU, VmHWM) must be the dotnet processes themselves (the background jobs exec them).
services=($silo_pid "$api_pid")
[[ -z $reference_pid ]] || services+=("$reference_pid")
for pid in "${services[@]}"; do
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dotnet ]] || { log "pid $pid is not a dotnet process"; exit 1; }
done
log "ready (${silo_pid:+silo pid $silo_pid, }API pid $api_pid${reference_pid:+, reference pid $reference_pid}); running scenario '$scenario'..."

rc=0
if [[ $scenario == coupons ]]; then
  dotnet bench/CouponBooks.Load/bin/Release/net10.0/CouponBooks.Load.dll \
    --api "$api_url" --reference "$reference_url" --postgres "$connection" --pgbench "$pgbench_bin" \
    --admin-email admin@example.com --admin-password admin-dev-password \
    ${silo_pid:+--pid silo="$silo_pid"} --pid api="$api_pid" --pid reference="$reference_pid" \
    --out bench/results/coupons-latest.md --command "$command_line" "$@" || rc=$?
else
  BENCH_COMMAND="$command_line" dotnet bench/CouponBooks.Bench/bin/Release/net10.0/CouponBooks.Bench.dll "$scenario" \
    --api "$api_url" --postgres "$connection" --silo-pid "${silo_pid:-$api_pid}" --api-pid "$api_pid" \
    --admin-email admin@example.com --admin-password admin-dev-password "$@" || rc=$?
fi

for pid in "${services[@]}"; do
  kill -0 "$pid" 2>/dev/null || { log "pid $pid exited during the bench"; rc=1; }
done
case "$rc" in
  0) succeeded=true ;;
  3) succeeded=true; log "every check passed, but a target was missed (see the table)" ;;
  *) log "the bench failed (exit $rc)" ;;
esac
exit "$rc"
