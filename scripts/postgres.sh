#!/usr/bin/env bash
# Throwaway / local PostgreSQL for development and tests.
#
#   scripts/postgres.sh start  --dir DIR --port PORT [--db NAME] [--user NAME] [--password PW]
#   scripts/postgres.sh stop   --dir DIR
#   scripts/postgres.sh remove --dir DIR     (stops the server if it runs, then deletes DIR)
#   scripts/postgres.sh status --dir DIR     (prints running|stopped|absent; exit 0|3|4)
#   scripts/postgres.sh ensure-binaries      (finds, or as root installs, the server binaries)
#
# Defaults: --db couponbooks --user couponbooks --password couponbooks.
#
# Layout of DIR (everything the server owns lives here, nothing is shared with a
# system-wide PostgreSQL):
#   DIR/data/        the cluster (PGDATA), created by initdb
#   DIR/sock/        unix socket directory (so we never collide with /var/run/postgresql)
#   DIR/server.log   server log (pg_ctl -l)
#   DIR/.couponbooks-pg   marker: lets `remove` know the directory is ours to delete
#
# `start` prints exactly one line on stdout: the Npgsql connection string
#   Host=127.0.0.1;Port=PORT;Database=DB;Username=USER;Password=PW
# All progress and diagnostics go to stderr, so `CS=$(scripts/postgres.sh start ...)` works.
#
# When run as root the server runs as the `postgres` OS user (initdb refuses to run
# as root); otherwise it runs as the invoking user. Authentication: trust on the
# unix socket (only reachable by the owner and root: DIR is 0700), scram-sha-256
# over TCP, which listens on 127.0.0.1 only.
set -euo pipefail

readonly MARKER_NAME=".couponbooks-pg"
readonly READY_TIMEOUT=30
readonly SUPERUSER=postgres

# Variables inherited from the caller's environment must not redirect our
# client tools to some other server or database.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE \
      PGSERVICEFILE PGOPTIONS PGDATA PGSSLMODE PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT || true

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { printf 'postgres.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage:
  postgres.sh start  --dir DIR --port PORT [--db NAME] [--user NAME] [--password PW]
  postgres.sh stop   --dir DIR
  postgres.sh remove --dir DIR
  postgres.sh status --dir DIR
  postgres.sh ensure-binaries
EOF
  exit 2
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------- arguments
CMD="${1:-}"
[[ -n $CMD ]] || usage
shift
DIR="" PORT="" DB="couponbooks" DBUSER="couponbooks" PASSWORD="couponbooks"
while [[ $# -gt 0 ]]; do
  opt="$1"
  case "$opt" in
    --*=*) val="${opt#*=}"; opt="${opt%%=*}"; shift ;;
    --dir|--port|--db|--user|--password)
      [[ $# -ge 2 ]] || die "option $opt needs a value"
      val="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument: $opt" ;;
  esac
  case "$opt" in
    --dir) DIR="$val" ;;
    --port) PORT="$val" ;;
    --db) DB="$val" ;;
    --user) DBUSER="$val" ;;
    --password) PASSWORD="$val" ;;
    *) die "unknown option: $opt" ;;
  esac
done

case "$CMD" in
  start|stop|remove|status) [[ -n $DIR ]] || die "--dir is required" ;;
  ensure-binaries) DIR="${DIR:-/tmp/couponbooks-pg-unused}" ;;
  -h|--help|help) usage ;;
  *) die "unknown subcommand: $CMD (expected start|stop|remove|status|ensure-binaries)" ;;
esac
# Absolute, normalised path: the server, pg_ctl and psql all run from / below.
DIR="$(realpath -m -- "$DIR")"
[[ $DIR != "/" ]] || die "--dir must not be /"
DATA="$DIR/data"
SOCK="$DIR/sock"
LOGFILE="$DIR/server.log"
MARKER="$DIR/$MARKER_NAME"
cd /

