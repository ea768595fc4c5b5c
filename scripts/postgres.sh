# Sourced by test.sh: makes sure a PostgreSQL server runs on 127.0.0.1 for the store tests and
# exports SMPPGATE_TEST_POSTGRES_URL. Installs Debian's server package when it is missing.
PG_PORT=${SMPPGATE_TEST_PG_PORT:-55432}
PG_DATA=${SMPPGATE_TEST_PG_DATA:-/tmp/smppgate-test-pg}
if [[ -z "${SMPPGATE_TEST_POSTGRES_URL:-}" ]]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      echo "== installing PostgreSQL (apt-get)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      echo "PostgreSQL is needed for the store tests: apt-get install postgresql" >&2; exit 1
    fi
  fi
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  AS=()
  if [[ $(id -u) == 0 ]]; then AS=(runuser -u postgres --); mkdir -p "$PG_DATA"; chown postgres "$PG_DATA"; fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    "${AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  fi
  export SMPPGATE_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
fi
