# A private PostgreSQL server (--with postgres) for the fleet tests: a fresh
# cluster made by initdb under $STATE/postgres at every `up`, listening on
# 127.0.0.1:POSTGRES_PORT only (its unix socket in a directory only its user can
# enter), password (SCRAM-SHA-256) logins over TCP for the role `certkeeper`,
# which owns the database `certkeeper` and may create more (CREATEDB, for
# per-test databases). Durability is traded for speed (fsync off): the data is
# throwaway. Nothing under /etc/postgresql or /var is used.
#
# PostgreSQL refuses to run as root, so under root the server runs as the system
# user certkeeper-testpg (created on first use); otherwise as the caller. The
# postmaster is started in the foreground (not through pg_ctl), so the recorded
# PID is the postmaster itself; it is stopped with SIGINT (PostgreSQL's "fast"
# shutdown: SIGTERM would wait for every client to disconnect).
#
# Files: STATE/postgres-password (0600, the password without a newline),
# STATE/postgres.pgpass (0600, a libpq password file for it), STATE/postgres.conf
# (what postgres-restart and postgres-psql need; written by the caller's user,
# parsed, never sourced, because the server's user can write STATE/postgres).
# Sourced by `up`, `postgres-restart` and `postgres-psql`; expects STATE.

POSTGRES_SYSTEM_USER=certkeeper-testpg
POSTGRES_ROLE=certkeeper
POSTGRES_DATABASE=certkeeper

# The newest installed server, e.g. /usr/lib/postgresql/15/bin.
postgres_bin_dir() {
  local dir best="" best_version=0 version
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/postgres && -x $dir/initdb ]] || continue
    version=${dir#/usr/lib/postgresql/}
    version=${version%/bin}
    [[ $version =~ ^[0-9]+$ ]] || continue
    if ((version > best_version)); then
      best=$dir best_version=$version
    fi
  done
  [[ -n $best ]] || return 1
  printf '%s' "$best"
}

# Sets POSTGRES_RUN_USER, creating the system user when running as root.
postgres_pick_user() {
  if ((EUID != 0)); then
    POSTGRES_RUN_USER=$(id -un)
    return 0
  fi
  POSTGRES_RUN_USER=$POSTGRES_SYSTEM_USER
  id -u "$POSTGRES_RUN_USER" >/dev/null 2>&1 && return 0
  # Two `up` running at once may both try; the loser's useradd fails, and
  # what matters is only that the user exists afterwards.
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$POSTGRES_RUN_USER" >/dev/null 2>&1 || true
  id -u "$POSTGRES_RUN_USER" >/dev/null 2>&1 ||
    die "cannot create the system user $POSTGRES_RUN_USER (useradd failed)"
}

# run_as_postgres PROGRAM ARGS...: runs the program as POSTGRES_RUN_USER with a
# minimal environment, so that nothing of the caller's environment (PG*
# variables, a root HOME) reaches the server or its tools. The prefix is a chain
# of execs (setpriv, env), so a daemon started through it keeps its PID.
postgres_as_prefix() {
  POSTGRES_AS=(env -i PATH=/usr/bin:/bin LC_ALL=C "HOME=$POSTGRES_DIR")
  if ((EUID == 0)); then
    POSTGRES_AS=(setpriv --reuid="$POSTGRES_RUN_USER" --regid="$POSTGRES_RUN_USER"
      --clear-groups -- "${POSTGRES_AS[@]}")
  fi
}
run_as_postgres() {
  postgres_as_prefix
  "${POSTGRES_AS[@]}" "$@"
}

# Under root the state directory is usually 0700 root (mkdtemp), which the
# server's user cannot traverse. Rather than open it to everyone (0711, which
# would expose every world-readable file with a known name), its group becomes
# the server user's group with search permission only (0710): that one user can
# reach its own STATE/postgres and nothing that is not group-readable. Done only
# when the directory had no group permissions at all, so nobody loses access.
postgres_make_state_reachable() {
  ((EUID == 0)) || return 0
  run_as_postgres test -x "$STATE" && return 0
  if [[ $(stat -c '%u %a' "$STATE") == "0 700" ]]; then
    chgrp "$POSTGRES_RUN_USER" "$STATE" && chmod 0710 "$STATE" ||
      die "cannot let $POSTGRES_RUN_USER traverse $STATE"
  fi
  run_as_postgres test -x "$STATE" ||
    die "$POSTGRES_RUN_USER cannot reach $STATE (a parent directory is closed to it); use a --state-dir under /tmp"
}

