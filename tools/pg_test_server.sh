#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's `postgresql`
# package (tools/setup.sh installs it). Listens on 127.0.0.1 only, on a free
# port, with password (SCRAM) authentication; role and database `weaver`.
#
#   pg_test_server.sh start DIR [--fresh]   start (idempotent); --fresh drops
#                                           and recreates database weaver
#   pg_test_server.sh stop DIR              stop (idempotent)
#   pg_test_server.sh uri DIR               print the URI
#   pg_test_server.sh status DIR            exit 0 when running
#
# DIR/uri holds postgresql://weaver@127.0.0.1:PORT/weaver and DIR/password the
# role's password (export PGPASSWORD=$(cat DIR/password)). The cluster lives
# in DIR/pg (data/, server.log and the unix socket), owned by the `postgres`
# OS user when run as root (initdb refuses root); when that user cannot reach
# DIR (e.g. under /root), the cluster goes to a private directory in /tmp,
# named in DIR/home. Durability is as in production (fsync on); the rest is
# tuned for tests. Works offline.
set -euo pipefail

usage() { echo "usage: pg_test_server.sh start DIR [--fresh] | stop DIR | uri DIR | status DIR" >&2; exit 2; }
die() { echo "pg_test_server: $*" >&2; exit 1; }
[ $# -ge 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
fresh=0
[ "${3:-}" = "--fresh" ] && fresh=1

bin=${PG_BIN:-}
if [ -z "$bin" ]; then
  for v in 15 16 17 14 13; do
    [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && { bin=/usr/lib/postgresql/$v/bin; break; }
  done
fi
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || die "PostgreSQL server binaries not found: apt-get install postgresql (tools/setup.sh)"

# The OS user that runs the server.
if [ "$(id -u)" = 0 ]; then
  getent passwd postgres >/dev/null || die "no 'postgres' OS user: apt-get install postgresql"
  as_server() { (cd / && runuser -u postgres -- "$@" 9>&-); }
  server_user=postgres
else
  as_server() { (cd / && "$@" 9>&-); }
  server_user=$(id -un)
fi

# Serialise concurrent invocations on the same DIR (as_server closes the lock
# fd, or the postmaster would inherit it and hold the lock for its lifetime).
exec 9>"$dir/.lock"
flock 9

home_of() {
  if [ -s "$dir/home" ]; then cat "$dir/home"; else echo "$dir/pg"; fi
}
home=$(home_of)
data=$home/data

running() { [ -f "$data/PG_VERSION" ] && as_server "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

admin_sql() {  # SQL... : runs as the superuser over TCP
  PGPASSWORD=$(cat "$dir/admin_password") "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "$(cat "$dir/port")" -U postgres -d postgres -tA "$@"
}

new_secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

init_cluster() {
  # A home the server user owns; fall back to /tmp when it cannot reach DIR.
  if [ ! -s "$dir/home" ]; then
    mkdir -p "$dir/pg"
    [ "$server_user" = "$(id -un)" ] || chown "$server_user:" "$dir/pg"
    chmod 700 "$dir/pg"
    if ! as_server test -w "$dir/pg"; then
      rm -rf "$dir/pg"
      local tmp
      tmp=$(mktemp -d /tmp/weaver-pg.XXXXXX)
      chown "$server_user:" "$tmp"
      echo "$tmp" > "$dir/home"
      echo "pg_test_server: $server_user cannot reach $dir; cluster in $tmp" >&2
    fi
  fi
  home=$(home_of)
  data=$home/data
  [ -f "$data/PG_VERSION" ] && return 0
  rm -rf "$data"
  [ -s "$dir/password" ] || { new_secret > "$dir/password"; chmod 600 "$dir/password"; }
  new_secret > "$dir/admin_password"
  chmod 600 "$dir/admin_password"
  local pwfile=$home/.pwfile
  install -m 600 /dev/null "$pwfile"
  cat "$dir/admin_password" > "$pwfile"
  [ "$server_user" = "$(id -un)" ] || chown "$server_user:" "$pwfile"
  as_server "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 \
    --auth-local=trust --encoding=UTF8 --locale=C --no-sync >"$home/initdb.log" 2>&1 \
    || { cat "$home/initdb.log" >&2; rm -f "$pwfile"; die "initdb failed"; }
  rm -f "$pwfile"
  # The unix socket sits in the home (owner-only) when its path fits in
  # sun_path; TCP on loopback always.
  local sockdir=$home
  [ ${#home} -le 80 ] || sockdir=
  cat >> "$data/postgresql.conf" <<EOF

# --- pg_test_server.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
max_connections = 300
# Durable like production: the tests kill writers and check what survived.
fsync = on
synchronous_commit = on
full_page_writes = on
# Tuned for short-lived test data.
shared_buffers = 128MB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 2GB
checkpoint_timeout = 30min
log_min_messages = warning
log_min_error_statement = panic
EOF
}

start() {
  init_cluster
  if ! running; then
    local port="" tries=0
    [ -s "$dir/port" ] && port_free "$(cat "$dir/port")" && port=$(cat "$dir/port")
    while :; do
      tries=$((tries + 1))
      if [ -z "$port" ]; then
        for _ in $(seq 200); do
          port=$((20000 + RANDOM % 30000))
          port_free "$port" && break
        done
      fi
      echo "$port" > "$dir/port"
      if as_server "$bin/pg_ctl" -D "$data" -l "$home/server.log" -w -t 60 -o "-p $port" start >/dev/null; then
        break
      fi
      [ $tries -lt 5 ] || { tail -n 20 "$home/server.log" >&2; die "server did not start (log: $home/server.log)"; }
      port=""   # most likely the port was taken meanwhile: try another
    done
  fi
  local port
  port=$(cat "$dir/port")
  # Role and database (idempotent); the role's password follows DIR/password.
  admin_sql -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weaver') THEN CREATE ROLE weaver LOGIN; END IF;
    END \$\$;" -c "ALTER ROLE weaver PASSWORD '$(cat "$dir/password")'" >/dev/null
  if [ $fresh = 1 ]; then
    admin_sql -c "DROP DATABASE IF EXISTS weaver WITH (FORCE)" >/dev/null
  fi
  if [ -z "$(admin_sql -c "SELECT 1 FROM pg_database WHERE datname = 'weaver'")" ]; then
    admin_sql -c "CREATE DATABASE weaver OWNER weaver" >/dev/null
  fi
  echo "postgresql://weaver@127.0.0.1:$port/weaver" > "$dir/uri"
  cat "$dir/uri"
}

stop() {
  if running; then
    as_server "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  uri) [ -s "$dir/uri" ] || die "$dir: not started (pg_test_server.sh start $dir)"; cat "$dir/uri" ;;
  status) running ;;
  *) usage ;;
esac
