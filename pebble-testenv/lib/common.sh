# Shared functions of pebble-testenv/up and pebble-testenv/down.
#
# Process records: every daemon that `up` starts is written to $STATE/pids as one
# line "NAME PID STARTTIME", where STARTTIME is field 22 of /proc/PID/stat (clock
# ticks since boot). `down` signals a PID only when its start time still matches,
# so a PID that the kernel has reused for another program is never touched.

log() { printf 'testenv: %s\n' "$*" >&2; }

die() {
  log "error: $*"
  exit 1
}

# Seconds since the epoch with microseconds, for bounded waits.
now_us() {
  local t=${EPOCHREALTIME/./}
  printf '%s' "$((10#$t))"
}

# port_from_env NAME DEFAULT: prints $NAME (or DEFAULT), checked to be a TCP/UDP port.
port_from_env() {
  local name=$1 default=$2 value
  value=${!name:-$default}
  if [[ ! $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
    die "$name=$value is not a port number (1-65535); set it to a free port or unset it"
  fi
  printf '%s' "$((10#$value))"
}

# proc_starttime PID: field 22 of /proc/PID/stat; empty when there is no such process.
proc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  # The command name (field 2) may contain spaces; fields restart after its ')'.
  stat=${stat##*) }
  local -a fields
  read -r -a fields <<<"$stat"
  printf '%s' "${fields[19]}"
}

# proc_alive PID STARTTIME: true while that very process runs (a zombie is dead).
proc_alive() {
  local pid=$1 start=$2 stat state
  [[ $(proc_starttime "$pid") == "$start" ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  state=${stat%% *}
  [[ $state != Z && $state != X ]]
}

# start_daemon NAME LOGFILE PROGRAM ARGS...: runs the program in its own session
# (so that it outlives `up` and is not killed with the caller's process group),
# stdin from /dev/null and both output streams into LOGFILE, and records it.
# Sets DAEMON_PID.
start_daemon() {
  local name=$1 logfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  DAEMON_PID=$!
  local start
  start=$(proc_starttime "$DAEMON_PID")
  if [[ -z $start ]]; then
    die "$name exited immediately; see $logfile"
  fi
  printf '%s %s %s\n' "$name" "$DAEMON_PID" "$start" >>"$STATE/pids"
  log "started $name (pid $DAEMON_PID, log $logfile)"
}

# recorded_start NAME: the "PID STARTTIME" recorded for NAME.
recorded_start() {
  awk -v n="$1" '$1 == n { print $2, $3 }' "$STATE/pids" 2>/dev/null | tail -n 1
}

# wait_until SECONDS NAME DESCRIPTION COMMAND...: polls COMMAND (quietly) until it
# succeeds. Fails early when the daemon recorded as NAME has exited, and when the
# time is up; either way the end of NAME's log is shown.
wait_until() {
  local seconds=$1 name=$2 what=$3
  shift 3
  local deadline=$(($(now_us) + seconds * 1000000))
  local pid start
  read -r pid start <<<"$(recorded_start "$name")"
  while true; do
    if "$@" >/dev/null 2>&1; then
      log "$name is ready ($what)"
      return 0
    fi
    if [[ -n $pid ]] && ! proc_alive "$pid" "$start"; then
      show_log "$name"
      die "$name (pid $pid) exited before $what; see $STATE/logs/$name.log"
    fi
    if (($(now_us) >= deadline)); then
      show_log "$name"
      die "$name did not become ready within ${seconds}s ($what); see $STATE/logs/$name.log"
    fi
    sleep 0.05
  done
}

# write_tsig_secret FILE: a fresh TSIG secret (256 random bits, base64, no
# newline) in FILE, mode 0600 from its first byte. Sets TSIG_SECRET to it.
write_tsig_secret() {
  local file=$1
  (
    umask 077
    openssl rand -base64 32 | tr -d '\n' >"$file"
  ) || die "cannot write the TSIG secret to $file"
  # shellcheck disable=SC2034  # read by the caller
  TSIG_SECRET=$(<"$file")
}

# start_dns_server NAME ZONE PORT CHECK PROGRAM ARGS...: starts PROGRAM as the
# daemon NAME (start_daemon, log $STATE/logs/NAME.log) and waits up to 20 s
# until the command CHECK succeeds, CHECK being how that server's own client
# asks 127.0.0.1:PORT for the SOA of ZONE.
start_dns_server() {
  local name=$1 zone=$2 port=$3 check=$4
  shift 4
  start_daemon "$name" "$STATE/logs/$name.log" "$@"
  wait_until 20 "$name" "SOA of $zone on 127.0.0.1:$port" "$check"
}

show_log() {
  local file="$STATE/logs/$1.log"
  [[ -f $file ]] || return 0
  log "last lines of $file:"
  tail -n 15 "$file" | sed 's/^/    /' >&2
}

# stop_signal NAME: how a daemon is asked to stop. PostgreSQL's SIGTERM is a
# "smart" shutdown that waits for every client to disconnect; SIGINT is its fast
# shutdown, which ends the sessions and stops all its processes.
stop_signal() {
  case $1 in
    postgres) printf INT ;;
    *) printf TERM ;;
  esac
}

# stop_recorded: send its stop_signal to every recorded live process, wait up to
# STOP_TIMEOUT seconds for all of them, then KILL what is left and wait again
# (bounded). Removes the record when every process is gone; returns 1 if one
# survived.
stop_recorded() {
  local pids_file="$STATE/pids"
  [[ -f $pids_file ]] || return 0
  local -a live=()
  local name pid start
  while read -r name pid start; do
    [[ -n $pid ]] || continue
    # The watchdog execs `down`, which then runs under the recorded PID itself.
    [[ $pid == "$$" ]] && continue
    if proc_alive "$pid" "$start"; then
      kill -"$(stop_signal "$name")" "$pid" 2>/dev/null || true
      live+=("$name:$pid:$start")
      log "stopping $name (pid $pid)"
    fi
  done <"$pids_file"

  local signal deadline entry left
  for signal in KILL none; do
    deadline=$(($(now_us) + ${STOP_TIMEOUT:-10} * 1000000))
    while true; do
      left=()
      for entry in "${live[@]}"; do
        IFS=: read -r name pid start <<<"$entry"
        proc_alive "$pid" "$start" && left+=("$entry")
      done
      live=("${left[@]}")
      ((${#live[@]} == 0)) && break 2
      (($(now_us) >= deadline)) && break
      sleep 0.05
    done
    [[ $signal == none ]] && break
    for entry in "${live[@]}"; do
      IFS=: read -r name pid start <<<"$entry"
      log "$name (pid $pid) ignored SIG$(stop_signal "$name"); sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      if [[ $name == postgres ]] && declare -F postgres_kill_orphans >/dev/null; then
        postgres_kill_orphans || true
      fi
    done
  done

  if ((${#live[@]} > 0)); then
    log "error: still running after SIGKILL: ${live[*]}"
    return 1
  fi
  rm -f "$pids_file"
  return 0
}

# A state directory ends up in config files and in NGINX_RELOAD, which tests split
# on spaces: only plain path characters are accepted.
check_state_path() {
  if [[ ! $1 =~ ^/[A-Za-z0-9._/+-]+$ ]]; then
    die "state directory '$1' must be an absolute path of letters, digits and ._/+- (no spaces)"
  fi
}
