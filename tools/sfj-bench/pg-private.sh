#!/bin/sh
# A private PostgreSQL for `sfj-bench fleet --store URL`, as the tests
# start theirs: initdb into DIR as an unprivileged user (postgres through
# runuser when run as root), pg_ctl start on a free loopback port with
# its socket in DIR, fsync on. Prints the connection string.
#
#   pg-private.sh start DIR     # prints postgresql://sfj@127.0.0.1:PORT/postgres
#   pg-private.sh stop DIR      # stops it; DIR is left for you to remove
set -eu
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "usage: pg-private.sh start|stop DIR (needs PostgreSQL's server binaries)" >&2
    exit 64
fi
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$PG_BIN/initdb" -D "$dir/data" -A trust -U sfj -E UTF8 \
        --no-instructions >"$dir/initdb.log" 2>&1
    # max_connections: a gateway holds one connection; the bench a few.
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=40" \
        start >/dev/null
    echo "postgresql://sfj@127.0.0.1:$port/postgres"
    ;;
stop)
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    ;;
*)
    echo "pg-private.sh: start or stop, not $cmd" >&2
    exit 64
    ;;
esac