# ---------------------------------------------------------------- binaries
BINDIR=""
# Sets BINDIR to a directory holding initdb, pg_ctl and postgres. Returns 1 if none.
locate_binaries() {
  local initdb_path pg_ctl_path d
  if initdb_path="$(command -v initdb 2>/dev/null)" && pg_ctl_path="$(command -v pg_ctl 2>/dev/null)"; then
    # PATH entries are often symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb);
    # the real directory also holds pg_isready, psql and postgres of the same version.
    d="$(dirname -- "$(readlink -f -- "$pg_ctl_path")")"
    if [[ -x $d/initdb && -x $d/postgres ]]; then BINDIR="$d"; return 0; fi
    d="$(dirname -- "$(readlink -f -- "$initdb_path")")"
    if [[ -x $d/pg_ctl && -x $d/postgres ]]; then BINDIR="$d"; return 0; fi
  fi
  local candidates=() c
  for c in /usr/lib/postgresql/*/bin; do [[ -d $c ]] && candidates+=("$c"); done
  d=""
  if (( ${#candidates[@]} > 0 )); then
    d="$(printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1)"   # newest major version
  fi
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then BINDIR="$d"; return 0; fi
  return 1
}

ensure_binaries() {
  locate_binaries && return 0
  if is_root && command -v apt-get >/dev/null 2>&1; then
    log "PostgreSQL server binaries not found; installing the 'postgresql' package with apt-get"
    # Note: on Debian the package may also create/start its own 'main' cluster on
    # port 5432; that cluster is unrelated to ours and left alone.
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2; }; then
      die "apt-get install postgresql failed"
    fi
    locate_binaries && return 0
    die "installed the 'postgresql' package but still found no initdb/pg_ctl (looked on PATH and in /usr/lib/postgresql/*/bin)"
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL (e.g. 'apt-get install postgresql') or re-run as root to have it installed"
}

# A client tool of the same installation if present, else whatever is on PATH.
tool() {
  if [[ -n $BINDIR && -x $BINDIR/$1 ]]; then printf '%s\n' "$BINDIR/$1"
  elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
  else die "required PostgreSQL tool '$1' not found"
  fi
}

# ---------------------------------------------------------------- OS user
# The OS user the server runs as: the owner of an existing cluster, else postgres
# (root) or the current user.
RUN_AS=""
choose_run_as() {
  local me; me="$(id -un)"
  if [[ -d $DATA ]]; then
    RUN_AS="$(stat -c %U -- "$DATA")"
    if ! is_root && [[ $RUN_AS != "$me" ]]; then
      die "cluster in $DATA belongs to OS user '$RUN_AS'; run this script as that user or as root"
    fi
  elif is_root; then
    RUN_AS=postgres
  else
    RUN_AS="$me"
  fi
}

