#!/usr/bin/env bash
# A throwaway Postgres server for the Postgres store tests, around one command:
#
#     bash tests/setup/postgres.sh make test
#
# Installs Debian's postgresql package when no server binaries are found, creates a cluster in
# a temporary folder (as the `postgres` user when run as root: initdb refuses root), starts it
# on 127.0.0.1 only (a free port, password login), creates the database `encore_test`, runs the
# command with ENCORE_TEST_POSTGRES_URL and ENCORE_REQUIRE_POSTGRES=1 set (so that the tests
# fail instead of skipping), then stops the server and deletes the folder, whatever happens.
# Exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: bash tests/setup/postgres.sh COMMAND [ARGS...]  (e.g. make test)" >&2
    exit 2
fi

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

PG_BIN="${ENCORE_PG_BIN:-$(find_bin)}"
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "error: Postgres is missing and this user cannot install packages." >&2
            echo "Fix: run 'apt-get update && apt-get install -y postgresql' as root." >&2
            exit 2
        fi
    fi
    echo "- installing Debian's postgresql package (for the Postgres store tests)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    PG_BIN="$(find_bin)"
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        echo "error: postgresql installed but no initdb under /usr/lib/postgresql/*/bin." >&2
        echo "Fix: set ENCORE_PG_BIN to the folder holding initdb and pg_ctl." >&2
        exit 2
    fi
fi

# initdb and the server refuse to run as root: run them as `postgres` (Debian's package
# creates that user) and keep everything they write in a folder that user owns.
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "error: running as root, but there is no 'postgres' user to run the server as." >&2
        echo "Fix: install Debian's postgresql package (it creates the user), or run as a" \
             "normal user." >&2
        exit 2
    fi
    AS_PG=(runuser -u postgres --)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/encore-pg.XXXXXX")"
if [ "${#AS_PG[@]}" -gt 0 ]; then chown postgres: "$WORK"; fi
chmod 700 "$WORK"

stop_server() {
    if [ -f "$WORK/data/postmaster.pid" ]; then
        "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate -w -t 10 stop \
                >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
( umask 077; printf '%s\n' "$PASSWORD" >"$WORK/pwfile" )
if [ "${#AS_PG[@]}" -gt 0 ]; then chown postgres: "$WORK/pwfile"; fi

PORT="${ENCORE_PG_PORT:-}"
if [ -z "$PORT" ]; then
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((49152 + RANDOM % 16000)))"
fi

"${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/data" -U encore --pwfile="$WORK/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C --no-sync \
    >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 2; }
rm -f "$WORK/pwfile"

# Loopback only; a socket in the private folder; durability off (the data is thrown away).
if ! "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $PORT -k $WORK -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
    echo "error: the Postgres server did not start on 127.0.0.1:$PORT:" >&2
    cat "$WORK/server.log" >&2 || true
    exit 2
fi
for _ in $(seq 1 60); do  # bounded: 30 s at most
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
done
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || {
    echo "error: the Postgres server on 127.0.0.1:$PORT is not ready after 30 s" >&2; exit 2; }
PGPASSWORD="$PASSWORD" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U encore encore_test

export ENCORE_TEST_POSTGRES_URL="postgresql://encore:$PASSWORD@127.0.0.1:$PORT/encore_test"
export ENCORE_REQUIRE_POSTGRES=1
echo "- Postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" \
     "(ENCORE_TEST_POSTGRES_URL set; stopped when the command ends)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