# postgres_launch: starts the postmaster on the existing cluster and waits until
# it accepts connections on 127.0.0.1:POSTGRES_PORT. Expects POSTGRES_BIN,
# POSTGRES_DIR, POSTGRES_RUN_USER and POSTGRES_PORT.
postgres_launch() {
  postgres_as_prefix
  start_daemon postgres "$STATE/logs/postgres.log" \
    "${POSTGRES_AS[@]}" "$POSTGRES_BIN/postgres" -D "$POSTGRES_DIR/data"
  wait_until 30 postgres "accepting connections on 127.0.0.1:$POSTGRES_PORT" \
    pg_isready -q -h 127.0.0.1 -p "$POSTGRES_PORT" -d postgres -t 2
}

# postgres_admin_sql: runs the SQL on stdin as the bootstrap superuser (the
# server's OS user, peer authentication over the private unix socket).
postgres_admin_sql() {
  run_as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$POSTGRES_DIR/run" -p "$POSTGRES_PORT" \
    -d postgres
}

start_postgres() {
  POSTGRES_BIN=$(postgres_bin_dir) ||
    die "no PostgreSQL server under /usr/lib/postgresql; apt-get install postgresql-15"
  postgres_pick_user
  POSTGRES_DIR=$STATE/postgres
  rm -rf "$POSTGRES_DIR"
  mkdir -m 0700 "$POSTGRES_DIR" "$POSTGRES_DIR/run" ||
    die "cannot create $POSTGRES_DIR"
  chown -R "$POSTGRES_RUN_USER:" "$POSTGRES_DIR" || die "cannot give $POSTGRES_DIR to $POSTGRES_RUN_USER"
  postgres_make_state_reachable

  # --auth-local=peer: over the socket only the server's own OS user, as the
  # bootstrap superuser of the same name; TCP needs a SCRAM password.
  run_as_postgres "$POSTGRES_BIN/initdb" -D "$POSTGRES_DIR/data" -E UTF8 --locale=C \
    --auth-local=peer --auth-host=scram-sha-256 --no-instructions \
    >>"$STATE/logs/postgres.log" 2>&1 || { show_log postgres; die "initdb failed"; }
  cat >>"$POSTGRES_DIR/data/postgresql.conf" <<EOF

# Added by pebble-testenv/up: loopback only, a private socket, throwaway data.
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$POSTGRES_DIR/run'
unix_socket_permissions = 0700
max_connections = 200
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
log_destination = 'stderr'
logging_collector = off
log_min_messages = warning
log_connections = off
EOF

  # 192 random bits, hex: nothing to quote in SQL, a URL or a password file.
  local password
  password=$(openssl rand -hex 24) || die "openssl rand failed"
  (umask 077
    printf '%s' "$password" >"$STATE/postgres-password"
    printf '127.0.0.1:%s:*:%s:%s\n' "$POSTGRES_PORT" "$POSTGRES_ROLE" "$password" \
      >"$STATE/postgres.pgpass"
    printf 'bin=%s\nuser=%s\nport=%s\n' "$POSTGRES_BIN" "$POSTGRES_RUN_USER" "$POSTGRES_PORT" \
      >"$STATE/postgres.conf") || die "cannot write the PostgreSQL password files in $STATE"

  postgres_launch
  # The password travels on stdin, never in an argv that `ps` shows.
  postgres_admin_sql >>"$STATE/logs/postgres.log" 2>&1 <<EOF || { show_log postgres; die "cannot create the role $POSTGRES_ROLE"; }
CREATE ROLE $POSTGRES_ROLE LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE $POSTGRES_DATABASE OWNER $POSTGRES_ROLE;
EOF
  postgres_check_login || { show_log postgres; die "$POSTGRES_ROLE cannot log in over TCP"; }
}