# Runs a command as RUN_AS (via runuser when we are root and RUN_AS is someone else).
as_owner() {
  if is_root && [[ $RUN_AS != root ]]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

ensure_postgres_os_user() {
  is_root || return 0
  id -u postgres >/dev/null 2>&1 && return 0
  log "creating system user 'postgres' to run the server"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres >&2 \
    || die "could not create the 'postgres' OS user"
}

# As root: the server user must be able to reach DIR (search permission on every
# ancestor). We never chmod directories we did not create; we tell the user instead.
# Prints the first existing ancestor of DIR that RUN_AS cannot traverse, if any.
find_blocker() {
  local p="" part parts=()
  IFS=/ read -r -a parts <<<"${DIR#/}"
  for part in "${parts[@]}"; do
    [[ -n $part ]] || continue
    p="$p/$part"
    [[ $p != "$DIR" ]] || break          # DIR itself is ours to fix (chown)
    [[ -e $p ]] || break                 # parents we create below get 0755
    if ! runuser -u "$RUN_AS" -- test -x "$p"; then printf '%s\n' "$p"; return 0; fi
  done
}

check_reachable() {
  is_root || return 0
  [[ $RUN_AS != root ]] || return 0
  local blocker; blocker="$(find_blocker)"
  if [[ -n $blocker ]]; then
    die "OS user '$RUN_AS' (which runs the server) cannot traverse '$blocker' (no search/x permission), so it cannot reach $DIR. Use a --dir outside it (e.g. under /tmp or /work), or grant access yourself, e.g. 'chmod o+x $blocker'."
  fi
  if [[ -d $DIR ]] && ! runuser -u "$RUN_AS" -- test -r "$DIR" -a -w "$DIR" -a -x "$DIR"; then
    die "OS user '$RUN_AS' cannot read/write $DIR; fix its ownership (e.g. 'chown $RUN_AS $DIR') or use another --dir"
  fi
}

# ---------------------------------------------------------------- cluster state
have_cluster() { [[ -f $DATA/PG_VERSION ]]; }

# 0 when the postmaster of DATA is alive.
server_running() {
  have_cluster || return 1
  local pg_ctl; pg_ctl="$(tool pg_ctl)"
  as_owner "$pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# Port recorded by the running postmaster (4th line of postmaster.pid).
running_port() { sed -n '4p' "$DATA/postmaster.pid" 2>/dev/null || true; }
running_pid() { sed -n '1p' "$DATA/postmaster.pid" 2>/dev/null || true; }

# 0 when something (anything) accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- start
validate_start_args() {
  [[ -n $PORT ]] || die "--port is required for start"
  if ! [[ $PORT =~ ^[0-9]{1,5}$ ]] || (( 10#$PORT < 1 || 10#$PORT > 65535 )); then
    die "--port must be a number 1-65535, got '$PORT'"
  fi
  PORT=$(( 10#$PORT ))
  local re='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'
  [[ $DB =~ $re ]] || die "--db must match $re"
  [[ $DBUSER =~ $re ]] || die "--user must match $re"
  [[ -n $PASSWORD ]] || die "--password must not be empty (TCP connections use password authentication)"
  # The unix socket path (DIR/sock/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
  local sockfile="$SOCK/.s.PGSQL.$PORT"
  (( ${#sockfile} <= 107 )) || die "--dir path is too long for a unix socket inside it (${#sockfile} > 107 chars): $sockfile"
}

# Creates DIR (missing parents 0755, DIR itself 0700) and the cluster in DIR/data.
init_cluster() {
  if [[ -e $DATA ]] && [[ -n "$(ls -A -- "$DATA" 2>/dev/null)" ]]; then
    die "$DATA exists, is not empty and holds no PostgreSQL cluster (no PG_VERSION); remove it or use another --dir"
  fi
  if [[ -d $DIR && ! -e $MARKER ]] && [[ -n "$(ls -A -- "$DIR")" ]]; then
    die "$DIR exists and is not empty; refusing to put a cluster into it (use an empty or new directory)"
  fi
  [[ ! -e $DIR || -d $DIR ]] || die "$DIR exists and is not a directory"
  # Fail before creating anything if the server user could never reach DIR.
  check_reachable
  if [[ ! -d $DIR ]]; then
    # Missing parents are created 0755 (umask 022) so the server user can traverse them.
    (umask 022; mkdir -p -- "$DIR") || die "cannot create $DIR"
  fi
  : >>"$MARKER"
  chmod 0700 -- "$DIR"
  if is_root && [[ $RUN_AS != root ]]; then
    # Only DIR itself (and our marker), never its parents.
    chown "$RUN_AS:" -- "$DIR" "$MARKER"
  fi
  check_reachable

  local initdb; initdb="$(tool initdb)"
  log "initialising cluster in $DATA (OS user $RUN_AS, $("$initdb" --version))"
  if ! as_owner "$initdb" -D "$DATA" -U "$SUPERUSER" \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --no-locale >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2 || true
    die "initdb failed (output above, also in $DIR/initdb.log)"
  fi
  # Our settings live in a file we rewrite on every start (the port may change);
  # postgresql.conf only includes it.
  printf "\n# Added by scripts/postgres.sh\ninclude_if_exists = 'couponbooks-dev.conf'\n" \
    | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
}

sql_quote() { local s="${1//\'/\'\'}"; printf "'%s'" "$s"; }

write_server_conf() {
  # Test-box tuning: durability is kept (fsync, synchronous_commit on) so tests
  # see real commit behaviour; memory/connection limits sized for parallel test runs.
  {
    echo "# Written by scripts/postgres.sh on every start; edits are overwritten."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PORT"
    echo "unix_socket_directories = $(sql_quote "$SOCK")"
    echo "unix_socket_permissions = 0700"
    echo "max_connections = 300"
    echo "shared_buffers = 256MB"
    echo "fsync = on"
    echo "synchronous_commit = on"
    echo "password_encryption = 'scram-sha-256'"
    echo "timezone = 'UTC'"
    echo "log_timezone = 'UTC'"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
  } | as_owner tee "$DATA/couponbooks-dev.conf" >/dev/null
}

wait_ready() {
  local pg_isready pg_ctl i
  pg_isready="$(tool pg_isready)"
  pg_ctl="$(tool pg_ctl)"
  for (( i = 0; i < READY_TIMEOUT * 2; i++ )); do
    if "$pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -t 1 2>/dev/null \
       && "$pg_isready" -q -h "$SOCK" -p "$PORT" -d postgres -t 1 2>/dev/null; then
      return 0
    fi
    # Give up early if the postmaster already died (bad config, port taken, ...).
    if (( i >= 4 )) && ! as_owner "$pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
      log "server process exited during startup; last lines of $LOGFILE:"
      tail -n 40 -- "$LOGFILE" >&2 2>/dev/null || true
      die "PostgreSQL failed to start"
    fi
    sleep 0.5
  done
  log "server did not become ready within ${READY_TIMEOUT}s; last lines of $LOGFILE:"
  tail -n 40 -- "$LOGFILE" >&2 2>/dev/null || true
  die "PostgreSQL did not become ready within ${READY_TIMEOUT}s"
}

# Idempotently create/update the application role and database.
ensure_role_and_db() {
  local psql; psql="$(tool psql)"
  # psql variables are quoted by format(%I/%L), so names/passwords cannot inject SQL.
  "$psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U "$SUPERUSER" -d postgres \
    -v role="$DBUSER" -v pw="$PASSWORD" -v db="$DB" >/dev/null <<'SQL' || die "creating role/database failed"
select format('create role %I', :'role')
 where not exists (select 1 from pg_roles where rolname = :'role') \gexec
select format('alter role %I with login createdb password %L', :'role', :'pw') \gexec
select format('create database %I owner %I encoding %L template template0', :'db', :'role', 'UTF8')
 where not exists (select 1 from pg_database where datname = :'db') \gexec
select format('alter database %I owner to %I', :'db', :'role') \gexec
SQL
}

conn_value() {
  # Npgsql connection-string value: quote when it contains separators or quotes.
  local v="$1"
  if [[ $v =~ [\;\=\"\'] || $v =~ ^[[:space:]] || $v =~ [[:space:]]$ ]]; then
    printf '"%s"' "${v//\"/\"\"}"
  else
    printf '%s' "$v"
  fi
}

print_conn_string() {
  printf 'Host=127.0.0.1;Port=%s;Database=%s;Username=%s;Password=%s\n' \
    "$PORT" "$(conn_value "$DB")" "$(conn_value "$DBUSER")" "$(conn_value "$PASSWORD")"
}

cmd_start() {
  validate_start_args
  ensure_binaries
  ensure_postgres_os_user
  choose_run_as

  if have_cluster && server_running; then
    local rport; rport="$(running_port)"
    if [[ $rport == "$PORT" ]]; then
      log "server in $DIR already running on port $PORT (pid $(running_pid))"
      wait_ready
      ensure_role_and_db
      print_conn_string
      return 0
    fi
    die "server in $DIR is already running on port ${rport:-?}, not $PORT; stop it first ('$0 stop --dir $DIR')"
  fi

  if port_in_use "$PORT"; then
    die "port $PORT on 127.0.0.1 is already in use by another process; choose another --port"
  fi

  if ! have_cluster; then
    init_cluster
  else
    check_reachable
  fi

  write_server_conf
  as_owner mkdir -p -- "$SOCK"
  as_owner chmod 0700 -- "$SOCK"
  if is_root && [[ $RUN_AS != root ]]; then
    # The log is written by the server user; create it with the right owner.
    touch -- "$LOGFILE" && chown "$RUN_AS:" -- "$LOGFILE"
  fi

  local pg_ctl; pg_ctl="$(tool pg_ctl)"
  log "starting PostgreSQL in $DIR on 127.0.0.1:$PORT (log: $LOGFILE)"
  # -W: do not let pg_ctl wait; wait_ready polls pg_isready with our own timeout.
  if ! as_owner "$pg_ctl" start -W -D "$DATA" -l "$LOGFILE" >&2; then
    tail -n 40 -- "$LOGFILE" >&2 2>/dev/null || true
    die "pg_ctl start failed"
  fi
  wait_ready
  ensure_role_and_db
  log "ready: database '$DB', role '$DBUSER'"
  print_conn_string
}

# ---------------------------------------------------------------- stop/remove/status
cmd_stop() {
  if ! have_cluster; then
    log "no cluster in $DIR; nothing to stop"
    return 0
  fi
  choose_run_as
  if ! locate_binaries; then
    # No pg_ctl (e.g. PostgreSQL was uninstalled): ask the postmaster directly
    # for a fast shutdown (SIGINT) and wait for it to go away.
    local pid; pid="$(running_pid)"
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      log "pg_ctl not found; sending fast-shutdown signal to postmaster pid $pid"
      kill -INT "$pid" 2>/dev/null || true
      local i
      for (( i = 0; i < 120; i++ )); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
      die "postmaster pid $pid did not exit within 60s"
    fi
    log "server in $DIR is not running"
    return 0
  fi
  if ! server_running; then
    log "server in $DIR is not running"
    return 0
  fi
  local pg_ctl; pg_ctl="$(tool pg_ctl)"
  log "stopping PostgreSQL in $DIR (pid $(running_pid))"
  as_owner "$pg_ctl" stop -D "$DATA" -m fast -w -t 60 >&2 || die "pg_ctl stop failed"
}

cmd_remove() {
  if [[ ! -e $DIR ]]; then
    log "$DIR does not exist; nothing to remove"
    return 0
  fi
  [[ -d $DIR ]] || die "$DIR is not a directory"
  # Refuse to delete a directory this script did not create.
  if [[ ! -e $MARKER ]] && ! have_cluster && [[ -n "$(ls -A -- "$DIR")" ]]; then
    die "$DIR does not look like a directory created by this script (no $MARKER_NAME, no data/PG_VERSION); not deleting it"
  fi
  if have_cluster; then
    cmd_stop
  fi
  log "removing $DIR"
  rm -rf -- "$DIR"
}

cmd_status() {
  if ! have_cluster; then
    log "no cluster in $DIR"
    echo absent
    return 4
  fi
  ensure_binaries
  choose_run_as
  if server_running; then
    log "running: pid $(running_pid), 127.0.0.1:$(running_port), socket dir $SOCK, data $DATA"
    echo running
    return 0
  fi
  log "stopped (cluster in $DATA)"
  echo stopped
  return 3
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  remove) cmd_remove ;;
  status) rc=0; cmd_status || rc=$?; exit "$rc" ;;
  ensure-binaries) ensure_binaries; log "server binaries in $BINDIR" ;;
esac