# A password login over TCP, as the tests and certkeeper make it.
postgres_check_login() {
  PGPASSFILE=$STATE/postgres.pgpass PGCONNECT_TIMEOUT=5 psql -X -q -w -At \
    -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_ROLE" -d "$POSTGRES_DATABASE" \
    -c 'SELECT 1' 2>&1 | grep -qx 1
}

# postgres_load_conf: reads STATE/postgres.conf (strictly: it is parsed, not
# sourced) into POSTGRES_BIN, POSTGRES_RUN_USER, POSTGRES_PORT and POSTGRES_DIR.
postgres_load_conf() {
  local file="$STATE/postgres.conf" key value
  [[ -f $file ]] || die "no --with postgres environment in $STATE"
  POSTGRES_BIN="" POSTGRES_RUN_USER="" POSTGRES_PORT=""
  while IFS='=' read -r key value; do
    case $key in
      bin) [[ $value =~ ^/usr/lib/postgresql/[0-9]+/bin$ ]] && POSTGRES_BIN=$value ;;
      user) [[ $value =~ ^[a-z_][a-z0-9_-]*$ ]] && POSTGRES_RUN_USER=$value ;;
      port) [[ $value =~ ^[0-9]{1,5}$ ]] && POSTGRES_PORT=$value ;;
    esac
  done <"$file"
  [[ -n $POSTGRES_BIN && -n $POSTGRES_RUN_USER && -n $POSTGRES_PORT ]] ||
    die "$file is damaged"
  POSTGRES_DIR=$STATE/postgres
}

# postgres_stop: fast shutdown of the recorded postmaster (SIGINT), bounded
# wait, then SIGKILL; removes its line from STATE/pids.
postgres_stop() {
  local pid start
  read -r pid start <<<"$(recorded_start postgres)"
  if [[ -n ${pid:-} ]] && proc_alive "$pid" "$start"; then
    log "stopping postgres (pid $pid)"
    kill -INT "$pid" 2>/dev/null || true
    local signal deadline
    for signal in KILL none; do
      deadline=$(($(now_us) + ${STOP_TIMEOUT:-10} * 1000000))
      while proc_alive "$pid" "$start" && (($(now_us) < deadline)); do sleep 0.05; done
      proc_alive "$pid" "$start" || break
      [[ $signal == none ]] && die "postgres (pid $pid) survived SIGKILL"
      log "postgres (pid $pid) ignored SIGINT; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    done
    # A killed postmaster leaves its lock files (data directory and socket),
    # and its PID may linger as a zombie that the new postmaster would take for
    # a running server. It and every process of its data directory are gone
    # now, so the files are stale.
    if postgres_kill_orphans; then
      rm -f "$STATE/postgres/data/postmaster.pid" "$STATE/postgres/run/.s.PGSQL."*
    fi
  fi
  local rest
  rest=$(awk '$1 != "postgres"' "$STATE/pids")
  printf '%s\n' "$rest" | sed '/^$/d' >"$STATE/pids.new" && mv -f "$STATE/pids.new" "$STATE/pids"
}

# postgres_kill_orphans: after a SIGKILL the postmaster's children outlive it for
# a moment and keep its shared memory, which makes a new postmaster refuse to
# start. They are found by their working directory, the data directory (every
# PostgreSQL process works there), killed by PID, and waited for (bounded).
postgres_kill_orphans() {
  local data=$STATE/postgres/data deadline entry pid
  deadline=$(($(now_us) + 10 * 1000000))
  while true; do
    local -a orphans=()
    for entry in /proc/[0-9]*; do
      [[ $(readlink "$entry/cwd" 2>/dev/null) == "$data" ]] && orphans+=("${entry#/proc/}")
    done
    ((${#orphans[@]} == 0)) && return 0
    (($(now_us) >= deadline)) && { log "error: postgres processes left: ${orphans[*]}"; return 1; }
    for pid in "${orphans[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.05
  done
}
